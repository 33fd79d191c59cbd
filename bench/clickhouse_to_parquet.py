#!/usr/bin/env python3
"""jetflow ClickHouse -> Parquet against the wire limit, the Parquet ceiling and a peer, all
measured in the same run (docs/benchmarks.md, "ClickHouse").

The benchmark starts its own throw-away ClickHouse server (tests/servers/clickhouse.py) and
creates a table of --rows rows (default 50M; --quick: 5M):
  id UInt64, ts DateTime, s String, lc LowCardinality(String), f Float64,
  ni Nullable(Int32), dec Decimal(18,4), arr Array(UInt32)

  (a) wire      the same `SELECT * FROM bench FORMAT Native` with curl into /dev/null over
                one HTTP connection: what the server and the connection can deliver.
  (b) parquet   the Parquet ceiling: the rows jetflow wrote, read back into memory as Arrow
                (at most 10M rows, so memory stays reasonable; normalised to rows/s), then
                ONLY pyarrow.parquet.write_table is timed, with the settings of jetflow's
                loader (spark profile output types, zstd level 1, 1M-row row groups,
                dictionary, statistics, data page V1, format 2.6).
  (c) jetflow   `jetflow run` of a clickhouse -> parquet pipeline (same settings, the
                loader's encode_threads = the number of cores), over one connection (one
                partition), and over 2 (two key ranges in flight).
  (d) peer      clickhouse-driver (native TCP protocol, NumPy) query_dataframe ->
                pyarrow.Table.from_pandas -> write_table, same settings (at most 10M rows:
                it holds the whole result in memory). clickhouse-connect cannot talk to 18.16
                (it reads system.settings.readonly, which 18.16 lacks).

Wall clock and peak RSS (ru_maxrss from wait4) of each child process. The machine is shared
and noisy: compare ratios within one run, not times across runs. The last line is the
ratio (c, 1 connection) / min(a, b); the goal is >= 0.8.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "servers"))
from clickhouse import ClickHouseServer  # noqa: E402

# row_group_bytes 0: rows alone decide row groups, as in the pyarrow ceiling.
PARQUET = {"compression": "zstd", "compression_level": 1, "row_group_rows": 1048576,
           "row_group_bytes": 0, "dictionary": True, "statistics": True,
           "data_page_version": "1.0"}
SLICE_ROWS = 10_000_000

CREATE = """CREATE TABLE bench (
  id UInt64, ts DateTime, s String, lc LowCardinality(String), f Float64,
  ni Nullable(Int32), dec Decimal(18, 4), arr Array(UInt32)
) ENGINE = MergeTree ORDER BY id"""
FILL = """INSERT INTO bench SELECT
  number, toDateTime(1704067200 + intDiv(number, 20)),
  concat('user-', toString(number % 1000003), '-', toString(intHash32(number) % 1000)),
  concat('country-', toString(number % 193)), number / 7,
  if(number % 10 = 0, NULL, toInt32(intHash32(number) % 2000000) - 1000000),
  toDecimal64(number % 100000000, 4),
  arrayMap(x -> toUInt32(x * 3 + number % 100), range(number % 5))
FROM numbers({start}, {count})"""


def run_child(argv, log: Path, env=None) -> dict:
    with open(log.with_suffix(".out"), "wb") as out, open(log.with_suffix(".err"), "wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    result = {"code": code, "seconds": wall, "rss": usage.ru_maxrss * 1024,
              "stdout": log.with_suffix(".out").read_text(errors="replace"),
              "stderr": log.with_suffix(".err").read_text(errors="replace")}
    if code != 0:
        raise SystemExit(f"{argv[0]} failed ({code}):\n{result['stdout'][-3000:]}\n"
                         f"{result['stderr'][-3000:]}")
    return result


def pipeline(path: Path, url: str, lake: Path, connections: int, encode_threads: int) -> Path:
    consumer = {"type": "clickhouse", "url": url, "table": "bench"}
    if connections > 1:
        consumer["partition_by"] = {"column": "id", "partitions": connections}
    doc = {
        "pipeline": "bench_clickhouse",
        "run_instance": {"key": "dt", "value": "2024-01-01"},
        "state": {"type": "sqlite", "path": str(path.parent / f"state{connections}.db")},
        "consumer": consumer,
        # Parquet encoding is the heavy stage: the loader's pool encodes the columns of a
        # row group on all cores, as pyarrow's writer may.
        "loaders": [{"type": "parquet", "name": "lake", "path": str(lake), "profile": "spark",
                     "encode_threads": encode_threads, **PARQUET}],
        "engine": {"partitions_in_flight": connections},
    }
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return path


# The ceiling and the peer run in child processes so that their RSS is their own.
CEILING = r"""
import json, sys, time
import pyarrow.dataset as ds, pyarrow.parquet as pq
lake, limit, out, kw = sys.argv[1], int(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
table = ds.dataset(lake, format="parquet").head(limit)
best = None
for rep in range(2):
    t = time.perf_counter()
    pq.write_table(table, out, **kw)
    s = time.perf_counter() - t
    best = s if best is None else min(best, s)
print(json.dumps({"rows": table.num_rows, "seconds": best}))
"""
PEER = r"""
import json, sys, time
import pyarrow as pa, pyarrow.parquet as pq
from clickhouse_driver import Client
port, limit, out, kw = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
t = time.perf_counter()
client = Client(host="127.0.0.1", port=port, settings={"use_numpy": True})
df = client.query_dataframe(f"SELECT * FROM bench WHERE id < {limit}")
table = pa.Table.from_pandas(df, preserve_index=False)
pq.write_table(table, out, **kw)
print(json.dumps({"rows": table.num_rows, "seconds": time.perf_counter() - t}))
"""


def human(n: float) -> str:
    for unit, f in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= f:
            return f"{n / f:.2f}{unit}"
    return f"{n:.0f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=float, default=50e6)
    ap.add_argument("--quick", action="store_true", help="5M rows")
    ap.add_argument("--jetflow", default=str(ROOT / "build" / "release" / "bin" / "jetflow"))
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--encode-threads", type=int, default=os.cpu_count() or 1,
                    help="the parquet loader's encode_threads (default: the number of cores)")
    ap.add_argument("--json", action="store_true",
                    help="write the run's results file into bench/results/ "
                         "(bench/results.py)")
    args = ap.parse_args()
    load_start = os.getloadavg()[0]
    rows = int(5e6 if args.quick else args.rows)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="jetflow-chbench-"))
    work.mkdir(parents=True, exist_ok=True)
    python = sys.executable
    write_kw = {"compression": "zstd", "compression_level": 1, "row_group_size": 1048576,
                "use_dictionary": True, "write_statistics": True, "data_page_version": "1.0",
                "version": "2.6"}
    print(f"rows {rows:,}; work dir {work}; machine: {os.cpu_count()} cores (shared, noisy)")
    results = []
    with ClickHouseServer(work / "server") as ch:
        t = time.perf_counter()
        ch.query(CREATE, settings={"allow_experimental_low_cardinality_type": 1})
        step = 10_000_000
        for start in range(0, rows, step):
            ch.query(FILL.format(start=start, count=min(step, rows - start)),
                     settings={"allow_experimental_low_cardinality_type": 1}, timeout=3600)
        print(f"table created in {time.perf_counter() - t:.1f} s")

        # (a) the wire limit.
        wire = run_child(["curl", "-sS", "-o", "/dev/null", "--data-binary",
                          "SELECT * FROM bench FORMAT Native", ch.url + "/"], work / "wire")
        size = int(ch.query("SELECT sum(data_uncompressed_bytes) FROM system.parts WHERE "
                            "active AND table = 'bench' FORMAT TSV"))
        results.append(("(a) wire: curl FORMAT Native > /dev/null", rows, wire))

        # (c) jetflow, 1 and 2 connections.
        for connections in (1, 2):
            lake = work / f"lake{connections}"
            shutil.rmtree(lake, ignore_errors=True)
            p = pipeline(work / f"pipeline{connections}.json", ch.url, lake, connections,
                         args.encode_threads)
            r = run_child([args.jetflow, "run", str(p), "--json", "--no-progress"],
                          work / f"jetflow{connections}")
            summary = json.loads(r["stdout"])
            assert summary["rows_written"] == rows, summary
            results.append((f"(c) jetflow, {connections} connection{'s' if connections > 1 else ''}",
                            rows, r))

        # (b) the Parquet ceiling on (at most) a 10M-row slice of what jetflow wrote.
        r = run_child([python, "-c", CEILING, str(work / "lake1"), str(min(rows, SLICE_ROWS)),
                       str(work / "ceiling.parquet"), json.dumps(write_kw)], work / "ceiling")
        info = json.loads(r["stdout"])
        r["seconds"] = info["seconds"]
        results.append(("(b) parquet ceiling: pyarrow write_table", info["rows"], r))

        # (d) the peer.
        try:
            r = run_child([python, "-c", PEER, str(ch.tcp_port), str(min(rows, SLICE_ROWS)),
                           str(work / "peer.parquet"), json.dumps(write_kw)], work / "peer")
            info = json.loads(r["stdout"])
            results.append(("(d) peer: clickhouse-driver+numpy -> pyarrow", info["rows"], r))
        except SystemExit as e:
            print(f"peer failed: {str(e)[:500]}")

    rate = {name[:3]: n / r["seconds"] for name, n, r in results}
    limit = min(rate["(a)"], rate["(b)"])
    print(f"\nNative bytes of the table (uncompressed): {size / 1e6:.0f} MB")
    print(f"{'measurement':48} {'rows':>8} {'seconds':>8} {'rows/s':>9} {'peak RSS':>9} "
          f"{'x min(a,b)':>10}")
    for name, n, r in results:
        rps = n / r["seconds"]
        print(f"{name:48} {human(n):>8} {r['seconds']:8.2f} {human(rps):>9} "
              f"{r['rss'] / 2**20:7.0f}MB {rps / limit:10.2f}")
    c1 = next(n / r["seconds"] for name, n, r in results if name.startswith("(c) jetflow, 1"))
    peer = [n / r["seconds"] for name, n, r in results if name.startswith("(d)")]
    if peer:
        print(f"jetflow (1 connection) / peer: {c1 / peer[0]:.2f}")
    print(f"ratio (c, 1 connection) / min(a, b): {c1 / limit:.2f}  (goal >= 0.8)")
    if args.json:
        import results as results_file

        ratios = [results_file.ratio("(c, 1 connection) rows/s / min(a, b) rows/s",
                                     c1 / limit, ">= 0.8")]
        if peer:
            ratios.append(results_file.ratio("(c, 1 connection) rows/s / peer rows/s",
                                             c1 / peer[0], "> 1"))
        ratios += [results_file.ratio(f"{name} rows/s / min(a, b)",
                                      n / r["seconds"] / limit)
                   for name, n, r in results if name.startswith("(c) jetflow, 2")]
        results_file.write(
            "clickhouse",
            [{"name": name, "rows": n, "seconds": r["seconds"],
              "rows_per_second": n / r["seconds"], "peak_rss_bytes": r["rss"]}
             for name, n, r in results],
            ratios, load_average=(load_start, os.getloadavg()[0]),
            details={"rows": rows, "encode_threads": args.encode_threads,
                     "native_bytes_uncompressed": size})
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

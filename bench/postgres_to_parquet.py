#!/usr/bin/env python3
"""PostgreSQL -> Parquet: jetflow against the raw COPY limit and a peer, in the same run.

A throw-away PostgreSQL 15 (tests/servers/postgres.py) gets a table of --rows rows (10M by
default; --quick: 1M) with 10 columns: bigint, int, timestamptz, numeric(18,4), double,
bool, text, char(2), jsonb, uuid. After VACUUM (FREEZE, ANALYZE), all over TCP on loopback:

  (a) limit    psql: COPY bench TO STDOUT (FORMAT binary) into /dev/null, one connection
  (b) jetflow  PostgreSQL -> Parquet (zstd, spark profile), one connection
  (c) jetflow  the same with 2 and 4 connections (key ranges on id, one snapshot)
  (d) peer     ConnectorX 0.4 (PyPI) reading the table into Arrow, pyarrow writing zstd
               Parquet; one connection and 4 (partition_on id)

Times are wall clock of the whole process (best of --reps); peak RSS is the process's
exact ru_maxrss from wait4. jetflow's peak RSS is also measured on a 1M-row copy of the
table, to show it does not grow with the table. The machine is shared and noisy: only
ratios measured in the same run mean anything. The table ends with (b)/(a), goal >= 0.8.
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
sys.path.insert(0, str(ROOT / "tests"))
from servers.postgres import PostgresServer  # noqa: E402

CREATE = """
DROP TABLE IF EXISTS bench;
CREATE TABLE bench (
  id bigint PRIMARY KEY, i int, ts timestamptz, amount numeric(18,4), score double precision,
  flag bool, note text, cc char(2), doc jsonb, uid uuid);
INSERT INTO bench
SELECT g, ((g * 7919) %% 1000003)::int,
       timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second',
       round((g * 0.37) %% 1000000, 4), g * 0.001,
       g %% 3 = 0, 'note ' || md5(g::text), chr((65 + g %% 26)::int) || chr((65 + g %% 7)::int),
       ('{"k": ' || (g %% 100) || ', "s": "v' || (g %% 10) || '"}')::jsonb,
       md5(g::text)::uuid
FROM generate_series(1::bigint, %d) g;
"""


def run_measured(argv, env=None, stdout=None) -> tuple[float, int, int, bytes]:
    """(seconds, peak RSS bytes, exit code, stdout) of one child process."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, env=env, stdout=stdout if stdout is not None else subprocess.PIPE,
                            stderr=subprocess.PIPE)
    out = b""
    if stdout is None:
        out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - start
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    if code != 0:
        sys.stderr.write(f"{' '.join(map(str, argv))} failed ({code}):\n{err.decode()[-3000:]}\n")
    return seconds, usage.ru_maxrss * 1024, code, out


def jetflow_pipeline(folder: Path, dsn: str, table: str, connections: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    partition = ""
    if connections > 1:
        partition = f"  partition_by: {{column: id, partitions: {connections}}}\n"
    text = (f"pipeline: pgbench\nrun_instance: {{key: dt, value: '2024-01-01'}}\n"
            f"consumer:\n  type: postgres\n  dsn: '{dsn}'\n  table: {table}\n{partition}"
            f"loaders:\n  - type: parquet\n    path: lake\n    profile: spark\n"
            f"    compression: zstd\nengine:\n  partitions_in_flight: {connections}\n"
            f"state:\n  path: state.db\n")
    path = folder / "pipeline.yaml"
    path.write_text(text)
    return path


PEER = r"""
import sys, connectorx as cx, pyarrow.parquet as pq
dsn, table, out, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
kw = {"partition_on": "id", "partition_num": n} if n > 1 else {}
t = cx.read_sql(dsn, f"SELECT * FROM {table}", return_type="arrow", **kw)
pq.write_table(t, out, compression="zstd")
print(t.num_rows)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jetflow", default=str(ROOT / "build/release/bin/jetflow"))
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--quick", action="store_true", help="1M rows")
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if (b)/(a) < 0.8 or the peak RSS of (b) > 256 MB")
    parser.add_argument("--json", action="store_true",
                        help="write the run's results file into bench/results/ "
                             "(bench/results.py)")
    args = parser.parse_args()
    load_start = os.getloadavg()[0]
    rows = 1_000_000 if args.quick else args.rows
    work = Path(args.workdir or tempfile.mkdtemp(prefix="jetflow-pgbench-"))
    work.mkdir(parents=True, exist_ok=True)
    results = []  # (case, seconds, rss)
    try:
        limit, one, small = measure(args, rows, work, results)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)

    print()
    print(f"PostgreSQL -> Parquet, {rows:,} rows x 10 columns (2-core shared machine, noisy)")
    print(f"{'case':<48} {'seconds':>8} {'rows/s':>12} {'peak RSS':>10} {'vs (a)':>7}")
    for label, seconds, rss in results:
        if seconds is None:
            print(f"{label:<48} {'failed':>8}")
            continue
        n = small if "RSS check" in label else rows
        ratio = f"{limit / seconds:.2f}" if limit and "RSS check" not in label else ""
        print(f"{label:<48} {seconds:>8.2f} {n / seconds:>12,.0f} "
              f"{rss / 2**20:>8.0f} MB {ratio:>7}")
    measured = [(label, seconds, rss) for label, seconds, rss in results if seconds]
    one_rss = next((rss for label, _, rss in measured if label.startswith("(b)")), None)
    small_rss = next((rss for label, _, rss in measured if "RSS check" in label), None)
    peers = [seconds for label, seconds, _ in measured if label.startswith("(d)")]
    print()
    rss_ok = True
    if one_rss:
        rss_ok = one_rss <= 256 * 2**20
        print(f"peak RSS of (b) = {one_rss / 2**20:.0f} MB  (goal <= 256 MB)")
    if one_rss and small_rss:
        print(f"peak RSS of (b) / at {small:,} rows = {one_rss / small_rss:.2f}  "
              f"(goal: the same; it does not grow with the table)")
    if peers and one:
        print(f"(b) rows/s / fastest peer's rows/s = {min(peers) / one:.2f}  (goal > 1)")
    ratio = limit / one if (limit and one) else 0.0
    print(f"(b)/(a) = {ratio:.2f}  (goal >= 0.8)")
    if args.json:
        import results as results_file

        ratios = [results_file.ratio("(b)/(a): jetflow 1 conn rows/s / COPY binary rows/s",
                                     ratio, ">= 0.8")]
        if one_rss:
            ratios.append(results_file.ratio("peak RSS of (b), MiB", one_rss / 2**20,
                                             "<= 256"))
        if one_rss and small_rss:
            ratios.append(results_file.ratio(f"peak RSS of (b) / at {small:,} rows",
                                             one_rss / small_rss))
        if peers and one:
            ratios.append(results_file.ratio("(b) rows/s / fastest peer's rows/s",
                                             min(peers) / one, "> 1"))
        for label, seconds, _ in measured:
            if label.startswith("(c)"):
                ratios.append(results_file.ratio(f"{label} / (a)", limit / seconds))
        results_file.write(
            "postgres",
            [{"name": label.strip(), "rows": small if "RSS check" in label else rows,
              "seconds": seconds, "peak_rss_bytes": rss,
              "rows_per_second": None if seconds is None else
              (small if "RSS check" in label else rows) / seconds}
             for label, seconds, rss in results],
            ratios, load_average=(load_start, os.getloadavg()[0]),
            details={"rows": rows, "reps": args.reps, "peer": not args.no_peer})
    return 1 if args.check and (ratio < 0.8 or not rss_ok) else 0


def measure(args, rows: int, work: Path, results: list):
    """Builds the table and runs every case; returns (limit, one, small)."""
    with PostgresServer(settings={"shared_buffers": "512MB", "max_wal_size": "8GB",
                                  "checkpoint_timeout": "1h"}) as pg:
        t0 = time.monotonic()
        pg.psql("-q", input=CREATE % rows)
        pg.psql("-q", "-c", "VACUUM (FREEZE, ANALYZE) bench")
        small = min(rows, 1_000_000)
        pg.psql("-q", "-c", f"CREATE TABLE bench_1m AS SELECT * FROM bench WHERE id <= {small}")
        pg.psql("-q", "-c", "VACUUM (FREEZE, ANALYZE) bench_1m")
        size = pg.query("SELECT pg_size_pretty(pg_total_relation_size('bench'))")[0][0]
        print(f"table: {rows:,} rows, {size}, built in {time.monotonic() - t0:.0f} s",
              flush=True)
        tcp = ["-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "-d", "postgres"]

        def best(label, fn, reps):
            runs = [fn() for _ in range(reps)]
            ok = [r for r in runs if r[2] == 0]
            if not ok:
                results.append((label, None, None))
                return None
            seconds = min(r[0] for r in ok)
            rss = max(r[1] for r in ok)
            results.append((label, seconds, rss))
            print(f"  {label}: {seconds:.2f} s", flush=True)
            return seconds

        with open(os.devnull, "wb") as null:
            limit = best("(a) COPY binary -> /dev/null, 1 conn (psql)",
                         lambda: run_measured(["psql", "-X", *tcp, "-c",
                                               "COPY bench TO STDOUT (FORMAT binary)"],
                                              stdout=null), args.reps)

        def jetflow(table, connections):
            folder = work / f"jf_{table}_{connections}"
            shutil.rmtree(folder, ignore_errors=True)
            pipeline = jetflow_pipeline(folder, pg.dsn, table, connections)
            return run_measured([args.jetflow, "run", str(pipeline), "--json", "--no-progress"])

        one = best("(b) jetflow -> Parquet, 1 conn", lambda: jetflow("bench", 1), args.reps)
        best("(c) jetflow -> Parquet, 2 conns", lambda: jetflow("bench", 2), args.reps)
        best("(c) jetflow -> Parquet, 4 conns", lambda: jetflow("bench", 4), args.reps)
        best(f"    jetflow 1 conn on {small:,} rows (RSS check)",
             lambda: jetflow("bench_1m", 1), 1)
        if not args.no_peer:
            for n in (1, 4):
                out = work / f"peer_{n}.parquet"
                best(f"(d) ConnectorX + pyarrow, {n} conn{'s' if n > 1 else ''}",
                     lambda n=n, out=out: run_measured(
                         [sys.executable, "-c", PEER, pg.dsn, "bench", str(out), str(n)]), 1)

    return limit, one, small


if __name__ == "__main__":
    sys.exit(main())

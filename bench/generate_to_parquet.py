#!/usr/bin/env python3
"""jetflow `generate` -> Parquet against pyarrow writing the same data (the stage's ceiling).

What is measured, all in one run on the same machine (it is shared and noisy, so only ratios
against a peer measured in the same run are meaningful):

  jetflow   `jetflow run --json --no-progress` of a generate(mixed10) -> parquet pipeline, for
            10M rows and 100M rows. Wall clock of the process, its exact peak RSS (ru_maxrss
            from wait4) and CPU seconds, and the bytes of Parquet it wrote. jetflow generates
            the data too: its time includes generation, encoding, the commit protocol
            (staging, manifests, state store) and process start-up. The 10M-row run is
            measured twice per repetition: with the loader's default `fsync: true` (every
            file written back and fsynced before it is published) and with `fsync: false`
            (the same commit protocol, files left to the kernel's write-back).
  pyarrow   the ceiling: the 10M-row lake jetflow wrote is read back into memory (so the
            Arrow types are exactly the ones jetflow encoded: the spark-profile output
            schema), then ONLY pyarrow.parquet.write_table is timed with the same Parquet
            settings (compression and level, dictionary, statistics, row group size, data
            page version, format 2.6, page index and ARROW:schema as found in jetflow's
            footers). Three layouts, best of --reps each:
              1 file, 1 thread            what a single pyarrow writer does;
              P files, T threads          one file per jetflow partition, written by as many
                                          threads as jetflow has partitions in flight (the
                                          writer releases the GIL), i.e. pyarrow given the
                                          same cores and layout as jetflow;
              P files, T threads, fsync   the same, each thread fsyncing its file once
                                          written: durable, like jetflow's default commit.
            The ceiling is the faster of the first two. It runs in a child process so its
            peak RSS is its own (it holds the whole table in memory, so RSS is not
            comparable), kept alive so that its repetitions alternate with jetflow's.

Goals (from the issue): jetflow 10M rows/s >= 0.9 x the pyarrow ceiling; jetflow peak RSS at
100M rows <= 1.25 x its peak RSS at 10M rows. The throughput goal compares like with like:
write_table returns with its files in the page cache (the benchmark deletes them before the
kernel writes them back), so the goal uses jetflow with `fsync: false`; the ratio of the
default, durable run is printed beside it.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN_VALUE = "2024-01-01"

# Parquet settings shared by both writers. compression_level: the zstd level jetflow's
# loader uses when the config names none (Arrow's ZSTD default, 1).
PARQUET = {
    "compression": "zstd",
    "compression_level": 1,
    "row_group_rows": 1048576,
    "dictionary": True,
    "statistics": True,
    "data_page_version": "1.0",
    "format_version": "2.6",
}


# ------------------------------------------------------------------------------------------
# Small helpers


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    return str(n)


def human_count(n: float) -> str:
    if n >= 1e9:
        return f"{n / 1e9:.2f}G"
    if n >= 1e6:
        return f"{n / 1e6:.2f}M"
    if n >= 1e3:
        return f"{n / 1e3:.1f}K"
    return f"{n:.0f}"


def parse_count(text: str) -> int:
    text = text.strip().upper().replace("_", "")
    scale = {"K": 10**3, "M": 10**6, "G": 10**9}.get(text[-1:], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def dir_bytes(path: Path) -> tuple[int, int]:
    """(bytes, files) of the *.parquet files under path."""
    total, files = 0, 0
    for p in published_parquet_files(path):
        total += p.stat().st_size
        files += 1
    return total, files


def published_parquet_files(path: Path) -> list[Path]:
    """*.parquet under path in name order, skipping "_"/"."-prefixed folders (staging)."""
    return sorted(p for p in path.rglob("*.parquet")
                  if not any(part.startswith(("_", ".")) for part in p.relative_to(path).parts))


@dataclass
class ChildResult:
    returncode: int
    wall_seconds: float
    max_rss_bytes: int
    cpu_seconds: float
    stdout: str
    stderr: str


def run_child(argv: list[str], cwd: Path, log_prefix: Path) -> ChildResult:
    """Runs argv and measures it exactly: wall clock, ru_maxrss and CPU time from wait4."""
    out_path, err_path = log_prefix.with_suffix(".out"), log_prefix.with_suffix(".err")
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return ChildResult(
        returncode=proc.returncode,
        wall_seconds=wall,
        max_rss_bytes=usage.ru_maxrss * 1024,  # Linux: KiB
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        stdout=out_path.read_text(errors="replace"),
        stderr=err_path.read_text(errors="replace"),
    )


def machine_info() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    import pyarrow

    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram": human_bytes(mem),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "pyarrow": pyarrow.__version__,
    }


# ------------------------------------------------------------------------------------------
# jetflow


@dataclass
class EngineSettings:
    partitions_in_flight: int
    encode_threads: int
    batch_rows: int
    queue_batches: int
    memory_budget: str

    def label(self) -> str:
        return (f"pif={self.partitions_in_flight} enc={self.encode_threads} "
                f"batch={human_count(self.batch_rows)} q={self.queue_batches} "
                f"budget={self.memory_budget}")


@dataclass
class Measurement:
    label: str
    rows: int
    seconds: float  # wall clock
    max_rss_bytes: int
    cpu_seconds: float
    output_bytes: int
    output_files: int
    arrow_bytes: int  # in-memory Arrow bytes of the data written (spark-profile types)
    extra: dict = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds

    @property
    def output_mb_per_second(self) -> float:
        return self.output_bytes / self.seconds / 1e6

    @property
    def arrow_mb_per_second(self) -> float:
        return self.arrow_bytes / self.seconds / 1e6


def pipeline_yaml(rows: int, partitions: int, lake: Path, state: Path, engine: EngineSettings,
                  loader_extra: dict) -> str:
    loader = {
        "type": "parquet",
        "name": "lake",
        "path": str(lake),
        "profile": "spark",
        "compression": PARQUET["compression"],
        "row_group_rows": PARQUET["row_group_rows"],
        # row_group_bytes keeps its default (128MiB of Arrow data): mixed10's 1M rows are
        # ~100 MB, so rows alone end row groups, as in pyarrow.
        "dictionary": PARQUET["dictionary"],
        "statistics": PARQUET["statistics"],
        "data_page_version": PARQUET["data_page_version"],
        "compression_level": PARQUET["compression_level"],
        # The loader's own pool encodes the columns of a row group in parallel (> 1 thread).
        "encode_threads": engine.encode_threads,
    }
    loader.update(loader_extra)
    # JSON is YAML: keys and values are quoted exactly.
    doc = {
        "pipeline": "bench_generate",
        "run_instance": {"key": "dt", "value": RUN_VALUE},
        "state": {"type": "sqlite", "path": str(state)},
        "consumer": {"type": "generate", "rows": rows, "partitions": partitions, "seed": 42},
        "loaders": [loader],
        "engine": {
            "partitions_in_flight": engine.partitions_in_flight,
            "memory_budget": engine.memory_budget,
            "batch_rows": engine.batch_rows,
            "queue_batches": engine.queue_batches,
        },
    }
    return json.dumps(doc, indent=2) + "\n"


def run_jetflow(args, rows: int, engine: EngineSettings, work: Path, tag: str,
                keep_lake: bool = False, fsync: bool = True) -> tuple[Measurement, Path]:
    """fsync=False: the loader's `fsync: false` (files left to the kernel's write-back, as
    pyarrow's write_table leaves them)."""
    partitions = max(1, -(-rows // args.partition_rows))
    run_dir = work / tag
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    lake = run_dir / "lake"
    config = run_dir / "pipeline.yaml"
    loader_extra = dict(args.loader_extra)
    if not fsync:
        loader_extra["fsync"] = False
    config.write_text(pipeline_yaml(rows, partitions, lake, run_dir / "state.db", engine,
                                    loader_extra))
    argv = [str(args.jetflow), "--log-level", "warn", "run", str(config), "--json",
            "--no-progress"]
    child = run_child(argv, run_dir, run_dir / "jetflow")
    summary = None
    for line in reversed(child.stdout.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                summary = json.loads(line)
                break
            except json.JSONDecodeError:
                pass
    if child.returncode != 0 or summary is None or summary.get("status") != "succeeded":
        raise SystemExit(f"jetflow run failed ({tag}, exit {child.returncode}):\n"
                         f"{child.stdout[-4000:]}\n{child.stderr[-4000:]}\n"
                         f"config: {config}")
    if summary["rows_written"] != rows:
        raise SystemExit(f"jetflow wrote {summary['rows_written']} rows, expected {rows}")
    output_bytes, output_files = dir_bytes(lake)
    m = Measurement(
        label=f"jetflow {human_count(rows)}" + ("" if fsync else " fsync: false"),
        rows=rows,
        seconds=child.wall_seconds,
        max_rss_bytes=child.max_rss_bytes,
        cpu_seconds=child.cpu_seconds,
        output_bytes=output_bytes,
        output_files=output_files,
        arrow_bytes=0,
        extra={
            "partitions": partitions,
            "engine": engine.label(),
            "self_seconds": summary.get("seconds"),
            "self_peak_rss_bytes": summary.get("peak_rss_bytes"),
            "peak_in_flight_bytes": summary.get("peak_in_flight_bytes"),
            "bytes_written_reported": summary.get("bytes_written"),
        },
    )
    if not keep_lake:
        shutil.rmtree(lake, ignore_errors=True)
    return m, lake


# ------------------------------------------------------------------------------------------
# pyarrow (runs in a child process: --pyarrow-worker SPEC.json)


def inspect_footer(path: Path) -> dict:
    """Settings that can be read back from a Parquet footer, to mirror them exactly."""
    import pyarrow.parquet as pq

    md = pq.ParquetFile(path).metadata
    schema_md = md.metadata or {}
    col = md.row_group(0).column(0)
    codecs = sorted({md.row_group(0).column(i).compression for i in range(md.num_columns)})
    dict_cols = sum(1 for i in range(md.num_columns)
                    if md.row_group(0).column(i).dictionary_page_offset is not None)
    stats_cols = sum(1 for i in range(md.num_columns)
                     if md.row_group(0).column(i).is_stats_set)
    return {
        "format_version": md.format_version,
        "created_by": md.created_by,
        "codecs": codecs,
        "columns_with_dictionary_page": dict_cols,
        "columns_with_statistics": stats_cols,
        "num_columns": md.num_columns,
        "row_group_rows": md.row_group(0).num_rows,
        "has_arrow_schema": b"ARROW:schema" in schema_md,
        "has_page_index": bool(col.has_offset_index),
    }


def pyarrow_worker(spec_path: Path) -> None:
    """Loads the table once, then on each "run" line on stdin writes it once per layout and
    prints one JSON line; exits on "quit". Driven by PyarrowWorker."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    spec = json.loads(spec_path.read_text())
    files = [Path(f) for f in spec["files"]]
    out = Path(spec["out_dir"])
    load_started = time.perf_counter()
    # One table per jetflow output file, in partition order: the same rows, the same types.
    pieces = [pq.ParquetFile(f).read(use_threads=False) for f in files]
    table = pa.concat_tables(pieces)
    load_seconds = time.perf_counter() - load_started
    footer = spec["footer"]
    kwargs = dict(
        row_group_size=spec["row_group_rows"],
        version=spec["format_version"],
        use_dictionary=spec["dictionary"],
        compression=spec["compression"],
        compression_level=spec["compression_level"],
        write_statistics=spec["statistics"],
        data_page_version=spec["data_page_version"],
        store_schema=footer["has_arrow_schema"],
        write_page_index=footer["has_page_index"],
    )
    threads = spec["threads"]
    # (name, tables, threads, fsync): fsync makes each file durable after write_table, as
    # jetflow's default commit does (pyarrow cannot start the write-back while it writes).
    layouts = [("1 file, 1 thread", [table], 1, False)]
    if len(pieces) > 1 or threads > 1:
        layouts.append((f"{len(pieces)} files, {threads} threads", pieces, threads, False))
        layouts.append((f"{len(pieces)} files, {threads} threads, fsync", pieces, threads,
                        True))

    def write_one(part, target: Path, fsync: bool) -> None:
        pq.write_table(part, target, **kwargs)
        if fsync:
            fd = os.open(target, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def write_all(parts: list, nthreads: int, rep_dir: Path, fsync: bool) -> float:
        rep_dir.mkdir(parents=True, exist_ok=True)
        targets = [rep_dir / f"part-{i:05d}.parquet" for i in range(len(parts))]
        started = time.perf_counter()
        if nthreads == 1:
            for part, target in zip(parts, targets):
                write_one(part, target, fsync)
        else:
            # write_table releases the GIL while it encodes.
            with concurrent.futures.ThreadPoolExecutor(max_workers=nthreads) as pool:
                list(pool.map(lambda pt: write_one(pt[0], pt[1], fsync),
                              zip(parts, targets)))
        return time.perf_counter() - started

    print(json.dumps({
        "rows": table.num_rows,
        "arrow_bytes": table.nbytes,
        "schema": table.schema.to_string(show_schema_metadata=False),
        "load_seconds": load_seconds,
        "write_kwargs": kwargs,
    }), flush=True)
    for command in sys.stdin:
        if command.strip() != "run":
            break
        results = []
        for index, (name, parts, nthreads, fsync) in enumerate(layouts):
            rep_dir = out / f"layout{index}"
            before = resource.getrusage(resource.RUSAGE_SELF)
            seconds = write_all(parts, nthreads, rep_dir, fsync)
            after = resource.getrusage(resource.RUSAGE_SELF)
            nbytes, nfiles = dir_bytes(rep_dir)
            shutil.rmtree(rep_dir)
            results.append({"name": name, "threads": nthreads, "files": nfiles, "bytes": nbytes,
                            "fsync": fsync, "seconds": seconds,
                            "cpu_seconds": (after.ru_utime - before.ru_utime) +
                                           (after.ru_stime - before.ru_stime)})
        print(json.dumps(results), flush=True)


class PyarrowWorker:
    """The pyarrow ceiling in its own process (its peak RSS is its own), kept alive so
    that its repetitions interleave with jetflow's on a noisy machine."""

    def __init__(self, lake: Path, partitions_in_flight: int, work: Path):
        files = published_parquet_files(lake)
        if not files:
            raise SystemExit(f"no Parquet files under {lake}")
        self.out = work / "pyarrow"
        shutil.rmtree(self.out, ignore_errors=True)
        self.out.mkdir(parents=True)
        self.footer = inspect_footer(files[0])
        spec = dict(PARQUET)
        spec.update({
            "files": [str(f) for f in files],
            "out_dir": str(self.out),
            "footer": self.footer,
            "threads": max(1, min(partitions_in_flight, len(files))),
        })
        spec_path = work / "pyarrow_spec.json"
        spec_path.write_text(json.dumps(spec, indent=2))
        self.jetflow_files = len(files)
        self.err = open(work / "pyarrow.err", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--pyarrow-worker", str(spec_path)],
            cwd=work, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err, text=True)
        self.info = self._read()
        self.reps: list[list[dict]] = []

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            self.proc.kill()
            raise SystemExit("pyarrow worker failed:\n" +
                             Path(self.err.name).read_text(errors="replace")[-4000:])
        return json.loads(line)

    def run(self) -> None:
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        self.reps.append(self._read())

    def finish(self) -> dict:
        """Stops the worker; returns its info with the best time per layout and its peak RSS."""
        self.proc.stdin.write("quit\n")
        self.proc.stdin.close()
        _, status, usage = os.wait4(self.proc.pid, 0)
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        self.err.close()
        shutil.rmtree(self.out, ignore_errors=True)
        result = dict(self.info)
        result["max_rss_bytes"] = usage.ru_maxrss * 1024
        result["footer"] = self.footer
        result["jetflow_files"] = self.jetflow_files
        variants = []
        for index in range(len(self.reps[0])):
            runs = [rep[index] for rep in self.reps]
            best = min(runs, key=lambda r: r["seconds"])
            variants.append(dict(best, all_seconds=[r["seconds"] for r in runs],
                                 best_seconds=best["seconds"]))
        result["variants"] = variants
        return result


# ------------------------------------------------------------------------------------------
# Report


def print_table(measurements: list[Measurement]) -> None:
    header = (f"{'writer':<40} {'rows':>7} {'files':>5} {'wall s':>8} {'cpu s':>7} "
              f"{'rows/s':>8} {'out MB/s':>8} {'Arrow MB/s':>10} {'out size':>10} "
              f"{'peak RSS':>10}")
    print(header)
    print("-" * len(header))
    for m in measurements:
        print(f"{m.label:<40} {human_count(m.rows):>7} {m.output_files:>5} {m.seconds:>8.2f} "
              f"{m.cpu_seconds:>7.2f} {human_count(m.rows_per_second):>8} "
              f"{m.output_mb_per_second:>8.1f} {m.arrow_mb_per_second:>10.1f} "
              f"{human_bytes(m.output_bytes):>10} {human_bytes(m.max_rss_bytes):>10}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pyarrow-worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--jetflow", type=Path, default=ROOT / "build/release/bin/jetflow")
    parser.add_argument("--quick", action="store_true", help="only the small run (10M rows)")
    parser.add_argument("--rows", default="10M,100M",
                        help="small[,large] row counts (default 10M,100M); the RSS goal "
                             "compares large with small")
    parser.add_argument("--partition-rows", type=parse_count, default=parse_count("5M"),
                        help="rows per generate partition (default 5M: 2 partitions at "
                             "10M rows, 20 at 100M)")
    parser.add_argument("--reps", type=int, default=3,
                        help="repetitions of the small jetflow run and of each pyarrow "
                             "layout; the best time counts (default 3)")
    # Defaults: the best of the sweep on the 2-core machine (docs/benchmarks.md): one
    # partition per core, each encoded on its own thread, 128K-row batches.
    parser.add_argument("--partitions-in-flight", type=int, default=os.cpu_count() or 1,
                        help="engine.partitions_in_flight (default: the number of cores)")
    parser.add_argument("--encode-threads", type=int, default=1,
                        help="the loader's encode_threads, also engine.encode_threads "
                             "(default 1)")
    parser.add_argument("--batch-rows", type=parse_count, default=131072,
                        help="engine.batch_rows (default 128K)")
    parser.add_argument("--queue-batches", type=int, default=2,
                        help="engine.queue_batches (default 2, the engine's default)")
    parser.add_argument("--memory-budget", default="1GiB",
                        help="engine.memory_budget (default 1GiB, the engine's default)")
    parser.add_argument("--loader-opt", action="append", default=[], metavar="KEY=VALUE",
                        help="extra parquet loader option (YAML value), e.g. "
                             "max_file_bytes=1GiB")
    parser.add_argument("--sweep", action="store_true",
                        help="also run the small size with partitions_in_flight 1/2, "
                             "encode_threads 1/2, batch_rows 64K/128K")
    parser.add_argument("--check", action="store_true", help="exit 1 if a goal fails")
    parser.add_argument("--workdir", type=Path, default=ROOT / "build/bench",
                        help="scratch folder for the lakes (default build/bench); removed "
                             "at the end unless --keep")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--json-out", type=Path, help="also write all results as JSON here")
    parser.add_argument("--json", action="store_true",
                        help="write the run's results file into bench/results/ "
                             "(bench/results.py)")
    args = parser.parse_args()

    if args.pyarrow_worker:
        pyarrow_worker(args.pyarrow_worker)
        return 0

    return run_benchmark(args)


def parse_loader_opts(items: list[str]) -> dict:
    extra = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--loader-opt needs KEY=VALUE, got {item!r}")
        try:
            extra[key] = json.loads(value)
        except json.JSONDecodeError:
            extra[key] = value
    return extra


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def run_benchmark(args) -> int:
    rows_list = [parse_count(x) for x in args.rows.split(",") if x.strip()]
    if args.quick:
        rows_list = rows_list[:1]
    small = rows_list[0]
    large = rows_list[1] if len(rows_list) > 1 else None
    args.loader_extra = parse_loader_opts(args.loader_opt)
    if "compression_level" in args.loader_extra:
        PARQUET["compression_level"] = int(args.loader_extra["compression_level"])
    if not args.jetflow.is_file():
        raise SystemExit(f"jetflow binary not found: {args.jetflow} (run bench/run.sh)")
    work = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    # mixed10 compresses to ~45 bytes/row; the small lake and one pyarrow copy at a time.
    need = int(60 * (2 * small + (large or 0)))
    free = shutil.disk_usage(work).free
    if free < need:
        raise SystemExit(f"not enough free disk under {work}: {human_bytes(free)} free, "
                         f"~{human_bytes(need)} needed")

    engine = EngineSettings(args.partitions_in_flight, args.encode_threads, args.batch_rows,
                            args.queue_batches, args.memory_budget)
    info = machine_info()
    print(f"machine: {info['nproc']} cores, {info['cpu']}, {info['ram']} RAM, "
          f"Linux {info['kernel']}, Python {info['python']}, pyarrow {info['pyarrow']}")
    print(f"jetflow: {args.jetflow}")
    print(f"engine:  {engine.label()}; {human_count(args.partition_rows)} rows per partition")
    print(f"parquet: {json.dumps(PARQUET)} extra loader options {json.dumps(args.loader_extra)}")
    print(f"scratch: {work} ({human_bytes(free)} free)", flush=True)
    load_start = os.getloadavg()[0]
    if load_start > 0.5 * (os.cpu_count() or 1):
        print(f"warning: 1-minute load average is {load_start:.1f} on {os.cpu_count()} cores: "
              f"other processes compete for the CPU; wall-clock ratios will be noisy (compare "
              f"the rows per CPU-second ratio too)", flush=True)

    results: dict = {"machine": info, "engine": engine.__dict__, "parquet": dict(PARQUET),
                     "partition_rows": args.partition_rows, "command": " ".join(sys.argv)}
    try:
        # 1. jetflow, small, first repetition: its lake is the pyarrow input.
        print(f"\n[1] jetflow {human_count(small)} rows and pyarrow writing the same rows, "
              f"interleaved, x{args.reps}", flush=True)
        first, lake = run_jetflow(args, small, engine, work, "jetflow_small", keep_lake=True)
        small_runs = [first]
        # 2. pyarrow on exactly that data; repetitions alternate with jetflow's, each
        #    repetition: jetflow (default: fsync at commit), jetflow with fsync: false,
        #    pyarrow.
        worker = PyarrowWorker(lake, engine.partitions_in_flight, work)
        shutil.rmtree(lake.parent, ignore_errors=True)
        nofsync_runs = []
        for rep in range(args.reps):
            if rep > 0:
                small_runs.append(run_jetflow(args, small, engine, work, "jetflow_small")[0])
            nofsync_runs.append(
                run_jetflow(args, small, engine, work, "jetflow_small", fsync=False)[0])
            worker.run()
        # 2. Optional sweep of engine settings, round-robin, one pyarrow repetition per
        #    round, so that drifting load hits every setting and the ceiling alike.
        sweep_runs: dict = {}
        if args.sweep:
            settings = [EngineSettings(pif, enc, batch, args.queue_batches, args.memory_budget)
                        for pif in (1, 2) for enc in (1, 2) for batch in (65536, 131072)]
            rounds = max(1, min(args.reps, 2))
            print(f"[{2 if args.sweep else 0}] sweep at {human_count(small)} rows: {len(settings)} settings x "
                  f"{rounds} rounds", flush=True)
            for _ in range(rounds):
                for s_ in settings:
                    m = run_jetflow(args, small, s_, work, "jetflow_sweep")[0]
                    sweep_runs.setdefault(s_.label(), (s_, []))[1].append(m)
                worker.run()
        py = worker.finish()
        arrow_bytes_per_row = py["arrow_bytes"] / py["rows"]
        for m in small_runs + nofsync_runs:
            m.arrow_bytes = int(arrow_bytes_per_row * m.rows)
        best_small = min(small_runs, key=lambda m: m.seconds)
        best_nofsync = min(nofsync_runs, key=lambda m: m.seconds)
        best_nofsync.label += f" (best of {len(nofsync_runs)})"
        # RSS goal: the smallest 10M peak over the repetitions (the strictest denominator).
        rss_small = min(m.max_rss_bytes for m in small_runs)
        best_small.label = f"jetflow {human_count(small)} (best of {len(small_runs)})"

        py_measurements = []
        for v in py["variants"]:
            py_measurements.append(Measurement(
                label=f"pyarrow {human_count(py['rows'])} ({v['name']})", rows=py["rows"],
                seconds=v["best_seconds"], max_rss_bytes=py["max_rss_bytes"],
                cpu_seconds=v["cpu_seconds"], output_bytes=v["bytes"],
                output_files=v["files"], arrow_bytes=py["arrow_bytes"]))
        # The ceiling: the fastest layout that, like write_table, leaves its files to the
        # kernel; the fsync layout is the durable comparison for jetflow's default.
        ceiling = min((m for m, v in zip(py_measurements, py["variants"]) if not v["fsync"]),
                      key=lambda m: m.seconds)
        durable_py = next((m for m, v in zip(py_measurements, py["variants"]) if v["fsync"]),
                          None)
        sweep = []
        for s_, runs in sweep_runs.values():
            best = min(runs, key=lambda m: m.seconds)
            best.arrow_bytes = int(arrow_bytes_per_row * best.rows)
            sweep.append((s_, best, min(r.max_rss_bytes for r in runs)))

        large_m = None
        if large:
            print(f"[{3 if args.sweep else 2}] jetflow {human_count(large)} rows", flush=True)
            large_m = run_jetflow(args, large, engine, work, "jetflow_large")[0]
            large_m.arrow_bytes = int(arrow_bytes_per_row * large_m.rows)
            shutil.rmtree(work / "jetflow_large", ignore_errors=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    print()
    print_table([best_small, best_nofsync] + ([large_m] if large_m else []) + py_measurements)
    print()
    print(f"pyarrow input: {py['jetflow_files']} jetflow files read back into one table, "
          f"{human_bytes(py['arrow_bytes'])} of Arrow data ({arrow_bytes_per_row:.1f} B/row), "
          f"loaded in {py['load_seconds']:.1f} s (not timed); its peak RSS includes that table.")
    print(f"pyarrow write_table settings: {json.dumps(py['write_kwargs'])}")
    print(f"jetflow footer: {json.dumps(py['footer'])}")
    print("schema written:\n  " + py["schema"].replace("\n", "\n  "))
    for m in [best_small, best_nofsync] + ([large_m] if large_m else []):
        e = m.extra
        print(f"{m.label}: {e['partitions']} partitions, self-reported {e['self_seconds']:.2f} s, "
              f"peak RSS (self) {human_bytes(e['self_peak_rss_bytes'] or 0)}, batches in flight "
              f"peak {human_bytes(e['peak_in_flight_bytes'] or 0)}, "
              f"cpu/wall {m.cpu_seconds / m.seconds:.2f}")
    print(f"all {human_count(small)} wall times, in run order (jetflow, then pyarrow):")
    print(f"  jetflow: " + ", ".join(f"{m.seconds:.2f}" for m in small_runs))
    print(f"  jetflow fsync: false: " + ", ".join(f"{m.seconds:.2f}" for m in nofsync_runs))
    for v in py["variants"]:
        print(f"  pyarrow {v['name']}: " + ", ".join(f"{x:.2f}" for x in v["all_seconds"]))
    # Repetition i of jetflow ran just before repetition i of pyarrow: their ratio is the
    # least disturbed by other load on the machine.
    ceiling_index = py_measurements.index(ceiling)

    def paired_ratios(runs: list[Measurement], index: int) -> tuple[list[float], float]:
        ratios = [py["variants"][index]["all_seconds"][i] / m.seconds
                  for i, m in enumerate(runs)]
        return ratios, sorted(ratios)[len(ratios) // 2]

    paired, paired_median = paired_ratios(small_runs, ceiling_index)
    paired_nofsync, paired_nofsync_median = paired_ratios(nofsync_runs, ceiling_index)

    load_end = os.getloadavg()[0]
    print(f"1-minute load average: {load_start:.1f} at the start, {load_end:.1f} at the end "
          f"({os.cpu_count()} cores)")
    results["load_average"] = [load_start, load_end]
    ceiling_layout = ceiling.label.split('(', 1)[1].rstrip(')')
    throughput_ratio = best_nofsync.rows_per_second / ceiling.rows_per_second
    durable_ratio = best_small.rows_per_second / ceiling.rows_per_second
    cpu_ratio = ((best_nofsync.rows / best_nofsync.cpu_seconds) /
                 (ceiling.rows / ceiling.cpu_seconds))
    ok_throughput = throughput_ratio >= 0.9
    print()
    print("ratios")
    print(f"  jetflow {human_count(small)} fsync: false rows/s / pyarrow ceiling rows/s "
          f"({ceiling_layout}) = {throughput_ratio:.3f}   goal >= 0.90  "
          f"{verdict(ok_throughput)}")
    print("    like for like: pyarrow's write_table leaves its files to the kernel's "
          "write-back, as fsync: false does")
    for m in py_measurements:
        if m is not durable_py:
            print(f"    vs {m.label:<40} "
                  f"{best_nofsync.rows_per_second / m.rows_per_second:.3f}")
    print(f"    paired by repetition (jetflow i / pyarrow i, same ceiling layout): "
          + ", ".join(f"{r:.3f}" for r in paired_nofsync)
          + f"; median {paired_nofsync_median:.3f}")
    print(f"  jetflow {human_count(small)} default (fsync: every file on disk before it is "
          f"published) / pyarrow ceiling = {durable_ratio:.3f}   (information: pyarrow's "
          f"timing includes no disk write)")
    print(f"    paired by repetition: " + ", ".join(f"{r:.3f}" for r in paired)
          + f"; median {paired_median:.3f}")
    durable_like_ratio = None
    if durable_py is not None:
        durable_like_ratio = best_small.rows_per_second / durable_py.rows_per_second
        durable_paired, durable_paired_median = paired_ratios(
            small_runs, py_measurements.index(durable_py))
        print(f"  jetflow {human_count(small)} default / {durable_py.label} = "
              f"{durable_like_ratio:.3f}   (information: both durable; pyarrow fsyncs each "
              f"file once written)")
        print(f"    paired by repetition: " + ", ".join(f"{r:.3f}" for r in durable_paired)
              + f"; median {durable_paired_median:.3f}")
    print(f"  rows per CPU-second, jetflow fsync: false / pyarrow ceiling = {cpu_ratio:.3f}   "
          f"(information: jetflow also generates the data)")
    ok_rss = True
    if large_m:
        rss_ratio = large_m.max_rss_bytes / rss_small
        ok_rss = rss_ratio <= 1.25
        print(f"  peak RSS {human_count(large)} / peak RSS {human_count(small)} = "
              f"{human_bytes(large_m.max_rss_bytes)} / {human_bytes(rss_small)} = "
              f"{rss_ratio:.3f}   goal <= 1.25  {verdict(ok_rss)}")
        results["rss_ratio"] = rss_ratio
    if sweep:
        print()
        print(f"sweep at {human_count(small)} rows (best of {max(1, min(args.reps, 2))} "
              f"round-robin rounds), ratio against the pyarrow ceiling of the whole run:")
        for s, m, rss in sorted(sweep, key=lambda t: t[1].seconds):
            print(f"  {s.label():<52} {m.seconds:7.2f} s {human_count(m.rows_per_second):>7} "
                  f"rows/s {m.rows_per_second / ceiling.rows_per_second:6.3f}x  cpu "
                  f"{m.cpu_seconds:6.2f} s  RSS {human_bytes(rss)}")
    results.update({
        "throughput_ratio": throughput_ratio,
        "paired_ratios": paired_nofsync,
        "durable_ratio": durable_ratio,
        "durable_like_for_like_ratio": durable_like_ratio,
        "durable_paired_ratios": paired,
        "cpu_ratio": cpu_ratio,
        "measurements": [m.__dict__ | {"rows_per_second": m.rows_per_second}
                         for m in small_runs + nofsync_runs + ([large_m] if large_m else [])
                         + py_measurements],
        "pyarrow": py,
        "sweep": [{"engine": s.__dict__, "seconds": m.seconds, "rss": rss,
                   "cpu_seconds": m.cpu_seconds} for s, m, rss in sweep],
    })
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=2, default=str))
    if args.json:
        write_results_file(args, results, best_small, best_nofsync, large_m, ceiling,
                           durable_py, py_measurements, [load_start, load_end])
    if args.check and not (ok_throughput and ok_rss):
        return 1
    return 0


def write_results_file(args, details: dict, best_small: Measurement,
                       best_nofsync: Measurement, large_m: Measurement | None,
                       ceiling: Measurement, durable_py: Measurement | None,
                       py_measurements: list[Measurement], load: list[float]) -> None:
    """bench/results/generate-...json: the printed table and ratios (bench/results.py)."""
    import results as results_file

    def row(m: Measurement) -> dict:
        return {"name": m.label, "rows": m.rows, "files": m.output_files,
                "wall_seconds": m.seconds, "cpu_seconds": m.cpu_seconds,
                "rows_per_second": m.rows_per_second, "output_bytes": m.output_bytes,
                "peak_rss_bytes": m.max_rss_bytes}

    small = human_count(best_small.rows)
    ratios = [
        results_file.ratio(f"jetflow {small} fsync: false rows/s / pyarrow ceiling "
                           f"({ceiling.label})", details["throughput_ratio"], ">= 0.9"),
        results_file.ratio(f"jetflow {small} default (fsync) rows/s / pyarrow ceiling",
                           details["durable_ratio"]),
    ]
    if durable_py is not None:
        ratios.append(results_file.ratio(
            f"jetflow {small} default rows/s / {durable_py.label}",
            details["durable_like_for_like_ratio"]))
    ratios.append(results_file.ratio("rows per CPU-second, jetflow fsync: false / pyarrow "
                                     "ceiling", details["cpu_ratio"]))
    if "rss_ratio" in details:
        ratios.append(results_file.ratio(
            f"peak RSS {human_count(large_m.rows)} / peak RSS {small}",
            details["rss_ratio"], "<= 1.25"))
    measurements = [row(m) for m in [best_small, best_nofsync]
                    + ([large_m] if large_m else []) + py_measurements]
    kept = {key: details[key] for key in ("engine", "parquet", "partition_rows",
                                          "paired_ratios", "durable_paired_ratios",
                                          "sweep")}
    kept["all_runs"] = details["measurements"]
    results_file.write("generate", measurements, ratios, load_average=tuple(load),
                       details=kept)


if __name__ == "__main__":
    sys.exit(main())

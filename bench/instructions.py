#!/usr/bin/env python3
"""Instructions, not seconds: jetflow `generate` -> Parquet against pyarrow's write_table.

The core benchmark (generate_to_parquet.py) compares wall clock and CPU time, which this
shared 2-core machine moves by 10-30% from run to run. This one counts the instructions
each side executes, with valgrind's callgrind, which gives the same count for the same
binary and input whatever else the machine is doing. It answers "does jetflow do more work
than pyarrow for the same Parquet, and where", not "is it as fast": it leaves out the
kernel (page faults, file writes), waiting, and how well the threads overlap.

  jetflow   `jetflow run` of the core benchmark's pipeline (mixed10, the same loader
            settings), --rows rows in partitions of --partition-rows, whole, under
            callgrind: start-up, generation, encoding, checksums, the commit protocol.
  pyarrow   the lake jetflow wrote, read back into memory, then written again with
            pyarrow.parquet.write_table, one file per partition on as many threads, with the
            same settings as the core benchmark's ceiling. Run twice under callgrind, once
            reading only and once reading and writing: the difference is the writing.

Prints both counts, their ratio, and jetflow's own parts (generating the data, the files'
checksums) with the ratio of the rest. Takes ~5 minutes at the default 4M rows.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate_to_parquet import (PARQUET, ROOT, EngineSettings, inspect_footer,  # noqa: E402
                                 parse_count, pipeline_yaml, published_parquet_files)

# jetflow's own parts, by the function whose inclusive cost they are (callgrind_annotate
# prints "file:function [object]").
JETFLOW_PARTS = {
    "generating the data": "jetflow::generate_internal::GenerateReader::Next()",
    "checksums of the written files (xxh3)": "XXH3_128bits_update",
}


def callgrind(argv: list[str], out_file: Path, log: Path) -> None:
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}", *argv]
    with open(log, "wb") as err:
        result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=err)
    if result.returncode != 0:
        sys.exit(f"error: {' '.join(argv)} failed under callgrind (exit {result.returncode}); "
                 f"see {log}")


def total_instructions(out_file: Path) -> int:
    summary = subprocess.run(["callgrind_annotate", str(out_file)], capture_output=True,
                             text=True, check=True).stdout
    match = re.search(r"^\s*([\d,]+)\s+\(100\.0%\)\s+PROGRAM TOTALS", summary, re.M)
    if match is None:
        sys.exit(f"error: no PROGRAM TOTALS in callgrind_annotate {out_file}")
    return int(match.group(1).replace(",", ""))


def inclusive_listing(out_file: Path) -> str:
    return subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--tree=none", "--threshold=100",
         str(out_file)], capture_output=True, text=True, check=True).stdout


def inclusive_instructions(listing: str, function: str) -> int:
    """The inclusive cost of the first function whose name contains `function`."""
    for line in listing.splitlines():
        if function in line:
            match = re.match(r"^\s*([\d,]+)\s", line)
            if match:
                return int(match.group(1).replace(",", ""))
    sys.exit(f"error: {function} not found in jetflow's callgrind profile")


PYARROW_SCRIPT = """
import concurrent.futures, json, sys
import pyarrow.parquet as pq
spec = json.load(open(sys.argv[1]))
pieces = [pq.ParquetFile(f).read(use_threads=False) for f in spec["files"]]
if sys.argv[2] == "write":
    def write(i):
        pq.write_table(pieces[i], f"{spec['out_dir']}/part-{i:05d}.parquet", **spec["kwargs"])
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(pieces)) as pool:
        list(pool.map(write, range(len(pieces))))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jetflow", type=Path, required=True)
    parser.add_argument("--rows", type=parse_count, default=parse_count("4M"))
    parser.add_argument("--partition-rows", type=parse_count, default=parse_count("2M"),
                        help="rows per generate partition (default 2M: two row groups each)")
    parser.add_argument("--workdir", type=Path, default=ROOT / "build" / "bench-instructions")
    parser.add_argument("--json", action="store_true",
                        help="write the run's results file into bench/results/ "
                             "(bench/results.py)")
    args = parser.parse_args()
    load_start = os.getloadavg()[0]
    if shutil.which("valgrind") is None or shutil.which("callgrind_annotate") is None:
        sys.exit("error: valgrind (callgrind) is needed: apt-get install valgrind")

    work = args.workdir
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    partitions = max(1, -(-args.rows // args.partition_rows))
    engine = EngineSettings(partitions_in_flight=partitions, encode_threads=1,
                            batch_rows=131072, queue_batches=2, memory_budget="1GiB")
    lake = work / "lake"
    config = work / "pipeline.yaml"
    config.write_text(pipeline_yaml(args.rows, partitions, lake, work / "state.db", engine,
                                    {}))

    print(f"jetflow: {args.rows:,} rows in {partitions} partitions, under callgrind ...",
          flush=True)
    jetflow_out = work / "jetflow.callgrind"
    callgrind([str(args.jetflow), "run", str(config), "--no-progress"], jetflow_out,
              work / "jetflow.log")
    files = published_parquet_files(lake)
    if len(files) != partitions:
        sys.exit(f"error: expected {partitions} files in {lake}, found {len(files)}")
    footer = inspect_footer(files[0])

    spec = work / "pyarrow.json"
    (work / "pyarrow_out").mkdir()
    spec.write_text(json.dumps({
        "files": [str(f) for f in files],
        "out_dir": str(work / "pyarrow_out"),
        "kwargs": {
            "row_group_size": PARQUET["row_group_rows"],
            "version": PARQUET["format_version"],
            "use_dictionary": PARQUET["dictionary"],
            "compression": PARQUET["compression"],
            "compression_level": PARQUET["compression_level"],
            "write_statistics": PARQUET["statistics"],
            "data_page_version": PARQUET["data_page_version"],
            "store_schema": footer["has_arrow_schema"],
            "write_page_index": footer["has_page_index"],
        },
    }))
    script = work / "pyarrow_write.py"
    script.write_text(PYARROW_SCRIPT)
    counts = {}
    for mode in ("read", "write"):
        print(f"pyarrow: {mode} under callgrind ...", flush=True)
        out = work / f"pyarrow_{mode}.callgrind"
        callgrind([sys.executable, str(script), str(spec), mode], out,
                  work / f"pyarrow_{mode}.log")
        counts[mode] = total_instructions(out)

    jetflow_total = total_instructions(jetflow_out)
    pyarrow_total = counts["write"] - counts["read"]
    listing = inclusive_listing(jetflow_out)
    parts = {name: inclusive_instructions(listing, function)
             for name, function in JETFLOW_PARTS.items()}
    rest = jetflow_total - sum(parts.values())

    print()
    print(f"instructions, {args.rows:,} rows x 10 columns ({partitions} files)")
    print(f"  jetflow run, whole process               {jetflow_total:>16,}")
    for name, count in parts.items():
        print(f"    {name:<39}{count:>16,}  ({count / jetflow_total:.1%})")
    print(f"    everything else                      {rest:>16,}")
    print(f"  pyarrow write_table (write - read run)   {pyarrow_total:>16,}")
    print()
    print("ratios (information: instructions leave out the kernel and waiting)")
    print(f"  jetflow / pyarrow                                  = {jetflow_total / pyarrow_total:.3f}")
    print(f"  jetflow without its own parts above / pyarrow      = {rest / pyarrow_total:.3f}")
    print(f"work files: {work}")
    if args.json:
        import results as results_file

        results_file.write(
            "instructions",
            [{"name": "jetflow run, whole process", "rows": args.rows,
              "instructions": jetflow_total}]
            + [{"name": f"jetflow: {name}", "instructions": count}
               for name, count in parts.items()]
            + [{"name": "pyarrow write_table (write - read run)", "rows": args.rows,
                "instructions": pyarrow_total}],
            [results_file.ratio("jetflow / pyarrow instructions",
                                jetflow_total / pyarrow_total),
             results_file.ratio("jetflow without generation and checksums / pyarrow",
                                rest / pyarrow_total)],
            load_average=(load_start, os.getloadavg()[0]),
            details={"rows": args.rows, "partitions": partitions})
    return 0


if __name__ == "__main__":
    sys.exit(main())

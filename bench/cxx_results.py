#!/usr/bin/env python3
"""Results file for the C++ benchmarks (`bench/run.sh transforms|write-modes --json`).

Runs the benchmark binary with its arguments, passes its output through unchanged, then
reads the figures it printed and writes them with bench/results.py. The binaries stay as
they are; this is the only place that knows their output format, so a change to what
they print must be mirrored in the parsers below (a parser that finds nothing fails).

  cxx_results.py transforms|write-modes BINARY [ARGS...]
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import results  # noqa: E402

NUMBER = r"([0-9]+(?:\.[0-9]+)?)"


def parse_transforms(output: str) -> tuple[list[dict], list[dict], dict]:
    rows = re.findall(r"^\| (jetflow transformers[^|]*|Arrow compute[^|]*) \| (\d+) \| "
                      + NUMBER + r" \| " + NUMBER + r"M \|$", output, re.M)
    best = re.search(r"^ratio jetflow / Arrow rows/s \(best of (\d+)\): " + NUMBER,
                     output, re.M)
    paired = re.search(r"^ratio paired by repetition \(median\): " + NUMBER, output, re.M)
    reps = re.findall(r"^rep (\d+): arrow " + NUMBER + r" s, jetflow " + NUMBER +
                      r" s \((\d+) rows out\)$", output, re.M)
    if len(rows) != 2 or best is None or paired is None or not reps:
        raise SystemExit("cxx_results.py: transforms_benchmark's output has changed; "
                         "update parse_transforms")
    rows_out = int(reps[0][3])
    measurements = [{"name": name.strip(), "rows_in": int(n), "rows_out": rows_out,
                     "best_seconds": float(seconds),
                     "rows_per_second": int(n) / float(seconds)}
                    for name, n, seconds, _ in rows]
    ratios = [results.ratio(f"jetflow / Arrow compute rows/s (best of {best.group(1)})",
                            float(best.group(2)), ">= 0.8"),
              results.ratio("jetflow / Arrow compute, paired by repetition (median)",
                            float(paired.group(1)))]
    details = {"repetitions": [{"arrow_seconds": float(a), "jetflow_seconds": float(j)}
                               for _, a, j, _ in reps]}
    return measurements, ratios, details


def parse_write_modes(output: str) -> tuple[list[dict], list[dict], dict]:
    header = re.search(r"^(\d+) rows of mixed10 in (\d+) partitions", output, re.M)
    best = re.findall(r"^  (WriteTable|loader row_groups|loader streaming)\s+wall " +
                      NUMBER + r" s\s+cpu " + NUMBER + r" s\s+cpu / WriteTable's = " +
                      NUMBER + "$", output, re.M)
    reps = re.findall(r"^  rep (\d+) (\S.*?)\s+wall " + NUMBER + r" s\s+cpu " + NUMBER +
                      r" s$", output, re.M)
    if header is None or len(best) != 3:
        raise SystemExit("cxx_results.py: write_modes_benchmark's output has changed; "
                         "update parse_write_modes")
    rows, partitions = int(header.group(1)), int(header.group(2))
    measurements = [{"name": way, "rows": rows, "partitions": partitions,
                     "best_wall_seconds": float(wall), "best_cpu_seconds": float(cpu)}
                    for way, wall, cpu, _ in best]
    ratios = [results.ratio(f"{way} CPU / WriteTable CPU", float(value))
              for way, _, _, value in best if way != "WriteTable"]
    details = {"repetitions": [{"rep": int(rep), "way": way, "wall_seconds": float(wall),
                                "cpu_seconds": float(cpu)}
                               for rep, way, wall, cpu in reps]}
    return measurements, ratios, details


PARSERS = {"transforms": parse_transforms, "write-modes": parse_write_modes}


def main() -> int:
    if len(sys.argv) < 3 or sys.argv[1] not in PARSERS:
        sys.exit(__doc__)
    benchmark, argv = sys.argv[1], sys.argv[2:]
    load_start = os.getloadavg()[0]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        lines.append(line)
    code = proc.wait()
    # --check exits 1 when the goal fails: the results are still worth a file.
    if "--help" in argv or (code != 0 and not (code == 1 and "--check" in argv)):
        return code
    measurements, ratios, details = PARSERS[benchmark]("".join(lines))
    details["arguments"] = argv[1:]
    results.write(benchmark, measurements, ratios,
                  load_average=(load_start, os.getloadavg()[0]), details=details)
    return code


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Prints the slowest tests of one or more ctest runs from their JUnit files.

    scripts/ctest_slowest.py [-n 15] NAME=build/release/ctest-junit.xml [NAME=...]

ctest writes the file with --output-junit; NAME labels the run (release, asan). One list,
slowest first, with each test's run, time in seconds and status.
"""
import argparse
import sys
import xml.etree.ElementTree as ET


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=15, help="how many tests to list")
    parser.add_argument("runs", nargs="+", metavar="NAME=FILE")
    args = parser.parse_args()
    rows = []
    for run in args.runs:
        name, _, path = run.partition("=")
        try:
            root = ET.parse(path).getroot()
        except (OSError, ET.ParseError) as error:
            print(f"ctest_slowest: cannot read {path}: {error}", file=sys.stderr)
            continue
        for case in root.iter("testcase"):
            status = case.get("status", "")
            if status == "run":
                status = "passed"
            if case.find("failure") is not None:
                status = "failed"
            elif case.find("skipped") is not None:
                status = "skipped"
            rows.append((float(case.get("time", "0") or 0), name, case.get("name", "?"), status))
    rows.sort(reverse=True)
    width = max((len(r[2]) for r in rows[: args.n]), default=0)
    for seconds, run, test, status in rows[: args.n]:
        print(f"  {seconds:8.2f} s  {run:<8} {test:<{width}}  {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""One results file per benchmark run (`bench/run.sh MODE --json`, docs/benchmarks.md).

Each driver calls write() once at the end of a run; the file goes to
bench/results/<benchmark>-<UTC date and time>-<short commit>.json and holds:

  benchmark, command, date (UTC), commit (short and full, and whether the work tree had
  uncommitted changes outside bench/results/), machine (cores, CPU model, memory, kernel,
  OS, Python, pyarrow), the 1-minute load average at the start and end, every
  measurement, every ratio (with its goal and PASS/FAIL where it has one), goals_met (all
  goals passed) and a free-form `details` object with whatever else the driver printed.

A ratio is {"name", "value", "goal", "pass"}: goal is a string such as ">= 0.9" or null
for a ratio printed for information, pass is true/false, or null without a goal.
"""

from __future__ import annotations

import datetime
import json
import operator
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"

_COMPARE = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}


def ratio(name: str, value: float | None, goal: str | None = None) -> dict:
    """A ratio; `goal` is "<op> <number>" (">= 0.9"), or None for information."""
    passed = None
    if goal is not None and value is not None:
        op, target = goal.split()
        passed = bool(_COMPARE[op](value, float(target)))
    return {"name": name, "value": value, "goal": goal, "pass": passed}


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def commit() -> dict:
    """HEAD of the checkout the benchmark ran from, and whether it had local changes."""
    status = _git("status", "--porcelain", "--untracked-files=no", "--", ".",
                  ":(exclude)bench/results")
    return {"commit": _git("rev-parse", "--short", "HEAD") or "unknown",
            "commit_full": _git("rev-parse", "HEAD") or "unknown",
            "worktree_dirty": bool(status)}


def machine() -> dict:
    cpu = "unknown"
    memory = 0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) * 1024
                break
    except OSError:
        pass
    system = platform.system()
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                system = line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    try:
        import pyarrow
        pyarrow_version = pyarrow.__version__
    except ImportError:
        pyarrow_version = None
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory_bytes": memory,
            "kernel": platform.release(), "os": system,
            "python": platform.python_version(), "pyarrow": pyarrow_version}


def command() -> str:
    """The command as the user typed it (bench/run.sh exports it), else this process's."""
    return os.environ.get("JETFLOW_BENCH_COMMAND") or " ".join(sys.argv)


def write(benchmark: str, measurements: list[dict], ratios: list[dict],
          load_average: tuple[float, float] | None = None, details: dict | None = None,
          directory: Path = RESULTS_DIR) -> Path:
    """Writes the run's results file and returns its path."""
    now = datetime.datetime.now(datetime.timezone.utc)
    head = commit()
    goals = [r for r in ratios if r["goal"] is not None]
    document = {
        "benchmark": benchmark,
        "command": command(),
        "date": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        **head,
        "machine": machine(),
        "load_average": (None if load_average is None else
                         {"start": round(load_average[0], 2),
                          "end": round(load_average[1], 2)}),
        "measurements": measurements,
        "ratios": ratios,
        "goals_met": all(r["pass"] for r in goals) if goals else None,
        "details": details or {},
    }
    directory.mkdir(parents=True, exist_ok=True)
    stamp = now.strftime("%Y-%m-%dT%H%M%SZ")
    path = directory / f"{benchmark}-{stamp}-{head['commit']}.json"
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    print(f"results: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return path

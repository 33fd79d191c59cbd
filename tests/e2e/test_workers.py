"""Several `jetflow run` processes on one run instance at once, sharing one SQLite state
store: they split the partitions between them (each committed once), one of them
finishes the run, and killing or interrupting any of them leaves the others to take its
partitions over. Every lake ends byte-identical to a clean single-process run's.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (DEFAULT_TIMEOUT, INSTANCE_DIR, STAGING_DIR, check_published_run,
                      jetflow_bin, lake_digest, run_ok, state_query, write_pipeline)

# Large enough that the first process is still working when the second starts.
ROWS = 4_000_000
PARTITIONS = 40

CONSUMER = {
    "type": "generate", "rows": ROWS, "partitions": PARTITIONS, "seed": 14,
    "columns": [
        {"name": "id", "type": "int64", "sequence": True},
        {"name": "account_id", "type": "int32", "min": 1, "max": 5000},
        {"name": "amount", "type": "decimal(18,4)"},
        {"name": "note", "type": "string", "min_length": 4, "max_length": 24},
    ],
}
ENGINE = {"partitions_in_flight": 1, "batch_rows": 8192}


def make_pipeline(folder: Path) -> Path:
    return write_pipeline(folder, CONSUMER, engine=ENGINE)


@pytest.fixture(scope="module")
def clean_lake(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("clean")
    summary = run_ok(make_pipeline(folder))
    assert summary["rows_written"] == ROWS
    return lake_digest(folder / "lake")


def start(pipeline: Path, log: Path, **env: str) -> subprocess.Popen:
    out = open(log, "ab")
    return subprocess.Popen([jetflow_bin(), "run", str(pipeline), "--no-progress", "--json"],
                            stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                            start_new_session=True, env={**os.environ, **env})


def committed(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        return state_query(db, "SELECT count(*) FROM partitions "
                               "WHERE status = 'committed'")[0][0]
    except Exception:  # the store is being created
        return 0


def wait_until(condition, procs, what: str) -> None:
    deadline = time.monotonic() + DEFAULT_TIMEOUT
    while not condition():
        for proc in procs:
            if proc.poll() is not None:
                pytest.fail(f"a jetflow process exited ({proc.returncode}) before {what}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting until {what}")
        time.sleep(0.01)


def finish(proc: subprocess.Popen) -> int:
    try:
        return proc.wait(timeout=DEFAULT_TIMEOUT)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def check_lake_and_state(folder: Path, clean: dict[str, str]) -> None:
    lake = folder / "lake"
    check_published_run(lake)
    digest = lake_digest(lake)
    assert sorted(digest) == sorted(clean), "other files than a clean run's"
    assert [k for k in digest if digest[k] != clean[k]] == [], "files differ"
    db = folder / "state.db"
    runs = state_query(db, "SELECT status, rows_written FROM runs")
    assert runs == [("succeeded", ROWS)], runs
    # Every partition committed by exactly one attempt; no attempt left running.
    per_partition = state_query(
        db, "SELECT partition_id, count(*) FROM attempts WHERE status = 'committed' "
            "GROUP BY partition_id")
    assert len(per_partition) == PARTITIONS
    assert all(n == 1 for _, n in per_partition), per_partition
    assert state_query(db, "SELECT count(*) FROM attempts WHERE status = 'running'") == [(0,)]
    assert state_query(db, "SELECT count(*) FROM workers WHERE status = 'active'") == [(0,)]


def test_two_processes_share_one_run(tmp_path, clean_lake):
    pipeline = make_pipeline(tmp_path)
    a = start(pipeline, tmp_path / "a.log")
    wait_until(lambda: committed(tmp_path / "state.db") >= 1, [a], "A committed one")
    b = start(pipeline, tmp_path / "b.log")
    assert finish(a) == 0, (tmp_path / "a.log").read_text(errors="replace")
    assert finish(b) == 0, (tmp_path / "b.log").read_text(errors="replace")
    check_lake_and_state(tmp_path, clean_lake)
    db = tmp_path / "state.db"
    workers = state_query(db, "SELECT worker FROM workers")
    assert len(workers) == 2, workers
    # Both did some of the work, and one of them finished the run.
    owners = {w for (w,) in state_query(db, "SELECT DISTINCT worker FROM attempts "
                                            "WHERE status = 'committed'")}
    assert owners == {w for (w,) in workers}, owners
    finisher = state_query(db, "SELECT finisher FROM runs")[0][0]
    assert finisher in owners
    log_b = (tmp_path / "b.log").read_text(errors="replace")
    assert '"joined":true' in log_b
    # B says whom it joined: the instance, A's pid and host, since when.
    assert re.search(rf"instance {INSTANCE_DIR} is being run by pid {a.pid} on \S+ since "
                     r"\d{4}-\d\d-\d\dT", log_b), log_b


def test_a_killed_process_leaves_its_partitions_to_the_other(tmp_path, clean_lake):
    pipeline = make_pipeline(tmp_path)
    a = start(pipeline, tmp_path / "a.log")
    wait_until(lambda: committed(tmp_path / "state.db") >= 2, [a], "A committed two")
    b = start(pipeline, tmp_path / "b.log")
    db = tmp_path / "state.db"
    wait_until(lambda: state_query(db, "SELECT count(*) FROM workers")[0][0] == 2, [a, b],
               "B joined")
    os.killpg(a.pid, signal.SIGKILL)
    a.wait()
    # B sees at once that A's process is gone (same machine): no wait for the lease.
    started = time.monotonic()
    assert finish(b) == 0, (tmp_path / "b.log").read_text(errors="replace")
    check_lake_and_state(tmp_path, clean_lake)
    abandoned = state_query(db, "SELECT count(*) FROM attempts WHERE status = 'abandoned'")
    assert abandoned[0][0] <= 1, abandoned  # A held at most one partition when killed
    lost = state_query(db, "SELECT status FROM workers ORDER BY joined_at")
    assert lost[0] == ("lost",), lost
    assert time.monotonic() - started < DEFAULT_TIMEOUT


def test_an_interrupted_process_leaves_the_run_to_the_other(tmp_path, clean_lake):
    pipeline = make_pipeline(tmp_path)
    a = start(pipeline, tmp_path / "a.log")
    wait_until(lambda: committed(tmp_path / "state.db") >= 1, [a], "A committed one")
    b = start(pipeline, tmp_path / "b.log")
    db = tmp_path / "state.db"
    wait_until(lambda: state_query(db, "SELECT count(*) FROM workers")[0][0] == 2, [a, b],
               "B joined")
    os.killpg(a.pid, signal.SIGINT)
    assert finish(a) == 130, (tmp_path / "a.log").read_text(errors="replace")
    # A left; the run is still B's to finish, not failed.
    assert finish(b) == 0, (tmp_path / "b.log").read_text(errors="replace")
    check_lake_and_state(tmp_path, clean_lake)
    left = state_query(db, "SELECT status FROM workers ORDER BY joined_at")
    assert left == [("left",), ("left",)], left


def test_a_process_that_joins_waits_until_the_lake_is_prepared(tmp_path, clean_lake):
    """The process that begins a run prepares the lake first (it clears what dead attempts
    of the instance staged); one that joins in that moment must not stage anything until
    then, or the cleanup deletes it. A is held (SIGSTOP) right there, B joins and waits."""
    pipeline = make_pipeline(tmp_path)
    db = tmp_path / "state.db"
    a_log, b_log = tmp_path / "a.log", tmp_path / "b.log"
    a = start(pipeline, a_log, JETFLOW_STOP_AT="begin.prepare")
    try:
        wait_until(lambda: "stop point begin.prepare reached" in a_log.read_text(
            errors="replace"), [a], "A stopped before preparing the lake")
        b = start(pipeline, b_log)
        wait_until(lambda: "waiting for the process that began it to prepare its output"
                   in b_log.read_text(errors="replace"), [a, b], "B waits for A")
        time.sleep(1)  # B keeps waiting: nothing claimed, nothing staged
        assert state_query(db, "SELECT count(*) FROM attempts") == [(0,)]
        assert not list((tmp_path / "lake" / STAGING_DIR).glob("*/*"))
    finally:
        os.killpg(a.pid, signal.SIGCONT)
    assert finish(a) == 0, a_log.read_text(errors="replace")
    assert finish(b) == 0, b_log.read_text(errors="replace")
    check_lake_and_state(tmp_path, clean_lake)
    # Both worked once B could: the run was shared, not left to A.
    owners = state_query(db, "SELECT DISTINCT worker FROM attempts WHERE status = 'committed'")
    assert len(owners) == 2, owners

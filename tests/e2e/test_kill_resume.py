"""kill -9 in the middle of a run, then the same `jetflow run`: it resumes, keeps exactly
the partitions the state store recorded as committed, and ends with a lake byte-identical
to a clean run's. While killed, readers see only complete partitions and no _SUCCESS.
"""
from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import (INSTANCE_DIR, STAGING_DIR, SUCCESS, TRASH_DIR, check_published_run,
                      check_visible_partitions_complete, committed_partitions, data_files,
                      duckdb_connect, duckdb_file_list, lake_digest, run_jetflow, run_ok,
                      start_and_kill, start_and_signal, state_query, write_pipeline)

ROWS = 1_200_000
PARTITIONS = 40

CONSUMER = {
    "type": "generate", "rows": ROWS, "partitions": PARTITIONS, "seed": 2026,
    "columns": [
        {"name": "id", "type": "int64", "sequence": True},
        {"name": "account_id", "type": "int32", "min": 1, "max": 5000},
        {"name": "amount", "type": "decimal(18,4)"},
        {"name": "created_at", "type": "timestamp"},
        {"name": "country", "type": "string", "values": ["US", "DE", "FR", "JP", "BR"]},
        {"name": "note", "type": "string", "min_length": 4, "max_length": 12,
         "null_fraction": 0.2},
    ],
}
ENGINE = {"partitions_in_flight": 2, "batch_rows": 8192}


def make_pipeline(folder: Path) -> Path:
    return write_pipeline(folder, CONSUMER, engine=ENGINE)


@pytest.fixture(scope="module")
def clean_lake(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("clean")
    summary = run_ok(make_pipeline(folder))
    assert summary["rows_written"] == ROWS
    check_published_run(folder / "lake")
    digest = lake_digest(folder / "lake")
    assert len(digest) >= PARTITIONS
    return digest


committed = committed_partitions


def running_attempts(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        return state_query(db, "SELECT count(*) FROM attempts WHERE status = 'running'")[0][0]
    except sqlite3.OperationalError as e:  # the store is being created
        if "no such table" in str(e):
            return 0
        raise


def staging_left(lake: Path) -> list[str]:
    """The staging and trash folders the lake holds, with everything in them."""
    left = []
    for name in (STAGING_DIR, TRASH_DIR):
        if (lake / name).exists():
            left.append(name)
            left.extend(str(p.relative_to(lake)) for p in (lake / name).rglob("*"))
    return sorted(left)


def check_killed_state(folder: Path, kept: set[str]) -> None:
    lake = folder / "lake"
    assert not (lake / INSTANCE_DIR / SUCCESS).exists(), "_SUCCESS after a killed run"
    if lake.exists():
        visible = check_visible_partitions_complete(lake)
        # What the store calls committed is published (the store is written after the
        # rename, so the lake may hold one partition more, never one less).
        assert kept <= set(visible), (sorted(kept), sorted(visible))
    run = state_query(folder / "state.db", "SELECT status FROM runs")
    assert run == [("running",)], run


def resume_and_compare(folder: Path, kept: set[str], clean: dict[str, str],
                       run_id: int | None = None) -> dict:
    summary = run_ok(make_pipeline(folder))
    assert summary["resumed"] is True, summary
    assert summary["partitions_kept"] == len(kept), (summary, sorted(kept))
    assert summary["partitions_total"] == PARTITIONS
    assert summary["rows_written"] == ROWS, summary
    if run_id is not None:
        assert summary["run_id"] == run_id
    lake = folder / "lake"
    check_published_run(lake)
    assert not staging_left(lake), f"left behind by the resumed run: {staging_left(lake)}"
    digest = lake_digest(lake)
    assert sorted(digest) == sorted(clean), "the resumed lake has other files than a clean run"
    different = [k for k in digest if digest[k] != clean[k]]
    assert not different, f"files differ from a clean run's: {different[:5]}"
    con = duckdb_connect()
    n, distinct, lo, hi = con.execute(
        f"SELECT count(*), count(DISTINCT id), min(id), max(id) "
        f"FROM read_parquet({duckdb_file_list(data_files(lake))})").fetchone()
    assert (n, distinct, lo, hi) == (ROWS, ROWS, 0, ROWS - 1)
    db = folder / "state.db"
    assert running_attempts(db) == 0, "attempts of the killed process are still 'running'"
    return summary


def test_kill_right_after_start_then_resume(tmp_path, clean_lake):
    pipeline = make_pipeline(tmp_path)
    db = tmp_path / "state.db"
    kept = start_and_kill(pipeline, db, lambda d: running_attempts(d) > 0,
                          tmp_path / "jetflow.log")
    check_killed_state(tmp_path, kept)
    run_id = state_query(db, "SELECT run_id FROM runs")[0][0]
    # The store still says running; status tells that no process is running it.
    listed = run_jetflow("status", pipeline, "--json", expect=0).json()
    assert listed[0]["status"] == "running" and listed[0]["interrupted"] is True, listed
    text = run_jetflow("status", pipeline, expect=0).stdout
    assert "interrupted" in text, text
    detail = run_jetflow("status", pipeline, "--run", str(run_id), expect=0).stdout
    assert "interrupted: no process is running it" in detail, detail
    # Empty folders that killed attempts of another run instance left: the resumed run
    # removes them (their files it would leave to that instance's next run).
    staging = tmp_path / "lake" / STAGING_DIR
    (staging / "dt=2026-11-01" / "p00007").mkdir(parents=True)
    (tmp_path / "lake" / TRASH_DIR / "dt=2026-11-01").mkdir(parents=True)
    resume_and_compare(tmp_path, kept, clean_lake, run_id)
    listed = run_jetflow("status", pipeline, "--json", expect=0).json()
    assert listed[0]["status"] == "succeeded" and listed[0]["interrupted"] is False, listed
    abandoned = state_query(db, "SELECT count(*) FROM attempts WHERE status = 'abandoned'")[0][0]
    assert abandoned >= 1, "the killed attempt was not recorded as abandoned"


def test_kill_twice_mid_run_then_resume(tmp_path, clean_lake):
    pipeline = make_pipeline(tmp_path)
    db = tmp_path / "state.db"
    log = tmp_path / "jetflow.log"
    kept = start_and_kill(pipeline, db, lambda d: len(committed(d)) >= 3, log)
    assert len(kept) >= 3
    check_killed_state(tmp_path, kept)
    run_id = state_query(db, "SELECT run_id FROM runs")[0][0]

    # Kill the resumed run too, further on.
    target = len(kept) + 8
    kept_again = start_and_kill(pipeline, db, lambda d: len(committed(d)) >= target, log)
    assert kept <= kept_again and len(kept_again) >= target
    check_killed_state(tmp_path, kept_again)

    resume_and_compare(tmp_path, kept_again, clean_lake, run_id)
    resumes = state_query(db, "SELECT resumes FROM runs WHERE run_id = ?", (run_id,))[0][0]
    assert resumes == 2


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_exits_130_then_resumes(tmp_path, clean_lake, sig):
    """SIGINT/SIGTERM: in-flight partitions are aborted (staged files removed), the
    process exits 130, and the next run resumes to the clean lake."""
    pipeline = make_pipeline(tmp_path)
    db = tmp_path / "state.db"
    log = tmp_path / "jetflow.log"
    code = start_and_signal(pipeline, db, lambda db: len(committed(db)) >= 2, log, sig)
    output = log.read_text(errors="replace")
    assert code == 130, f"exit {code} after {sig.name}:\n{output}"
    kept = committed(db)
    assert 2 <= len(kept) < PARTITIONS
    lake = tmp_path / "lake"
    assert not (lake / INSTANCE_DIR / SUCCESS).exists()
    check_visible_partitions_complete(lake)
    # Aborted attempts leave nothing behind, not even empty folders.
    assert not staging_left(lake), f"left behind after {sig.name}: {staging_left(lake)}"
    assert running_attempts(db) == 0, "an interrupted attempt is still 'running'"
    resume_and_compare(tmp_path, kept, clean_lake)


def test_resume_after_the_pipeline_changed_redoes_what_it_shaped(tmp_path, clean_lake):
    """A killed run, then the YAML edited (a column dropped) and run again: the resume
    keeps no partition written under the old config, says so, and the published lake has
    one schema."""
    pipeline = make_pipeline(tmp_path)
    db = tmp_path / "state.db"
    kept = start_and_kill(pipeline, db, lambda d: len(committed(d)) >= 3,
                          tmp_path / "jetflow.log")
    assert len(kept) >= 3
    changed = write_pipeline(tmp_path, CONSUMER, engine=ENGINE,
                             extra={"transformers": [{"type": "select", "drop": ["note"]}]})
    summary = run_ok(changed)
    assert summary["resumed"] is True, summary
    assert summary["partitions_kept"] == 0, summary
    assert summary["partitions_changed"] == len(kept), summary
    assert summary["rows_written"] == ROWS
    lake = tmp_path / "lake"
    check_published_run(lake)
    schemas = {str(pq.read_schema(f)) for f in data_files(lake)}
    assert len(schemas) == 1, schemas
    assert "note" not in pq.read_schema(data_files(lake)[0]).names

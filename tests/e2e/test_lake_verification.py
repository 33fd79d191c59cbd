"""The lake is checked, never trusted: a resumed run keeps a committed partition only if its
files are still as its manifests describe (otherwise it redoes it, says so, and ends with
a clean run's lake), and `jetflow verify` checks a published instance against its
manifests, listing every difference.

Kills are SIGKILL at a random point, as in test_kill_resume.py; the damage is done while
no process runs: a committed partition's file deleted, overwritten with 16 bytes,
replaced by another partition's file, changed in place without changing its size, or its
whole directory deleted.
"""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from conftest import (INSTANCE_DIR, MANIFEST, SUCCESS, check_published_run,
                      committed_partitions, data_files, duckdb_connect, duckdb_file_list,
                      lake_digest, load_json, partition_dirs, run_jetflow, start_and_kill,
                      state_query, write_pipeline)

ROWS = 600_000
PARTITIONS = 20

CONSUMER = {
    "type": "generate", "rows": ROWS, "partitions": PARTITIONS, "seed": 416,
    "columns": [
        {"name": "id", "type": "int64", "sequence": True},
        {"name": "account_id", "type": "int32", "min": 1, "max": 5000},
        {"name": "amount", "type": "decimal(18,4)"},
        {"name": "note", "type": "string", "min_length": 4, "max_length": 24,
         "null_fraction": 0.1},
    ],
}
ENGINE = {"partitions_in_flight": 1, "batch_rows": 8192}


def make_pipeline(folder: Path, verify_on_resume: str | None = None) -> Path:
    engine = dict(ENGINE)
    if verify_on_resume is not None:
        engine["verify_on_resume"] = verify_on_resume
    return write_pipeline(folder, CONSUMER, engine=engine)


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    """A folder with the pipeline, its published lake and its state store, from one
    uninterrupted run. Tests copy it before changing anything."""
    folder = tmp_path_factory.mktemp("clean")
    result = run_jetflow("run", make_pipeline(folder), "--json", "--no-progress", expect=0)
    assert result.json()["rows_written"] == ROWS
    check_published_run(folder / "lake")
    return folder


@pytest.fixture
def published(tmp_path, clean) -> Path:
    """A copy of the clean folder (pipeline, lake, state store) to damage."""
    folder = tmp_path / "copy"
    shutil.copytree(clean, folder)
    return folder


def kill_after(pipeline: Path, db: Path, partitions: int, log: Path) -> set[str]:
    """Starts `jetflow run`, SIGKILLs it once the store has `partitions` committed and
    returns the committed ones."""
    kept = start_and_kill(pipeline, db, lambda d: len(committed_partitions(d)) >= partitions,
                          log)
    assert len(kept) < PARTITIONS, "the run finished before it was killed"
    assert not (pipeline.parent / "lake" / INSTANCE_DIR / SUCCESS).exists()
    return kept


def files_of(lake: Path, partition: str) -> list[Path]:
    """The data files of a published partition, from its manifest."""
    folder = partition_dirs(lake)[partition]
    return [lake / f["path"] for f in load_json(folder / MANIFEST)["files"]]


def killed_run(tmp_path: Path, verify_on_resume: str | None = None):
    """A run killed with at least 4 partitions committed: (pipeline, lake, kept)."""
    pipeline = make_pipeline(tmp_path, verify_on_resume)
    kept = kill_after(pipeline, tmp_path / "state.db", 4, tmp_path / "killed.log")
    # Not published while killed: verify says so.
    not_published = run_jetflow("verify", pipeline, expect=2)
    assert "is not published" in not_published.stderr, not_published.describe()
    return pipeline, tmp_path / "lake", sorted(kept)


def resume(pipeline: Path) -> tuple[dict, str]:
    """The same `jetflow run`, which must succeed: (summary, log)."""
    result = run_jetflow("run", pipeline, "--json", "--no-progress", expect=0)
    summary = result.json()
    assert summary["status"] == "succeeded", result.describe()
    assert summary["resumed"] is True, summary
    return summary, result.stderr


def assert_clean(lake: Path, clean: Path) -> None:
    """The lake is a clean run's, file for file and byte for byte; every row once."""
    check_published_run(lake)
    digest = lake_digest(lake)
    expected = lake_digest(clean / "lake")
    assert sorted(digest) == sorted(expected), "other files than a clean run's"
    different = [k for k in digest if digest[k] != expected[k]]
    assert not different, f"files differ from a clean run's: {different[:5]}"
    n, distinct, lo, hi = duckdb_connect().execute(
        f"SELECT count(*), count(DISTINCT id), min(id), max(id) "
        f"FROM read_parquet({duckdb_file_list(data_files(lake))})").fetchone()
    assert (n, distinct, lo, hi) == (ROWS, ROWS, 0, ROWS - 1)


def assert_redone(summary: dict, log: str, kept: list[str], victim: str,
                  what: str) -> None:
    assert summary["partitions_damaged"] == 1, summary
    assert summary["partitions_kept"] == len(kept) - 1, summary
    assert summary["rows_written"] == ROWS, summary
    line = next((l for l in log.splitlines() if f"partition {victim} " in l), None)
    assert line is not None and "is redone" in line and what in line, log


# ---------------------------------------------------------------------------------------
# Resume.

def test_a_deleted_file_is_redone(tmp_path, clean):
    pipeline, lake, kept = killed_run(tmp_path)
    victim = kept[1]
    [file] = files_of(lake, victim)
    file.unlink()
    summary, log = resume(pipeline)
    assert_redone(summary, log, kept, victim, f"{file.name}: missing")
    assert_clean(lake, clean)
    redone = state_query(tmp_path / "state.db",
                         "SELECT attempts FROM partitions WHERE partition_id = ?", (victim,))
    assert redone == [(2,)], redone


def test_a_file_overwritten_with_16_bytes_is_redone(tmp_path, clean):
    pipeline, lake, kept = killed_run(tmp_path)
    victim = kept[0]
    [file] = files_of(lake, victim)
    expected_size = file.stat().st_size
    file.write_bytes(b"x" * 16)
    summary, log = resume(pipeline)
    assert_redone(summary, log, kept, victim,
                  f"size differs: expected {expected_size} bytes, found 16 bytes")
    assert_clean(lake, clean)


def test_another_partitions_file_is_caught_by_its_size(tmp_path, clean):
    """Even the cheapest check (verify_on_resume: size) catches another partition's file
    when its size differs, as it almost always does."""
    pipeline, lake, kept = killed_run(tmp_path, verify_on_resume="size")
    victim, donor = kept[0], kept[1]
    [file] = files_of(lake, victim)
    [other] = files_of(lake, donor)
    assert file.stat().st_size != other.stat().st_size, "the test needs different sizes"
    shutil.copyfile(other, file)
    summary, log = resume(pipeline)
    assert_redone(summary, log, kept, victim, "size differs")
    assert_clean(lake, clean)


def same_size_change(file: Path, donor: Path) -> None:
    """Another partition's bytes copied over the middle of `file`: its size and footer
    stay, its values change."""
    data = bytearray(file.read_bytes())
    other = donor.read_bytes()
    start, end = len(data) // 4, len(data) // 2
    data[start:end] = other[start:end]
    assert len(data) == file.stat().st_size
    file.write_bytes(bytes(data))


def test_a_same_size_change_is_caught_by_the_default_checksum(tmp_path, clean):
    pipeline, lake, kept = killed_run(tmp_path)  # verify_on_resume: checksum (default)
    victim = kept[2]
    [file] = files_of(lake, victim)
    [donor] = files_of(lake, kept[0])
    same_size_change(file, donor)
    summary, log = resume(pipeline)
    assert_redone(summary, log, kept, victim, "checksum differs")
    assert_clean(lake, clean)


def test_a_same_size_change_passes_a_size_only_check(tmp_path, clean):
    """What `verify_on_resume: size` gives up: the changed file is kept. `jetflow verify`
    then finds it with --deep only."""
    pipeline, lake, kept = killed_run(tmp_path, verify_on_resume="size")
    victim = kept[2]
    [file] = files_of(lake, victim)
    [donor] = files_of(lake, kept[0])
    same_size_change(file, donor)
    summary, _ = resume(pipeline)
    assert summary["partitions_damaged"] == 0, summary
    assert summary["partitions_kept"] == len(kept), summary
    relative = str(file.relative_to(lake))
    assert lake_digest(lake)[relative] != lake_digest(clean / "lake")[relative]
    run_jetflow("verify", pipeline, expect=0)
    deep = run_jetflow("verify", pipeline, "--deep", "--json", expect=1).json()
    assert [(d["path"], d["what"]) for d in deep["differences"]] == [(relative, "checksum")]


def test_a_deleted_partition_directory_is_redone_not_a_dead_end(tmp_path, clean):
    pipeline, lake, kept = killed_run(tmp_path)
    victim = kept[1]
    shutil.rmtree(partition_dirs(lake)[victim])
    summary, log = resume(pipeline)
    assert_redone(summary, log, kept, victim, "missing directory")
    assert_clean(lake, clean)
    run_jetflow("verify", pipeline, "--deep", expect=0)


def test_damage_during_a_second_kill_is_also_redone(tmp_path, clean):
    """Damage found by one resume, which is killed in turn: the next one still redoes
    what is missing and keeps only what matches."""
    pipeline, lake, kept = killed_run(tmp_path)
    for victim in kept[:2]:
        shutil.rmtree(partition_dirs(lake)[victim])
    kept_again = sorted(kill_after(pipeline, tmp_path / "state.db", len(kept) + 3,
                                   tmp_path / "killed.log"))
    [file] = files_of(lake, kept_again[-1])
    file.write_bytes(b"x" * 16)
    summary, log = resume(pipeline)
    assert summary["partitions_damaged"] == 1, summary
    assert summary["partitions_kept"] == len(kept_again) - 1, summary
    assert_clean(lake, clean)


# ---------------------------------------------------------------------------------------
# jetflow verify.

def verify(folder: Path, *args, expect: int):
    return run_jetflow("verify", folder / "pipeline.yaml", *args, expect=expect)


def test_verify_a_clean_instance(published):
    for depth in ([], ["--deep"]):
        result = verify(published, *depth, "--json", expect=0)
        report = result.json()
        assert report["status"] == "ok" and report["differences"] == [], report
        assert report["depth"] == ("full" if depth else "size")
        [loader] = report["loaders"]
        assert (loader["loader"], loader["published"], loader["partitions"],
                loader["files"], loader["rows"]) == ("lake", True, PARTITIONS,
                                                     PARTITIONS, ROWS), loader
        assert loader["run_id"] == 1
    text = verify(published, expect=0).stdout
    assert "everything matches" in text and "20 partitions" in text, text
    # The instance named on the command line is the one checked.
    verify(published, "--instance", "2026-11-25", expect=0)
    missing = verify(published, "--instance", "2026-11-26", expect=2)
    assert "dt=2026-11-26 of pipeline e2e is not published" in missing.stderr, missing.stderr


def test_verify_lists_every_difference(published):
    lake = published / "lake"
    parts = sorted(partition_dirs(lake))
    deleted, truncated, replaced, donor = parts[0], parts[3], parts[5], parts[6]
    [deleted_file] = files_of(lake, deleted)
    [truncated_file] = files_of(lake, truncated)
    [replaced_file] = files_of(lake, replaced)
    [donor_file] = files_of(lake, donor)
    assert replaced_file.stat().st_size != donor_file.stat().st_size
    deleted_file.unlink()
    with open(truncated_file, "r+b") as f:
        f.truncate(16)
    shutil.copyfile(donor_file, replaced_file)
    stray_in_partition = partition_dirs(lake)[donor] / "part-00001.parquet"
    shutil.copyfile(donor_file, stray_in_partition)
    stray_in_instance = lake / INSTANCE_DIR / "extra.parquet"
    shutil.copyfile(donor_file, stray_in_instance)
    # Hidden and "_" files are not data: not reported.
    (partition_dirs(lake)[donor] / ".part-00000.parquet.crc").write_bytes(b"crc")

    report = verify(published, "--json", expect=1).json()
    assert report["status"] == "differs"
    found = {(d["path"], d["what"]) for d in report["differences"]}
    rel = lambda p: str(p.relative_to(lake))
    assert found == {
        (rel(deleted_file), "missing"),
        (rel(truncated_file), "size"),
        (rel(replaced_file), "size"),
        (rel(stray_in_partition), "stray file"),
        (rel(stray_in_instance), "stray file"),
    }, report["differences"]
    by_path = {d["path"]: d for d in report["differences"]}
    assert by_path[rel(truncated_file)]["found"] == "16 bytes"
    assert by_path[rel(replaced_file)]["found"] == f"{donor_file.stat().st_size} bytes"
    assert all(d["loader"] == "lake" for d in report["differences"])
    text = verify(published, expect=1).stdout
    assert "5 differences" in text, text
    for path, _ in found:
        assert path in text, text


def test_verify_deep_catches_what_sizes_cannot(published):
    lake = published / "lake"
    parts = sorted(partition_dirs(lake))
    [file] = files_of(lake, parts[4])
    [donor] = files_of(lake, parts[9])
    same_size_change(file, donor)
    verify(published, expect=0)
    report = verify(published, "--deep", "--json", expect=1).json()
    assert report["differences"] == [{
        "loader": "lake", "path": str(file.relative_to(lake)), "what": "checksum",
        "expected": load_json(partition_dirs(lake)[parts[4]] / MANIFEST)["files"][0]["checksum"],
        "found": report["differences"][0]["found"]}], report
    assert report["differences"][0]["found"].startswith("xxh3-128:")


def test_verify_checks_the_markers_and_manifests(published):
    lake = published / "lake"
    run_dir = lake / INSTANCE_DIR
    (run_dir / SUCCESS).unlink()
    victim = sorted(partition_dirs(lake))[2]
    (partition_dirs(lake)[victim] / MANIFEST).unlink()
    report = verify(published, "--json", expect=1).json()
    assert {(d["path"], d["what"]) for d in report["differences"]} == {
        (f"{INSTANCE_DIR}/{SUCCESS}", "missing"),
        (f"{INSTANCE_DIR}/part={victim}/{MANIFEST}", "missing"),
    }, report


def test_verify_asks_the_state_store(published):
    db = published / "state.db"
    with sqlite3.connect(db) as con:
        con.execute("UPDATE runs SET status = 'failed', error = 'hand-edited'")
    report = verify(published, "--json", expect=1).json()
    [difference] = report["differences"]
    assert difference["what"] == "state store" and difference["loader"] == "", difference
    assert difference["found"] == "run 1 is failed: hand-edited", difference
    # No store at all: the lake cannot be vouched for. A corrupt one: exit 3.
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    report = verify(published, "--json", expect=1).json()
    assert [d["found"] for d in report["differences"]] == ["no state store"], report
    assert not db.exists(), "verify created the state store"
    db.write_bytes(b"this is not a database" * 100)
    broken = verify(published, expect=3)
    assert "state store" in broken.stderr, broken.describe()

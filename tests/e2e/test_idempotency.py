"""Re-running a run instance replaces its output exactly; other instances are untouched;
partitions that left the plan are removed; a failed run resumes (or restarts) to the same
lake; manifests, the run manifest and _SUCCESS agree with the files (xxh3-128 checked
with the independent `xxhash` package)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from conftest import (INSTANCE, INSTANCE_DIR, INSTANCE_KEY, SUCCESS, check_published_run,
                      check_visible_partitions_complete, data_files, lake_digest,
                      parquet_loader, partition_dirs, read_lake_arrow, run_jetflow, run_ok,
                      state_query, write_pipeline)


def generate(rows=20_000, partitions=4):
    return {"type": "generate", "rows": rows, "partitions": partitions, "seed": 99,
            "preset": "mixed10"}


def ids_of(lake: Path, instance_dir: str = INSTANCE_DIR) -> list[int]:
    files = [f for f in data_files(lake) if f.relative_to(lake).parts[0] == instance_dir]
    return read_lake_arrow(lake, files).column("id").to_pylist()


def test_rerun_replaces_output_exactly(tmp_path):
    pipeline = write_pipeline(tmp_path, generate())
    lake = tmp_path / "lake"
    first = run_ok(pipeline)
    check_published_run(lake)
    digest = lake_digest(lake)
    inodes = {p: p.stat().st_ino for p in data_files(lake)}
    assert len(digest) == 4

    second = run_ok(pipeline)
    assert second["run_id"] != first["run_id"], "a finished run must not be resumed"
    assert second["resumed"] is False and second["partitions_kept"] == 0
    run = check_published_run(lake)
    assert run["run_id"] == second["run_id"]
    assert lake_digest(lake) == digest, "the re-run changed the file set or the bytes"
    # The files were rewritten (replaced), not left in place.
    assert all(p.stat().st_ino != inodes[p] for p in data_files(lake)), \
        "the re-run did not replace the partition files"
    ids = ids_of(lake)
    assert len(ids) == 20_000 and len(set(ids)) == 20_000, "duplicates after a re-run"

    runs = state_query(tmp_path / "state.db",
                       "SELECT run_id, status FROM runs ORDER BY run_id")
    assert runs == [(first["run_id"], "succeeded"), (second["run_id"], "succeeded")]


def test_second_instance_is_added_beside_the_first(tmp_path):
    pipeline = write_pipeline(tmp_path, generate(8000, 2))
    lake = tmp_path / "lake"
    run_ok(pipeline)
    before = lake_digest(lake)
    run_ok(pipeline, "--instance", "2026-11-26")
    other = f"{INSTANCE_KEY}=2026-11-26"
    check_published_run(lake, INSTANCE_DIR)
    check_published_run(lake, other)
    after = lake_digest(lake)
    assert {k: v for k, v in after.items() if k.startswith(INSTANCE_DIR)} == before, \
        "running another instance changed the first one"
    assert len(after) == 2 * len(before)
    # The instance is part of the data too: generated timestamps fall on the run's day.
    for day, folder in ((INSTANCE, INSTANCE_DIR), ("2026-11-26", other)):
        files = [f for f in data_files(lake) if f.relative_to(lake).parts[0] == folder]
        ts = read_lake_arrow(lake, files).column("created_at").cast(pa.int64()).to_pylist()
        start = int(dt.datetime.fromisoformat(day).replace(tzinfo=dt.timezone.utc)
                    .timestamp()) * 1_000_000
        assert all(start <= t < start + 86_400_000_000 for t in ts), folder


def write_parquet_inputs(folder: Path, sizes: list[int], offset: int = 0) -> dict[str, list[int]]:
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for k, n in enumerate(sizes):
        ids = [offset + k * 1_000_000 + i for i in range(n)]
        table = pa.table({"id": pa.array(ids, pa.int64()),
                          "value": pa.array([f"v{offset}-{i}" for i in ids], pa.string())})
        name = f"in_{k:02d}.parquet"
        pq.write_table(table, folder / name)
        files[name] = ids
    return files


def test_stale_partition_of_a_removed_file_is_deleted(tmp_path):
    inputs = write_parquet_inputs(tmp_path / "in", [3000, 2000, 2500])
    pipeline = write_pipeline(tmp_path, {"type": "file", "path": "in", "format": "parquet"})
    lake = tmp_path / "lake"
    run_ok(pipeline)
    check_published_run(lake)
    assert len(partition_dirs(lake)) == 3

    (tmp_path / "in" / "in_02.parquet").unlink()
    summary = run_ok(pipeline)
    assert summary["partitions_total"] == 2
    run = check_published_run(lake)
    assert len(partition_dirs(lake)) == 2, sorted(partition_dirs(lake))
    assert len(run["partitions"]) == 2
    assert sorted(ids_of(lake)) == sorted(inputs["in_00.parquet"] + inputs["in_01.parquet"])


def test_rerun_with_fewer_rows_leaves_no_stale_file(tmp_path):
    """A partition that rolled into 4 files, re-run with less data, keeps only its new files."""
    write_parquet_inputs(tmp_path / "in", [7000, 1000])
    pipeline = write_pipeline(tmp_path, {"type": "file", "path": "in", "format": "parquet"},
                              loaders=[parquet_loader(max_file_rows=2000)])
    lake = tmp_path / "lake"
    run_ok(pipeline)
    check_published_run(lake)
    assert len(data_files(lake)) == 4 + 1

    new = write_parquet_inputs(tmp_path / "in", [1500, 1000], offset=7)
    run_ok(pipeline)
    check_published_run(lake)
    assert len(data_files(lake)) == 2, [str(p) for p in data_files(lake)]
    table = read_lake_arrow(lake)
    expected = sorted(new["in_00.parquet"] + new["in_01.parquet"])
    assert sorted(table.column("id").to_pylist()) == expected
    assert all(v.startswith("v7-") for v in table.column("value").to_pylist()), \
        "rows of the previous run are still in the lake"


def write_csv_inputs(folder: Path, bad_last: bool) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    total = 0
    for k in range(4):
        lines = ["id,amount"]
        for i in range(500):
            lines.append(f"{k * 1000 + i},{i}.25")
            total += 1
        if bad_last and k == 3:
            lines[250] = f"{k * 1000 + 249},not-a-number"
        (folder / f"f{k}.csv").write_text("\n".join(lines) + "\n")
    return total


def failed_run(tmp_path: Path):
    """A run whose last partition fails on bad data; returns (pipeline, summary, committed)."""
    write_csv_inputs(tmp_path / "in", bad_last=True)
    pipeline = write_pipeline(
        tmp_path, {"type": "file", "path": "in", "format": "csv",
                   "columns": {"amount": "decimal(10,2)"}},
        engine={"partitions_in_flight": 1, "retries": {"max_attempts": 1}})
    plan = run_jetflow("plan", pipeline, "--json", expect=0).json()["partitions"]
    bad = [i for i, p in enumerate(plan) if "f3" in p["description"]]
    assert len(bad) == 1, plan

    result = run_jetflow("run", pipeline, "--json", "--no-progress")
    assert result.code == 1, result.describe()
    summary = result.json()
    assert summary["status"] == "failed" and summary["partitions_failed"] == 1, summary
    assert "not-a-number" in summary["error"] or "amount" in summary["error"], summary
    lake = tmp_path / "lake"
    assert not (lake / INSTANCE_DIR / SUCCESS).exists(), "_SUCCESS after a failed run"
    visible = check_visible_partitions_complete(lake)

    db = tmp_path / "state.db"
    committed = state_query(db, "SELECT count(*) FROM partitions WHERE run_id = ? AND "
                                "status = 'committed'", (summary["run_id"],))[0][0]
    # One partition at a time, in plan order: everything before the bad file committed.
    assert committed == bad[0], (committed, plan)
    assert len(visible) == committed
    status = state_query(db, "SELECT status FROM runs WHERE run_id = ?", (summary["run_id"],))
    assert status == [("failed",)]
    write_csv_inputs(tmp_path / "in", bad_last=False)
    return pipeline, summary, committed


def test_failed_run_resumes_keeping_committed_partitions(tmp_path):
    pipeline, failed, committed = failed_run(tmp_path)
    summary = run_ok(pipeline)
    assert summary["run_id"] == failed["run_id"]
    assert summary["resumed"] is True
    assert summary["partitions_kept"] == committed
    assert summary["rows_written"] == 2000  # totals include the kept partitions
    check_published_run(tmp_path / "lake")
    ids = ids_of(tmp_path / "lake")
    assert sorted(ids) == sorted(k * 1000 + i for k in range(4) for i in range(500))


def test_restart_starts_a_new_run(tmp_path):
    pipeline, failed, _ = failed_run(tmp_path)
    summary = run_ok(pipeline, "--restart")
    assert summary["run_id"] != failed["run_id"]
    assert summary["resumed"] is False and summary["partitions_kept"] == 0
    check_published_run(tmp_path / "lake")
    ids = ids_of(tmp_path / "lake")
    assert sorted(ids) == sorted(k * 1000 + i for k in range(4) for i in range(500))
    runs = state_query(tmp_path / "state.db", "SELECT run_id, status FROM runs ORDER BY run_id")
    assert runs == [(failed["run_id"], "failed"), (summary["run_id"], "succeeded")]


def test_manifests_match_files_and_state(tmp_path):
    pipeline = write_pipeline(tmp_path, generate(12_000, 3),
                              loaders=[parquet_loader(max_file_rows=1500)])
    summary = run_ok(pipeline)
    lake = tmp_path / "lake"
    run = check_published_run(lake)
    assert run["rows"] == summary["rows_written"] == 12_000
    assert run["bytes"] == summary["bytes_written"] == sum(p.stat().st_size
                                                          for p in data_files(lake))
    # The state store holds the same manifests as the lake.
    import json
    rows = state_query(tmp_path / "state.db",
                       "SELECT partition_id, manifests_json FROM partitions WHERE run_id = ?",
                       (summary["run_id"],))
    assert len(rows) == 3
    in_lake = {p["partition_id"]: p for p in run["partitions"]}
    for partition_id, manifests in rows:
        (stored,) = json.loads(manifests)
        assert stored["files"] == in_lake[partition_id]["files"], partition_id
        assert stored["rows"] == in_lake[partition_id]["rows"]


def test_fsync_false_publishes_the_same_lake(tmp_path):
    """`fsync: false` leaves out only the forcing to disk: the same data files, manifests
    and markers as a default (durable) run."""
    durable = write_pipeline(tmp_path / "durable", generate())
    lazy = write_pipeline(tmp_path / "lazy", generate(),
                          loaders=[parquet_loader(fsync=False)])
    run_ok(durable)
    run_ok(lazy)
    durable_lake, lazy_lake = tmp_path / "durable" / "lake", tmp_path / "lazy" / "lake"
    check_published_run(durable_lake)
    check_published_run(lazy_lake)
    assert len(lake_digest(durable_lake)) == 4
    assert lake_digest(lazy_lake) == lake_digest(durable_lake)

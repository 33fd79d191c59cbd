"""Incremental PostgreSQL runs: each run instance reads the cursor window (low, high]
fixed when it is first planned; re-running an instance reads exactly the same rows even
after new rows arrived; the next instance starts at the committed high watermark;
lookback widens the low bound; a failed run does not advance the watermark."""
from __future__ import annotations

import pytest

from conftest import read_lake_arrow, run_jetflow, run_ok, state_query, write_pipeline
from postgres_fixtures import pg, pg_consumer  # noqa: F401  (fixture)


def ids_of(lake, instance: str) -> list[int]:
    folder = lake / f"run={instance}"
    files = sorted(folder.rglob("*.parquet"))
    if not files:
        return []
    return sorted(read_lake_arrow(lake, files).column("id").to_pylist())


@pytest.mark.parametrize("cursor_type, lookback", [("timestamptz", "10s"), ("bigint", "10")])
def test_windows_rerun_and_lookback(pg, tmp_path, cursor_type, lookback):
    table = f"inc_{cursor_type}"
    if cursor_type == "timestamptz":
        value = "timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second'"
    else:
        value = "g"
    pg.execute(f"DROP TABLE IF EXISTS {table}; "
               f"CREATE TABLE {table} (id int, cur {cursor_type}, v text)")
    pg.execute(f"INSERT INTO {table} SELECT g, {value}, 'a' FROM generate_series(1, 100) g")

    def pipeline(lookback_value=None):
        incremental = {"cursor": "cur"}
        if lookback_value:
            incremental["lookback"] = lookback_value
        consumer = pg_consumer(pg, table=table, incremental=incremental,
                               partition_by={"column": "id", "partitions": 2})
        return write_pipeline(tmp_path, consumer, instance=None)

    p = pipeline()
    lake = tmp_path / "lake"
    # Before any run, `jetflow plan` plans a first run and creates no state store.
    run_jetflow("plan", p, "--instance", "r1", expect=0)
    assert not (tmp_path / "state.db").exists()
    run_ok(p, "--instance", "r1")
    assert ids_of(lake, "r1") == list(range(1, 101))

    pg.execute(f"INSERT INTO {table} SELECT g, {value}, 'b' FROM generate_series(101, 150) g")
    result = run_jetflow("--log-level", "debug", "run", p, "--json", "--no-progress",
                         "--instance", "r2", expect=0)
    assert ids_of(lake, "r2") == list(range(101, 151))
    # The source is planned once, for the window after r1's watermark (not also for a
    # first run's window, which would count the whole table).
    planned = [line for line in result.stderr.splitlines() if "planned" in line]
    assert len(planned) == 1 and "with the state store's watermarks" in planned[0], \
        result.stderr
    # `jetflow plan` shows what the next run would read: planned with the watermarks.
    shown = run_jetflow("--log-level", "debug", "plan", p, "--instance", "r3", expect=0)
    assert "with the state store's watermarks" in shown.stderr, shown.stderr

    # Re-running r1 after new rows arrived reads its pinned window: the same rows.
    pg.execute(f"INSERT INTO {table} SELECT g, {value}, 'c' FROM generate_series(151, 160) g")
    run_ok(p, "--instance", "r1", "--restart")
    assert ids_of(lake, "r1") == list(range(1, 101))

    # Nothing is lost: r3 starts at r2's committed high watermark.
    p = pipeline(lookback)
    run_ok(p, "--instance", "r3")
    # lookback 10 (seconds or units) re-reads ids 141..150 as well.
    assert ids_of(lake, "r3") == list(range(141, 161))

    marks = dict(state_query(tmp_path / "state.db",
                             "SELECT name, value FROM watermarks") if _has_table(tmp_path) else [])
    assert any(name.endswith(".cursor") for name in marks), marks

    # An empty window: nothing new, no partition, success.
    summary = run_ok(p, "--instance", "r4")
    assert summary["rows_written"] == 0 or ids_of(lake, "r4") == list(range(151, 161))


def _has_table(folder) -> bool:
    names = [r[0] for r in state_query(folder / "state.db",
                                       "SELECT name FROM sqlite_master WHERE type='table'")]
    return "watermarks" in names


def test_failed_run_does_not_advance_the_watermark(pg, tmp_path):
    pg.execute("DROP TABLE IF EXISTS inc_fail; CREATE TABLE inc_fail (id int, cur int, v numeric(6,2))")
    pg.execute("INSERT INTO inc_fail SELECT g, g, 1 FROM generate_series(1, 50) g")
    consumer = pg_consumer(pg, table="inc_fail", incremental={"cursor": "cur", "initial": "10"})
    p = write_pipeline(tmp_path, consumer, instance=None, engine={"retries": {"max_attempts": 1}})
    lake = tmp_path / "lake"
    run_ok(p, "--instance", "a")
    assert ids_of(lake, "a") == list(range(11, 51))  # initial is an exclusive low bound

    # A NaN in the next window fails the run (numeric(6,2) cannot hold it).
    pg.execute("INSERT INTO inc_fail SELECT g, g, 1 FROM generate_series(51, 60) g")
    pg.execute("INSERT INTO inc_fail VALUES (61, 61, 'NaN')")
    failed = run_jetflow("run", p, "--instance", "b", "--json", "--no-progress")
    assert failed.code == 1, failed.describe()
    pg.execute("UPDATE inc_fail SET v = 2 WHERE id = 61")
    # The next instance still starts after a's high bound (50), so 51..61 are not lost.
    run_ok(p, "--instance", "c")
    assert ids_of(lake, "c") == list(range(51, 62))

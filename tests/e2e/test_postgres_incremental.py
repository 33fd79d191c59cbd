"""Incremental PostgreSQL runs: each run instance reads the cursor window (low, high]
fixed when it is first planned; re-running an instance reads exactly the same rows even
after new rows arrived; the next instance starts at the committed high watermark;
lookback widens the low bound; a failed run does not advance the watermark."""
from __future__ import annotations

import pytest

from conftest import (parquet_loader, read_lake_arrow, run_jetflow, run_ok, state_query,
                      write_pipeline)
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
    # The window is logged once, with the bound it reads from: r1's high watermark (not
    # also a first run's unbounded window).
    windows = [line for line in result.stderr.splitlines() if "incremental window" in line]
    assert len(windows) == 1 and "-inf" not in windows[0], result.stderr
    if cursor_type == "bigint":
        assert "100 < cur <= 150" in windows[0], result.stderr
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


# ---------------------------------------------------------------------------------------
# Cursor values that no window can hold: +infinity, NaN and NULL. The high bound of a
# window is the greatest finite value, so such a row never becomes the watermark (which
# would stop every later instance at an empty window); the rows are counted and reported
# in the log and the run summary, naming the table, the column and the count.

SPECIAL_CURSORS = {
    # cursor type: (value of row n, a value above every finite one)
    "timestamptz": ("timestamptz '2026-01-01 00:00:00+00' + {n} * interval '1 minute'",
                    "'infinity'"),
    "timestamp": ("timestamp '2026-01-01 00:00:00' + {n} * interval '1 minute'", "'infinity'"),
    "date": ("date '2026-01-01' + {n}", "'infinity'"),
    "float8": ("{n}::float8", "'Infinity'"),
    "numeric": ("{n}::numeric", "'NaN'"),
}


def window_warning(summary: dict) -> str:
    found = [w for w in summary["warnings"] if "in no incremental window" in w]
    assert len(found) == 1, summary
    return found[0]


@pytest.mark.parametrize("cursor_type", sorted(SPECIAL_CURSORS))
def test_infinite_and_null_cursors_never_stop_the_watermark(pg, tmp_path, cursor_type):
    value, beyond = SPECIAL_CURSORS[cursor_type]
    table = f"inc_special_{cursor_type}"
    pg.execute(f"DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (id int, cur {cursor_type})")

    def insert(first: int, last: int) -> None:
        pg.execute(f"INSERT INTO {table} SELECT g, {value.format(n='g')} "
                   f"FROM generate_series({first}, {last}) g")

    insert(1, 10)
    pg.execute(f"INSERT INTO {table} VALUES (1001, {beyond}), (1002, NULL), (1003, NULL)")
    consumer = pg_consumer(pg, table=table, incremental={"cursor": "cur"})
    p = write_pipeline(tmp_path, consumer, instance=None)
    lake = tmp_path / "lake"

    summary = run_ok(p, "--instance", "r1")
    assert ids_of(lake, "r1") == list(range(1, 11))
    warning = window_warning(summary)
    for part in (f"incremental cursor 'cur' of table {table}", "2 rows with a NULL cursor",
                 "1 with cursor +infinity or NaN"):
        assert part in warning, warning
    (mark,) = state_query(tmp_path / "state.db",
                          "SELECT value FROM watermarks WHERE name LIKE '%.cursor'")
    assert "nf" not in mark[0] and "NaN" not in mark[0], mark  # a finite watermark

    # New rows after the infinite one are read by the next instance: nothing is lost.
    insert(11, 15)
    summary = run_ok(p, "--instance", "r2")
    assert ids_of(lake, "r2") == list(range(11, 16))
    assert "2 rows with a NULL cursor" in window_warning(summary)

    # The log says it too, and `jetflow plan` shows it before anything runs.
    result = run_jetflow("run", p, "--instance", "r3", "--no-progress", expect=0)
    assert "in no incremental window" in result.stderr and "warning" in result.stdout, \
        result.describe()
    shown = run_jetflow("plan", p, "--instance", "r4", expect=0)
    assert "in no incremental window" in shown.stderr, shown.describe()


def test_on_skipped_error_fails_the_plan_and_moves_nothing(pg, tmp_path):
    pg.execute("DROP TABLE IF EXISTS inc_strict; CREATE TABLE inc_strict (id int, cur timestamptz)")
    pg.execute("INSERT INTO inc_strict VALUES (1, '2026-01-01'), (2, NULL)")
    consumer = pg_consumer(pg, table="inc_strict",
                           incremental={"cursor": "cur", "on_skipped": "error"})
    p = write_pipeline(tmp_path, consumer, instance=None)
    for command in ("validate", "run"):
        result = run_jetflow(command, p, "--instance", "r1", expect=2)
        assert ("incremental cursor 'cur' of table inc_strict: 1 row with a NULL cursor is "
                "in no incremental window") in result.stderr, result.describe()
        assert "on_skipped: error" in result.stderr, result.describe()
    assert not (tmp_path / "lake").exists()
    pg.execute("UPDATE inc_strict SET cur = '2026-01-02' WHERE id = 2")
    summary = run_ok(p, "--instance", "r1")
    assert summary["warnings"] == [] and ids_of(tmp_path / "lake", "r1") == [1, 2]


def test_a_stored_infinite_watermark_is_refused_with_a_remedy(pg, tmp_path):
    """A watermark of +infinity (written by an earlier version, or given as `initial`)
    would read the empty window (infinity, infinity] forever: the plan fails, saying how
    to set it back."""
    pg.execute("DROP TABLE IF EXISTS inc_stuck; CREATE TABLE inc_stuck (id int, cur date)")
    pg.execute("INSERT INTO inc_stuck VALUES (1, '2026-01-01')")
    consumer = pg_consumer(pg, table="inc_stuck",
                           incremental={"cursor": "cur", "initial": "infinity"})
    p = write_pipeline(tmp_path, consumer, instance=None)
    result = run_jetflow("run", p, "--instance", "r1", expect=2)
    assert ("incremental.initial is 'infinity', which is not a finite value: no row can "
            "follow it") in result.stderr, result.describe()

    p = write_pipeline(tmp_path, pg_consumer(pg, table="inc_stuck",
                                             incremental={"cursor": "cur"}), instance=None)
    run_ok(p, "--instance", "r1")
    import sqlite3
    con = sqlite3.connect(tmp_path / "state.db")
    con.execute("UPDATE watermarks SET value = 'infinity' WHERE name LIKE '%.cursor'")
    con.commit()
    con.close()
    result = run_jetflow("run", p, "--instance", "r2", expect=2)
    assert "the committed watermark postgres.postgres.cursor is 'infinity'" in result.stderr, \
        result.describe()
    assert "Set the watermark back" in result.stderr, result.describe()


def test_a_watermark_far_ahead_of_the_clock_is_reported(pg, tmp_path):
    """A far-future cursor value (year 9999) is finite and read, but it makes the watermark
    jump ahead of the clock: every run says so while it is."""
    pg.execute("DROP TABLE IF EXISTS inc_future; CREATE TABLE inc_future (id int, cur timestamp)")
    pg.execute("INSERT INTO inc_future VALUES (1, '2026-01-01'), (2, '9999-12-31 23:59:59')")
    p = write_pipeline(tmp_path, pg_consumer(pg, table="inc_future",
                                             incremental={"cursor": "cur"}), instance=None)
    summary = run_ok(p, "--instance", "r1")
    assert ids_of(tmp_path / "lake", "r1") == [1, 2]
    (warning,) = [w for w in summary["warnings"] if "ahead of the server's clock" in w]
    assert "the watermark postgres.postgres.cursor is 9999-12-31 23:59:59" in warning, warning
    pg.execute("INSERT INTO inc_future VALUES (3, '2026-01-02')")
    summary = run_ok(p, "--instance", "r2")
    assert any("ahead of the server's clock" in w for w in summary["warnings"]), summary


@pytest.mark.parametrize("source", ["table", "query"])
def test_inspecting_commands_print_each_warning_once(pg, tmp_path, source):
    """`schema`, `plan` and `validate` plan an incremental source twice (first without
    the state store's watermarks, then with them, when the store exists): each warning
    (a config warning, the text fallback, rows in no window) and the window's log line
    appear once, before and after a run."""
    pg.execute("DROP TABLE IF EXISTS inc_warn; "
               "CREATE TABLE inc_warn (id int, cur int, doc tsvector)")
    pg.execute("INSERT INTO inc_warn VALUES (1, 1, 'a'), (2, NULL, 'b'), (3, 3, NULL)")
    options = ({"table": "inc_warn"} if source == "table" else
               {"query": "SELECT id, cur, doc FROM inc_warn"})
    loader = parquet_loader(extra_columns="drop")  # a config warning
    p = write_pipeline(tmp_path, pg_consumer(pg, incremental={"cursor": "cur"}, **options),
                       loaders=[loader], instance=None)
    needles = ["'extra_columns' has no effect", "no binary decoder are read as text",
               "in no incremental window", "incremental window of run=r"]
    for stage in ("before the first run", "after it"):
        for command in ("schema", "plan", "validate"):
            result = run_jetflow(command, p, "--instance", "r2", expect=0)
            for needle in needles:
                assert result.stderr.count(needle) == 1, \
                    f"{command} {stage}: {needle!r}\n{result.describe()}"
        if stage == "before the first run":
            run_ok(p, "--instance", "r1")

"""Data columns named like a directory key of the lake.

Readers of a Hive-style lake add every `key=value` directory of a file's path as a
column: the run instance key (`dt=2026-11-25/`), the partition directory key
(`part=all/`) and the loader's partition_by columns. A data column of the same name
(compared ignoring case, as Spark does) makes Spark and DuckDB return the directory's
value instead of the column's, and pyarrow refuse the lake (`Unable to merge: Field dt
has incompatible types`). jetflow refuses such an output at plan time (`validate`, `plan`
and `run` say so before anything is written), naming the column, the loader and the key,
and the remedy: rename the column with a select transformer, or choose another key.
A key that clashes with another key (`run_instance.key: part`) is refused when the
pipeline is loaded.

The source is a real PostgreSQL server; the renamed lake is read back by pyarrow and
DuckDB with Hive partition discovery, every value compared.
"""
from __future__ import annotations

import datetime as dt

import pyarrow.dataset as ds

from conftest import (INSTANCE, INSTANCE_DIR, duckdb_connect, line_col, parquet_loader,
                      run_jetflow, run_ok, write_pipeline, write_text_pipeline)
from postgres_fixtures import pg, pg_consumer  # noqa: F401  (fixture)

ROWS = [(1, "2020-01-01", "red", "a"), (2, "2021-06-30", "green", None),
        (3, None, "blue", "c")]


def make_events(pg, table: str = "events", dt_column: str = "dt") -> None:
    pg.execute(f'DROP TABLE IF EXISTS {table}; CREATE TABLE {table} '
               f'(id int, "{dt_column}" date, part text, note text)')
    for row in ROWS:
        pg.execute(f"INSERT INTO {table} VALUES (%s, %s, %s, %s)", row)


def assert_refused(result, *parts: str) -> None:
    for part in parts:
        assert part in result.stderr, result.describe()


def assert_nothing_written(folder) -> None:
    assert not (folder / "lake").exists(), "the lake was touched"
    assert not (folder / "state.db").exists(), "the state store was touched"


def test_columns_named_like_directory_keys_are_refused_at_plan_time(pg, tmp_path):
    """The README's own example: run_instance key `dt` and a source column `dt`; and a
    column `part`, the partition directory key."""
    make_events(pg)
    pipeline = write_pipeline(tmp_path, pg_consumer(pg, table="events"))
    for command in ("validate", "plan", "run"):
        result = run_jetflow(command, pipeline, expect=2)
        assert_refused(
            result, "loader 'lake'",
            "column 'dt' is named like the run instance key 'dt' (run_instance.key), a "
            "directory key of the lake (dt=<value>/)",
            "rename the column (a select transformer with rename: {dt: <new name>}) or "
            "choose another run_instance.key",
            "column 'part' is named like the partition directory key 'part' (the "
            "loader's partition_column)")
    assert_nothing_written(tmp_path)


def test_the_comparison_ignores_case(pg, tmp_path):
    make_events(pg, table="events_upper", dt_column="DT")
    consumer = pg_consumer(pg, table="events_upper", columns=["id", "DT", "note"])
    result = run_jetflow("run", write_pipeline(tmp_path, consumer), expect=2)
    assert_refused(result, "column 'DT' is named like the run instance key 'dt'")
    assert_nothing_written(tmp_path)


def test_a_partition_by_column_and_its_case_variant(pg, tmp_path):
    """partition_by: [country] leaves `country` out of the files, but a column `Country`
    stays in them, under `country=<value>/`. (The spark profile refuses two columns that
    differ only in case anyway; lossless output is read by DuckDB, which matches names
    ignoring case as well.)"""
    pg.execute('DROP TABLE IF EXISTS shops; CREATE TABLE shops '
               '(id int, country text, "Country" text)')
    pg.execute("INSERT INTO shops VALUES (1, 'DE', 'Germany')")
    loader = parquet_loader(partition_by=["country"], profile="lossless")
    pipeline = write_pipeline(tmp_path, pg_consumer(pg, table="shops"), loaders=[loader])
    result = run_jetflow("run", pipeline, expect=2)
    assert_refused(result, "column 'Country' is named like partition_by column 'country'")
    assert_nothing_written(tmp_path)


def test_a_quarantine_with_such_a_column_is_refused_too(pg, tmp_path):
    """Side outputs are lakes with the same directory keys: a quarantine holding `dt`."""
    make_events(pg, table="events_q")
    transformers = [
        {"type": "validate", "quarantine": {"path": "quarantine"},
         "rules": [{"name": "has_note", "expression": "note IS NOT NULL",
                    "on_fail": "quarantine"}]},
        {"type": "select", "rename": {"dt": "event_date", "part": "colour"}},
    ]
    pipeline = write_pipeline(tmp_path, pg_consumer(pg, table="events_q"),
                              extra={"transformers": transformers})
    result = run_jetflow("run", pipeline, expect=2)
    assert_refused(result, "side output quarantine",
                   "column 'dt' is named like the run instance key 'dt'")
    assert_nothing_written(tmp_path)
    assert not (tmp_path / "quarantine").exists()


def test_keys_that_clash_with_each_other_are_refused_when_loaded(tmp_path):
    text = (f"pipeline: p\nrun_instance: {{key: part, value: '{INSTANCE}'}}\n"
            "consumer: {type: generate, rows: 10, partitions: 1}\n"
            "loaders:\n  - type: parquet\n    path: lake\n")
    result = run_jetflow("validate", write_text_pipeline(tmp_path / "a", text), expect=2)
    line, col = line_col(text, "type: parquet")
    assert (f"pipeline.yaml:{line}:{col}: error: the run instance key 'part' "
            "(run_instance.key) clashes with partition_column 'part'") in result.stderr, \
        result.describe()

    text = (f"pipeline: p\nrun_instance: {{key: Day, value: '{INSTANCE}'}}\n"
            "consumer: {type: generate, rows: 10, partitions: 1}\n"
            "loaders:\n  - type: parquet\n    path: lake\n    partition_by: [day]\n")
    result = run_jetflow("validate", write_text_pipeline(tmp_path / "b", text), expect=2)
    line, col = line_col(text, "day]")
    assert (f"pipeline.yaml:{line}:{col}: error: partition_by column 'day' clashes with "
            "the run instance key 'Day'") in result.stderr, result.describe()


def test_the_documented_remedy_gives_a_lake_every_reader_reads(pg, tmp_path):
    make_events(pg, table="events_ok")
    transformers = [{"type": "select", "rename": {"dt": "event_date", "part": "colour"}}]
    pipeline = write_pipeline(tmp_path, pg_consumer(pg, table="events_ok"),
                              extra={"transformers": transformers})
    run_ok(pipeline)
    lake = tmp_path / "lake"
    expected = sorted((i, dt.date.fromisoformat(d) if d else None, c, n)
                      for i, d, c, n in ROWS)

    table = ds.dataset(str(lake), format="parquet", partitioning="hive").to_table()
    assert sorted(table.column_names) == ["colour", "dt", "event_date", "id", "note", "part"]
    got = sorted(zip(*(table.column(c).to_pylist()
                       for c in ("id", "event_date", "colour", "note"))))
    assert got == expected
    assert set(table.column("dt").to_pylist()) == {INSTANCE}
    assert set(table.column("part").to_pylist()) == {"all"}

    con = duckdb_connect()
    try:
        rows = con.execute(
            f"SELECT id, event_date, colour, note, dt, part FROM read_parquet("
            f"'{lake}/*/*/*.parquet', hive_partitioning = true) ORDER BY id").fetchall()
    finally:
        con.close()
    assert [r[:4] for r in rows] == expected
    assert {(str(r[4]), r[5]) for r in rows} == {(INSTANCE, "all")}
    assert (lake / INSTANCE_DIR / "part=all").is_dir()

"""PostgreSQL relations of every kind a `table:` may name, read whole and by key ranges,
compared row by row with what a SELECT of the relation returns.

`COPY table (columns) TO STDOUT` is the fast way to read a plain table, but it is not a
SELECT: it refuses generated columns ("Generated columns cannot be used in COPY"),
views, materialized views, partitioned and foreign tables, and it reads no inheritance
child. The consumer reads all of those through `COPY (SELECT ...) TO STDOUT`, and
refuses at plan time (`jetflow validate`, exit 2) what no SELECT can read: an index, a
composite type, a sequence, a materialized view never populated.
"""
from __future__ import annotations

import pytest

from conftest import read_lake_arrow, run_jetflow, run_ok, write_pipeline
from postgres_fixtures import pg, pg_consumer  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def relations(pg):
    pg.execute("""
        CREATE TABLE gen (id int PRIMARY KEY, a int,
                          doubled int GENERATED ALWAYS AS (a * 2) STORED,
                          label text GENERATED ALWAYS AS ('#' || id) STORED);
        INSERT INTO gen (id, a) SELECT g, g * 10 FROM generate_series(1, 50) g;
        INSERT INTO gen (id, a) VALUES (51, NULL);

        -- Old-style inheritance: SELECT FROM parent reads the child's rows too.
        CREATE TABLE parent (id int, v text);
        CREATE TABLE child (extra int) INHERITS (parent);
        INSERT INTO parent SELECT g, 'parent ' || g FROM generate_series(1, 20) g;
        INSERT INTO child SELECT g, 'child ' || g, g FROM generate_series(21, 30) g;

        CREATE VIEW gen_view AS SELECT id, a, doubled FROM gen WHERE id <= 40;
        CREATE MATERIALIZED VIEW gen_mat AS SELECT id, a, doubled, label FROM gen;

        CREATE TABLE parted (id int, a int, doubled int GENERATED ALWAYS AS (a * 2) STORED)
          PARTITION BY RANGE (id);
        CREATE TABLE parted_low PARTITION OF parted FOR VALUES FROM (MINVALUE) TO (26);
        CREATE TABLE parted_high PARTITION OF parted FOR VALUES FROM (26) TO (MAXVALUE);
        INSERT INTO parted (id, a) SELECT g, g * 10 FROM generate_series(1, 50) g;

        CREATE EXTENSION postgres_fdw;
        CREATE SERVER loopback FOREIGN DATA WRAPPER postgres_fdw
          OPTIONS (host '127.0.0.1', port '%d', dbname 'postgres');
        CREATE USER MAPPING FOR postgres SERVER loopback OPTIONS (user 'postgres');
        CREATE FOREIGN TABLE gen_remote (id int, a int, doubled int, label text)
          SERVER loopback OPTIONS (table_name 'gen');

        CREATE MATERIALIZED VIEW gen_unpopulated AS SELECT id, a FROM gen WITH NO DATA;
        CREATE INDEX gen_a ON gen (a);
        CREATE TYPE pair AS (x int, y int);
        CREATE SEQUENCE counter;
    """ % pg.port)


RELATIONS = ["gen", "parent", "gen_view", "gen_mat", "parted", "gen_remote"]


def server_rows(pg, relation: str, columns: list[str]) -> list[dict]:
    select = ", ".join(f'"{c}"' for c in columns)
    rows = pg.query(f"SELECT {select} FROM {relation} ORDER BY id")
    return [dict(zip(columns, row)) for row in rows]


@pytest.mark.parametrize("partition_by", [None, {"column": "id", "partitions": 3}],
                         ids=["whole", "key_ranges"])
@pytest.mark.parametrize("relation", RELATIONS)
def test_every_relation_kind_reads_what_select_reads(pg, relations, tmp_path, relation,
                                                     partition_by):
    options = {"table": relation}
    if partition_by:
        options["partition_by"] = partition_by
    pipeline = write_pipeline(tmp_path, pg_consumer(pg, **options))
    run_jetflow("validate", pipeline, expect=0)
    run_ok(pipeline)
    lake = read_lake_arrow(tmp_path / "lake")
    got = sorted(lake.to_pylist(), key=lambda r: r["id"])
    expected = server_rows(pg, relation, lake.column_names)
    assert len(expected) > 1
    assert got == expected, relation


def test_generated_columns_can_be_left_out_or_chosen(pg, relations, tmp_path):
    """Leaving the generated columns out keeps the plain COPY; choosing only them works
    too."""
    for name, columns in [("plain", ["id", "a"]), ("generated", ["id", "label", "doubled"])]:
        pipeline = write_pipeline(tmp_path / name, pg_consumer(pg, table="gen",
                                                               columns=columns))
        run_ok(pipeline)
        lake = read_lake_arrow(tmp_path / name / "lake")
        assert lake.column_names == columns
        got = sorted(lake.to_pylist(), key=lambda r: r["id"])
        assert got == server_rows(pg, "gen", columns)


def test_inheritance_children_are_read_like_select_reads_them(pg, relations, tmp_path):
    """`COPY parent TO` would read the parent's own 20 rows only; SELECT reads all 30,
    whether or not the table is partitioned by key."""
    whole = write_pipeline(tmp_path / "whole", pg_consumer(pg, table="parent"))
    assert run_ok(whole)["rows_written"] == 30
    keyed = write_pipeline(tmp_path / "keyed", pg_consumer(
        pg, table="parent", partition_by={"column": "id", "partitions": 2}))
    assert run_ok(keyed)["rows_written"] == 30


@pytest.mark.parametrize("relation, needles", [
    ("gen_unpopulated", ["materialized view gen_unpopulated has not been populated",
                         "REFRESH MATERIALIZED VIEW public.gen_unpopulated"]),
    ("gen_a", ["PostgreSQL relation gen_a is an index, not a table"]),
    ("pair", ["PostgreSQL relation pair is a composite type, not a table"]),
    ("counter", ["PostgreSQL relation counter is a sequence, not a table"]),
])
@pytest.mark.parametrize("command", ["validate", "plan", "run"])
def test_relations_no_select_can_read_fail_at_plan_time(pg, relations, tmp_path, relation,
                                                       needles, command):
    pipeline = write_pipeline(tmp_path, pg_consumer(pg, table=relation))
    args = [command, pipeline] + (["--no-progress"] if command == "run" else [])
    result = run_jetflow(*args)
    assert result.code == 2, result.describe()
    text = result.stdout + result.stderr
    for needle in needles:
        assert needle in text, result.describe()
    assert not (tmp_path / "lake").exists() or not any((tmp_path / "lake").rglob("*.parquet"))


def test_a_populated_materialized_view_reads_after_refresh(pg, relations, tmp_path):
    pg.execute("CREATE MATERIALIZED VIEW later AS SELECT id FROM gen WITH NO DATA")
    pipeline = write_pipeline(tmp_path, pg_consumer(pg, table="later"))
    run_jetflow("validate", pipeline, expect=2)
    pg.execute("REFRESH MATERIALIZED VIEW later")
    assert run_ok(pipeline)["rows_written"] == 51

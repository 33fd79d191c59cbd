"""PostgreSQL arrays of two and more dimensions where the catalog cannot tell (views and
queries: attndims 0) or tells wrong (PostgreSQL does not enforce a column's declared
dimensions): the consumer plans each array column's dimensions from the first rows of
the source, or from `array_dimensions:`; a value with other dimensions than planned
fails the run naming the source, the column, the partition and the remedy. Values are
compared with what the server returns."""
from __future__ import annotations

import pyarrow as pa
import pytest

from conftest import parquet_loader, read_lake_arrow, run_jetflow, run_ok, write_pipeline
from postgres_fixtures import pg, pg_consumer  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def arrays(pg):
    pg.execute("""
        CREATE TABLE grid (id int, m int[][], tags text[]);
        INSERT INTO grid VALUES
          (1, '{{1,2},{3,NULL}}', '{a,b}'),
          (2, '{}', '{}'),
          (3, NULL, NULL),
          (4, '{{5}}', '{"ü"}');
        CREATE VIEW grid_view AS SELECT id, m, tags FROM grid;
        -- Declared 1-D, holding 2-D values; declared 2-D, holding 1-D values.
        CREATE TABLE loose (id int, flat int[], deep int[][]);
        INSERT INTO loose VALUES (1, '{{1,2},{3,4}}', '{1,2,3}'), (2, NULL, '{4}');
        CREATE VIEW cube AS SELECT id, array_fill(id, ARRAY[2, 2, 3]) AS c
          FROM generate_series(1, 5) id;
        -- 2-D values only after the first 1,000 rows.
        CREATE TABLE late (id int, m int[]);
        INSERT INTO late SELECT g, NULL FROM generate_series(1, 1200) g;
        INSERT INTO late SELECT g, ARRAY[[g, g + 1], [g + 2, g + 3]]
          FROM generate_series(1201, 1250) g;
        CREATE TABLE mixed (id int, m int[]);
        INSERT INTO mixed VALUES (1, '{1,2}'), (2, '{{1,2},{3,4}}');
        CREATE TYPE cell AS (label text, m int[][]);
        CREATE TABLE cells (id int, c cell);
        INSERT INTO cells VALUES (1, ROW('a', '{{1,2},{3,4}}')), (2, ROW('b', NULL)),
                                 (3, NULL);
        CREATE VIEW cells_view AS SELECT id, c FROM cells;
        -- A domain over int[][]: the column's attndims is 0.
        CREATE DOMAIN matrix AS int[][];
        CREATE TABLE matrices (id int, g matrix);
        INSERT INTO matrices VALUES (1, '{{1,2},{3,4}}'), (2, NULL);
    """)


def lake_rows(folder) -> tuple[pa.Schema, dict]:
    table = read_lake_arrow(folder / "lake")
    return table.schema, {r["id"]: r for r in table.to_pylist()}


def server_rows(pg, sql: str) -> dict:
    return {row[0]: row for row in pg.query(sql)}


@pytest.mark.parametrize("source", [
    {"table": "grid_view"},
    {"query": "SELECT id, m, tags FROM grid"},
    {"table": "grid_view", "partition_by": {"column": "id", "partitions": 2}},
])
def test_two_dimensional_arrays_of_views_and_queries(pg, arrays, tmp_path, source):
    pipeline = write_pipeline(tmp_path, pg_consumer(pg, **source),
                              loaders=[parquet_loader(profile="lossless")])
    run_jetflow("validate", pipeline, expect=0)
    run_ok(pipeline)
    schema, rows = lake_rows(tmp_path)
    assert schema.field("m").type == pa.list_(pa.list_(pa.int32())), schema
    assert schema.field("tags").type == pa.list_(pa.string()), schema
    server = server_rows(pg, "SELECT id, m, tags FROM grid")
    assert set(rows) == set(server)
    for key, (_, m, tags) in server.items():
        assert rows[key]["m"] == m, key
        assert rows[key]["tags"] == tags, key
    assert rows[1]["m"] == [[1, 2], [3, None]]


def test_three_dimensional_arrays_of_a_view(pg, arrays, tmp_path):
    pipeline = write_pipeline(tmp_path, pg_consumer(pg, table="cube"),
                              loaders=[parquet_loader(profile="lossless")])
    run_ok(pipeline)
    schema, rows = lake_rows(tmp_path)
    assert schema.field("c").type == pa.list_(pa.list_(pa.list_(pa.int32())))
    server = server_rows(pg, "SELECT id, c FROM cube")
    assert {k: r["c"] for k, r in rows.items()} == {k: c for k, (_, c) in server.items()}
    assert rows[2]["c"] == [[[2, 2, 2], [2, 2, 2]], [[2, 2, 2], [2, 2, 2]]]


def test_declared_dimensions_of_a_table_yield_to_its_data(pg, arrays, tmp_path):
    """`flat int[]` holds 2-D arrays and `deep int[][]` 1-D ones: PostgreSQL accepts
    both, so the data decides (with a warning at plan time)."""
    pipeline = write_pipeline(tmp_path, pg_consumer(pg, table="loose"),
                              loaders=[parquet_loader(profile="lossless")])
    result = run_jetflow("run", pipeline, "--json", "--no-progress", expect=0)
    assert "is declared with 2 dimensions but holds 1-dimensional arrays" in result.stderr
    schema, rows = lake_rows(tmp_path)
    assert schema.field("flat").type == pa.list_(pa.list_(pa.int32()))
    assert schema.field("deep").type == pa.list_(pa.int32())
    assert rows[1]["flat"] == [[1, 2], [3, 4]] and rows[2]["flat"] is None
    assert rows[1]["deep"] == [1, 2, 3] and rows[2]["deep"] == [4]


def test_more_dimensions_than_planned_fail_naming_the_remedy(pg, arrays, tmp_path):
    """The first 1,000 rows of `late` hold no array: it is planned 1-D, and the run fails
    on the first 2-D value, naming the query, column, partition and array_dimensions."""
    query = "SELECT id, m FROM late"
    failing = write_pipeline(tmp_path / "undeclared", pg_consumer(pg, query=query))
    result = run_jetflow("run", failing, "--no-progress")
    assert result.code not in (0, 2), result.describe()
    text = result.stdout + result.stderr
    for needle in ["array value has 2 dimensions but the column is read as 1-dimensional",
                   "array_dimensions: {<column>: 2}", "column 'm'", "query",
                   "partition all"]:
        assert needle in text, result.describe()

    declared = write_pipeline(tmp_path / "declared", pg_consumer(
        pg, query=query, array_dimensions={"m": 2}),
        loaders=[parquet_loader(profile="lossless")])
    assert run_ok(declared)["rows_written"] == 1250
    schema, rows = lake_rows(tmp_path / "declared")
    assert schema.field("m").type == pa.list_(pa.list_(pa.int32()))
    assert rows[1201]["m"] == [[1201, 1202], [1203, 1204]]
    assert rows[1]["m"] is None


def test_a_domain_over_a_two_dimensional_array(pg, arrays, tmp_path):
    pipeline = write_pipeline(tmp_path, pg_consumer(pg, table="matrices"),
                              loaders=[parquet_loader(profile="lossless")])
    run_ok(pipeline)
    schema, rows = lake_rows(tmp_path)
    assert schema.field("g").type == pa.list_(pa.list_(pa.int32()))
    assert rows[1]["g"] == [[1, 2], [3, 4]] and rows[2]["g"] is None


@pytest.mark.parametrize("relation", ["cells", "cells_view"])
def test_arrays_inside_composites_keep_their_declared_dimensions(pg, arrays, tmp_path,
                                                                 relation):
    """A composite type's field declared int[][] is 2-D, in a table or a view."""
    pipeline = write_pipeline(tmp_path, pg_consumer(pg, table=relation),
                              loaders=[parquet_loader(profile="lossless")])
    run_ok(pipeline)
    schema, rows = lake_rows(tmp_path)
    assert schema.field("c").type.field("m").type == pa.list_(pa.list_(pa.int32()))
    assert rows[1]["c"] == {"label": "a", "m": [[1, 2], [3, 4]]}
    assert rows[2]["c"] == {"label": "b", "m": None}
    assert rows[3]["c"] is None


def test_arrays_of_several_dimension_counts_fail_at_plan_time(pg, arrays, tmp_path):
    pipeline = write_pipeline(tmp_path, pg_consumer(pg, table="mixed"))
    result = run_jetflow("validate", pipeline, expect=2)
    assert ("array column 'm' of table mixed holds arrays of 1 and of 2 dimensions"
            in result.stderr), result.describe()


@pytest.mark.parametrize("dimensions, needle", [
    ({"mm": 2}, "array_dimensions: 'mm' is not a column of table grid (did you mean 'm'?)"),
    ({"id": 2}, "array_dimensions: 'id' of table grid is not an array column (it has "
                "type integer)"),
    ({"m": 7}, "array_dimensions.m' must be between 1 and 6, got '7'"),
    ({"m": "two"}, "array_dimensions.m' must be an integer"),
])
def test_array_dimensions_mistakes_are_plan_time_errors(pg, arrays, tmp_path, dimensions,
                                                        needle):
    pipeline = write_pipeline(tmp_path, pg_consumer(pg, table="grid",
                                                    array_dimensions=dimensions))
    result = run_jetflow("validate", pipeline, expect=2)
    assert needle in result.stderr, result.describe()

"""A run instance without rows still publishes its schema.

Readers that infer a table's schema from its files find nothing in a lake (or a run
instance) without a data file: Spark fails with UNABLE_TO_INFER_SCHEMA, DuckDB finds no
files. Like Spark, which writes one empty part file for an empty result, jetflow writes
one Parquet file without rows (the output schema, the output profile's types) for a run
instance that wrote no row at all: in the first partition of the plan, or in a partition
`empty` when the plan has none (an empty incremental window). It is listed in the
manifests like any file and replaced on a re-run like any file; an instance where some
partitions wrote rows gets no such file.

Sources are a real PostgreSQL server; the lake is read back by pyarrow, DuckDB and Spark.
"""
from __future__ import annotations

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from conftest import (INSTANCE_DIR, MANIFEST, check_published_run, data_files,
                      duckdb_connect, lake_digest, load_json, parquet_loader, partition_dirs,
                      run_ok, write_pipeline)
from postgres_fixtures import pg, pg_consumer  # noqa: F401  (fixture)
from test_hive_partitioning import check_partitioned_run
from test_spark_reads import read_parquet, spark  # noqa: F401  (fixture)

EXPECTED_SCHEMA = pa.schema([pa.field("id", pa.int32(), nullable=False),
                             pa.field("amount", pa.decimal128(10, 2)),
                             pa.field("ts", pa.timestamp("us", tz="UTC")),
                             pa.field("note", pa.string())])


def make_table(pg, name: str, ids=()) -> None:
    pg.execute(f"DROP TABLE IF EXISTS {name}; CREATE TABLE {name} "
               "(id int NOT NULL, amount numeric(10,2), ts timestamptz, note text)")
    for i in ids:
        pg.execute(f"INSERT INTO {name} VALUES (%s, 1.5, '2026-01-01', 'x')", (i,))


def duckdb_scalar(sql: str):
    con = duckdb_connect()
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_an_empty_table_publishes_one_empty_file(pg, spark, tmp_path):
    make_table(pg, "empty_t")
    pipeline = write_pipeline(tmp_path, pg_consumer(pg, table="empty_t"))
    summary = run_ok(pipeline)
    assert summary["rows_written"] == 0
    lake = tmp_path / "lake"
    files = data_files(lake)
    assert [str(f.relative_to(lake)) for f in files] == [
        f"{INSTANCE_DIR}/part=all/part-00000.parquet"]
    run = check_published_run(lake)
    (partition,) = run["partitions"]
    assert partition["rows"] == 0 and len(partition["files"]) == 1, partition
    assert run["rows"] == 0

    assert pq.read_schema(files[0]).remove_metadata() == EXPECTED_SCHEMA
    table = ds.dataset(str(lake), format="parquet", partitioning="hive").to_table()
    assert table.num_rows == 0
    assert table.schema.names == EXPECTED_SCHEMA.names + ["dt", "part"]

    glob = f"'{lake}/*/*/*.parquet'"
    assert duckdb_scalar(f"SELECT count(*) FROM read_parquet({glob})") == [(0,)]
    described = duckdb_scalar(f"DESCRIBE SELECT * FROM read_parquet({glob})")
    assert [(r[0], r[1]) for r in described] == [
        ("id", "INTEGER"), ("amount", "DECIMAL(10,2)"), ("ts", "TIMESTAMP WITH TIME ZONE"),
        ("note", "VARCHAR"), ("dt", "DATE"), ("part", "VARCHAR")]

    df = read_parquet(spark, lake)
    assert [(f.name, f.dataType.simpleString()) for f in df.schema.fields] == [
        ("id", "int"), ("amount", "decimal(10,2)"), ("ts", "timestamp"), ("note", "string"),
        ("dt", "date"), ("part", "string")]
    assert df.count() == 0

    # A re-run replaces it with the same bytes.
    before = lake_digest(lake)
    run_ok(pipeline)
    assert lake_digest(lake) == before
    check_published_run(lake)


def test_empty_partitions_beside_rows_get_no_file_and_an_empty_rerun_replaces(pg, tmp_path):
    make_table(pg, "some_empty", ids=range(1, 6))
    consumer = pg_consumer(pg, table="some_empty",
                           partition_by={"column": "id", "ranges": [100, 200]})
    pipeline = write_pipeline(tmp_path, consumer)
    lake = tmp_path / "lake"
    run_ok(pipeline)
    run = check_published_run(lake)
    assert sorted(p["rows"] for p in run["partitions"]) == [0, 0, 5]
    files = data_files(lake)
    assert len(files) == 1 and pq.ParquetFile(files[0]).metadata.num_rows == 5, files

    # The same instance, now empty: one empty file, in the first partition by id.
    pg.execute("DELETE FROM some_empty")
    run_ok(pipeline)
    run = check_published_run(lake)
    files = data_files(lake)
    assert len(files) == 1 and pq.ParquetFile(files[0]).metadata.num_rows == 0, files
    first = min(partition_dirs(lake))
    assert files[0].parent == partition_dirs(lake)[first]
    assert load_json(files[0].parent / MANIFEST)["files"][0]["rows"] == 0

    # Rows again: the empty file goes with the re-run.
    pg.execute("INSERT INTO some_empty VALUES (150, 2.5, '2026-01-02', 'y')")
    run_ok(pipeline)
    check_published_run(lake)
    files = data_files(lake)
    assert [pq.ParquetFile(f).metadata.num_rows for f in files] == [1], files


def test_empty_incremental_windows_publish_one_empty_file(pg, tmp_path):
    make_table(pg, "inc_empty")
    consumer = pg_consumer(pg, table="inc_empty", incremental={"cursor": "id"})
    pipeline = write_pipeline(tmp_path, consumer, instance=None)
    lake = tmp_path / "lake"

    def files_of(instance: str) -> list[str]:
        return [str(f.relative_to(lake)) for f in data_files(lake)
                if f.relative_to(lake).parts[0] == f"run={instance}"]

    # An empty table: no high bound, no partition planned; the file goes to part=empty.
    summary = run_ok(pipeline, "--instance", "r1")
    assert summary["partitions_total"] == 0
    run = check_published_run(lake, "run=r1")
    assert [p["partition_id"] for p in run["partitions"]] == ["empty"]
    assert files_of("r1") == ["run=r1/part=empty/part-00000.parquet"]
    empty = lake / files_of("r1")[0]
    assert pq.read_schema(empty).remove_metadata() == EXPECTED_SCHEMA
    assert pq.ParquetFile(empty).metadata.num_rows == 0

    # Rows arrive: the next instance reads them, and has no empty file.
    pg.execute("INSERT INTO inc_empty SELECT g, 1, '2026-01-01', 'z' FROM "
               "generate_series(1, 3) g")
    run_ok(pipeline, "--instance", "r2")
    assert [pq.ParquetFile(lake / f).metadata.num_rows for f in files_of("r2")] == [3]

    # Nothing new: the window (3, 3] reads nothing; its one partition gets the file.
    run_ok(pipeline, "--instance", "r3")
    check_published_run(lake, "run=r3")
    assert files_of("r3") == ["run=r3/part=all/part-00000.parquet"]
    assert pq.ParquetFile(lake / files_of("r3")[0]).metadata.num_rows == 0

    # Re-running r1 reads its pinned (empty) window again: the same file.
    before = lake_digest(lake)
    run_ok(pipeline, "--instance", "r1", "--restart")
    assert lake_digest(lake) == before
    check_published_run(lake, "run=r1")


def test_with_partition_by_the_empty_file_sits_under_null_directories(pg, tmp_path):
    pg.execute("DROP TABLE IF EXISTS empty_sales; "
               "CREATE TABLE empty_sales (id int, country text, amount int)")
    loader = parquet_loader(partition_by=["country"])
    pipeline = write_pipeline(tmp_path, pg_consumer(pg, table="empty_sales"),
                              loaders=[loader])
    run_ok(pipeline)
    lake = tmp_path / "lake"
    check_partitioned_run(lake, ["country"])
    files = data_files(lake)
    assert [str(f.relative_to(lake)) for f in files] == [
        f"{INSTANCE_DIR}/part=all/country=__HIVE_DEFAULT_PARTITION__/part-00000.parquet"]
    assert pq.read_schema(files[0]).names == ["id", "amount"]
    # The directory of null values gives no type: the reader is told it (as for any lake
    # whose partition_by column is all null).
    partitioning = ds.partitioning(pa.schema([("dt", pa.string()), ("part", pa.string()),
                                              ("country", pa.string())]), flavor="hive")
    table = ds.dataset(str(lake), format="parquet", partitioning=partitioning).to_table()
    assert table.num_rows == 0 and table.schema.names == ["id", "amount", "dt", "part",
                                                          "country"]
    con = duckdb_connect()
    try:
        rows = con.execute(f"SELECT count(*) FROM read_parquet('{lake}/*/*/*/*.parquet', "
                           "hive_partitioning = true)").fetchall()
    finally:
        con.close()
    assert rows == [(0,)]

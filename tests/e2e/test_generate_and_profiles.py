"""`generate` -> lake: row counts, ids, Spark-safe footers, compression, output profiles,
declared schemas, file rolling and byte-for-byte determinism.

Footers are read with pyarrow.parquet's metadata API, i.e. what Spark's reader would see,
not what jetflow says it wrote.
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import (INSTANCE, assert_no_staging_leftovers, data_files, duckdb_connect,
                      duckdb_file_list, duckdb_types, lake_digest, parquet_loader,
                      partition_dirs, read_lake_arrow, read_lake_duckdb, run_jetflow, run_ok,
                      write_pipeline, SUCCESS, INSTANCE_DIR)

MIXED10_TYPES = {
    "id": pa.int64(), "account_id": pa.int32(), "amount": pa.decimal128(18, 4),
    "price": pa.float64(), "created_at": pa.timestamp("us", tz="UTC"), "name": pa.string(),
    "country": pa.string(), "is_active": pa.bool_(), "score": pa.float64(),
    "comment": pa.string(),
}


def footer_columns(path: Path) -> dict:
    """column name -> (physical type, logical type as a dict) from the Parquet footer."""
    schema = pq.ParquetFile(path).schema
    out = {}
    for i in range(len(schema)):
        column = schema.column(i)
        out[column.name] = (column.physical_type, json.loads(column.logical_type.to_json()))
    return out


def spark_footer_problems(path: Path) -> list[str]:
    """Everything in a footer that Spark 3.5/4.x cannot read with default settings."""
    problems = []
    metadata = pq.ParquetFile(path).metadata
    for name, (physical, logical) in footer_columns(path).items():
        kind = logical.get("Type")
        if kind == "Timestamp" and logical.get("timeUnit") == "nanoseconds":
            problems.append(f"{name}: TIMESTAMP(NANOS)")
        if kind == "Int" and logical.get("bitWidth") == 64 and not logical.get("isSigned"):
            problems.append(f"{name}: UINT_64")
        if kind in ("UUID", "Float16", "Time", "Interval", "Null", "Unknown"):
            problems.append(f"{name}: logical type {kind}")
        if kind == "Decimal" and logical.get("precision", 0) > 38:
            problems.append(f"{name}: decimal precision {logical['precision']}")
        if physical == "INT96":
            problems.append(f"{name}: INT96")
    for rg in range(metadata.num_row_groups):
        for c in range(metadata.num_columns):
            chunk = metadata.row_group(rg).column(c)
            if "BYTE_STREAM_SPLIT" in chunk.encodings:
                problems.append(f"{chunk.path_in_schema}: BYTE_STREAM_SPLIT encoding")
    return problems


def codecs(path: Path) -> set[str]:
    metadata = pq.ParquetFile(path).metadata
    return {metadata.row_group(rg).column(c).compression
            for rg in range(metadata.num_row_groups) for c in range(metadata.num_columns)}


def generate(rows: int, partitions: int, **extra) -> dict:
    consumer = {"type": "generate", "rows": rows, "partitions": partitions, "seed": 1234}
    consumer.update(extra)
    return consumer


def test_mixed10_rows_ids_and_spark_footer(tmp_path):
    rows, partitions = 60_000, 4
    pipeline = write_pipeline(tmp_path, generate(rows, partitions, preset="mixed10"),
                              engine={"batch_rows": 4096, "partitions_in_flight": 2})
    summary = run_ok(pipeline)
    assert summary["rows_read"] == rows == summary["rows_written"], summary
    assert summary["partitions_total"] == partitions
    lake = tmp_path / "lake"

    table = read_lake_arrow(lake)
    assert {f.name: f.type for f in table.schema} == MIXED10_TYPES, table.schema
    ids = table.column("id").to_pylist()
    assert len(ids) == rows
    assert sorted(ids) == list(range(rows)), "ids are not unique and contiguous from 0"

    # Partition k holds global rows [k*rows/p, (k+1)*rows/p): self-evident from the data.
    parts = partition_dirs(lake)
    assert len(parts) == partitions
    for k, (part, folder) in enumerate(sorted(parts.items())):
        part_ids = read_lake_arrow(lake, sorted(folder.glob("*.parquet"))).column("id").to_pylist()
        lo, hi = k * rows // partitions, (k + 1) * rows // partitions
        assert sorted(part_ids) == list(range(lo, hi)), f"partition {part}"

    # Values within the documented ranges of mixed10 (docs: generate_consumer.h).
    day = dt.datetime.fromisoformat(INSTANCE).replace(tzinfo=dt.timezone.utc)
    con = duckdb_connect()
    files = duckdb_file_list(data_files(lake))
    (n, distinct, lo_id, hi_id, lo_acc, hi_acc, lo_amt, hi_amt, lo_ts, hi_ts, countries,
     score_nulls, comment_nulls, other_nulls) = con.execute(f"""
        SELECT count(*), count(DISTINCT id), min(id), max(id), min(account_id),
               max(account_id), min(amount), max(amount), min(epoch_us(created_at)),
               max(epoch_us(created_at)), count(DISTINCT country),
               count(*) - count(score), count(*) - count(comment),
               count(*) * 7 - count(id) - count(account_id) - count(amount) - count(price)
                 - count(created_at) - count(name) - count(is_active)
        FROM read_parquet({files})""").fetchone()
    assert (n, distinct, lo_id, hi_id) == (rows, rows, 0, rows - 1)
    assert 1 <= lo_acc and hi_acc <= 100_000
    assert Decimal("0.01") <= lo_amt and hi_amt <= Decimal("10000")
    day_us = int(day.timestamp()) * 1_000_000
    assert day_us <= lo_ts and hi_ts < day_us + 86_400_000_000, "created_at outside the run day"
    assert countries == 50
    assert abs(score_nulls / rows - 0.10) < 0.02, score_nulls
    assert abs(comment_nulls / rows - 0.30) < 0.02, comment_nulls
    assert other_nulls == 0
    prices = table.column("price").to_pylist()
    assert 0.5 <= min(prices) and max(prices) < 1000.0

    # Footers: what Spark sees.
    for path in data_files(lake):
        assert spark_footer_problems(path) == [], path
        cols = footer_columns(path)
        physical, logical = cols["created_at"]
        assert physical == "INT64"
        assert logical["Type"] == "Timestamp" and logical["timeUnit"] == "microseconds"
        assert logical["isAdjustedToUTC"] is True
        physical, logical = cols["amount"]
        assert physical != "DOUBLE" and logical == {"Type": "Decimal", "precision": 18,
                                                    "scale": 4}, cols["amount"]
        for name in ("name", "country", "comment"):
            assert cols[name] == ("BYTE_ARRAY", {"Type": "String"}), (name, cols[name])
        assert cols["id"][0] == "INT64" and cols["account_id"][0] == "INT32"
        assert codecs(path) == {"ZSTD"}, f"default compression must be ZSTD: {codecs(path)}"

    assert duckdb_types(lake) == {
        "id": "BIGINT", "account_id": "INTEGER", "amount": "DECIMAL(18,4)", "price": "DOUBLE",
        "created_at": "TIMESTAMP WITH TIME ZONE", "name": "VARCHAR", "country": "VARCHAR",
        "is_active": "BOOLEAN", "score": "DOUBLE", "comment": "VARCHAR"}
    assert_no_staging_leftovers(lake)


@pytest.mark.parametrize("setting,codec", [("snappy", "SNAPPY"), ("none", "UNCOMPRESSED"),
                                           ("zstd", "ZSTD")])
def test_compression_setting(tmp_path, setting, codec):
    pipeline = write_pipeline(tmp_path, generate(3000, 2),
                              loaders=[parquet_loader(compression=setting)])
    run_ok(pipeline)
    files = data_files(tmp_path / "lake")
    assert len(files) == 2
    for path in files:
        assert codecs(path) == {codec}, path
    assert read_lake_arrow(tmp_path / "lake").num_rows == 3000


def test_file_rolling_and_row_groups(tmp_path):
    rows, partitions = 40_000, 2
    pipeline = write_pipeline(
        tmp_path, generate(rows, partitions),
        loaders=[parquet_loader(max_file_rows=7000, row_group_rows=3000)],
        engine={"batch_rows": 2500})
    run_ok(pipeline)
    lake = tmp_path / "lake"
    per_partition = rows // partitions
    for part, folder in partition_dirs(lake).items():
        names = sorted(p.name for p in folder.glob("*.parquet"))
        expected_files = -(-per_partition // 7000)
        assert names == [f"part-{i:05d}.parquet" for i in range(expected_files)], names
        counts = []
        for name in names:
            md = pq.ParquetFile(folder / name).metadata
            counts.append(md.num_rows)
            for rg in range(md.num_row_groups):
                assert md.row_group(rg).num_rows <= 3000
        assert all(c <= 7000 for c in counts) and sum(counts) == per_partition, counts
    ids = read_lake_arrow(lake).column("id").to_pylist()
    assert sorted(ids) == list(range(rows))


def write_profile_input(path: Path, sub_micro: bool) -> pa.Table:
    u64 = [0, 1, 2**63, 2**64 - 1, None, 12345678901234567890, 42, 7]
    ns = [0, -1_000, 1_700_000_000_123_456_000, None, 86_400_000_000_000,
          -2_208_988_800_000_000_000, 4_102_444_800_000_000_000, 999_999_000]
    if sub_micro:
        ns[6] += 789  # not a whole microsecond: Spark's micros would truncate it
    table = pa.table({
        "id": pa.array(range(len(u64)), pa.int64()),
        "u64": pa.array(u64, pa.uint64()),
        "ts_ns": pa.array(ns, pa.int64()).cast(pa.timestamp("ns", tz="UTC")),
    })
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)  # pyarrow keeps UINT_64 and NANOS (format 2.6)
    cols = footer_columns(path)
    assert cols["ts_ns"][1]["timeUnit"] == "nanoseconds" and cols["u64"][1]["isSigned"] is False
    return table


def test_spark_profile_rewrites_uint64_and_nanos(tmp_path):
    source = write_profile_input(tmp_path / "in" / "a.parquet", sub_micro=False)
    pipeline = write_pipeline(tmp_path, {"type": "file", "path": "in", "format": "parquet"},
                              loaders=[parquet_loader(profile="spark")])
    run_ok(pipeline)
    lake = tmp_path / "lake"
    for path in data_files(lake):
        assert spark_footer_problems(path) == [], path
        cols = footer_columns(path)
        assert cols["u64"][1] == {"Type": "Decimal", "precision": 20, "scale": 0}, cols["u64"]
        assert cols["ts_ns"][1]["timeUnit"] == "microseconds", cols["ts_ns"]
        assert cols["ts_ns"][1]["isAdjustedToUTC"] is True
    table = read_lake_arrow(lake).sort_by("id")
    assert table.schema.field("u64").type == pa.decimal128(20, 0)
    assert table.schema.field("ts_ns").type == pa.timestamp("us", tz="UTC")
    expected_u64 = [None if v is None else Decimal(v) for v in source.column("u64").to_pylist()]
    assert table.column("u64").to_pylist() == expected_u64
    expected_us = [None if v is None else v // 1000
                   for v in source.column("ts_ns").cast(pa.int64()).to_pylist()]
    assert table.column("ts_ns").cast(pa.int64()).to_pylist() == expected_us
    duck = read_lake_duckdb(lake, "u64, epoch_us(ts_ns)", order_by="id")
    assert [r[0] for r in duck] == expected_u64
    assert [r[1] for r in duck] == expected_us


def test_lossless_profile_keeps_uint64_and_nanos(tmp_path):
    source = write_profile_input(tmp_path / "in" / "a.parquet", sub_micro=True)
    pipeline = write_pipeline(tmp_path, {"type": "file", "path": "in", "format": "parquet"},
                              loaders=[parquet_loader(profile="lossless")])
    run_ok(pipeline)
    lake = tmp_path / "lake"
    for path in data_files(lake):
        cols = footer_columns(path)
        assert cols["u64"][1] == {"Type": "Int", "bitWidth": 64, "isSigned": False}
        assert cols["ts_ns"][1]["timeUnit"] == "nanoseconds"
    table = read_lake_arrow(lake).sort_by("id")
    assert table.schema.field("u64").type == pa.uint64()
    assert table.schema.field("ts_ns").type == pa.timestamp("ns", tz="UTC")
    assert table.column("u64").to_pylist() == source.column("u64").to_pylist()
    assert (table.column("ts_ns").cast(pa.int64()).to_pylist()
            == source.column("ts_ns").cast(pa.int64()).to_pylist())


def test_spark_profile_refuses_to_truncate_nanos(tmp_path):
    write_profile_input(tmp_path / "in" / "a.parquet", sub_micro=True)
    pipeline = write_pipeline(tmp_path, {"type": "file", "path": "in", "format": "parquet"},
                              loaders=[parquet_loader(profile="spark")])
    result = run_jetflow("run", pipeline, "--no-progress")
    assert result.code == 1, result.describe()
    assert "ts_ns" in result.stderr, f"the error must name the column:\n{result.describe()}"
    lake = tmp_path / "lake"
    published = data_files(lake) if lake.exists() else []
    assert published == [], f"a failed partition was published: {published}"
    assert not (lake / INSTANCE_DIR / SUCCESS).exists()
    assert_no_staging_leftovers(lake, empty_dirs_ok=True)


def test_declared_schema_overrides_types_and_order(tmp_path):
    """A legacy schema: wider ints, a wider decimal, another column order, a required id,
    and an undeclared column dropped (extra_columns: drop)."""
    consumer = generate(5000, 2, columns=[
        {"name": "id", "type": "int64", "sequence": True},
        {"name": "account_id", "type": "int32", "min": -5, "max": 70000},
        {"name": "amount", "type": "decimal(10,2)", "min": "-99999.99", "max": "99999.99"},
        {"name": "created_at", "type": "timestamp"},
        {"name": "noise", "type": "float64"},
    ])
    declared = [
        {"name": "created_at", "type": "timestamp[us, UTC]", "nullable": True},
        {"name": "id", "type": "int64", "nullable": False},
        {"name": "amount", "type": "decimal(20,4)", "nullable": True},
        {"name": "account_id", "type": "int64", "nullable": True},
    ]
    pipeline = write_pipeline(tmp_path / "declared", consumer, loaders=[
        parquet_loader(schema=declared, extra_columns="drop")])
    plain = write_pipeline(tmp_path / "plain", consumer)
    run_ok(pipeline)
    run_ok(plain)

    declared_lake, plain_lake = tmp_path / "declared" / "lake", tmp_path / "plain" / "lake"
    for path in data_files(declared_lake):
        arrow_schema = pq.ParquetFile(path).schema_arrow
        assert arrow_schema.names == ["created_at", "id", "amount", "account_id"]
        assert arrow_schema.field("id").nullable is False
        cols = footer_columns(path)
        # A signed INT64 may carry no annotation or INT(64, signed).
        assert cols["account_id"][0] == "INT64"
        assert cols["account_id"][1] in ({"Type": "None"},
                                         {"Type": "Int", "bitWidth": 64, "isSigned": True})
        assert cols["amount"][1] == {"Type": "Decimal", "precision": 20, "scale": 4}
    got = read_lake_arrow(declared_lake).sort_by("id")
    want = read_lake_arrow(plain_lake).sort_by("id")
    assert got.column("id").to_pylist() == want.column("id").to_pylist()
    assert got.column("account_id").to_pylist() == want.column("account_id").to_pylist()
    assert got.column("amount").to_pylist() == want.column("amount").to_pylist()
    assert got.column("created_at").to_pylist() == want.column("created_at").to_pylist()
    assert duckdb_types(declared_lake) == {"created_at": "TIMESTAMP WITH TIME ZONE",
                                           "id": "BIGINT", "amount": "DECIMAL(20,4)",
                                           "account_id": "BIGINT"}


def test_two_runs_give_byte_identical_files(tmp_path):
    consumer = generate(30_000, 5, preset="mixed10")
    first = write_pipeline(tmp_path / "a", consumer,
                           engine={"partitions_in_flight": 1, "batch_rows": 8192})
    # Concurrency must not change the output, nor the Parquet loader's write mode that
    # `auto` picks from it (one partition in flight streams; with three, row groups are
    # held whole unless a writer finds its source slow).
    second = write_pipeline(tmp_path / "b", consumer,
                            engine={"partitions_in_flight": 3, "batch_rows": 8192})
    first_run = run_jetflow("--log-level", "debug", "run", first, "--no-progress", expect=0)
    second_run = run_jetflow("--log-level", "debug", "run", second, "--no-progress",
                             expect=0)
    assert "written in streaming mode" in first_run.stderr, first_run.describe()
    assert "written in adaptive mode" not in first_run.stderr, first_run.describe()
    assert "written in adaptive mode" in second_run.stderr, second_run.describe()
    a, b = lake_digest(tmp_path / "a" / "lake"), lake_digest(tmp_path / "b" / "lake")
    assert len(a) == 5
    assert a == b, "two runs of the same pipeline wrote different bytes"


def test_memory_budget_bounds_batches_in_flight(tmp_path):
    """With a small engine.memory_budget the batches in flight, plus what the loaders'
    encoders hold, stay within it; the same pipeline with a large budget holds far more
    (so the budget is what bounded it)."""
    consumer = generate(480_000, 4, preset="mixed10")
    engine = {"partitions_in_flight": 4, "queue_batches": 64, "batch_rows": 4096}
    # A writer much slower than the reader (a row group per batch, heavy compression), so
    # batches pile up in the queues unless the budget stops the readers.
    slow_loader = [parquet_loader(row_group_rows=4096, compression_level=15)]
    small = write_pipeline(tmp_path / "small", consumer, loaders=slow_loader,
                           engine=dict(engine, memory_budget="12MiB"))
    large = write_pipeline(tmp_path / "large", consumer, loaders=slow_loader,
                           engine=dict(engine, memory_budget="1GiB"))
    bounded = run_ok(small)
    unbounded = run_ok(large)
    # The documented slack (README, "engine.memory_budget"): a partition whose queue is empty may read one
    # batch over the budget, and what its writer's encoders hold (pages, dictionaries;
    # under 2 MiB here) is counted but never waited for.
    slack = 4 * 3 * 1024 * 1024
    bound = 12 * 1024 * 1024 + slack
    assert 0 < bounded["peak_in_flight_bytes"] <= bound, bounded
    assert bounded["peak_arrow_pool_bytes"] > 0, bounded
    # The control holds most of its 4 x 30 batches at once (~58 MB measured).
    assert unbounded["peak_in_flight_bytes"] > 1.5 * bound, \
        f"control run stayed near the bound, so this test proves nothing: {unbounded}"
    assert lake_digest(tmp_path / "small" / "lake") == lake_digest(tmp_path / "large" / "lake")


def test_two_loaders_write_two_lakes(tmp_path):
    source = write_profile_input(tmp_path / "in" / "a.parquet", sub_micro=False)
    pipeline = write_pipeline(tmp_path, {"type": "file", "path": "in", "format": "parquet"},
                              loaders=[parquet_loader("spark_lake"),
                                       parquet_loader("raw_lake", name="raw",
                                                      profile="lossless",
                                                      compression="snappy")])
    summary = run_ok(pipeline)
    spark = read_lake_arrow(tmp_path / "spark_lake").sort_by("id")
    raw = read_lake_arrow(tmp_path / "raw_lake").sort_by("id")
    assert spark.schema.field("u64").type == pa.decimal128(20, 0)
    assert raw.schema.field("u64").type == pa.uint64()
    assert raw.column("u64").to_pylist() == source.column("u64").to_pylist()
    assert spark.num_rows == raw.num_rows == source.num_rows
    assert summary["bytes_written"] == sum(
        p.stat().st_size for lake in ("spark_lake", "raw_lake")
        for p in data_files(tmp_path / lake))
    for path in data_files(tmp_path / "raw_lake"):
        assert codecs(path) == {"SNAPPY"}


def test_file_rolling_by_bytes(tmp_path):
    consumer = generate(60_000, 1, columns=[
        {"name": "id", "type": "int64", "sequence": True},
        {"name": "blob", "type": "string", "min_length": 40, "max_length": 40}])
    pipeline = write_pipeline(tmp_path, consumer, loaders=[
        parquet_loader(max_file_bytes="512KiB", row_group_rows=2000, compression="none")])
    run_ok(pipeline)
    (folder,) = partition_dirs(tmp_path / "lake").values()
    names = sorted(p.name for p in folder.glob("*.parquet"))
    assert len(names) >= 4, names
    assert names == [f"part-{i:05d}.parquet" for i in range(len(names))]
    # A file closes at the first row group that reaches the limit.
    one_group = 2000 * 60
    for name in names:
        assert (folder / name).stat().st_size <= 512 * 1024 + 2 * one_group, name
    ids = read_lake_arrow(tmp_path / "lake").column("id").to_pylist()
    assert sorted(ids) == list(range(60_000))

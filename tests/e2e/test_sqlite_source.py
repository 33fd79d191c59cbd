"""A SQLite table (made here with python's sqlite3) -> the lake.

Every value in the lake is compared with what sqlite3 itself returns for the same row;
the partitions must match `jetflow plan`, and no row may be lost or duplicated across the
key ranges (ids are sparse, negative, and huge on purpose).
"""
from __future__ import annotations

import datetime as dt
import random
import sqlite3
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from conftest import (assert_no_staging_leftovers, data_files, duckdb_types, partition_dirs,
                      read_lake_arrow, read_lake_duckdb, run_jetflow, run_ok, write_pipeline)

UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)

DDL = """
CREATE TABLE orders (
  id         INTEGER PRIMARY KEY,
  account_id INTEGER,
  price      REAL,
  name       TEXT,
  payload    BLOB,
  amount     DECIMAL(12,2),
  day        DATE,
  created    TIMESTAMP
)"""

NAMES = ["Zoë", "Łukasz", "東京", "🙂 smile", "", "O'Brien", 'say "hi"', "naïve café", "x"]


def make_db(path: Path, n: int = 3000, seed: int = 11) -> None:
    rng = random.Random(seed)
    ids = set()
    # Sparse, negative and very large keys, so that range boundaries are tested.
    while len(ids) < n - 4:
        ids.add(rng.randint(-50_000, 5_000_000))
    ids |= {-9223372036854775807, 9223372036854775807, 0, 1}
    rows = []
    for i, key in enumerate(sorted(ids)):
        cents = rng.randint(-99_999_999_999, 99_999_999_999)
        created = EPOCH + dt.timedelta(microseconds=rng.randint(-10**15, 4 * 10**15))
        row = [
            key,
            rng.randint(-2**63, 2**63 - 1) if i % 17 else rng.choice([0, -1, 2**63 - 1]),
            rng.uniform(-1e9, 1e9) if i % 19 else rng.choice([0.0, -0.0, 1e-300, 1e300]),
            rng.choice(NAMES) + (f"-{i}" if i % 3 else ""),
            bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 40))),
            str(Decimal(cents).scaleb(-2)),
            (dt.date(1970, 1, 1) + dt.timedelta(days=rng.randint(-30_000, 30_000))).isoformat(),
            created.strftime("%Y-%m-%d %H:%M:%S.%f"),
        ]
        if i % 9 == 4:  # NULL in every nullable column
            row[1:] = [None] * 7
        elif i % 10 == 7:
            row[rng.randint(1, 7)] = None
        rows.append(row)
    con = sqlite3.connect(path)
    con.execute(DDL)
    con.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.commit()
    con.close()


def expected_rows(db: Path, sql: str = "SELECT * FROM orders") -> list[tuple]:
    """What sqlite3 returns, in the types the lake must hold."""
    con = sqlite3.connect(db)
    rows = con.execute(sql).fetchall()
    con.close()
    out = []
    for key, account, price, name, payload, amount, day, created in rows:
        if isinstance(amount, float):
            amount = Decimal(repr(amount)).quantize(Decimal("0.01"))
        elif amount is not None:
            amount = Decimal(amount).quantize(Decimal("0.01"))
        if day is not None:
            day = dt.date.fromisoformat(day)
        if created is not None:
            instant = dt.datetime.strptime(created, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
            created = (instant - EPOCH) // dt.timedelta(microseconds=1)
        out.append((key, account, price, name, payload, amount, day, created))
    return sorted(out, key=lambda r: r[0])


def lake_rows_arrow(lake: Path) -> list[tuple]:
    table = read_lake_arrow(lake)
    assert table.schema.field("created").type == pa.timestamp("us", tz="UTC"), table.schema
    created = table.column("created").cast(pa.int64()).to_pylist()
    cols = [table.column(c).to_pylist()
            for c in ["id", "account_id", "price", "name", "payload", "amount", "day"]]
    rows = [tuple(c[i] for c in cols) + (created[i],) for i in range(table.num_rows)]
    return sorted(rows, key=lambda r: r[0])


def assert_same_rows(actual, expected, reader):
    assert len(actual) == len(expected), \
        f"{reader}: {len(actual)} rows, sqlite3 has {len(expected)}"
    keys = [r[0] for r in actual]
    assert len(set(keys)) == len(keys), f"{reader}: duplicated rows"
    bad = []
    for a, e in zip(actual, expected):
        same = all((x == y and str(x) == str(y)) if isinstance(y, float) else x == y
                   for x, y in zip(a, e))
        if not same:
            bad.append(f"  id {e[0]}:\n    lake    {a!r}\n    sqlite3 {e!r}")
    assert not bad, f"{reader}: {len(bad)} rows differ from sqlite3:\n" + "\n".join(bad[:10])


def plan(pipeline: Path) -> dict:
    return run_jetflow("plan", pipeline, "--json", expect=0).json()


def test_sqlite_table_partitioned_by_key(tmp_path):
    db = tmp_path / "shop.db"
    make_db(db)
    pipeline = write_pipeline(tmp_path, {
        "type": "sqlite", "path": "shop.db", "table": "orders",
        "partition_by": {"column": "id", "partitions": 4},
    }, engine={"batch_rows": 500})
    expected = expected_rows(db)

    planned = plan(pipeline)
    partitions = planned["partitions"]
    assert len(partitions) == 4, planned
    promised = {p["id"]: p["expected_rows"] for p in partitions}
    # The plan counts rows per key range (SQLite COUNT(*)); together they are the table.
    assert sum(promised.values()) == len(expected), promised

    summary = run_ok(pipeline)
    assert summary["partitions_total"] == 4
    assert summary["rows_read"] == len(expected) == summary["rows_written"], summary

    lake = tmp_path / "lake"
    types = read_lake_arrow(lake).schema
    assert types.field("id").type == pa.int64()
    assert types.field("account_id").type == pa.int64()
    assert types.field("price").type == pa.float64()
    assert types.field("name").type == pa.string()
    assert types.field("payload").type == pa.binary()
    assert types.field("amount").type == pa.decimal128(12, 2), types
    assert types.field("day").type == pa.date32(), types
    assert_same_rows(lake_rows_arrow(lake), expected, "pyarrow")

    assert duckdb_types(lake) == {
        "id": "BIGINT", "account_id": "BIGINT", "price": "DOUBLE", "name": "VARCHAR",
        "payload": "BLOB", "amount": "DECIMAL(12,2)", "day": "DATE",
        "created": "TIMESTAMP WITH TIME ZONE"}
    duck = read_lake_duckdb(lake, "id, account_id, price, name, payload, amount, day, "
                                  "epoch_us(created)", order_by="id")
    assert_same_rows([tuple(r) for r in duck], expected, "DuckDB")

    # The lake's partitions are the plan's, each with the rows the plan promised, and they
    # are disjoint key ranges (self-evident from the data).
    parts = partition_dirs(lake)
    assert sorted(parts) == sorted(promised), (sorted(parts), sorted(promised))
    ranges = []
    for part, folder in parts.items():
        ids = read_lake_arrow(lake, sorted(folder.glob("*.parquet"))).column("id").to_pylist()
        assert len(ids) == promised[part], \
            f"partition {part}: {len(ids)} rows, plan said {promised[part]}"
        if ids:
            ranges.append((min(ids), max(ids)))
    ranges.sort()
    for (_, hi), (lo, _) in zip(ranges, ranges[1:]):
        assert hi < lo, f"partitions overlap: {ranges}"
    assert_no_staging_leftovers(lake)


def test_sqlite_query_with_partitions(tmp_path):
    db = tmp_path / "shop.db"
    make_db(db, n=1500, seed=5)
    query = "SELECT * FROM orders WHERE id % 3 <> 0"
    pipeline = write_pipeline(tmp_path, {
        "type": "sqlite", "path": "shop.db", "query": query,
        "partition_by": {"column": "id", "partitions": 3},
    })
    expected = expected_rows(db, query)
    planned = plan(pipeline)
    assert len(planned["partitions"]) == 3
    summary = run_ok(pipeline)
    assert summary["rows_written"] == len(expected)
    assert_same_rows(lake_rows_arrow(tmp_path / "lake"), expected, "pyarrow")
    assert len(partition_dirs(tmp_path / "lake")) == 3


def test_sqlite_unpartitioned_table(tmp_path):
    db = tmp_path / "shop.db"
    make_db(db, n=700, seed=3)
    pipeline = write_pipeline(tmp_path, {"type": "sqlite", "path": "shop.db", "table": "orders"})
    planned = plan(pipeline)
    assert len(planned["partitions"]) == 1
    run_ok(pipeline)
    assert_same_rows(lake_rows_arrow(tmp_path / "lake"), expected_rows(db), "pyarrow")


def test_sqlite_partition_column_with_nulls_loses_no_row(tmp_path):
    """Range partitions on a nullable column: rows whose key is NULL belong to no range;
    they form one more partition, "<column>_null" (docs: sqlite_consumer.h)."""
    db = tmp_path / "shop.db"
    make_db(db, n=1200, seed=9)
    pipeline = write_pipeline(tmp_path, {
        "type": "sqlite", "path": "shop.db", "table": "orders",
        "partition_by": {"column": "account_id", "partitions": 3},
    })
    expected = expected_rows(db)
    nulls = sorted(r[0] for r in expected if r[1] is None)
    assert nulls

    planned = plan(pipeline)["partitions"]
    assert len(planned) == 4, planned
    assert planned[-1]["id"] == "account_id_null"
    assert planned[-1]["expected_rows"] == len(nulls)
    assert sum(p["expected_rows"] for p in planned) == len(expected)

    run_ok(pipeline)
    lake = tmp_path / "lake"
    assert_same_rows(lake_rows_arrow(lake), expected, "pyarrow")
    parts = partition_dirs(lake)
    assert sorted(parts) == sorted(p["id"] for p in planned)
    null_part = read_lake_arrow(lake, sorted(parts["account_id_null"].glob("*.parquet")))
    assert sorted(null_part.column("id").to_pylist()) == nulls


def test_sqlite_value_not_matching_its_column_type_fails_the_run(tmp_path):
    """SQLite is dynamically typed: 'abc' stored in an INTEGER column, or 12.345 in a
    DECIMAL(12,2) column, must fail the run naming the column and the value, never
    become a silent NULL, a truncation or a rounding."""
    for column, bad in (("account_id", "abc"), ("amount", 12.345)):
        folder = tmp_path / column
        folder.mkdir()
        db = folder / "shop.db"
        make_db(db, n=400, seed=1)
        con = sqlite3.connect(db)
        key = con.execute("SELECT id FROM orders ORDER BY id LIMIT 1 OFFSET 200").fetchone()[0]
        con.execute(f"UPDATE orders SET {column} = ? WHERE id = ?", (bad, key))
        con.commit()
        con.close()
        pipeline = write_pipeline(folder, {"type": "sqlite", "path": "shop.db",
                                           "table": "orders"})
        result = run_jetflow("run", pipeline, "--json", "--no-progress")
        assert result.code == 1, result.describe()
        error = result.json()["error"]
        assert column in error and str(bad) in error, error
        assert str(key) in error, f"the error must name the row (id {key}): {error}"
        assert not data_files(folder / "lake"), "a partition with a bad value was published"

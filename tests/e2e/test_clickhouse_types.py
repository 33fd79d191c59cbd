"""Every type ClickHouse 18.16 supports, with NULLs and edge values: ClickHouse table -> lake,
compared value by value with what the server itself returns (JSONEachRow over HTTP), read
back from the Parquet by pyarrow (and DuckDB for the spark profile), in the lossless and
spark profiles.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import random
import struct
import uuid
from decimal import Decimal

import pytest

from clickhouse_fixture import clickhouse_consumer, clickhouse_server  # noqa: F401
from conftest import (parquet_loader, read_lake_arrow, read_lake_duckdb, run_jetflow, run_ok,
                      write_pipeline)

EPOCH_DAY = dt.date(1970, 1, 1)

# name, ClickHouse type, SQL giving the server's value for the comparison, kind.
COLUMNS = [
    ("i8", "Int8", None, "int"),
    ("i16", "Int16", None, "int"),
    ("i32", "Int32", None, "int"),
    ("i64", "Int64", None, "int"),
    ("u8", "UInt8", None, "int"),
    ("u16", "UInt16", None, "int"),
    ("u32", "UInt32", None, "int"),
    ("u64", "UInt64", None, "int"),
    ("f32", "Float32", "toString(f32)", "float32"),
    ("f64", "Float64", "toString(f64)", "float64"),
    ("d32", "Decimal32(4)", "toString(d32)", "decimal"),
    ("d64", "Decimal64(6)", "toString(d64)", "decimal"),
    ("d128", "Decimal128(20)", "toString(d128)", "decimal"),
    ("s", "String", None, "str"),
    ("fs", "FixedString(4)", "hex(fs)", "hex"),
    ("d", "Date", "toUInt16(d)", "date"),
    ("ts", "DateTime", "toUInt32(ts)", "datetime"),
    ("ts_kol", "DateTime('Asia/Kolkata')", "toUInt32(ts_kol)", "datetime"),
    ("uid", "UUID", "toString(uid)", "uuid"),
    ("e8", "Enum8('neg' = -128, 'zero' = 0, 'pos' = 127)", None, "str"),
    ("e16", "Enum16('low' = -32768, 'high' = 32767)", None, "str"),
    ("n_i32", "Nullable(Int32)", None, "int"),
    ("n_u64", "Nullable(UInt64)", None, "int"),
    ("n_f64", "Nullable(Float64)", "toString(n_f64)", "float64"),
    ("n_s", "Nullable(String)", None, "str"),
    ("n_d", "Nullable(Date)", "toUInt16(n_d)", "date"),
    ("n_ts", "Nullable(DateTime)", "toUInt32(n_ts)", "datetime"),
    ("n_dec", "Nullable(Decimal64(2))", "toString(n_dec)", "decimal"),
    ("n_fs", "Nullable(FixedString(2))", "hex(n_fs)", "hex"),
    ("a_u32", "Array(UInt32)", None, "list:int"),
    ("a_s", "Array(String)", None, "list:str"),
    ("a_n", "Array(Nullable(Int64))", None, "list:int"),
    ("a_a", "Array(Array(Int16))", None, "list:list:int"),
    ("tup", "Tuple(Int32, String)", None, "tuple:int,str"),
    ("lc", "LowCardinality(String)", None, "str"),
    ("lc_n", "LowCardinality(Nullable(String))", None, "str"),
]

INT_RANGES = {"Int8": (-2**7, 2**7 - 1), "Int16": (-2**15, 2**15 - 1),
              "Int32": (-2**31, 2**31 - 1), "Int64": (-2**63, 2**63 - 1),
              "UInt8": (0, 2**8 - 1), "UInt16": (0, 2**16 - 1), "UInt32": (0, 2**32 - 1),
              "UInt64": (0, 2**64 - 1)}
STRINGS = ["", "plain", "Zoë 東京 🙂", "tab\tnew\nline", "quote ' \" \\ back", "x" * 300]


def sql_str(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\t", "\\t") \
        .replace("\n", "\\n") + "'"


def literal(ch_type: str, rng: random.Random, i: int):
    """A SQL literal of `ch_type` for row i: edge values in the first rows, then random."""
    base = ch_type[len("Nullable("):-1] if ch_type.startswith("Nullable(") else ch_type
    if ch_type.startswith("Nullable(") and i % 4 == 1:
        return "NULL"
    if base in INT_RANGES:
        lo, hi = INT_RANGES[base]
        return str([lo, hi, 0][i] if i < 3 else rng.randint(lo, hi))
    if base in ("Float32", "Float64"):
        edges = ["inf", "-inf", "nan", "0", "-0.", "1e-300" if base == "Float64" else "1e-38",
                 "-3.4028235e38", "0.1"]
        return edges[i] if i < len(edges) else repr(rng.uniform(-1e6, 1e6))
    if base.startswith("Decimal"):
        scale = int(base.split("(")[1].rstrip(")"))
        digits = {"Decimal32": 9, "Decimal64": 18, "Decimal128": 38}[base.split("(")[0]]
        if i < 2:  # the largest and smallest values: all nines
            value = ("-" if i else "") + "9" * (digits - scale) + "." + "9" * scale
        else:
            value = Decimal(rng.randint(-10**(digits - 1), 10**(digits - 1))).scaleb(-scale)
        return str(value)  # VALUES parses a plain literal straight into the decimal
    if base == "String":
        return sql_str(STRINGS[i % len(STRINGS)] + ("" if i < len(STRINGS) else str(i)))
    if base.startswith("FixedString"):
        width = int(base.split("(")[1].rstrip(")"))
        raw = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, width)))
        return "unhex('" + raw.hex() + "')"
    if base == "Date":
        days = [0, 49_709, 19_723][i] if i < 3 else rng.randint(0, 49_709)  # 2105-12-31
        return f"toDate({days})"
    if base.startswith("DateTime"):
        secs = [0, 4_294_967_295, 1_700_000_000][i] if i < 3 else rng.randint(0, 2**32 - 1)
        return f"toDateTime({secs})"
    if base == "UUID":
        return "toUUID('" + str(uuid.UUID(int=[0, 2**128 - 1][i] if i < 2
                                          else rng.getrandbits(128))) + "')"
    if base.startswith("Enum8"):
        return sql_str(["neg", "zero", "pos"][i % 3])
    if base.startswith("Enum16"):
        return sql_str(["low", "high"][i % 2])
    if base.startswith("Array("):
        inner = base[len("Array("):-1]
        n = [0, 1, 5][i % 3]
        return "[" + ", ".join(str(literal(inner, rng, 3 + rng.randint(0, 100))) if not (
            inner.startswith("Nullable") and rng.random() < 0.3) else "NULL"
            for _ in range(n)) + "]"
    if base.startswith("Tuple("):
        return f"({literal('Int32', rng, i)}, {literal('String', rng, i)})"
    if base.startswith("LowCardinality("):
        inner = base[len("LowCardinality("):-1]
        if inner.startswith("Nullable") and i % 3 == 1:
            return "NULL"
        return sql_str(["red", "green", "blue", "", "Zoë"][rng.randint(0, 4)])
    raise AssertionError(base)


def make_table(server, name: str, rows: int, seed: int = 5) -> None:
    rng = random.Random(seed)
    ddl = ", ".join(f"`{c}` {t}" for c, t, _, _ in COLUMNS)
    server.query(f"DROP TABLE IF EXISTS {name}")
    server.query(f"CREATE TABLE {name} (id UInt32, {ddl}) ENGINE = MergeTree ORDER BY id",
                 settings={"allow_experimental_low_cardinality_type": 1})
    values = []
    for i in range(rows):
        values.append("(" + ", ".join([str(i)] + [str(literal(t, rng, i)) for _, t, _, _
                                                   in COLUMNS]) + ")")
    for at in range(0, len(values), 500):
        server.query(f"INSERT INTO {name} VALUES " + ", ".join(values[at:at + 500]))


def f32(x: float) -> float:
    return struct.unpack("f", struct.pack("f", x))[0]


def canon(kind: str, value, from_server: bool):
    """The value both sides are compared as."""
    if value is None:
        return None
    if kind.startswith("list:"):
        return [canon(kind[5:], v, from_server) for v in value]
    if kind.startswith("tuple:"):
        kinds = kind[6:].split(",")
        items = value if from_server else list(value.values())
        return [canon(k, v, from_server) for k, v in zip(kinds, items)]
    if kind == "int":
        return int(value)
    if kind in ("float32", "float64"):
        x = float(value)
        if math.isnan(x):
            return "nan"
        if kind == "float32" and from_server:
            x = f32(x)
        return x
    if kind == "decimal":
        return Decimal(str(value))
    if kind == "str":
        return value
    if kind == "hex":
        return value if from_server else bytes(value).hex().upper()
    if kind == "date":
        return int(value) if from_server else (value - EPOCH_DAY).days
    if kind == "datetime":
        return int(value) if from_server else int(value.timestamp())
    if kind == "uuid":
        if from_server:
            return value
        if isinstance(value, (bytes, bytearray)):
            return str(uuid.UUID(bytes=bytes(value)))
        return str(value)
    raise AssertionError(kind)


def server_rows(server, table: str) -> list[dict]:
    select = ", ".join(f"{expr or '`' + c + '`'} AS `{c}`" for c, _, expr, _ in COLUMNS)
    text = server.query(f"SELECT id, {select} FROM {table} ORDER BY id FORMAT JSONEachRow",
                        settings={"output_format_json_quote_64bit_integers": 0})
    rows = []
    for line in text.splitlines():
        raw = json.loads(line)
        rows.append({c: canon(kind, raw[c], True) for c, _, _, kind in COLUMNS} |
                    {"id": raw["id"]})
    return rows


def lake_rows(lake) -> list[dict]:
    table = read_lake_arrow(lake).sort_by("id")
    out = []
    for row in table.to_pylist():
        out.append({c: canon(kind, row[c], False) for c, _, _, kind in COLUMNS} |
                   {"id": int(row["id"])})
    return out


def assert_same_rows(expected: list[dict], actual: list[dict]) -> None:
    assert len(actual) == len(expected), f"{len(actual)} rows in the lake, {len(expected)} in ClickHouse"
    for e, a in zip(expected, actual):
        for column in e:
            assert a[column] == e[column], (f"row id={e['id']} column {column}: lake "
                                            f"{a[column]!r}, ClickHouse {e[column]!r}")


ROWS = 400


@pytest.fixture(scope="module")
def types_table(clickhouse_server):  # noqa: F811
    make_table(clickhouse_server, "all_types", ROWS)
    return server_rows(clickhouse_server, "all_types")


@pytest.mark.parametrize("profile", ["lossless", "spark"])
def test_every_type_matches_the_server(tmp_path, clickhouse_server, types_table,  # noqa: F811
                                       profile):
    pipeline = write_pipeline(
        tmp_path, clickhouse_consumer(clickhouse_server, table="all_types",
                                      settings={"max_block_size": 97}),
        loaders=[parquet_loader(profile=profile)])
    summary = run_ok(pipeline)
    assert summary["rows_written"] == ROWS
    assert_same_rows(types_table, lake_rows(tmp_path / "lake"))
    table = read_lake_arrow(tmp_path / "lake")
    types = {f.name: str(f.type) for f in table.schema}
    if profile == "spark":
        assert types["u64"] == "decimal128(20, 0)" and types["u8"] == "int16"
        assert types["uid"] == "string"
        assert types["ts_kol"].startswith("timestamp[us")
        # DuckDB reads the same values (spot check of the awkward columns).
        duck = read_lake_duckdb(tmp_path / "lake", "id, u64, d128, uid, lc_n", order_by="id")
        for row, expected in zip(duck, types_table):
            assert int(row[1]) == expected["u64"]
            assert Decimal(row[2]) == expected["d128"]
            assert str(row[3]) == expected["uid"]
            assert row[4] == expected["lc_n"]
    else:
        assert types["u64"] == "uint64" and types["d128"] == "decimal128(38, 20)"
        assert types["i8"] == "int8"


def test_nullable_nothing_from_a_query(tmp_path, clickhouse_server):  # noqa: F811
    pipeline = write_pipeline(tmp_path, clickhouse_consumer(
        clickhouse_server, query="SELECT number AS id, NULL AS nothing FROM system.numbers "
                                 "LIMIT 10"), loaders=[parquet_loader(profile="lossless")])
    run_ok(pipeline)
    table = read_lake_arrow(tmp_path / "lake").sort_by("id")
    assert table.column("id").to_pylist() == list(range(10))
    assert table.column("nothing").null_count == 10


def test_null_under_an_enum_without_zero(tmp_path, clickhouse_server):  # noqa: F811
    """ClickHouse stores 0 under a NULL of Nullable(Enum), and 0 need not be a value of the
    Enum: the NULL must come through as NULL, in arrays too, not fail the partition."""
    ch = clickhouse_server
    ch.query("DROP TABLE IF EXISTS moods")
    ch.query("CREATE TABLE moods (id UInt32, mood Nullable(Enum8('happy' = 1, 'sad' = 2)), "
             "moods Array(Nullable(Enum16('up' = 1000, 'down' = -1000)))) "
             "ENGINE = MergeTree ORDER BY id")
    ch.query("INSERT INTO moods VALUES (1, 'happy', ['up', NULL]), (2, NULL, [NULL]), "
             "(3, 'sad', []), (4, NULL, ['down', NULL, 'up'])")
    pipeline = write_pipeline(tmp_path, clickhouse_consumer(ch, table="moods"),
                              loaders=[parquet_loader(profile="lossless")])
    run_ok(pipeline)
    table = read_lake_arrow(tmp_path / "lake").sort_by("id")
    assert table.column("mood").to_pylist() == ["happy", None, "sad", None]
    assert table.column("moods").to_pylist() == [["up", None], [None], [],
                                                 ["down", None, "up"]]


def test_unsupported_type_fails_at_plan_time_naming_the_column(tmp_path,
                                                               clickhouse_server):  # noqa: F811
    clickhouse_server.query("DROP TABLE IF EXISTS aggregated")
    clickhouse_server.query("CREATE TABLE aggregated (k UInt8, u AggregateFunction(max, UInt8)) "
                            "ENGINE = AggregatingMergeTree ORDER BY k")
    clickhouse_server.query("INSERT INTO aggregated SELECT 1, maxState(toUInt8(number)) "
                            "FROM numbers(100)")
    pipeline = write_pipeline(tmp_path / "a", clickhouse_consumer(clickhouse_server,
                                                                  table="aggregated"))
    result = run_jetflow("run", pipeline, "--no-progress")
    assert result.code == 2, result.describe()
    assert "column 'u'" in result.stderr and "AggregateFunction(max, UInt8)" in result.stderr
    assert "cast_unsupported_to_string" in result.stderr
    assert not (tmp_path / "a" / "lake").exists() or not list((tmp_path / "a" / "lake").rglob(
        "*.parquet"))

    # Opting in reads it as toString(u) (here the state's bytes: max of 0..99 is 99).
    pipeline = write_pipeline(tmp_path / "b", clickhouse_consumer(
        clickhouse_server, table="aggregated", cast_unsupported_to_string=True))
    run_ok(pipeline)
    table = read_lake_arrow(tmp_path / "b" / "lake")
    assert str(table.schema.field("u").type) == "string"
    expected = clickhouse_server.query("SELECT toString(u) FROM aggregated FORMAT JSONEachRow")
    assert table.column("u").to_pylist() == [json.loads(l)["toString(u)"]
                                             for l in expected.splitlines()]

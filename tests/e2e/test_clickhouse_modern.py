"""The clickhouse consumer against a current ClickHouse engine: chdb behind an HTTP server
that answers like a ClickHouse server (chdb_clickhouse.py). Every request the consumer
makes (schema, counts, key ranges, partitions, data in FORMAT Native) is run by chdb on a
MergeTree table of the types ClickHouse 18.16 lacks — DateTime64 with and without time
zones, Date32, Bool, Map, IPv4/6, Int128/256, Decimal256, LowCardinality in maps and
tuples, Nested, sparse columns — with edge values and NULLs. The lake is read back with
pyarrow (lossless profile) and DuckDB (spark profile) and compared value by value with
what chdb returns. Variant/JSON/Dynamic must fail at plan time naming the column, or be
read as toString() when asked to. The Native fixtures of the decoder's unit tests must
still be what chdb returns (make_modern_fixtures.py --check).

A server that does not start fails the tests; nothing skips.
"""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import uuid
from decimal import Decimal

import pyarrow as pa
import pytest

from chdb_clickhouse import ChdbClickHouseServer
from conftest import (parquet_loader, read_lake_arrow, read_lake_duckdb, run_jetflow, run_ok,
                      source_dir, write_pipeline)

ROWS = 1500
EPOCH_DAY = dt.date(1970, 1, 1)

# name, ClickHouse type, the value of row `number`, SQL of chdb's value to compare with
# (None: the column itself), kind (how both sides are compared).
COLUMNS = [
    ("b", "Bool", "number % 3 = 0", None, "bool"),
    ("i128", "Int128",
     "multiIf(number = 0, toInt128('-170141183460469231731687303715884105728'), number = 1, "
     "toInt128('170141183460469231731687303715884105727'), "
     "(toInt128(number) - 700) * toInt128('99999999999999999999'))", "toString(i128)", "dec"),
    ("u128", "UInt128",
     "if(number = 1, toUInt128('340282366920938463463374607431768211455'), "
     "toUInt128(number) * 12345678901234567890)", "toString(u128)", "dec"),
    ("i256", "Int256",
     "multiIf(number = 0, toInt256('-" + "9" * 76 + "'), number = 1, toInt256('" + "9" * 76 +
     "'), (toInt256(number) - 700) * toInt256('1" + "0" * 72 + "'))", "toString(i256)", "dec"),
    ("u256", "UInt256", "toUInt256(number) * toUInt256('1" + "0" * 70 + "')",
     "toString(u256)", "dec"),
    ("d32", "Decimal32(3)",
     "CAST(concat(toString(toInt64(number % 2000) - 1000), '.', "
     "leftPad(toString(number % 1000), 3, '0')) AS Decimal32(3))", "toString(d32)", "dec"),
    ("d256", "Decimal256(20)",
     "CAST(concat(if(number % 2 = 0, '-', ''), toString(number * 1000003), repeat('9', 30), "
     "'.', leftPad(toString(number % 100000), 20, '0')) AS Decimal256(20))",
     "toString(d256)", "dec"),
    ("dt3", "DateTime64(3)",
     "fromUnixTimestamp64Milli(toInt64(number) * 8000000123 - 2208988800000)",
     "toUnixTimestamp64Milli(dt3)", "ts"),
    ("dt9_kol", "DateTime64(9, 'Asia/Kolkata')",
     "fromUnixTimestamp64Nano(toInt64(number) * 123456789012345 - 90000000000000000, "
     "'Asia/Kolkata')", "toUnixTimestamp64Nano(dt9_kol)", "ts"),
    ("dt6_ny", "Nullable(DateTime64(6, 'America/New_York'))",
     "if(number % 5 = 0, NULL, fromUnixTimestamp64Micro(toInt64(number) * 7777777777777 - "
     "1000000000000, 'America/New_York'))", "toUnixTimestamp64Micro(dt6_ny)", "ts"),
    ("d32d", "Date32",
     "if(number = 1, toDate32('2299-12-31'), addDays(toDate32('1900-01-01'), number * 97))",
     "toInt32(d32d)", "date"),
    ("ip4", "IPv4", "toIPv4(toUInt32(number * 2863311))", "toString(ip4)", "str"),
    ("ip6", "IPv6",
     "multiIf(number % 3 = 0, toIPv6(concat('::ffff:10.0.', toString(number % 256), '.1')), "
     "number % 3 = 1, toIPv6(concat('2001:db8:', lower(hex(toUInt16(number))), '::', "
     "lower(hex(toUInt16(number * 7))))), toIPv6('::'))", "toString(ip6)", "str"),
    ("u", "UUID",
     "toUUID(concat(leftPad(lower(hex(toUInt32(number * 2654435761))), 8, '0'), '-0000-4000-8000-', "
     "leftPad(lower(hex(number)), 12, '0')))", "toString(u)", "uuid"),
    ("e8", "Enum8('neg' = -128, 'zero' = 0, 'pos' = 127)",
     "['neg', 'zero', 'pos'][number % 3 + 1]", None, "str"),
    ("lc", "LowCardinality(String)", "toString(number % 13)", None, "str"),
    ("lcn", "LowCardinality(Nullable(String))",
     "if(number % 4 = 0, NULL, concat('v', toString(number % 5)))", None, "str"),
    ("n_i128", "Nullable(Int128)",
     "if(number % 3 = 0, NULL, toInt128(number) * toInt128('-99999999999999999999'))",
     "toString(n_i128)", "dec"),
    ("fs", "FixedString(3)", "toFixedString(substring(toString(number * 3), 1, 3), 3)",
     "lower(hex(fs))", "hex"),
    ("m", "Map(String, UInt64)",
     "mapFromArrays(arrayMap(x -> toString(x), range(number % 4)), "
     "arrayMap(x -> x * number, range(number % 4)))", None, "map"),
    ("m_lc", "Map(LowCardinality(String), Nullable(IPv4))",
     "mapFromArrays(arrayMap(x -> concat('k', toString(x)), range(number % 3)), "
     "arrayMap(x -> if(x = 1, NULL, toIPv4(toUInt32(number + x))), range(number % 3)))",
     "mapApply((k, v) -> (k, toString(v)), m_lc)", "map"),
    ("a_n", "Array(Nullable(Int256))",
     "arrayMap(x -> if(x = 1, NULL, toInt256(x) * toInt256(number) * -1), range(number % 4))",
     "arrayMap(x -> toString(x), a_n)", "list:dec"),
    ("t", "Tuple(flag Bool, day Date32, `ip v6` IPv6)",
     "(number % 2 = 1, addDays(toDate32('1969-12-25'), number), "
     "toIPv6(concat('fe80::', lower(hex(toUInt16(number))))))",
     "(t.flag, toInt32(t.day), toString(t.`ip v6`))", "tuple"),
    ("nest", "Nested(x UInt8, y Nullable(String))",
     "arrayMap(i -> (toUInt8(i + number), if(i = 0, NULL, toString(i))), range(number % 3))",
     None, "nested"),
    ("sparse", "UInt64", "if(number % 100 = 7, number, 0)", None, "int"),
]
# Columns the spark profile cannot write (precision > 38, sub-microsecond timestamps).
NOT_FOR_SPARK = {"i128", "u128", "i256", "u256", "d256", "dt9_kol", "n_i128", "a_n"}


@pytest.fixture(scope="module")
def chdb_server(tmp_path_factory):
    try:
        server = ChdbClickHouseServer(tmp_path_factory.mktemp("chdb"))
        server.start()
    except Exception as e:  # noqa: BLE001 - any failure to start fails the tests
        pytest.fail(f"the chdb-backed ClickHouse HTTP server did not start: {e}")
    ddl = ", ".join(f"`{name}` {ch_type}" for name, ch_type, _, _, _ in COLUMNS)
    server.query(f"CREATE TABLE modern (id UInt32, {ddl}) ENGINE = MergeTree "
                 "PARTITION BY id % 3 ORDER BY id", settings={"flatten_nested": 0})
    values = ", ".join(expr for _, _, expr, _, _ in COLUMNS)
    server.query(f"INSERT INTO modern SELECT toUInt32(number), {values} FROM numbers({ROWS})")
    server.query("CREATE TABLE exotic (id UInt32, v Variant(String, UInt64, Array(UInt8)), "
                 "j JSON, d Dynamic) ENGINE = MergeTree ORDER BY id")
    server.query("INSERT INTO exotic SELECT toUInt32(number), "
                 "multiIf(number % 4 = 0, 'text'::Variant(String, UInt64, Array(UInt8)), "
                 "number % 4 = 1, number::Variant(String, UInt64, Array(UInt8)), "
                 "number % 4 = 2, [1, 2]::Variant(String, UInt64, Array(UInt8)), NULL), "
                 "CAST(concat('{\"a\": ', toString(number), ', \"b\": {\"c\": \"x\"}}') AS JSON), "
                 "[number::Dynamic, toString(number)::Dynamic, NULL][number % 3 + 1] "
                 "FROM numbers(10)")
    yield server
    server.close()


def consumer(server, **options) -> dict:
    return {"type": "clickhouse", "url": server.url, **options}


def server_rows(server, names) -> list[dict]:
    """chdb's values of `names`, canonical, ordered by id."""
    by_name = {c[0]: c for c in COLUMNS}
    select = ", ".join(f"{by_name[n][3] or '`' + n + '`'} AS `{n}`" for n in names)
    text = server.text(f"SELECT id, {select} FROM modern ORDER BY id", "JSONEachRow",
                       settings={"output_format_json_quote_64bit_integers": 0,
                                 "output_format_json_named_tuples_as_objects": 0})
    return [{"id": raw["id"]} | {n: canon(by_name[n][4], raw[n], True) for n in names}
            for raw in map(json.loads, text.splitlines())]


def canon(kind: str, value, from_server: bool):
    if value is None:
        return None
    if kind.startswith("list:"):
        return [canon(kind[5:], v, from_server) for v in value]
    if kind in ("int", "bool", "str"):
        return value
    if kind == "dec":
        return Decimal(str(value))
    if kind == "ts":
        return int(value)  # both sides: ticks of the column's unit
    if kind == "date":
        return int(value) if from_server else (value - EPOCH_DAY).days
    if kind == "hex":
        return value if from_server else bytes(value).hex()
    if kind == "uuid":
        return value if from_server else str(value if isinstance(value, uuid.UUID)
                                             else uuid.UUID(bytes=bytes(value)))
    if kind == "map":  # values as text: JSON and pyarrow spell 64-bit integers alike
        items = value.items() if from_server else value
        return {k: (None if v is None else str(v)) for k, v in items}
    if kind == "tuple":
        if from_server:
            return list(value)
        return [value["flag"], (value["day"] - EPOCH_DAY).days, value["ip v6"]]
    if kind == "nested":
        if from_server:
            return [[e[0], e[1]] for e in value] if value and isinstance(value[0], list) \
                else [[e["x"], e["y"]] for e in value]
        return [[e["x"], e["y"]] for e in value]
    raise AssertionError(kind)


def lake_rows(lake, names) -> list[dict]:
    table = read_lake_arrow(lake).sort_by("id")
    kinds = {c[0]: c[4] for c in COLUMNS}
    columns = {}
    for n in names:
        column = table.column(n)
        if kinds[n] == "ts":  # ticks of the column's unit, whatever its time zone
            column = column.cast(pa.int64())
        columns[n] = column.to_pylist()
    ids = table.column("id").to_pylist()
    out = []
    for i, row_id in enumerate(ids):
        out.append({"id": row_id} | {n: canon(kinds[n], columns[n][i], False) for n in names})
    return out


def assert_same_rows(expected: list[dict], actual: list[dict]) -> None:
    assert len(actual) == len(expected), (f"{len(actual)} rows in the lake, {len(expected)} "
                                          "in chdb")
    for e, a in zip(expected, actual):
        for column in e:
            assert a[column] == e[column], (f"row id={e['id']} column {column}: lake "
                                            f"{a[column]!r}, chdb {e[column]!r}")


def test_every_modern_type_matches_chdb_lossless(tmp_path, chdb_server):
    names = [c[0] for c in COLUMNS]
    chdb_server.queries.clear()
    pipeline = write_pipeline(tmp_path, consumer(
        chdb_server, table="modern", settings={"max_block_size": 211},
        partition_by={"column": "id", "partitions": 3}),
        loaders=[parquet_loader(profile="lossless")])
    summary = run_ok(pipeline)
    assert summary["rows_written"] == ROWS
    expected = server_rows(chdb_server, names)
    # Spot checks that the edge values made it into the table as meant.
    assert expected[0]["i128"] == Decimal(-2**127) and expected[1]["u128"] == 2**128 - 1
    assert expected[1]["i256"] == Decimal("9" * 76) and expected[1]["d32d"] == 120529
    assert expected[0]["dt3"] == -2208988800000 and expected[0]["dt6_ny"] is None
    assert_same_rows(expected, lake_rows(tmp_path / "lake", names))
    types = {f.name: str(f.type) for f in read_lake_arrow(tmp_path / "lake").schema}
    assert types["i256"] == "decimal256(76, 0)" and types["u128"] == "decimal256(39, 0)"
    assert types["dt9_kol"] == "timestamp[ns, tz=Asia/Kolkata]"
    assert types["dt3"] == "timestamp[ms, tz=UTC]" and types["d32d"] == "date32[day]"
    assert types["nest"] == "list<element: struct<x: uint8 not null, y: string> not null>"
    # What the consumer asked the server: the schema, the key range and its counts, and
    # one FORMAT Native query per partition.
    queries = chdb_server.queries
    assert any(q.endswith("LIMIT 0 FORMAT TSVWithNamesAndTypes") for q in queries), queries
    assert any("countIf(" in q for q in queries), queries
    native = [q for q in queries if q.endswith("FORMAT Native")]
    assert len(native) == 3 and all(" WHERE `id` BETWEEN " in q for q in native), native


def test_spark_profile_read_by_duckdb_by_parts(tmp_path, chdb_server):
    names = [c[0] for c in COLUMNS if c[0] not in NOT_FOR_SPARK]
    pipeline = write_pipeline(tmp_path, consumer(
        chdb_server, table="modern", columns=["id", *names], partition_by="parts"),
        loaders=[parquet_loader(profile="spark")])
    summary = run_ok(pipeline)
    assert summary["rows_written"] == ROWS
    assert summary["partitions_total"] == 3  # one per MergeTree partition (id % 3)
    expected = server_rows(chdb_server, names)
    select = ("id, b, d32::VARCHAR, epoch_us(dt3), epoch_us(dt6_ny), d32d, ip4, ip6, u, e8, "
              "lc, lcn, hex(fs), m, m_lc, t.flag, t.day, t.\"ip v6\", nest, sparse")
    rows = read_lake_duckdb(tmp_path / "lake", select, order_by="id")
    assert len(rows) == ROWS
    for row, e in zip(rows, expected):
        where = f"row id={e['id']}"
        assert row[0] == e["id"], where
        assert row[1] == e["b"], where
        assert Decimal(row[2]) == e["d32"], where
        assert row[3] == e["dt3"] * 1000, where  # spark writes microseconds
        assert row[4] == e["dt6_ny"], where
        assert (row[5] - EPOCH_DAY).days == e["d32d"], where
        assert [row[6], row[7], str(row[8]), row[9], row[10], row[11]] == \
            [e["ip4"], e["ip6"], e["u"], e["e8"], e["lc"], e["lcn"]], where
        assert row[12].lower() == e["fs"], where
        assert {k: str(v) for k, v in row[13].items()} == e["m"], where
        assert dict(row[14]) == e["m_lc"], where
        assert [row[15], (row[16] - EPOCH_DAY).days, row[17]] == e["t"], where
        assert [[n["x"], n["y"]] for n in row[18]] == e["nest"], where
        assert row[19] == e["sparse"], where


def test_variant_json_dynamic_fail_at_plan_time_or_read_as_strings(tmp_path, chdb_server):
    pipeline = write_pipeline(tmp_path / "a", consumer(chdb_server, table="exotic"))
    result = run_jetflow("run", pipeline, "--no-progress")
    assert result.code == 2, result.describe()
    assert "column 'v'" in result.stderr, result.stderr
    assert "Variant(Array(UInt8), String, UInt64)" in result.stderr, result.stderr
    assert "cast_unsupported_to_string" in result.stderr
    assert not list((tmp_path / "a").rglob("*.parquet"))

    pipeline = write_pipeline(tmp_path / "b", consumer(
        chdb_server, table="exotic", cast_unsupported_to_string=True),
        loaders=[parquet_loader(profile="lossless")])
    assert run_ok(pipeline)["rows_written"] == 10
    table = read_lake_arrow(tmp_path / "b" / "lake").sort_by("id")
    assert {f.name: str(f.type) for f in table.schema} == {
        "id": "uint32", "v": "string", "j": "string", "d": "string"}
    expected = [json.loads(line) for line in chdb_server.text(
        "SELECT toString(v) AS v, toString(j) AS j, toString(d) AS d FROM exotic ORDER BY id",
        "JSONEachRow").splitlines()]
    for name in ("v", "j", "d"):
        assert table.column(name).to_pylist() == [e[name] for e in expected], name
    # toString of a NULL Variant is the empty string, as ClickHouse prints it.
    assert table.column("v").to_pylist()[:4] == ["text", "1", "[1,2]", ""]


def test_native_fixtures_are_what_chdb_returns():
    script = (source_dir() / "src/jetflow/sources/clickhouse/testdata/"
              "make_modern_fixtures.py")
    result = subprocess.run([sys.executable, str(script), "--check"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("profile", ["lossless", "spark"])
def test_empty_array_literals_of_type_nothing(tmp_path, chdb_server, profile):
    # `[]` is Array(Nothing) in a current server; map() is Map(Nothing, Nothing), which
    # Arrow and Parquet cannot hold (null-typed map keys): a plan-time error naming it.
    pipeline = write_pipeline(tmp_path / "a", consumer(
        chdb_server, query="SELECT number AS id, [] AS a, [[]] AS aa, NULL AS z "
                           "FROM numbers(3)"), loaders=[parquet_loader(profile=profile)])
    assert run_ok(pipeline)["rows_written"] == 3
    table = read_lake_arrow(tmp_path / "a" / "lake").sort_by("id")
    assert table.column("id").to_pylist() == [0, 1, 2]
    assert table.column("a").to_pylist() == [[], [], []]
    assert table.column("aa").to_pylist() == [[[]], [[]], [[]]]
    assert table.column("z").null_count == 3
    pipeline = write_pipeline(tmp_path / "b", consumer(
        chdb_server, query="SELECT number AS id, map() AS m FROM numbers(3)"),
        loaders=[parquet_loader(profile=profile)])
    result = run_jetflow("run", pipeline, "--no-progress")
    assert result.code == 2, result.describe()
    assert "column 'm'" in result.stderr and "Map(Nothing, Nothing)" in result.stderr

"""A ClickHouse `String` holds any bytes; Arrow and Parquet strings must be UTF-8. The
`invalid_utf8` policy of the clickhouse consumer, against the real 18.16 server and a
current engine (chdb), on String at every depth — Nullable, Array, LowCardinality,
Tuple, Nested, Map keys and values, LowCardinality map keys — and on FixedString:

- `error` (the default): the run fails naming the column, the row within the partition,
  the partition and the option that fixes it;
- `replace`: invalid sequences become U+FFFD exactly as Python's errors="replace" (the
  Unicode standard's practice) turns the server's bytes, and the number of values
  replaced is in the log, the run summary and the state store;
- `binary`: the columns are Parquet BYTE_ARRAY without the UTF8 annotation; pyarrow and
  DuckDB read the server's bytes back exactly;
- bad values of the option are config errors with file:line:col.

A server that does not start fails the tests; nothing skips.
"""
from __future__ import annotations

import json
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from chdb_clickhouse import ChdbClickHouseServer
from clickhouse_fixture import clickhouse_consumer, clickhouse_server  # noqa: F401
from conftest import (check_replaced_reported, data_files, duckdb_types, line_col,
                      parquet_loader, read_lake_arrow, read_lake_duckdb, replaced,
                      replaced_counts, run_jetflow, run_ok, write_pipeline,
                      write_text_pipeline)

# id, s String, n Nullable(String), a Array(String), lc LowCardinality(String),
# t Tuple(UInt8, String), nest Nested(x String) (an Array(String) on 18.16),
# fs FixedString(2). Values as SQL literals; the bad ones hold Latin-1, stray
# continuation bytes, truncated sequences, surrogates.
ROWS = [
    (0, "'plain'", "'Zoë'", "['a', 'b']", "'red'", "(1, 'ok')", "['x']", "'ok'"),
    (1, "'caf\\xE9'", "NULL", "[]", "'red'", "(2, 'ok')", "[]", "'\\xFF\\xFE'"),
    (2, "'ok'", "'\\x80abc'", "['fine', '\\xC3(']", "'green'", "(3, 'ok')", "['y']", "'ab'"),
    (3, "'ok'", "NULL", "['\\xE6\\x97']", "'\\xF0\\x9F\\x99'", "(4, 'ok')", "[]", "'ab'"),
    (4, "'\\xED\\xA0\\x80'", "'ok'", "[]", "'red'", "(5, '\\xFF')", "['z', '\\xC0\\xAF']",
     "'ab'"),
    (5, "'ok'", "'ok'", "['\\xFF', '\\xFE']", "'\\xF0\\x9F\\x99'", "(6, 'ok')", "[]", "'ab'"),
]
# Where each column first holds a bad value (row = id: the table is read in id order),
# and how many values of it are bad.
FIRST_BAD = {"s": 1, "n": 2, "a": 2, "lc": 3, "t": 4, "nest": 4}
BAD_VALUES = {"s": 2, "n": 1, "a": 4, "lc": 2, "t": 1, "nest": 1}
SETTINGS = {"max_threads": 1}


@pytest.fixture(scope="module")
def bytes_table(clickhouse_server):  # noqa: F811
    ch = clickhouse_server
    ch.query("DROP TABLE IF EXISTS bytes_t")
    ch.query("CREATE TABLE bytes_t (id UInt32, s String, n Nullable(String), a Array(String), "
             "lc LowCardinality(String), t Tuple(UInt8, String), nest Array(String), "
             "fs FixedString(2)) ENGINE = MergeTree ORDER BY id",
             settings={"allow_experimental_low_cardinality_type": 1})
    ch.query("INSERT INTO bytes_t VALUES " +
             ", ".join("(" + ", ".join(map(str, row)) + ")" for row in ROWS))
    return ch


def server_bytes(ch) -> list[dict]:
    """The server's values as bytes, by id."""
    text = ch.query("SELECT id, hex(s) AS s, if(isNull(n), NULL, hex(assumeNotNull(n))) AS n, "
                    "arrayMap(x -> hex(x), a) AS a, hex(toString(lc)) AS lc, "
                    "hex(tupleElement(t, 2)) AS t, arrayMap(x -> hex(x), nest) AS nest, "
                    "hex(fs) AS fs FROM bytes_t ORDER BY id FORMAT JSONEachRow")
    rows = []
    for line in text.splitlines():
        raw = json.loads(line)
        decode = bytes.fromhex
        rows.append({"id": raw["id"], "s": decode(raw["s"]),
                     "n": None if raw["n"] is None else decode(raw["n"]),
                     "a": [decode(x) for x in raw["a"]], "lc": decode(raw["lc"]),
                     "t": decode(raw["t"]), "nest": [decode(x) for x in raw["nest"]],
                     "fs": decode(raw["fs"])})
    return rows


def lake_rows(lake) -> list[dict]:
    rows = read_lake_arrow(lake).sort_by("id").to_pylist()
    for row in rows:
        row["t"] = row["t"]["2"]
    return rows


def run_failed(pipeline) -> str:
    result = run_jetflow("run", pipeline, "--no-progress",
                         "--json")
    assert result.code == 1, result.describe()
    summary = result.json()
    assert summary["status"] == "failed"
    assert not data_files(pipeline.parent / "lake")
    return summary["error"] + "\n" + result.stderr


def test_default_error_names_column_row_partition_and_option(tmp_path, bytes_table):
    for column, row in FIRST_BAD.items():
        pipeline = write_pipeline(
            tmp_path / column, clickhouse_consumer(bytes_table, table="bytes_t",
                                                   columns=["id", column],
                                                   settings=SETTINGS),
            engine={"retries": {"max_attempts": 1}})
        error = run_failed(pipeline)
        assert f"ClickHouse column '{column}', row {row} (block 1): text value is not valid " \
               "UTF-8" in error, error
        assert "partition all" in error, error
        assert "'invalid_utf8: replace'" in error and "'invalid_utf8: binary'" in error
        assert f"'invalid_utf8: {{columns: {{{column}: replace}}}}'" in error, error
    # FixedString(N) is bytes (fixed_size_binary): nothing to check, nothing fails.
    pipeline = write_pipeline(tmp_path / "fs", clickhouse_consumer(
        bytes_table, table="bytes_t", columns=["id", "fs"]))
    run_ok(pipeline)
    expected = [r["fs"] for r in server_bytes(bytes_table)]
    assert read_lake_arrow(tmp_path / "fs" / "lake").sort_by("id").column(
        "fs").to_pylist() == expected


def test_replace_writes_u_fffd_and_counts_the_values(tmp_path, bytes_table):
    pipeline = write_pipeline(tmp_path, clickhouse_consumer(
        bytes_table, table="bytes_t", invalid_utf8="replace", settings=SETTINGS))
    result = run_jetflow("run", pipeline, "--json", "--no-progress", expect=0)
    expected = server_bytes(bytes_table)
    lake = lake_rows(tmp_path / "lake")
    assert len(lake) == len(expected)
    for e, a in zip(expected, lake):
        for column in ("s", "n", "a", "lc", "t", "nest"):
            assert a[column] == replaced(e[column]), (e["id"], column, a[column])
        assert a["fs"] == e["fs"]
    assert "\ufffd" in lake[1]["s"] and lake[1]["s"] == "caf\ufffd"
    # Counted per column: in the run summary, the log and `status`.
    check_replaced_reported(pipeline, result, "clickhouse", BAD_VALUES)
    # The human summary says it too.
    result = run_jetflow("run", pipeline, "--no-progress", "--restart", expect=0)
    assert (f"changed      clickhouse: {BAD_VALUES['a']} invalid UTF-8 values of column a "
            "written with U+FFFD") in result.stdout, result.stdout


@pytest.mark.parametrize("profile", ["spark", "lossless"])
def test_binary_writes_the_bytes_without_the_utf8_annotation(tmp_path, bytes_table, profile):
    pipeline = write_pipeline(tmp_path, clickhouse_consumer(
        bytes_table, table="bytes_t", invalid_utf8="binary", settings=SETTINGS),
        loaders=[parquet_loader(profile=profile)])
    summary = run_ok(pipeline)
    assert summary["value_changes"] == []
    expected = server_bytes(bytes_table)
    assert lake_rows(tmp_path / "lake") == expected
    schema = pq.ParquetFile(data_files(tmp_path / "lake")[0]).schema
    for path in ("s", "n", "a.list.element", "lc", "t.2", "nest.list.element"):
        column = schema.column([c.path for c in schema].index(path))
        assert column.physical_type == "BYTE_ARRAY", path
        assert column.logical_type.type == "NONE", (path, column.logical_type)
    types = duckdb_types(tmp_path / "lake")
    assert types["s"] == "BLOB" and types["a"] == "BLOB[]" and types["lc"] == "BLOB", types
    duck = read_lake_duckdb(tmp_path / "lake", "id, s, a", order_by="id")
    assert [(r[1], r[2]) for r in duck] == [(e["s"], e["a"]) for e in expected]


def test_policies_per_column(tmp_path, bytes_table):
    pipeline = write_pipeline(tmp_path, clickhouse_consumer(
        bytes_table, table="bytes_t", columns=["id", "s", "a", "lc"], settings=SETTINGS,
        invalid_utf8={"default": "replace", "columns": {"a": "binary", "lc": "binary"}}))
    summary = run_ok(pipeline)
    assert replaced_counts(summary) == {"s": 2}
    table = read_lake_arrow(tmp_path / "lake").sort_by("id")
    assert {f.name: str(f.type) for f in table.schema} == {
        "id": "int64", "s": "string", "a": "list<element: binary not null>",
        "lc": "dictionary<values=binary, indices=int32, ordered=0>"}
    expected = server_bytes(bytes_table)
    assert table.column("s").to_pylist() == [replaced(e["s"]) for e in expected]
    assert table.column("a").to_pylist() == [e["a"] for e in expected]
    # `default: error` with one column replaced fails on the next bad column.
    pipeline = write_pipeline(tmp_path / "b", clickhouse_consumer(
        bytes_table, table="bytes_t", columns=["id", "s", "n"], settings=SETTINGS,
        invalid_utf8={"columns": {"s": "replace"}}), engine={"retries": {"max_attempts": 1}})
    assert "ClickHouse column 'n', row 2" in run_failed(pipeline)


def test_bad_option_values_are_config_errors_with_positions(tmp_path, bytes_table):
    text = (f"pipeline: p\nconsumer:\n  type: clickhouse\n  url: {bytes_table.url}\n"
            "  table: bytes_t\n  invalid_utf8:\n    default: replce\n"
            "    columns: {s: bytes}\nloaders:\n  - {type: parquet, path: lake}\n")
    pipeline = write_text_pipeline(tmp_path / "a", text)
    result = run_jetflow("validate", pipeline)
    assert result.code == 2, result.describe()
    line, col = line_col(text, "replce")
    assert f"pipeline.yaml:{line}:{col}: error: 'consumer.invalid_utf8.default' must be " \
           "error, replace or binary, not 'replce' (did you mean 'replace'?)" in result.stderr, \
        result.stderr
    line, col = line_col(text, "bytes}")
    assert f"pipeline.yaml:{line}:{col}:" in result.stderr, result.stderr
    # Column names are checked against the columns read, at plan time.
    text = (f"pipeline: p\nconsumer:\n  type: clickhouse\n  url: {bytes_table.url}\n"
            "  table: bytes_t\n  invalid_utf8:\n    columns: {nesst: replace, id: binary}\n"
            "loaders:\n  - {type: parquet, path: lake}\n")
    pipeline = write_text_pipeline(tmp_path / "b", text)
    result = run_jetflow("run", pipeline, "--no-progress", "--instance", "2026-11-25")
    assert result.code == 2, result.describe()
    line, col = line_col(text, "replace")
    assert (f"pipeline.yaml:{line}:{col}: invalid_utf8: 'nesst' is not a column of table "
            "bytes_t at") in result.stderr and "(did you mean 'nest'?)" in result.stderr, \
        result.stderr
    line, col = line_col(text, "binary")
    assert f"pipeline.yaml:{line}:{col}: invalid_utf8: column 'id' of table bytes_t" in \
        result.stderr and "holds no text" in result.stderr, result.stderr


# --- a current ClickHouse (chdb): Map keys and values, LowCardinality map keys, Nested,
# LowCardinality(Nullable(String)), several blocks.

@pytest.fixture(scope="module")
def chdb_server(tmp_path_factory):
    try:
        server = ChdbClickHouseServer(tmp_path_factory.mktemp("chdb"))
        server.start()
    except Exception as e:  # noqa: BLE001 - any failure to start fails the tests
        pytest.fail(f"the chdb-backed ClickHouse HTTP server did not start: {e}")
    server.query("CREATE TABLE modern_bytes (id UInt32, m Map(String, String), "
                 "ml Map(LowCardinality(String), UInt8), lcn LowCardinality(Nullable(String)), "
                 "nest Nested(x String, y UInt8)) ENGINE = MergeTree ORDER BY id",
                 settings={"flatten_nested": 0})
    # Every 7th row has a bad map value, every 11th a bad map key, every 13th a bad
    # LowCardinality value, every 17th a bad Nested field; 3000 rows in blocks of 1000.
    server.query(
        "INSERT INTO modern_bytes SELECT toUInt32(number), "
        "map('k', if(number % 7 = 3, concat('v', unhex('FF')), 'v')), "
        "map(if(number % 11 = 5, unhex('C328'), 'key'), toUInt8(number % 200)), "
        "if(number % 5 = 0, NULL, if(number % 13 = 6, unhex('E697'), toString(number % 9))), "
        "[(if(number % 17 = 8, unhex('80'), 'x'), toUInt8(1))] FROM numbers(3000)")
    yield server
    server.close()


def chdb_bytes(server) -> list[dict]:
    text = server.text("SELECT id, mapApply((k, v) -> (k, hex(v)), m) AS m, "
                       "arrayMap(k -> hex(k), mapKeys(ml)) AS ml, "
                       "if(isNull(lcn), NULL, hex(assumeNotNull(lcn))) AS lcn, "
                       "arrayMap(e -> hex(e.1), nest) AS nest FROM modern_bytes ORDER BY id",
                       "JSONEachRow")
    rows = []
    for line in text.splitlines():
        raw = json.loads(line)
        rows.append({"id": raw["id"], "m": {k: bytes.fromhex(v) for k, v in raw["m"].items()},
                     "ml": [bytes.fromhex(k) for k in raw["ml"]],
                     "lcn": None if raw["lcn"] is None else bytes.fromhex(raw["lcn"]),
                     "nest": [bytes.fromhex(x) for x in raw["nest"]]})
    return rows


def chdb_consumer(server, **options) -> dict:
    """The consumer of table modern_bytes, or of `query=...` when given."""
    source = {} if "query" in options else {"table": "modern_bytes"}
    return {"type": "clickhouse", "url": server.url, **source,
            "settings": {"max_block_size": 1000, "max_threads": 1}, **options}


def test_current_server_error_rows_across_blocks(tmp_path, chdb_server):
    first_bad = {"m": 3, "ml": 5, "lcn": 6, "nest": 8}
    for column, row in first_bad.items():
        pipeline = write_pipeline(tmp_path / column, chdb_consumer(
            chdb_server, columns=["id", column]), engine={"retries": {"max_attempts": 1}})
        error = run_failed(pipeline)
        assert f"ClickHouse column '{column}', row {row} (block 1)" in error, error
        assert f"{{columns: {{{column}: replace}}}}" in error
    # A bad value in a later block: its row counts the blocks before it.
    pipeline = write_pipeline(tmp_path / "late", chdb_consumer(
        chdb_server, query="SELECT id, m FROM modern_bytes WHERE id >= 1000 OR id % 7 != 3"),
        engine={"retries": {"max_attempts": 1}})
    error = run_failed(pipeline)
    # Rows 0..999 minus the 143 with id % 7 = 3 come first; id 1004 is the first bad one.
    assert re.search(r"ClickHouse column 'm', row 861 \(block \d+\)", error), error


def test_current_server_replace_and_binary(tmp_path, chdb_server):
    expected = chdb_bytes(chdb_server)
    pipeline = write_pipeline(tmp_path / "r", chdb_consumer(chdb_server, invalid_utf8="replace"),
                              loaders=[parquet_loader(profile="lossless")])
    summary = run_ok(pipeline)
    counts = {"m": sum(1 for i in range(3000) if i % 7 == 3),
              "ml": sum(1 for i in range(3000) if i % 11 == 5),
              "lcn": sum(1 for i in range(3000) if i % 13 == 6 and i % 5 != 0),
              "nest": sum(1 for i in range(3000) if i % 17 == 8)}
    assert replaced_counts(summary) == counts
    lake = read_lake_arrow(tmp_path / "r" / "lake").sort_by("id").to_pylist()
    assert len(lake) == 3000
    for e, a in zip(expected, lake):
        assert dict(a["m"]) == {k: v.decode("utf-8", "replace") for k, v in e["m"].items()}
        assert [k for k, _ in a["ml"]] == [k.decode("utf-8", "replace") for k in e["ml"]]
        assert a["lcn"] == (None if e["lcn"] is None else e["lcn"].decode("utf-8", "replace"))
        assert [n["x"] for n in a["nest"]] == [x.decode("utf-8", "replace") for x in e["nest"]]

    pipeline = write_pipeline(tmp_path / "b", chdb_consumer(chdb_server, invalid_utf8="binary"))
    summary = run_ok(pipeline)
    assert summary["value_changes"] == []
    table = read_lake_arrow(tmp_path / "b" / "lake").sort_by("id")
    schema = table.schema
    assert schema.field("m").type.key_type == pa.binary()
    assert schema.field("m").type.item_type == pa.binary()
    # LowCardinality map keys: a dictionary of binary values.
    assert schema.field("ml").type.key_type == pa.dictionary(pa.int32(), pa.binary())
    assert schema.field("lcn").type == pa.dictionary(pa.int32(), pa.binary())
    assert schema.field("nest").type.value_type.field("x").type == pa.binary()
    for e, a in zip(expected, table.to_pylist()):
        assert dict(a["m"]) == {k.encode(): v for k, v in e["m"].items()}
        assert [k for k, _ in a["ml"]] == e["ml"]
        assert a["lcn"] == e["lcn"]
        assert [n["x"] for n in a["nest"]] == e["nest"]

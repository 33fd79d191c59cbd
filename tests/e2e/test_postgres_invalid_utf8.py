"""A PostgreSQL database whose encoding is SQL_ASCII stores and sends whatever bytes were
written to its text columns (no conversion to the session's client_encoding UTF8). The
postgres consumer's `invalid_utf8` policy, on a real PostgreSQL 15 server:

- `error` (the default): the run fails naming the column (also for an array element, a
  jsonb value and a composite field), the row within the partition, the partition and
  the option that fixes it;
- `replace`: U+FFFD exactly as Python's errors="replace" turns the stored bytes, the
  values counted in the run summary, the state store and the log;
- `binary`: the stored bytes, read back by pyarrow and DuckDB, in BYTE_ARRAY columns
  without the UTF8 annotation; a column read as text (text_fallback) follows it too.

A server that does not start fails the tests; nothing skips.
"""
from __future__ import annotations

import re

import pyarrow.parquet as pq
import pytest

from conftest import (check_replaced_reported, data_files, duckdb_types, parquet_loader,
                      read_lake_arrow, read_lake_duckdb, replaced, replaced_counts,
                      run_jetflow, run_ok, write_pipeline)
from postgres_fixtures import pg  # noqa: F401  (fixture)

# (id, s text, v varchar(10), arr text[], j jsonb, c pair (n int, note text),
#  tv tsvector (no binary decoder: read as text)); SQL literals. Row = id.
ROWS = [
    (0, "'plain'", "'Zoë'", "ARRAY['a', 'b']", "'{\"k\": \"v\"}'", "ROW(1, 'ok')", "'a b'"),
    (1, "E'caf\\xe9'", "NULL", "ARRAY[]::text[]", "NULL", "NULL", "NULL"),
    (2, "'ok'", "E'\\x80abc'", "ARRAY['fine', E'\\xc3(']", "NULL", "ROW(2, 'ok')", "NULL"),
    (3, "'ok'", "'ok'", "ARRAY[E'\\xe6\\x97', NULL]", "E'{\"k\": \"\\xff\"}'",
     "ROW(3, E'\\xed\\xa0\\x80')", "E'caf\\xe9 x'"),
    (4, "E'\\xf0\\x9f\\x99'", "'ok'", "NULL", "'[]'", "ROW(4, 'ok')", "'ok'"),
]
FIRST_BAD = {"s": 1, "v": 2, "arr": 2, "j": 3, "c": 3, "tv": 3}
BAD_VALUES = {"s": 2, "v": 1, "arr": 2, "j": 1, "c": 1, "tv": 1}


@pytest.fixture(scope="module")
def latin(pg):  # noqa: F811
    pg.execute("CREATE DATABASE latin TEMPLATE template0 ENCODING 'SQL_ASCII' "
               "LC_COLLATE 'C' LC_CTYPE 'C'")
    import psycopg
    with psycopg.connect(pg.socket_dsn.replace("dbname=postgres", "dbname=latin"),
                         autocommit=True) as con:
        con.execute("CREATE TYPE pair AS (n int, note text)")
        con.execute("CREATE TABLE t (id int PRIMARY KEY, s text, v varchar(10), arr text[], "
                    "j jsonb, c pair, tv tsvector)")
        for row in ROWS:  # as bytes: a SQL_ASCII connection encodes nothing itself
            con.execute(("INSERT INTO t VALUES (" + ", ".join(map(str, row)) + ")").encode())
        # The stored bytes, as hex, by id.
        rows = con.execute(
            "SELECT id, encode(convert_to(s, 'SQL_ASCII'), 'hex'), "
            "encode(convert_to(v, 'SQL_ASCII'), 'hex'), "
            "(SELECT array_agg(encode(convert_to(x, 'SQL_ASCII'), 'hex') ORDER BY o) "
            " FROM unnest(arr) WITH ORDINALITY AS u(x, o)), "
            "encode(convert_to(j::text, 'SQL_ASCII'), 'hex'), "
            "encode(convert_to((c).note, 'SQL_ASCII'), 'hex'), "
            "encode(convert_to(tv::text, 'SQL_ASCII'), 'hex'), arr IS NULL "
            "FROM t ORDER BY id").fetchall()
    assert pg.query("SELECT pg_encoding_to_char(encoding) FROM pg_database "
                    "WHERE datname = 'latin'") == [("SQL_ASCII",)]

    def unhex(value):  # a SQL_ASCII connection returns text as bytes
        if value is None:
            return None
        return bytes.fromhex(value.decode() if isinstance(value, bytes) else value)

    stored = [{"id": r[0], "s": unhex(r[1]), "v": unhex(r[2]),
               "arr": None if r[7] else [unhex(x) for x in r[3] or []],
               "j": unhex(r[4]), "c": unhex(r[5]), "tv": unhex(r[6])} for r in rows]
    return pg.dsn.rsplit("/", 1)[0] + "/latin", stored


def consumer(dsn: str, **options) -> dict:
    return {"type": "postgres", "dsn": dsn, "table": "t", **options}


def lake_rows(lake) -> list[dict]:
    rows = read_lake_arrow(lake).sort_by("id").to_pylist()
    for row in rows:
        row["c"] = None if row["c"] is None else row["c"]["note"]
    return rows


def test_default_error_names_column_row_partition_and_option(tmp_path, latin):
    dsn, _ = latin
    for column, row in FIRST_BAD.items():
        pipeline = write_pipeline(tmp_path / column, consumer(dsn, columns=["id", column]),
                                  engine={"retries": {"max_attempts": 1}})
        result = run_jetflow("run", pipeline, "--no-progress", "--json")
        assert result.code == 1, result.describe()
        error = result.json()["error"]
        assert re.search(r"text value is not valid UTF-8 \(byte 0x[0-9a-f]{2} at offset \d+ of "
                         rf"the value\): column '{column}', row {row}, stream offset \d+; "
                         "set 'invalid_utf8: replace'", error), error
        assert f"'invalid_utf8: {{columns: {{{column}: replace}}}}'" in error, error
        assert "(table t, partition all, after row " in error, error
        assert not data_files(tmp_path / column / "lake")


def test_replace_writes_u_fffd_and_counts_the_values(tmp_path, latin):
    dsn, stored = latin
    pipeline = write_pipeline(tmp_path, consumer(dsn, invalid_utf8="replace"))
    result = run_jetflow("run", pipeline, "--json", "--no-progress", expect=0)
    lake = lake_rows(tmp_path / "lake")
    assert len(lake) == len(stored)
    for e, a in zip(stored, lake):
        for column in ("s", "v", "arr", "c", "tv"):
            assert a[column] == replaced(e[column]), (e["id"], column, a[column])
        # jsonb comes back as the server prints it (its own spacing).
        assert a["j"] == replaced(e["j"]), (e["id"], a["j"])
    assert lake[1]["s"] == "caf\ufffd"
    # Counted per column: in the run summary, the log and `status`.
    check_replaced_reported(pipeline, result, "postgres", BAD_VALUES)


def test_binary_writes_the_stored_bytes(tmp_path, latin):
    dsn, stored = latin
    pipeline = write_pipeline(tmp_path, consumer(
        dsn, columns=["id", "s", "v", "arr", "c", "tv"], invalid_utf8="binary"),
        loaders=[parquet_loader(profile="spark")])
    assert run_ok(pipeline)["value_changes"] == []
    lake = lake_rows(tmp_path / "lake")
    for e, a in zip(stored, lake):
        for column in ("s", "v", "arr", "c", "tv"):
            assert a[column] == e[column], (e["id"], column, a[column])
    schema = pq.ParquetFile(data_files(tmp_path / "lake")[0]).schema
    paths = [c.path for c in schema]
    for path in ("s", "v", "arr.list.element", "c.note", "tv"):
        column = schema.column(paths.index(path))
        assert column.physical_type == "BYTE_ARRAY", path
        assert column.logical_type.type == "NONE", (path, column.logical_type)
    types = duckdb_types(tmp_path / "lake")
    assert types["s"] == "BLOB" and types["arr"] == "BLOB[]", types
    assert [r[1] for r in read_lake_duckdb(tmp_path / "lake", "id, s", order_by="id")] == \
        [e["s"] for e in stored]


def test_policies_per_column(tmp_path, latin):
    dsn, stored = latin
    pipeline = write_pipeline(tmp_path, consumer(
        dsn, columns=["id", "s", "arr"],
        invalid_utf8={"default": "binary", "columns": {"s": "replace"}}))
    summary = run_ok(pipeline)
    assert replaced_counts(summary) == {"s": 2}
    table = read_lake_arrow(tmp_path / "lake").sort_by("id")
    assert str(table.schema.field("s").type) == "string"
    assert str(table.schema.field("arr").type) == "list<element: binary>"
    assert table.column("s").to_pylist() == [replaced(e["s"]) for e in stored]
    assert table.column("arr").to_pylist() == [e["arr"] for e in stored]
    # Names are checked against the columns read.
    pipeline = write_pipeline(tmp_path / "b", consumer(
        dsn, columns=["id", "s"], invalid_utf8={"columns": {"arr": "replace", "id": "binary"}}))
    result = run_jetflow("run", pipeline, "--no-progress")
    assert result.code == 2, result.describe()
    assert "invalid_utf8: 'arr' is not a column of the columns read from table t" in \
        result.stderr, result.stderr
    assert "invalid_utf8: column 'id' of the columns read from table t holds no text" in \
        result.stderr, result.stderr
    assert re.search(r"pipeline\.yaml:\d+:\d+: invalid_utf8: 'arr'", result.stderr)

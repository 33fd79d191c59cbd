"""Every remedy that the clickhouse consumer's "type is not supported" message names must
work for the types it is shown for. Run on the packaged 18.16 server and on a current
engine (chdb):

- AggregateFunction columns (the states of an AggregatingMergeTree): the message's
  ready-made `query:` with finalizeAggregation(...) FROM t FINAL gives the final values
  (one row per key, equal to -Merge ... GROUP BY, although the table holds several
  unmerged parts); `cast_unsupported_to_string` with `invalid_utf8: {columns: {u:
  binary}}` stores the state's bytes exactly; leaving the column out with `columns`
  works. Following only `cast_unsupported_to_string` (the old advice) is no silent
  corruption: the states are not UTF-8 and the error names the option that fixes it.
- Every other unsupported type (Variant, Dynamic, JSON, BFloat16, Time, Time64, intervals,
  geo types, QBit, Tuple(), map()): `cast_unsupported_to_string: true` gives exactly the
  server's toString() of every value.

A server that does not start fails the tests; nothing skips.
"""
from __future__ import annotations

import json
import re

import pytest

from chdb_clickhouse import ChdbClickHouseServer
from clickhouse_fixture import clickhouse_server  # noqa: F401
from conftest import (data_files, parquet_loader, read_lake_arrow, run_jetflow, run_ok,
                      write_pipeline)

KEYS = 5


def create_aggregates(query) -> None:
    """Table agg with three inserts and merges stopped: three parts, the rows of a key
    not merged (what FINAL is for)."""
    query("DROP TABLE IF EXISTS agg")
    query("CREATE TABLE agg (k UInt8, u AggregateFunction(uniq, UInt64), "
          "m AggregateFunction(max, String), "
          "q AggregateFunction(quantiles(0.5, 0.9), Float64)) "
          "ENGINE = AggregatingMergeTree ORDER BY k")
    query("SYSTEM STOP MERGES agg")
    for i in range(3):
        query(f"INSERT INTO agg SELECT toUInt8(number % {KEYS}), uniqState(number + {i * 700}), "
              f"maxState(toString(number * {i + 1})), "
              f"quantilesState(0.5, 0.9)(toFloat64(number * {i + 2})) "
              f"FROM numbers(1000) GROUP BY number % {KEYS}")


class Server:
    """Either server: its URL, a query's text answer, and its rows (JSONEachRow)."""

    def __init__(self, url: str, text, rows):
        self.url = url
        self.text = text
        self.rows = rows


@pytest.fixture(scope="module")
def old_server(clickhouse_server):  # noqa: F811
    ch = clickhouse_server
    create_aggregates(ch.query)
    return Server(ch.url, ch.query, lambda sql: [
        json.loads(line) for line in ch.query(sql + " FORMAT JSONEachRow").splitlines()])


@pytest.fixture(scope="module")
def new_server(tmp_path_factory):
    try:
        server = ChdbClickHouseServer(tmp_path_factory.mktemp("chdb"))
        server.start()
    except Exception as e:  # noqa: BLE001 - any failure to start fails the tests
        pytest.fail(f"the chdb-backed ClickHouse HTTP server did not start: {e}")
    create_aggregates(server.query)
    yield Server(server.url, server.text, lambda sql: [
        json.loads(line) for line in server.text(sql, "JSONEachRow").splitlines()])
    server.close()


@pytest.fixture(params=["18.16", "current"])
def server(request, old_server, new_server) -> Server:
    return old_server if request.param == "18.16" else new_server


def consumer(server: Server, **options) -> dict:
    return {"type": "clickhouse", "url": server.url, **options}


def plan_error(tmp_path, server: Server, **options) -> str:
    pipeline = write_pipeline(tmp_path, consumer(server, **options))
    result = run_jetflow("run", pipeline, "--no-progress")
    assert result.code == 2, result.describe()
    assert not data_files(tmp_path / "lake")
    return result.stderr


def test_aggregate_state_message_and_each_of_its_remedies(tmp_path, server):
    assert int(server.text("SELECT count() FROM agg").strip()) == 3 * KEYS  # unmerged
    error = plan_error(tmp_path / "plan", server, table="agg")
    for column, function in (("u", "uniq, UInt64"), ("m", "max, String"),
                             ("q", "quantiles(0.5, 0.9), Float64")):
        assert (f"ClickHouse column type is not supported: column '{column}' "
                f"AggregateFunction({function})") in error, error
        assert f"'invalid_utf8: {{columns: {{{column}: binary}}}}'" in error, error
    assert "Its values are states of an aggregation (bytes), not its results" in error

    # Remedy 1: the message's own query gives the final values, one row per key.
    query = re.search(r"read with 'query: \"(.+?)\"'", error)
    assert query, error
    assert query.group(1) == ("SELECT `k`, finalizeAggregation(`u`) AS `u`, "
                              "finalizeAggregation(`m`) AS `m`, finalizeAggregation(`q`) AS "
                              "`q` FROM `agg` FINAL")
    summary = run_ok(write_pipeline(tmp_path / "final", consumer(server, query=query.group(1))))
    assert summary["rows_written"] == KEYS
    lake = read_lake_arrow(tmp_path / "final" / "lake").sort_by("k").to_pylist()
    expected = server.rows("SELECT k, uniqMerge(u) AS u, maxMerge(m) AS m, "
                           "quantilesMerge(0.5, 0.9)(q) AS q FROM agg GROUP BY k ORDER BY k")
    assert [(r["k"], int(r["u"]), r["m"], r["q"]) for r in lake] == \
        [(e["k"], int(e["u"]), e["m"], e["q"]) for e in expected]

    # Remedy 2: the states as bytes, exactly as the server stores them.
    summary = run_ok(write_pipeline(tmp_path / "states", consumer(
        server, table="agg", cast_unsupported_to_string=True,
        invalid_utf8={"columns": {"u": "binary", "m": "binary", "q": "binary"}})))
    assert summary["rows_written"] == 3 * KEYS
    table = read_lake_arrow(tmp_path / "states" / "lake")
    assert {f.name: str(f.type) for f in table.schema} == {
        "k": "int16", "u": "binary", "m": "binary", "q": "binary"}
    states = server.rows("SELECT k, hex(toString(u)) AS u, hex(toString(m)) AS m, "
                         "hex(toString(q)) AS q FROM agg")
    assert sorted((r["k"], r["u"].hex(), r["m"].hex(), r["q"].hex())
                  for r in table.to_pylist()) == \
        sorted((s["k"], s["u"].lower(), s["m"].lower(), s["q"].lower()) for s in states)

    # Remedy 3: leave the columns out.
    summary = run_ok(write_pipeline(tmp_path / "without", consumer(
        server, table="agg", columns=["k"])))
    assert summary["rows_written"] == 3 * KEYS

    # Only half of remedy 2 (the advice before): the states are not text, and the error
    # says what to add instead of writing garbled strings.
    pipeline = write_pipeline(tmp_path / "half", consumer(
        server, table="agg", columns=["k", "u"], cast_unsupported_to_string=True),
        engine={"retries": {"max_attempts": 1}})
    result = run_jetflow("run", pipeline, "--no-progress")
    assert result.code == 1, result.describe()
    assert "ClickHouse column 'u', row " in result.stderr, result.stderr
    assert "'invalid_utf8: {columns: {u: replace}}'" in result.stderr
    assert "'invalid_utf8: binary'" in result.stderr
    assert not data_files(tmp_path / "half" / "lake")


def test_aggregate_state_in_a_query_source(tmp_path, server):
    # Without a table to name, the message says what to select instead.
    error = plan_error(tmp_path, server, query="SELECT k, u FROM agg")
    assert "select finalizeAggregation(`u`) AS `u` in the query, from the table read with " \
           "FINAL" in error, error


# Unsupported types other than aggregation states, as expressions of a query (name, SQL).
CURRENT_TYPES = [
    ("v", "[number::Variant(String, UInt64), toString(number)::Variant(String, UInt64), "
          "NULL][number % 3 + 1]"),
    ("d", "if(number % 2 = 0, number::Dynamic, toString(number * 3)::Dynamic)"),
    ("j", "CAST(concat('{\"a\": ', toString(number), ', \"b\": {\"c\": \"é\"}}') AS JSON)"),
    ("bf", "toBFloat16(number / 4)"),
    ("tm", "toTime(number * 3671)"),
    ("tm3", "toTime64(number * 3671.125, 3)"),
    ("iv", "toIntervalSecond(number)"),
    ("pt", "(toFloat64(number), 2.5)::Point"),
    ("ring", "[(0., 0.), (toFloat64(number), 1.)]::Ring"),
    ("ls", "[(0., 0.), (1., toFloat64(number))]::LineString"),
    ("poly", "[[(0., 0.), (toFloat64(number), 1.)]]::Polygon"),
    ("mpoly", "[[[(0., 0.), (1., toFloat64(number))]]]::MultiPolygon"),
    ("mls", "[[(0., 0.), (1., 2.)]]::MultiLineString"),
    ("qb", "[toFloat32(number), 1.5]::QBit(Float32, 2)"),
    ("et", "tuple()"),
    ("em", "map()"),
]
OLD_TYPES = [("iv", "toIntervalDay(number)")]


@pytest.mark.parametrize("which", ["18.16", "current"])
def test_every_other_unsupported_type_reads_as_its_text(tmp_path, which, old_server,
                                                        new_server):
    server, types = (old_server, OLD_TYPES) if which == "18.16" else (new_server,
                                                                      CURRENT_TYPES)
    query = ("SELECT number AS id, " + ", ".join(f"{sql} AS {name}" for name, sql in types) +
             " FROM numbers(7)")
    error = plan_error(tmp_path / "plan", server, query=query)
    for name, _ in types:
        assert f"column '{name}' " in error, (name, error)
        assert f"Set 'cast_unsupported_to_string: true' to read it as toString({name}), or " \
               "leave it out with 'columns'" in error, (name, error)
    assert "finalizeAggregation" not in error

    summary = run_ok(write_pipeline(tmp_path / "cast", consumer(
        server, query=query, cast_unsupported_to_string=True)))
    assert summary["rows_written"] == 7
    table = read_lake_arrow(tmp_path / "cast" / "lake").sort_by("id")
    expected = server.rows("SELECT id, " + ", ".join(f"toString({n}) AS {n}" for n, _ in types)
                           + f" FROM ({query}) ORDER BY id")
    for name, _ in types:
        assert str(table.schema.field(name).type) == "string", name
        assert table.column(name).to_pylist() == [e[name] for e in expected], name


def test_int128_under_the_spark_profile_and_its_remedies(tmp_path, new_server):
    """The spark profile refuses Int128/UInt128 (39 digits) at plan time; the remedies
    docs/type-mapping.md names work (toString in the query, the lossless profile), and
    the one it warns about fails loudly, never silently."""
    values = ("toInt128('-170141183460469231731687303715884105728'), toInt128(5), "
              "toInt128('170141183460469231731687303715884105727')")
    query = f"SELECT arrayJoin([{values}]) AS x, rowNumberInAllBlocks() AS id"
    pipeline = write_pipeline(tmp_path / "plan", consumer(new_server, query=query))
    result = run_jetflow("run", pipeline, "--no-progress")
    assert result.code == 2, result.describe()
    assert "column 'x': type decimal256(39, 0) cannot be written with the spark profile" in \
        result.stderr and "use profile: lossless" in result.stderr, result.stderr

    expected = ["-170141183460469231731687303715884105728", "5",
                "170141183460469231731687303715884105727"]
    as_text = f"SELECT toString(x) AS x, id FROM ({query})"
    run_ok(write_pipeline(tmp_path / "text", consumer(new_server, query=as_text)))
    table = read_lake_arrow(tmp_path / "text" / "lake").sort_by("id")
    assert table.column("x").to_pylist() == expected
    run_ok(write_pipeline(tmp_path / "lossless", consumer(new_server, query=query),
                          loaders=[parquet_loader(profile="lossless")]))
    table = read_lake_arrow(tmp_path / "lossless" / "lake").sort_by("id")
    assert [str(v) for v in table.column("x").to_pylist()] == expected

    as_decimal = f"SELECT toDecimal128(x, 0) AS x, id FROM ({query})"
    pipeline = write_pipeline(tmp_path / "decimal", consumer(new_server, query=as_decimal),
                              engine={"retries": {"max_attempts": 1}})
    result = run_jetflow("run", pipeline, "--no-progress")
    assert result.code == 1, result.describe()
    assert re.search(r"column 'x': value at row \d has more than 38 digits", result.stderr), \
        result.stderr

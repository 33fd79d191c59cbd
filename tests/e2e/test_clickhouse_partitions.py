"""ClickHouse partitions: the table's own partitions (system.parts), key ranges, time
slices, several read in parallel, a query source, and settings passed through. Every row of
the table is in the lake exactly once, and each partition holds exactly its rows."""
from __future__ import annotations

import json

import pytest

from clickhouse_fixture import clickhouse_consumer, clickhouse_server  # noqa: F401
from conftest import (check_published_run, partition_dirs, read_lake_arrow, run_jetflow,
                      run_ok, run_server_unit_tests, write_pipeline)

ROWS = 30_000


@pytest.fixture(scope="module")
def events(clickhouse_server):  # noqa: F811
    ch = clickhouse_server
    ch.query("DROP TABLE IF EXISTS events")
    ch.query("CREATE TABLE events (id Int64, ts DateTime, day Date, kind String, "
             "v Nullable(UInt32)) ENGINE = MergeTree PARTITION BY toYYYYMM(day) ORDER BY id")
    # Several inserts: several parts per partition. ids are sparse and negative too.
    for chunk in range(3):
        ch.query("INSERT INTO events SELECT toInt64(number * 7) - 50000 AS id, "
                 "toDateTime(1704067200 + number * 731) AS ts, toDate(ts) AS day, "
                 "concat('k', toString(number % 5)) AS kind, "
                 "if(number % 11 = 0, NULL, toUInt32(number)) AS v "
                 f"FROM numbers({chunk * ROWS // 3}, {ROWS // 3})")
    return ch


def server_ids(ch, where: str = "1") -> list[int]:
    text = ch.query(f"SELECT id FROM events WHERE {where} ORDER BY id FORMAT JSONEachRow",
                    settings={"output_format_json_quote_64bit_integers": 0})
    return [json.loads(line)["id"] for line in text.splitlines()]


def lake_ids(lake) -> list[int]:
    return sorted(read_lake_arrow(lake).column("id").to_pylist())


def test_partitions_by_table_parts(tmp_path, events):
    parts = events.query("SELECT partition_id, sum(rows) FROM system.parts WHERE active AND "
                         "table = 'events' GROUP BY partition_id ORDER BY partition_id "
                         "FORMAT TSV")
    expected = {f"part_{p}": int(n) for p, n in (l.split("\t") for l in parts.splitlines())}
    assert len(expected) >= 2
    pipeline = write_pipeline(tmp_path, clickhouse_consumer(
        events, table="events", partition_by="parts"), engine={"partitions_in_flight": 2})
    plan = run_jetflow("plan", pipeline, "--json", expect=0).json()
    planned = {p["id"]: p for p in plan["partitions"]}
    assert set(planned) == set(expected)
    for pid, rows in expected.items():
        assert planned[pid]["expected_rows"] == rows
        assert pid[5:] in planned[pid]["description"]
    run_ok(pipeline)
    check_published_run(tmp_path / "lake")
    assert lake_ids(tmp_path / "lake") == server_ids(events)
    for pid, folder in partition_dirs(tmp_path / "lake").items():
        ids = sorted(read_lake_arrow(tmp_path / "lake", sorted(folder.glob("*.parquet")))
                     .column("id").to_pylist())
        assert ids == server_ids(events, f"toYYYYMM(day) = {pid[5:]}")


def test_partitions_by_key_range_in_parallel(tmp_path, events):
    pipeline = write_pipeline(tmp_path, clickhouse_consumer(
        events, table="events", partition_by={"column": "id", "partitions": 7},
        settings={"max_block_size": 1000, "max_threads": 1}),
        engine={"partitions_in_flight": 3})
    plan = run_jetflow("plan", pipeline, "--json", expect=0).json()
    ids = [p["id"] for p in plan["partitions"]]
    assert len(ids) == 7 and ids[0].startswith("id_m050000_m") and ids[-1].endswith("_159993"), ids
    summary = run_ok(pipeline)
    assert summary["rows_written"] == ROWS
    check_published_run(tmp_path / "lake")
    assert lake_ids(tmp_path / "lake") == server_ids(events)
    for p in plan["partitions"]:
        lo, hi = p["description"].split("[")[1].rstrip("]").split(", ")
        folder = partition_dirs(tmp_path / "lake")[p["id"]]
        got = sorted(read_lake_arrow(tmp_path / "lake", sorted(folder.glob("*.parquet")))
                     .column("id").to_pylist())
        assert got == server_ids(events, f"id BETWEEN {lo} AND {hi}")
        assert len(got) == p["expected_rows"]


def test_partitions_by_time_interval(tmp_path, events):
    pipeline = write_pipeline(tmp_path, clickhouse_consumer(
        events, table="events", partition_by={"column": "ts", "interval": "24h"}))
    plan = run_jetflow("plan", pipeline, "--json", expect=0).json()
    ids = [p["id"] for p in plan["partitions"]]
    days = events.query("SELECT count(DISTINCT toDate(ts, 'UTC')) FROM events FORMAT TSV")
    assert len(ids) == int(days)
    assert ids[0] == "ts_20240101T000000"
    run_ok(pipeline)
    assert lake_ids(tmp_path / "lake") == server_ids(events)
    folder = partition_dirs(tmp_path / "lake")["ts_20240102T000000"]
    got = sorted(read_lake_arrow(tmp_path / "lake", sorted(folder.glob("*.parquet")))
                 .column("id").to_pylist())
    assert got == server_ids(events, "ts >= toDateTime(1704153600) AND ts < toDateTime(1704240000)")


def test_one_day_is_24_hours_and_too_many_slices_are_refused_without_fetching_them(
        tmp_path, events):
    day = write_pipeline(tmp_path / "d", clickhouse_consumer(
        events, table="events", partition_by={"column": "ts", "interval": "1d"}))
    hours = write_pipeline(tmp_path / "h", clickhouse_consumer(
        events, table="events", partition_by={"column": "ts", "interval": "24h"}))
    assert run_jetflow("plan", day, "--json", expect=0).json()["partitions"] == \
        run_jetflow("plan", hours, "--json", expect=0).json()["partitions"]
    # 1s over 30,000 rows 731 s apart is 30,000 slices: fine. Over a table with more
    # distinct seconds than the limit, the server sends the limit + 2 rows, not all.
    ch = events
    ch.query("DROP TABLE IF EXISTS many_seconds")
    ch.query("CREATE TABLE many_seconds (ts DateTime) ENGINE = MergeTree ORDER BY ts")
    ch.query("INSERT INTO many_seconds SELECT toDateTime(1704067200 + number) "
             "FROM numbers(250000)")
    pipeline = write_pipeline(tmp_path / "s", clickhouse_consumer(
        events, table="many_seconds", partition_by={"column": "ts", "interval": "1s"}))
    result = run_jetflow("plan", pipeline, expect=2)
    assert "more than 100000 slices" in result.stderr, result.describe()


def test_query_source_with_key_ranges_and_null_partition(tmp_path, events):
    pipeline = write_pipeline(tmp_path, clickhouse_consumer(
        events, query="SELECT id, v, kind FROM events WHERE kind != 'k0'",
        partition_by={"column": "v", "partitions": 3}, compression="gzip"))
    plan = run_jetflow("plan", pipeline, "--json", expect=0).json()
    assert [p["id"] for p in plan["partitions"]][-1] == "v_null"
    run_ok(pipeline)
    assert lake_ids(tmp_path / "lake") == server_ids(events, "kind != 'k0'")
    table = read_lake_arrow(tmp_path / "lake")
    assert table.schema.names == ["id", "v", "kind"]
    nulls = server_ids(events, "kind != 'k0' AND isNull(v)")
    assert table.column("v").null_count == len(nulls) > 0


@pytest.mark.parametrize("ending", [";", " ;\n", " -- kinds but k0", "; -- done\n",
                                    "\n/* the end; */"])
def test_query_ending_in_a_semicolon_or_a_comment(tmp_path, events, ending):
    """jetflow wraps the query as a subquery: a trailing ';' or comment of the user's
    text must not break the wrapper (it did: the ';' ended the statement, the comment
    swallowed the closing parenthesis)."""
    query = "SELECT id, kind FROM events WHERE kind != 'k0'" + ending
    pipeline = write_pipeline(tmp_path, clickhouse_consumer(
        events, query=query, partition_by={"column": "id", "partitions": 2}))
    run_ok(pipeline)
    assert lake_ids(tmp_path / "lake") == server_ids(events, "kind != 'k0'")


def test_settings_are_passed_through(tmp_path, events):
    # A setting ClickHouse enforces: reading more rows than max_rows_to_read fails, which
    # proves the settings reach the server (and that SQL errors are permanent).
    pipeline = write_pipeline(tmp_path, clickhouse_consumer(
        events, table="events", settings={"max_rows_to_read": 10, "max_block_size": 100}),
        engine={"retries": {"max_attempts": 3, "backoff": "10ms"}})
    result = run_jetflow("run", pipeline, "--no-progress")
    assert result.code != 0, result.describe()
    output = result.stdout + result.stderr
    assert "Limit for rows to read exceeded" in output and "maximum: 10" in output, output
    assert "retry" not in output.lower() or "attempt 1" in output, output


def plan_of(pipeline) -> list[tuple[str, str, int]]:
    plan = run_jetflow("plan", pipeline, "--json", expect=0).json()
    return [(p["id"], p["description"], p["expected_rows"]) for p in plan["partitions"]]


def test_partition_ids_and_descriptions_are_pinned(tmp_path, events):
    """Partition ids are directory names in users' lakes and descriptions are part of a
    run's identity on resume: every spelling below is frozen, byte for byte."""
    # Key ranges over negative and positive ids: bounds zero-padded to the widest one.
    key_plan = plan_of(write_pipeline(tmp_path / "key", clickhouse_consumer(
        events, table="events", partition_by={"column": "id", "partitions": 7})))
    assert [(i, d) for i, d, _ in key_plan] == [
        ("id_m050000_m020002", "id in [-50000, -20002]"),
        ("id_m020001_009997", "id in [-20001, 9997]"),
        ("id_009998_039996", "id in [9998, 39996]"),
        ("id_039997_069995", "id in [39997, 69995]"),
        ("id_069996_099994", "id in [69996, 99994]"),
        ("id_099995_129993", "id in [99995, 129993]"),
        ("id_129994_159993", "id in [129994, 159993]"),
    ]
    assert sum(n for _, _, n in key_plan) == ROWS
    # Time slices and the table's own parts.
    slices = plan_of(write_pipeline(tmp_path / "ts", clickhouse_consumer(
        events, table="events", partition_by={"column": "ts", "interval": "24h"})))
    assert slices[:2] == [
        ("ts_20240101T000000", "ts in [2024-01-01 00:00:00, 2024-01-02 00:00:00) UTC", 119),
        ("ts_20240102T000000", "ts in [2024-01-02 00:00:00, 2024-01-03 00:00:00) UTC", 118),
    ]
    parts = plan_of(write_pipeline(tmp_path / "parts", clickhouse_consumer(
        events, table="events", partition_by="parts")))
    assert [(i, d) for i, d, _ in parts][:2] == [
        ("part_202401", "partition 202401 (partition_id 202401)"),
        ("part_202402", "partition 202402 (partition_id 202402)"),
    ]
    # The limits of Int64 and UInt64, names that need sanitising, a NULL partition, and
    # fewer distinct keys than partitions.
    extremes = ("SELECT arrayJoin([toInt64(-9223372036854775808), toInt64(0), "
                "toInt64(9223372036854775807)]) AS `k`")
    assert plan_of(write_pipeline(tmp_path / "i64", clickhouse_consumer(
        events, query=extremes, partition_by={"column": "k", "partitions": 3}))) == [
        ("k_m9223372036854775808_m3074457345618258604",
         "k in [-9223372036854775808, -3074457345618258604]", 1),
        ("k_m3074457345618258603_3074457345618258601",
         "k in [-3074457345618258603, 3074457345618258601]", 1),
        ("k_3074457345618258602_9223372036854775807",
         "k in [3074457345618258602, 9223372036854775807]", 1),
    ]
    unsigned = ("SELECT arrayJoin([toUInt64(0), toUInt64(18446744073709551615)]) "
                "AS `my.key-1`")
    assert plan_of(write_pipeline(tmp_path / "u64", clickhouse_consumer(
        events, query=unsigned, partition_by={"column": "my.key-1", "partitions": 2}))) == [
        ("my.key-1_00000000000000000000_09223372036854775807",
         "my.key-1 in [0, 9223372036854775807]", 1),
        ("my.key-1_09223372036854775808_18446744073709551615",
         "my.key-1 in [9223372036854775808, 18446744073709551615]", 1),
    ]
    odd = ("SELECT if(number = 3, NULL, toInt32(number) - 2) AS `9 lives`, number "
           "FROM numbers(5)")
    odd_pipeline = write_pipeline(tmp_path / "odd", clickhouse_consumer(
        events, query=odd, partition_by={"column": "9 lives", "partitions": 10}))
    assert plan_of(odd_pipeline) == [
        ("c9_lives_m2_m2", "9 lives in [-2, -2]", 1),
        ("c9_lives_m1_m1", "9 lives in [-1, -1]", 1),
        ("c9_lives_0_0", "9 lives in [0, 0]", 1),
        ("c9_lives_1_1", "9 lives in [1, 1]", 0),
        ("c9_lives_2_2", "9 lives in [2, 2]", 1),
        ("c9_lives_null", "9 lives is null", 1),
    ]
    run_ok(odd_pipeline)
    # Each partition holds exactly its rows.
    dirs = partition_dirs(tmp_path / "odd" / "lake")
    assert set(dirs) <= {i for i, _, _ in plan_of(odd_pipeline)}, dirs
    numbers = {pid: sorted(read_lake_arrow(tmp_path / "odd" / "lake",
                                           sorted(folder.glob("*.parquet")))
                           .column("number").to_pylist())
               for pid, folder in dirs.items() if any(folder.glob("*.parquet"))}
    assert numbers == {"c9_lives_m2_m2": [0], "c9_lives_m1_m1": [1], "c9_lives_0_0": [2],
                       "c9_lives_2_2": [4], "c9_lives_null": [3]}, numbers


def test_a_consumer_that_never_planned_reads_partitions_from_their_splits(clickhouse_server):  # noqa: F811
    """The unit tests of src/jetflow/sources/clickhouse/clickhouse_consumer_test.cc that need
    a server: for every partitioning mode, a consumer that never planned opens each
    partition from its record (id, description, expected rows, split) and reads exactly the
    rows the planning consumer reads."""
    run_server_unit_tests("jetflow_clickhouse_test", "ClickHouseServer",
                          {"JETFLOW_TEST_CLICKHOUSE_URL": clickhouse_server.url})

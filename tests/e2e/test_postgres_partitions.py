"""PostgreSQL partitions: key ranges (count, rows per partition, interval, explicit
bounds, a query source), CTID page ranges and native partitions each read every row
exactly once; parallel readers share one snapshot, so rows changed by another session
after planning do not appear in the lake."""
from __future__ import annotations

import subprocess
import time

import pyarrow as pa
import pytest

from conftest import (jetflow_bin, parquet_loader, partition_dirs, read_lake_arrow,
                      run_jetflow, run_ok, run_server_unit_tests, write_pipeline)
from postgres_fixtures import pg, pg_consumer  # noqa: F401  (fixture)

ROWS = 20000


@pytest.fixture(scope="module")
def events(pg):
    pg.execute("""
        CREATE TABLE events (id bigint, created timestamptz, day date, payload text);
        INSERT INTO events
          SELECT g * 7 - 50000,
                 timestamptz '2026-01-01 00:00:00+00' + g * interval '37 seconds',
                 date '1500-01-01' + (g %% 200000),
                 md5(g::text)
          FROM generate_series(1, %d) g;
        INSERT INTO events VALUES (NULL, NULL, NULL, 'no key'),
                                  (9223372036854775807, 'infinity', 'infinity', 'max'),
                                  (-9223372036854775808, '-infinity', '-infinity', 'min');
    """ % ROWS)
    return ROWS + 3


def lake_payloads(lake) -> list:
    return sorted(read_lake_arrow(lake).column("payload").to_pylist())


def server_payloads(pg, where: str = "true") -> list:
    return sorted(r[0] for r in pg.query(f"SELECT payload FROM events WHERE {where}"))


@pytest.mark.parametrize("partition_by, expect_parts", [
    ({"column": "id", "partitions": 4}, 5),               # 4 ranges + NULL
    ({"column": "id", "rows_per_partition": 6000}, 5),    # ~20k rows -> 4 (+ NULL)
    ({"column": "id", "ranges": [0, 50000, 100000]}, 5),
    ({"column": "created", "interval": "1d"}, None),
    ({"column": "day", "interval": "3650d"}, None),
    ({"ctid": {"pages_per_partition": 20}}, None),
])
def test_every_row_exactly_once(pg, events, tmp_path, partition_by, expect_parts):
    pipeline = write_pipeline(tmp_path, pg_consumer(pg, table="events",
                                                    partition_by=partition_by),
                              engine={"partitions_in_flight": 3})
    plan = run_jetflow("plan", pipeline, "--json", expect=0).json()
    summary = run_ok(pipeline)
    assert summary["rows_written"] == events
    assert lake_payloads(tmp_path / "lake") == server_payloads(pg)
    parts = partition_dirs(tmp_path / "lake")
    planned = [p["id"] for p in plan["partitions"]]
    assert planned == sorted(planned), "partition ids do not sort like the ranges"
    if expect_parts is not None:
        assert len(planned) == expect_parts, planned
    assert set(parts) <= set(planned)
    # Deterministic: planning again gives the same partitions.
    again = run_jetflow("plan", pipeline, "--json", expect=0).json()
    assert again["partitions"] == plan["partitions"]


def test_query_source_with_key_ranges(pg, events, tmp_path):
    consumer = pg_consumer(pg, query="SELECT id, payload FROM events WHERE id % 2 = 0",
                           partition_by={"column": "id", "partitions": 3})
    run_ok(write_pipeline(tmp_path, consumer))
    assert lake_payloads(tmp_path / "lake") == server_payloads(pg, "id % 2 = 0")


def test_native_partitions(pg, tmp_path):
    pg.execute("""
        CREATE TABLE metrics (at date NOT NULL, v int) PARTITION BY RANGE (at);
        CREATE TABLE metrics_2024 PARTITION OF metrics FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
        CREATE TABLE "metrics 2025" PARTITION OF metrics FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')
          PARTITION BY RANGE (at);
        CREATE TABLE metrics_2025h1 PARTITION OF "metrics 2025" FOR VALUES FROM ('2025-01-01') TO ('2025-07-01');
        CREATE TABLE metrics_2025h2 PARTITION OF "metrics 2025" FOR VALUES FROM ('2025-07-01') TO ('2026-01-01');
        INSERT INTO metrics SELECT date '2024-01-01' + g, g FROM generate_series(0, 700) g;
    """)
    pipeline = write_pipeline(tmp_path, pg_consumer(pg, table="metrics", partition_by="native"))
    plan = run_jetflow("plan", pipeline, "--json", expect=0).json()
    assert [p["id"] for p in plan["partitions"]] == [
        "part_public.metrics_2024", "part_public.metrics_2025h1", "part_public.metrics_2025h2"]
    run_ok(pipeline)
    values = sorted(read_lake_arrow(tmp_path / "lake").column("v").to_pylist())
    assert values == list(range(0, 701))


def test_parallel_readers_share_one_snapshot(pg, tmp_path):
    pg.execute("""
        CREATE TABLE snap (id int PRIMARY KEY, payload text);
        INSERT INTO snap SELECT g, repeat('x', 200) || g FROM generate_series(1, 100000) g;
    """)
    before = sorted(r[0] for r in pg.query("SELECT id FROM snap"))
    pipeline = write_pipeline(
        tmp_path, pg_consumer(pg, table="snap", partition_by={"column": "id", "partitions": 40}),
        engine={"partitions_in_flight": 2, "batch_rows": 2000, "queue_batches": 1})
    proc = subprocess.Popen([jetflow_bin(), "run", str(pipeline), "--json", "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # Wait until a reader's COPY is running: the plan and its snapshot are fixed.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            busy = pg.query("SELECT count(*) FROM pg_stat_activity "
                            "WHERE query LIKE 'COPY%' AND pid <> pg_backend_pid()")
            if busy[0][0] > 0 or proc.poll() is not None:
                break
            time.sleep(0.01)
        pg.execute("""
            INSERT INTO snap SELECT g, 'new' FROM generate_series(100001, 100100) g;
            DELETE FROM snap WHERE id % 1000 = 0;
            UPDATE snap SET id = id + 1000000 WHERE id % 777 = 0;
        """)
        changed_while_running = proc.poll() is None
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err.decode()
    assert changed_while_running, "the run finished before the concurrent changes"
    ids = sorted(read_lake_arrow(tmp_path / "lake").column("id").to_pylist())
    assert ids == before



NARROW = "SELECT id AS \"1st id\", created::timestamp AS \"at.utc\", payload FROM events " \
         "WHERE id BETWEEN -50000 AND 150000"
PINNED_PLANS = {
    "count": [
        ("id_0_m9223372036854775808_m4611686018427387905", "id < -4611686018427387904"),
        ("id_1_m4611686018427387904_m0000000000000000001", "id in [-4611686018427387904, 0)"),
        ("id_2_0000000000000000000_4611686018427387903", "id in [0, 4611686018427387904)"),
        ("id_3_4611686018427387904_9223372036854775807", "id >= 4611686018427387904"),
        ("id_null", "id is null")],
    "ranges": [
        ("id_0_m9223372036854775808_m0000000000000000001", "id < 0"),
        ("id_1_0000000000000000000_0000000000000049999", "id in [0, 50000)"),
        ("id_2_0000000000000050000_0000000000000099999", "id in [50000, 100000)"),
        ("id_3_0000000000000100000_9223372036854775807", "id >= 100000"),
        ("id_null", "id is null")],
    "timestamptz": [
        ("created_20260101T000037", "created < 2026-01-02 00:00:00.000000+00"),
        ("created_20260102T000000",
         "created in [2026-01-02 00:00:00.000000+00, 2026-01-03 00:00:00.000000+00)"),
        ("created_20260109T000000", "created >= 2026-01-09 00:00:00.000000+00"),
        ("created_null", "created is null")],
    "date": [
        ("day_15000102", "day < 1500-04-25"),
        ("day_15000425", "day in [1500-04-25, 1510-04-23)"),
        ("day_15500413", "day >= 1550-04-13"),
        ("day_null", "day is null")],
    "ctid": [
        ("ctid_0000000000_0000000019", "pages [0, 20) (ctid >= '(0,0)' and < '(20,0)')"),
        ("ctid_0000000020_0000000039", "pages [20, 40) (ctid >= '(20,0)' and < '(40,0)')"),
        ("ctid_0000000180_0000000199", "pages [180, 200) (ctid >= '(180,0)' and < '(200,0)')"),
        ("ctid_0000000200_0000000219", "pages >= 200 (ctid >= '(200,0)')")],
    "none": [("all", "all rows of events")],
    "integer_interval": [
        ("k1st_id_0_m49993_m40001", "1st id < -40000"),
        ("k1st_id_1_m40000_m00001", "1st id in [-40000, 0)"),
        ("k1st_id_4_80000_90000", "1st id >= 80000"),
        ("k1st_id_null", "1st id is null")],
    "query_count": [
        ("k1st_id_0_m49993_m03329", "1st id < -3328"),
        ("k1st_id_1_m03328_43336", "1st id in [-3328, 43337)"),
        ("k1st_id_2_43337_90000", "1st id >= 43337"),
        ("k1st_id_null", "1st id is null")],
    "timestamp": [
        ("at.utc_20260101T000037", "at.utc < 2026-01-02 00:00:00.000000"),
        ("at.utc_20260102T000000",
         "at.utc in [2026-01-02 00:00:00.000000, 2026-01-03 00:00:00.000000)"),
        ("at.utc_20260109T000000", "at.utc >= 2026-01-09 00:00:00.000000"),
        ("at.utc_null", "at.utc is null")],
    "query_all": [("all", "all rows of query")],
}
PINNED_PLANS["rows"] = PINNED_PLANS["count"]


@pytest.mark.parametrize("name, options", [
    ("count", {"partition_by": {"column": "id", "partitions": 4}}),
    ("rows", {"partition_by": {"column": "id", "rows_per_partition": 6000}}),
    ("ranges", {"partition_by": {"column": "id", "ranges": [0, 50000, 100000]}}),
    ("timestamptz", {"partition_by": {"column": "created", "interval": "1d"}}),
    ("date", {"partition_by": {"column": "day", "interval": "3650d"}}),
    ("ctid", {"partition_by": {"ctid": {"pages_per_partition": 20}}}),
    ("none", {}),
    ("integer_interval", {"query": NARROW,
                          "partition_by": {"column": "1st id", "interval": 40000}}),
    ("query_count", {"query": NARROW, "partition_by": {"column": "1st id", "partitions": 3}}),
    ("timestamp", {"query": NARROW, "partition_by": {"column": "at.utc", "interval": "1d"}}),
    ("query_all", {"query": NARROW}),
])
def test_partition_ids_and_descriptions_are_pinned(pg, events, tmp_path, name, options):
    """Partition ids are directory names in users' lakes and descriptions are part of a
    run's identity on resume: every spelling below is frozen, byte for byte."""
    if "query" not in options:
        options = {"table": "events", **options}
    pipeline = write_pipeline(tmp_path, pg_consumer(pg, **options))
    plan = run_jetflow("plan", pipeline, "--json", expect=0).json()
    got = [(p["id"], p["description"]) for p in plan["partitions"]]
    if len(got) > 5:  # long plans: their ends
        got = got[:2] + got[-2:]
    assert got == PINNED_PLANS.get(name), f"{name}: {got!r}"


def test_a_consumer_that_never_planned_reads_partitions_from_their_splits(pg):
    """The unit tests of src/jetflow/sources/postgres/postgres_consumer_test.cc that need a
    server: for every partitioning mode, a consumer that never planned opens each partition
    from its record (id, description, expected rows, split) and reads exactly the rows the
    planning consumer reads."""
    run_server_unit_tests("jetflow_postgres_test", "PostgresServer",
                          {"JETFLOW_TEST_POSTGRES_DSN": pg.dsn})


@pytest.mark.parametrize("ending", [";", " -- all of them", "; -- done\n"])
def test_query_ending_in_a_semicolon_or_a_comment(pg, events, tmp_path, ending):
    """The sibling of the ClickHouse case: the user's query is wrapped as a subquery, so
    its trailing ';' or comment must not break the wrapper."""
    pipeline = write_pipeline(tmp_path, pg_consumer(
        pg, query=NARROW + ending, partition_by={"column": "1st id", "partitions": 3}))
    summary = run_ok(pipeline)
    expected = pg.query(f"SELECT count(*) FROM ({NARROW}) AS q")[0][0]
    assert summary["rows_written"] == expected > 0, summary


# ---------------------------------------------------------------------------------------
# Keys before year 1 (BC), after 9999, and negative integers.

ANCIENT_ROWS = 2000


@pytest.fixture(scope="module")
def ancient(pg):
    """Dates and timestamps from 3450 BC to 2026, and ids from -2,000,000 to -1,000."""
    pg.execute("""
        CREATE TABLE ancient (id int, d date, ts timestamp, tstz timestamptz);
        INSERT INTO ancient
          SELECT -g * 1000, date '2026-01-01' - g * 1000,
                 timestamp '2026-01-01 12:34:56.789' - g * interval '1000 days 7 hours',
                 timestamptz '2026-01-01 00:00:00.5+00' - g * interval '999 days 1 second'
          FROM generate_series(1, %d) g;
        INSERT INTO ancient VALUES (NULL, NULL, NULL, NULL),
                                   (1, '10000-06-01', '10000-06-01 01:02:03', NULL);
    """ % ANCIENT_ROWS)
    return ANCIENT_ROWS + 2


ANCIENT_VALUES = """SELECT id, d - date '1970-01-01',
                           (extract(epoch FROM ts) * 1000000)::bigint,
                           (extract(epoch FROM tstz) * 1000000)::bigint FROM ancient"""


@pytest.mark.parametrize("partition_by", [
    {"column": "d", "partitions": 4},
    {"column": "d", "interval": "365250d"},
    {"column": "d", "ranges": ["3000-01-01 BC", "0001-01-01 BC", "0001-01-01", "2000-01-01"]},
    {"column": "ts", "partitions": 3},
    {"column": "ts", "ranges": ["0001-12-31 23:59:59.999999 BC", "9999-12-31"]},
    {"column": "tstz", "interval": "36500d"},
    {"column": "id", "partitions": 3},
    {"column": "id", "ranges": [-1500000, -999, 0]},
], ids=lambda p: f"{p['column']}-{next(k for k in p if k != 'column')}")
def test_bc_and_negative_keys_read_every_row_with_ids_in_range_order(pg, ancient, tmp_path,
                                                                     partition_by):
    """PostgreSQL refuses a negative year ('-3042-07-03'): bounds before 1 AD are sent as
    BC years, and ids (directory names) still sort like the ranges."""
    pipeline = write_pipeline(tmp_path, pg_consumer(pg, table="ancient",
                                                    partition_by=partition_by),
                              loaders=[parquet_loader(profile="lossless")],
                              engine={"partitions_in_flight": 2})
    plan = run_jetflow("plan", pipeline, "--json", expect=0).json()
    planned = [p["id"] for p in plan["partitions"]]
    assert planned == sorted(planned), "partition ids do not sort like the ranges"
    assert len(set(planned)) == len(planned) > 2, planned
    assert run_ok(pipeline)["rows_written"] == ancient
    lake = read_lake_arrow(tmp_path / "lake")
    got = sorted(zip(lake.column("id").to_pylist(),
                     lake.column("d").cast(pa.int32()).to_pylist(),
                     lake.column("ts").cast(pa.int64()).to_pylist(),
                     lake.column("tstz").cast(pa.int64()).to_pylist()),
                 key=repr)
    assert got == sorted(pg.query(ANCIENT_VALUES), key=repr)
    again = run_jetflow("plan", pipeline, "--json", expect=0).json()
    assert again["partitions"] == plan["partitions"]


def test_bc_plans_are_pinned(pg, ancient, tmp_path):
    pipeline = write_pipeline(tmp_path, pg_consumer(
        pg, table="ancient",
        partition_by={"column": "d", "ranges": ["3000-01-01 BC", "0001-01-01"]}))
    plan = run_jetflow("plan", pipeline, "--json", expect=0).json()
    assert [(p["id"], p["description"]) for p in plan["partitions"]] == [
        ("d_0_34510310BC", "d < 3000-01-01 BC"),
        ("d_1_30000101BC", "d in [3000-01-01 BC, 0001-01-01)"),
        ("d_2_00010101", "d >= 0001-01-01"),
        ("d_null", "d is null")]


def test_a_negative_year_in_ranges_names_the_bc_spelling(pg, ancient, tmp_path):
    pipeline = write_pipeline(tmp_path, pg_consumer(
        pg, table="ancient", partition_by={"column": "d", "ranges": ["-3042-07-03"]}))
    result = run_jetflow("validate", pipeline, expect=2)
    assert "partition_by.ranges: '-3042-07-03' is not a valid value of key d" in result.stderr
    assert "ISO year -3042 is '3043-07-03 BC'" in result.stderr, result.describe()

def test_small_key_spans_get_the_partitions_asked_for(pg, tmp_path):
    """`partitions: 3` on ids 1-4 used to give 2 ranges (widths of ceil(4/3) = 2); it
    gives 3 now, and says why when the key has fewer values than partitions asked for."""
    pg.execute("DROP TABLE IF EXISTS four; CREATE TABLE four (id int NOT NULL, v text); "
               "INSERT INTO four SELECT g, 'v' || g FROM generate_series(1, 4) g")
    pipeline = write_pipeline(tmp_path / "a", pg_consumer(
        pg, table="four", partition_by={"column": "id", "partitions": 3}))
    plan = run_jetflow("plan", pipeline, "--json", expect=0).json()
    assert [(p["id"], p["description"]) for p in plan["partitions"]] == [
        ("id_1_2", "id < 3"), ("id_3_3", "id in [3, 4)"), ("id_4_4", "id >= 4")], plan
    summary = run_ok(pipeline)
    assert summary["rows_written"] == 4 and summary["partitions_total"] == 3
    assert sorted(partition_dirs(tmp_path / "a" / "lake")) == ["id_1_2", "id_3_3", "id_4_4"]

    fewer = write_pipeline(tmp_path / "b", pg_consumer(
        pg, table="four", partition_by={"column": "id", "partitions": 6}))
    result = run_jetflow("plan", fewer, expect=0)
    assert "4 partition(s)" in result.stdout, result.describe()
    assert "partitions of id: 6 asked for, 4 planned: the key spans only 4 values (1 to 4)" \
        in result.stderr, result.describe()

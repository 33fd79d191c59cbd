"""PostgreSQL partitions: key ranges (count, rows per partition, interval, explicit
bounds, a query source), CTID page ranges and native partitions each read every row
exactly once; parallel readers share one snapshot, so rows changed by another session
after planning do not appear in the lake."""
from __future__ import annotations

import subprocess
import time

import pytest

from conftest import (jetflow_bin, partition_dirs, read_lake_arrow, run_jetflow, run_ok,
                      write_pipeline)
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

"""PostgreSQL failures: a reading backend terminated mid-COPY (pg_terminate_backend) is
retried and the lake ends complete and duplicate-free; the server going away fails the
run with a clear, retried error; bad DSNs, wrong passwords, unknown tables and columns
are clear plan-time errors that never print the password."""
from __future__ import annotations

import re
import subprocess
import time

import pytest

from conftest import (check_published_run, jetflow_bin, read_lake_arrow, run_jetflow,
                      write_pipeline)
from postgres_fixtures import PostgresServer, pg_consumer

PASSWORD = "Sup3r-s3cret-pw"


@pytest.fixture(scope="module")
def pg():
    with PostgresServer(password=PASSWORD) as server:
        server.execute("""
            CREATE TABLE big (id bigint PRIMARY KEY, payload text);
            INSERT INTO big SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 200000) g;
        """)
        yield server


def consumer(pg, **options):
    base = pg_consumer(pg, password_env="JETFLOW_TEST_PG_PASSWORD")
    base.update(options)
    return base


ENV = {"JETFLOW_TEST_PG_PASSWORD": PASSWORD}


def start_run(pipeline, *options):
    options = options or ("--no-progress",)
    return subprocess.Popen([jetflow_bin(), "run", str(pipeline), "--json", *options],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**__import__("os").environ, **ENV})


def wait_for_copy(pg, proc, timeout=120) -> int:
    """pid of a backend running a jetflow COPY, once it has sent some rows."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended before its COPY was seen"
        rows = pg.query("SELECT pid FROM pg_stat_activity WHERE query LIKE 'COPY%' "
                        "AND state = 'active' AND pid <> pg_backend_pid()")
        if rows:
            return rows[0][0]
        time.sleep(0.005)
    pytest.fail("no COPY seen in pg_stat_activity")


def test_terminated_backend_is_retried_without_duplicates(pg, tmp_path):
    pipeline = write_pipeline(
        tmp_path,
        # A query that pauses every 2000 rows keeps each COPY running for ~2 s, so the
        # backend is surely terminated mid-partition.
        consumer(pg, query="SELECT b.id, b.payload FROM big b, LATERAL (SELECT pg_sleep("
                           "CASE WHEN b.id % 2000 = 0 THEN 0.02 ELSE 0 END)) pause",
                 partition_by={"column": "id", "partitions": 2}),
        engine={"partitions_in_flight": 1, "batch_rows": 1000, "queue_batches": 1,
                "retries": {"max_attempts": 3, "backoff": "100ms"}})
    # Progress lines every 50 ms (stderr is not a terminal).
    proc = start_run(pipeline, "--log-interval", "0.05")
    try:
        pid = wait_for_copy(pg, proc)
        time.sleep(0.3)  # let it send a few batches first
        killed = pg.query("SELECT pg_terminate_backend(%s)", (pid,))[0][0]
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert killed
    assert proc.returncode == 0, err.decode()
    import json
    summary = json.loads(out)
    assert summary["attempts_retried"] >= 1, summary
    assert "partition id_" in err.decode() and "retrying" in err.decode()
    ids = read_lake_arrow(tmp_path / "lake").column("id").to_pylist()
    assert len(ids) == 200000 and len(set(ids)) == 200000
    check_published_run(tmp_path / "lake")
    # Progress counts each row once: the rows the terminated attempt had read are taken
    # back when it fails (and shown apart), so the count never passes the table's rows.
    progress = [line for line in err.decode().splitlines() if "progress: rows" in line]
    counted = [int(re.search(r"progress: rows ([\d,]+)", line).group(1).replace(",", ""))
               for line in progress]
    assert counted and max(counted) <= 200000, progress
    assert any("rows of failed attempts discarded" in line for line in progress), progress
    assert summary["rows_read"] == 200000
    assert PASSWORD not in out.decode() + err.decode()


def test_server_down_mid_run_fails_after_retries(tmp_path):
    with PostgresServer() as server:
        server.execute("CREATE TABLE t AS SELECT g AS id, repeat('x', 100) AS v "
                       "FROM generate_series(1, 200000) g")
        pipeline = write_pipeline(
            tmp_path, pg_consumer(server, table="t", connect_timeout="2s"),
            engine={"batch_rows": 1000, "queue_batches": 1,
                    "retries": {"max_attempts": 2, "backoff": "100ms"}})
        proc = start_run(pipeline)
        try:
            wait_for_copy(server, proc)
            server.kill()
            out, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 1, err.decode()
        text = out.decode() + err.decode()
        assert "retrying" in text  # the failure was retryable ...
        assert "cannot connect to PostgreSQL" in text or "COPY failed" in text  # ... and clear


@pytest.mark.parametrize("options, env, needles", [
    # A server that is down is transient: exit 4, which schedulers retry.
    ({"dsn": "postgresql://postgres@127.0.0.1:1/postgres", "table": "big",
      "connect_timeout": "2s"}, {}, ["cannot connect to PostgreSQL", "127.0.0.1:1", "exit 4"]),
    ({"dsn": "host=127.0.0.1 port=notaport", "table": "big"}, {}, ["cannot connect"]),
    ({"table": "bigg", "password_env": "JETFLOW_TEST_PG_PASSWORD"}, ENV,
     ["table not found", "bigg", "did you mean 'big'"]),
    ({"table": "big", "columns": ["id", "paylod"], "password_env": "JETFLOW_TEST_PG_PASSWORD"},
     ENV, ["'paylod' is not a column", "did you mean 'payload'"]),
    ({"table": "big", "password_env": "JETFLOW_TEST_PG_PASSWORD"},
     {"JETFLOW_TEST_PG_PASSWORD": "wrong-" + PASSWORD}, ["password authentication failed"]),
    ({"table": "big"}, {}, ["asks for a password", "password_env"]),
    ({"table": "big", "password_env": "JETFLOW_NOT_SET_ANYWHERE"}, {},
     ["JETFLOW_NOT_SET_ANYWHERE", "is not set"]),
    ({"table": "big", "query": "SELECT 1", "partition_by": {"column": "id"}}, {},
     ["use either 'table' or 'query', not both", "exactly one of `partitions`"]),
])
def test_clear_errors_without_the_password(pg, tmp_path, options, env, needles):
    consumer_options = {"type": "postgres", "dsn": pg.dsn}
    consumer_options.update(options)
    pipeline = write_pipeline(tmp_path, consumer_options)
    result = run_jetflow("run", pipeline, "--no-progress", env=env)
    expected = 4 if "exit 4" in needles else 2
    assert result.code == expected, result.describe()
    text = result.stdout + result.stderr
    for needle in (n for n in needles if n != "exit 4"):
        assert needle in text, result.describe()
    assert PASSWORD not in text


def test_password_in_dsn_is_redacted(pg, tmp_path):
    dsn = pg.dsn.replace("postgres@", "postgres:${JETFLOW_TEST_PG_PASSWORD}@")
    pipeline = write_pipeline(tmp_path, {"type": "postgres", "dsn": dsn, "table": "nope"})
    result = run_jetflow("run", pipeline, "--no-progress", env=ENV, expect=2)
    assert "table not found" in result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    ok = write_pipeline(tmp_path / "ok", {"type": "postgres", "dsn": dsn, "table": "big",
                                          "columns": ["id"]})
    good = run_jetflow("run", ok, "--json", "--no-progress", env=ENV, expect=0)
    assert PASSWORD not in good.stdout + good.stderr

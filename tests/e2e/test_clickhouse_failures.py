"""ClickHouse failures: a connection cut mid-partition (a TCP proxy in the test) and a server
killed mid-partition then restarted are retried, and the lake ends complete and free of
duplicates; bad URL, wrong password, unknown table and a missing password variable are clear
errors before any data moves."""
from __future__ import annotations

import json
import socket
import subprocess
import threading
import time

import pytest

from clickhouse_fixture import (PASSWORD, USER, ClickHouseServer, clickhouse_consumer,  # noqa: F401
                                clickhouse_server)
from conftest import (DEFAULT_TIMEOUT, check_published_run, jetflow_bin, read_lake_arrow,
                      run_jetflow, run_ok, write_pipeline)
from clickhouse import free_port

ROWS = 60_000


class CuttingProxy:
    """Forwards 127.0.0.1:port to the server; cuts the first `cuts` connections whose request
    asks for FORMAT Native after `after_bytes` bytes of the answer."""

    def __init__(self, target_port: int, after_bytes: int, cuts: int = 1):
        self.target_port = target_port
        self.after_bytes = after_bytes
        self.cuts_left = cuts
        self.cut = 0
        self.lock = threading.Lock()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        upstream = socket.create_connection(("127.0.0.1", self.target_port))
        request = b""
        # The request (headers + SQL body) is small: read until the SQL is in.
        client.settimeout(5)
        try:
            while b"FORMAT" not in request:
                data = client.recv(65536)
                if not data:
                    break
                request += data
                upstream.sendall(data)
        except OSError:
            pass
        client.settimeout(None)
        cut = False
        with self.lock:
            if b"FORMAT Native" in request and self.cuts_left > 0:
                self.cuts_left -= 1
                cut = True
        sent = 0
        try:
            while True:
                data = upstream.recv(65536)
                if not data:
                    break
                if cut and sent + len(data) >= self.after_bytes:
                    client.sendall(data[:max(0, self.after_bytes - sent)])
                    with self.lock:
                        self.cut += 1
                    break
                client.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for s in (client, upstream):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        self.stopped = True
        self.listener.close()


@pytest.fixture(scope="module")
def big(clickhouse_server):  # noqa: F811
    ch = clickhouse_server
    ch.query("DROP TABLE IF EXISTS big")
    ch.query("CREATE TABLE big (id UInt64, s String, x Float64) ENGINE = MergeTree ORDER BY id")
    ch.query(f"INSERT INTO big SELECT number, concat('row-', toString(number)), number / 3 "
             f"FROM numbers({ROWS})")
    return ch


def server_ids(ch, sql: str) -> list[int]:
    return [json.loads(l)["id"] for l in ch.query(sql + " FORMAT JSONEachRow",
            settings={"output_format_json_quote_64bit_integers": 0}).splitlines()]


def test_connection_cut_mid_partition_is_retried_without_duplicates(tmp_path, big):
    proxy = CuttingProxy(big.http_port, after_bytes=300_000, cuts=2)
    try:
        pipeline = write_pipeline(tmp_path, {
            "type": "clickhouse", "url": f"http://127.0.0.1:{proxy.port}", "table": "big",
            "partition_by": {"column": "id", "partitions": 2},
            "settings": {"max_block_size": 2000}},
            engine={"retries": {"max_attempts": 4, "backoff": "10ms"},
                    "partitions_in_flight": 2})
        summary = run_ok(pipeline)
    finally:
        proxy.close()
    assert proxy.cut == 2, "the proxy did not cut the transfers: the test proves nothing"
    assert summary["attempts_retried"] >= 2
    check_published_run(tmp_path / "lake")
    ids = read_lake_arrow(tmp_path / "lake").column("id").to_pylist()
    assert len(ids) == len(set(ids)) == ROWS
    assert sorted(ids) == server_ids(big, "SELECT id FROM big ORDER BY id")


def test_server_killed_mid_partition_then_restarted(tmp_path):
    with ClickHouseServer(tmp_path / "server") as ch:
        # sleepEachRow makes the partition take ~6 s, so the kill lands mid-stream.
        query = ("SELECT number AS id, toString(number) AS s FROM numbers(12000) "
                 "WHERE sleepEachRow(0.0005) = 0")
        pipeline = write_pipeline(tmp_path / "run", clickhouse_consumer(
            ch, query=query, settings={"max_block_size": 500}),
            engine={"retries": {"max_attempts": 6, "backoff": "1s"}})
        proc = subprocess.Popen([jetflow_bin(), "run", str(pipeline), "--json", "--no-progress"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            time.sleep(1.5)
            assert proc.poll() is None, "the run ended before the server could be killed"
            ch.kill()
            ch.start()
            out, err = proc.communicate(timeout=DEFAULT_TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        assert proc.returncode == 0, f"exit {proc.returncode}\n{out.decode()}\n{err.decode()}"
        summary = json.loads(out)
        assert summary["attempts_retried"] >= 1, summary
        check_published_run(tmp_path / "run" / "lake")
        ids = read_lake_arrow(tmp_path / "run" / "lake").column("id").to_pylist()
        assert sorted(ids) == list(range(12000))


def expect_plan_error(tmp_path, consumer: dict, *needles: str, env: dict | None = None,
                      code: int = 2):
    pipeline = write_pipeline(tmp_path, consumer,
                              engine={"retries": {"max_attempts": 1, "backoff": "10ms"}})
    result = run_jetflow("run", pipeline, "--no-progress", env=env)
    assert result.code == code, result.describe()
    for needle in needles:
        assert needle in result.stderr, f"{needle!r} not in:\n{result.stderr}"
    assert not list((tmp_path / "lake").rglob("*.parquet"))
    return result


def test_bad_url(tmp_path):
    port = free_port()
    expect_plan_error(tmp_path, {"type": "clickhouse", "url": f"http://127.0.0.1:{port}",
                                 "table": "big"},
                      "Couldn't connect to server", f"127.0.0.1:{port}",
                      code=4)  # a server that is down is transient: schedulers retry


def test_url_without_scheme_is_a_config_error(tmp_path, clickhouse_server):  # noqa: F811
    result = expect_plan_error(tmp_path, {"type": "clickhouse", "url": "127.0.0.1:8123",
                                          "table": "big"}, "must start with http://")
    assert "pipeline.yaml:" in result.stderr


def test_wrong_password(tmp_path, big):
    expect_plan_error(tmp_path, clickhouse_consumer(big, table="big", user=USER,
                                                    password_env="CH_TEST_PASSWORD"),
                      "Wrong password for user jetflow", env={"CH_TEST_PASSWORD": "nope"})


def test_right_password(tmp_path, big):
    pipeline = write_pipeline(tmp_path, clickhouse_consumer(
        big, query="SELECT id FROM big WHERE id < 10", user=USER,
        password_env="CH_TEST_PASSWORD"))
    result = run_jetflow("run", pipeline, "--no-progress", "--json", expect=0,
                         env={"CH_TEST_PASSWORD": PASSWORD})
    assert PASSWORD not in result.stdout + result.stderr
    assert sorted(read_lake_arrow(tmp_path / "lake").column("id").to_pylist()) == list(range(10))


def test_missing_password_variable(tmp_path, big):
    expect_plan_error(tmp_path, clickhouse_consumer(big, table="big", user=USER,
                                                    password_env="CH_UNSET_VARIABLE_X"),
                      "'CH_UNSET_VARIABLE_X' (password_env) is not set")


def test_unknown_table_and_column(tmp_path, big):
    expect_plan_error(tmp_path / "t", clickhouse_consumer(big, table="nope"),
                      "Table default.nope doesn't exist")
    expect_plan_error(tmp_path / "c", clickhouse_consumer(big, table="big",
                                                          columns=["id", "nope"]),
                      "Unknown identifier: nope")


def test_error_after_the_first_blocks_is_reported_with_the_servers_message(tmp_path, big):
    # ClickHouse has already sent HTTP 200 and ~27 MB of blocks when throwIf fires; it then
    # appends the exception text to the body. The run must report that text (not "corrupt
    # Native data"), and not retry it: it is not a network failure.
    query = ("SELECT number AS n, throwIf(number = 3000000) AS x FROM numbers(10000000)")
    pipeline = write_pipeline(tmp_path, clickhouse_consumer(
        big, query=query, settings={"max_block_size": 10000}),
        engine={"retries": {"max_attempts": 3, "backoff": "10ms"}})
    result = run_jetflow("run", pipeline, "--json", "--no-progress")
    assert result.code == 1, result.describe()
    summary = result.json()
    assert "Value passed to 'throwIf' function is non zero" in summary["error"], summary["error"]
    assert "ClickHouse error 395" in summary["error"]
    assert "partition all" in summary["error"]
    assert summary["attempts_retried"] == 0
    assert not list((tmp_path / "lake").rglob("*.parquet"))

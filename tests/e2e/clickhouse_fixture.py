"""The ClickHouse server of the test_clickhouse_* files: one per test module (fast), started
on free loopback ports with a temporary data folder (tests/servers/clickhouse.py).

A server that does not start fails the tests, never skips them."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "servers"))
from clickhouse import PASSWORD, USER, ClickHouseError, ClickHouseServer  # noqa: E402

__all__ = ["PASSWORD", "USER", "ClickHouseError", "ClickHouseServer", "clickhouse_server"]


@pytest.fixture(scope="module")
def clickhouse_server(tmp_path_factory):
    server = ClickHouseServer(tmp_path_factory.mktemp("clickhouse"))
    try:
        server.start()
    except ClickHouseError as e:
        pytest.fail(f"ClickHouse did not start: {e}")
    yield server
    server.close()


def clickhouse_consumer(server: ClickHouseServer, **options) -> dict:
    consumer = {"type": "clickhouse", "url": server.url}
    consumer.update(options)
    return consumer

"""Shared pieces of the PostgreSQL end-to-end tests: a throw-away server per test module
(tests/servers/postgres.py) and pipeline builders. A server that does not start fails the
test (ServerError), it never skips."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from servers.postgres import PostgresServer  # noqa: E402


@pytest.fixture(scope="module")
def pg():
    with PostgresServer() as server:
        yield server


def pg_consumer(server: PostgresServer, **options) -> dict:
    consumer = {"type": "postgres", "dsn": server.dsn}
    consumer.update(options)
    return consumer

"""Shared fixtures. `ledger_url` runs a test once per backend: SQLite always, and
PostgreSQL when STATUS_LEDGER_TEST_PG is set (CI sets it; a configured but
broken server fails loudly instead of skipping)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger import Ledger

PG_URL = os.environ.get("STATUS_LEDGER_TEST_PG")
BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]


def _pg_database(base: str) -> Iterator[str]:
    """A fresh database per test, so tests never see each other's events."""
    import psycopg

    name = f"sl_test_{uuid.uuid4().hex[:12]}"
    admin = base.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty store: a SQLite file path or a postgresql:// URL."""
    if request.param == "sqlite":
        yield str(tmp_path / "ledger.db")
    else:
        assert PG_URL is not None
        yield from _pg_database(PG_URL)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """An empty PostgreSQL database, for tests that only make sense on a server
    (several processes, workers). Skips only when STATUS_LEDGER_TEST_PG is unset."""
    if PG_URL is None:
        pytest.skip("STATUS_LEDGER_TEST_PG is not set")
    yield from _pg_database(PG_URL)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return str(tmp_path / "ledger.db")


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    with Ledger.open(ledger_url) as opened:
        yield opened


NATS_URL = os.environ.get("STATUS_LEDGER_TEST_NATS")


@pytest.fixture
def nats_url() -> str:
    """A NATS server with JetStream. Skips only when STATUS_LEDGER_TEST_NATS is
    unset; a configured server that does not answer fails the test."""
    if NATS_URL is None:
        pytest.skip("STATUS_LEDGER_TEST_NATS is not set")
    from _nats import reachable

    if not reachable(NATS_URL):
        pytest.fail(f"STATUS_LEDGER_TEST_NATS={NATS_URL} is set but the server does not answer")
    return NATS_URL

"""What only a server store has to get right: reaching the server, creating the
schema once however many processes start at once, refusing databases it must
not touch, and speaking the portable '?' SQL of the views on psycopg. The
projection worker is checked on both backends."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from _attack import CLI

from ledger import ConnectionFailed, Ledger, NewerSchema, NotALedger

UNREACHABLE = "postgresql://postgres@127.0.0.1:1/nowhere"


def run(*args: str, db: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args, "--db", db], capture_output=True, text=True, timeout=120)


def test_an_unreachable_server_is_one_line_naming_host_and_database() -> None:
    result = run("init", db=UNREACHABLE)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: connection_failed: ")
    assert "'nowhere'" in result.stderr and "127.0.0.1:1" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_api_raises_connection_failed_with_host_and_database() -> None:
    with pytest.raises(ConnectionFailed) as caught:
        Ledger.open(UNREACHABLE)
    assert caught.value.details == {"host": "127.0.0.1", "database": "nowhere"}


@pytest.mark.slow
def test_a_missing_database_is_a_connection_error_not_a_traceback(pg_url: str) -> None:
    missing = pg_url.rsplit("/", 1)[0] + "/sl_no_such_database"
    result = run("status", "uipath", "job", "j-1", db=missing)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: connection_failed: ")
    assert "sl_no_such_database" in result.stderr


@pytest.mark.slow
def test_init_is_idempotent_and_safe_when_processes_start_together(pg_url: str) -> None:
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: run("init", "--json", db=pg_url), range(4)))
    assert [r.returncode for r in results] == [0, 0, 0, 0], [r.stderr for r in results]
    assert run("init", db=pg_url).returncode == 0
    with psycopg.connect(pg_url) as conn:
        meta = conn.execute("SELECT key FROM ledger_meta ORDER BY key").fetchall()
        tables = {
            name
            for (name,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
        }
    assert meta == [("created_at",), ("store_format",)]
    assert {
        "stored_events",
        "tracking",
        "ledger_meta",
        "ledger_event_ids",
        "ledger_head",
        "ledger_models",
        "views",
    } <= tables


def test_a_store_written_by_a_newer_version_is_refused(pg_url: str) -> None:
    Ledger.open(pg_url).close()
    with psycopg.connect(pg_url) as conn:
        conn.execute("UPDATE ledger_meta SET value = '99' WHERE key = 'store_format'")
    with pytest.raises(NewerSchema):
        Ledger.open(pg_url)
    result = run("list", "uipath", "job", db=pg_url)
    assert result.returncode == 1 and result.stderr.startswith("Error: newer_schema: ")


def test_a_database_of_another_event_sourced_app_is_not_taken_over(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        conn.execute("CREATE TABLE stored_events (originator_id uuid, originator_version bigint)")
    with pytest.raises(NotALedger):
        Ledger.open(pg_url)
    with psycopg.connect(pg_url) as conn:
        found = conn.execute("SELECT to_regclass('ledger_meta')").fetchone()
    assert found == (None,)


def test_portable_sql_keeps_quoted_question_marks_and_percent_signs(pg_url: str) -> None:
    with Ledger.open(pg_url) as ledger, ledger.store.read() as txn:
        txn.cursor.execute("SELECT '?', ?, '50%', 'it''s ?' -- a comment?", ("value",))
        assert txn.cursor.fetchone() == ("?", "value", "50%", "it's ?")


def test_follow_applies_each_event_once_and_stops_when_asked(ledger_url: str) -> None:
    events = [
        {
            "model": "uipath",
            "type": "job",
            "id": f"j-{i}",
            "status": "Pending",
            "occurred_at": 1_700_000_000 + i,
        }
        for i in range(300)
    ]
    stop = threading.Event()
    with Ledger.open(ledger_url) as worker_ledger:
        applied: list[int] = []
        worker = threading.Thread(
            target=lambda: applied.append(worker_ledger.follow(stop, interval=0.05))
        )
        worker.start()
        try:
            with Ledger.open(ledger_url, views=False) as writer:
                writer.append(events[:150], batch_size=50)
                writer.append(events[150:], batch_size=50)
            deadline = time.monotonic() + 60
            while worker_ledger.views is not None and worker_ledger.views.lag():
                assert time.monotonic() < deadline, "the worker never caught up"
                time.sleep(0.02)
        finally:
            stop.set()
            worker.join(timeout=60)
        assert not worker.is_alive()
        assert applied == [300]
        assert len(worker_ledger.list("uipath", "job")) == 300


def test_rebuild_counts_events_not_notification_ids_after_rolled_back_transactions(
    pg_url: str,
) -> None:
    """A killed import leaves gaps in PostgreSQL's notification ids (its sequence is
    not rolled back); rebuild reported the highest id (95,023) as the event count
    (90,023)."""
    jobs = [
        {"model": "uipath", "type": "job", "id": f"j-{i}", "status": "Pending", "occurred_at": i}
        for i in range(1_700_000_000, 1_700_000_010)
    ]
    with Ledger.open(pg_url) as ledger:
        ledger.append(jobs[:5])
        with psycopg.connect(pg_url) as conn, conn.transaction(force_rollback=True):
            conn.execute(
                "INSERT INTO stored_events (originator_id, originator_version, topic, state) "
                "SELECT 'gap-' || n, 1, 't', '\\x7b7d'::bytea FROM generate_series(1, 40) AS n"
            )
        ledger.append(jobs[5:])
        with ledger.store.read() as txn:
            assert txn.max_notification_id() == 50
        totals: list[int] = []
        assert ledger.rebuild(progress=lambda done, total: totals.append(total)) == 10
        assert set(totals) == {10}
    result = run("rebuild", "--json", db=pg_url)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["events"] == 10

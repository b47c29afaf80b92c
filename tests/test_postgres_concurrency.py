"""Several processes on one PostgreSQL store: writers racing for the chain head,
projection workers killed mid-stream, two workers on the same views. Everything
runs through the real console command in separate processes.

These tests skip only when STATUS_LEDGER_TEST_PG is unset; a configured but
broken server makes them fail."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from _attack import CLI

from ledger import Ledger

pytestmark = pytest.mark.slow  # processes, crashes, concurrency or many generated cases

BASE = 1_700_000_000
WRITERS = 4
PER_WRITER = 5_000
WORKS = 1_000
LIGHTNING_CYCLE = ("running", "succeeded", "pending")
DEADLINE = 120.0


def writer_events(writer: int, count: int) -> list[dict[str, Any]]:
    """One writer's share: lightning works shared by every writer (each writer's
    first event on a work is a pending, so no interleaving can make an event
    illegal) and OpenFn runs of its own in work orders shared by every writer,
    so derived rows are recomputed by all of them."""
    events: list[dict[str, Any]] = []
    step = 0
    while len(events) < count:
        for work in range(WORKS):
            status = "pending" if step == 0 else LIGHTNING_CYCLE[step % len(LIGHTNING_CYCLE)]
            events.append(
                {
                    "model": "lightning",
                    "type": "work",
                    "id": f"work-{work}",
                    "status": status,
                    "occurred_at": BASE + step * 10 + writer,
                    "event_id": f"w{writer}-l{step}-{work}",
                }
            )
            if work % 10:
                continue
            run = f"run-{writer}-{step}-{work}"
            for offset, status in enumerate(("Pending", "Running", "Success")):
                events.append(
                    {
                        "model": "openfn",
                        "type": "run",
                        "id": run,
                        "parent": f"wo-{work % 20}",
                        "status": status,
                        "occurred_at": BASE + step * 10 + offset,
                        "event_id": f"w{writer}-o{step}-{work}-{offset}",
                    }
                )
        step += 1
    return events[:count]


def write_jsonl(path: Path, events: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def start_worker(url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [CLI, "project", "--follow", "--json", "--interval", "0.2", "--db", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop_worker(worker: subprocess.Popen[str]) -> int:
    """SIGTERM, then the number of events the worker says it applied."""
    worker.send_signal(signal.SIGTERM)
    out, err = worker.communicate(timeout=DEADLINE)
    assert worker.returncode == 0, err
    assert "Traceback" not in err
    applied: int = json.loads(out)["applied"]
    return applied


def append(url: str, events: list[dict[str, Any]], batch_size: int = 500) -> None:
    """A writer that leaves the views to the workers."""
    with Ledger.open(url, views=False) as ledger:
        report = ledger.append(events, batch_size=batch_size)
    assert report.rejected == 0, [o.error for o in report.outcomes if o.error][:3]


def tracked(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT notification_id FROM tracking WHERE application_name = 'views'"
        ).fetchone()
    return int(row[0]) if row else 0


def lag(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT COALESCE(MAX(notification_id), 0) FROM stored_events").fetchone()
    assert row is not None
    return int(row[0]) - tracked(url)


def skip_notification_ids(url: str, count: int) -> None:
    """Burn sequence values, as rolled-back writers do, to leave a gap."""
    with psycopg.connect(url) as conn:
        conn.execute(
            "SELECT nextval(pg_get_serial_sequence('stored_events', 'notification_id')) "
            "FROM generate_series(1, %s)",
            (count,),
        )


def assert_views_equal_rebuild(url: str) -> None:
    with Ledger.open(url) as ledger:
        live = ledger.views.dump() if ledger.views else []
        ledger.rebuild()
        rebuilt = ledger.views.dump() if ledger.views else []
    assert live, "no view rows"
    assert live == rebuilt


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[str]]]:
    """Worker processes a test started; any still running at the end are killed."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for worker in started:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()


def test_concurrent_writers_lose_nothing_and_keep_one_gapless_chain(
    pg_url: str, tmp_path: Path
) -> None:
    assert subprocess.run([CLI, "init", "--db", pg_url], capture_output=True).returncode == 0
    files = []
    for writer in range(WRITERS):
        path = tmp_path / f"writer-{writer}.jsonl"
        write_jsonl(path, writer_events(writer, PER_WRITER))
        files.append(path)
    procs = [
        subprocess.Popen(
            [CLI, "import", str(path), "--json", "--batch-size", "1000", "--db", pg_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path in files
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=DEADLINE * 2)
        assert proc.returncode == 0, err
        assert json.loads(out) == {"accepted": PER_WRITER, "duplicates": 0, "rejected": 0}

    with Ledger.open(pg_url) as ledger:
        report = ledger.verify()
        assert report.ok, report.problem
        assert report.events == WRITERS * PER_WRITER
        events = list(ledger.export(with_ledger_fields=True))
    assert [e["seq"] for e in events] == list(range(1, WRITERS * PER_WRITER + 1))
    ids = Counter(e["event_id"] for e in events)
    expected = {e["event_id"] for w in range(WRITERS) for e in writer_events(w, PER_WRITER)}
    assert set(ids) == expected and set(ids.values()) == {1}
    versions: dict[tuple[str, str, str], list[int]] = {}
    for e in events:
        versions.setdefault((e["model"], e["type"], e["id"]), []).append(e["version"])
    for stream in versions.values():
        assert stream == list(range(1, len(stream) + 1))
    assert_views_equal_rebuild(pg_url)


def test_worker_killed_mid_stream_resumes_to_views_equal_to_rebuild(
    pg_url: str, workers: list[subprocess.Popen[str]]
) -> None:
    append(pg_url, writer_events(0, 4_000))
    skip_notification_ids(pg_url, 50)
    append(pg_url, writer_events(1, 2_000))
    workers.append(start_worker(pg_url))
    wait_until(lambda: tracked(pg_url) > 0, "the worker's first step")
    workers[0].kill()
    workers[0].communicate()
    assert lag(pg_url) > 0, "the worker finished before it could be killed mid-stream"

    workers.append(start_worker(pg_url))
    skip_notification_ids(pg_url, 7)
    append(pg_url, writer_events(2, 1_500), batch_size=100)
    wait_until(lambda: lag(pg_url) == 0, "the restarted worker to catch up")
    stop_worker(workers[1])
    assert_views_equal_rebuild(pg_url)


def test_two_workers_never_both_apply_and_the_standby_takes_over(
    pg_url: str, workers: list[subprocess.Popen[str]]
) -> None:
    first, second, third = (writer_events(w, 1_000) for w in range(3))
    assert subprocess.run([CLI, "init", "--db", pg_url], capture_output=True).returncode == 0
    leader = start_worker(pg_url)
    workers.append(leader)
    append(pg_url, first, batch_size=100)
    wait_until(lambda: lag(pg_url) == 0, "the first worker to apply the first events")
    standby = start_worker(pg_url)
    workers.append(standby)
    append(pg_url, second, batch_size=100)
    wait_until(lambda: lag(pg_url) == 0, "the views to catch up with both workers running")

    applied_by_leader = stop_worker(leader)
    append(pg_url, third, batch_size=100)
    wait_until(lambda: lag(pg_url) == 0, "the standby to take over")
    applied_by_standby = stop_worker(standby)

    assert applied_by_leader == len(first) + len(second)
    assert applied_by_standby == len(third)
    assert_views_equal_rebuild(pg_url)

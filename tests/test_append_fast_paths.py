"""The shortcuts taken for speed (issue 7) must not change what the ledger does:
streams cached across batches are dropped when another writer wrote, events
decoded without eventsourcing's Mapper are the Mapper's events, and an older
model version does not inherit the newer version's cached lookups."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
from eventsourcing.persistence import StoredEvent

from ledger import Ledger, ModelRegistry
from ledger._event import MAPPER, TOPIC, decode_event


def _job(job_id: str, status: str, minute: int) -> dict[str, Any]:
    return {
        "model": "uipath",
        "type": "job",
        "id": job_id,
        "status": status,
        "occurred_at": f"2024-05-01T10:{minute:02d}:00Z",
    }


def test_a_write_by_another_writer_between_batches_is_seen(sqlite_url: str) -> None:
    with Ledger.open(sqlite_url) as ours, Ledger.open(sqlite_url) as theirs:

        def inputs() -> Iterator[dict[str, Any]]:
            yield _job("j-1", "Pending", 0)
            yield _job("j-2", "Pending", 0)
            # Our first batch has committed; another writer moves j-1 on.
            theirs.record(**_job("j-1", "Running", 1))
            yield _job("j-1", "Successful", 2)
            yield _job("j-2", "Running", 3)

        report = ours.append(inputs(), batch_size=2)
        assert report.counts() == {"accepted": 4, "duplicates": 0, "rejected": 0}
        assert ours.status("uipath", "job", "j-1").status.status == "Successful"
        assert ours.views is not None
        before = ours.views.dump()
        ours.rebuild()
        assert ours.views.dump() == before
        assert ours.verify().ok


def test_streams_cached_across_batches_give_the_views_a_rebuild_gives(sqlite_url: str) -> None:
    path = ("Pending", "Running", "Suspended", "Resumed", "Successful")
    steps = [(n, status) for status in path for n in range(3)]
    events = [_job(f"j-{n}", status, minute) for minute, (n, status) in enumerate(steps)]
    with Ledger.open(sqlite_url) as ledger:
        report = ledger.append(events, batch_size=4)
        assert report.accepted == len(events)
        assert ledger.views is not None
        incremental = ledger.views.dump()
        ledger.rebuild()
        assert ledger.views.dump() == incremental


def test_decoded_events_are_the_mappers_events_including_upcast_attempts() -> None:
    current = {
        "model": "uipath",
        "type": "job",
        "id": "j",
        "status": "Pending",
        "occurred_at": 1.5,
        "schema_version": 2,
        "seq": 1,
    }
    attempt = {
        "model": "openfn",
        "type": "attempt",
        "id": "a",
        "status": "Pending",
        "occurred_at": "2024-05-01T10:00:00Z",
        "schema_version": 1,
        "seq": 2,
    }
    for state in (current, attempt):
        data = orjson.dumps(state)
        mapped = MAPPER.to_domain_event(StoredEvent("key", 3, TOPIC, data))
        decoded = decode_event("key", 3, data)
        assert type(decoded) is type(mapped)
        assert vars(decoded) == vars(mapped)


def test_an_older_model_version_forgets_the_newer_versions_statuses() -> None:
    work = ModelRegistry.builtin()["lightning"].types["work"]
    assert work.canonical("started") == "started"
    assert "started" in work.allowed_after("pending")
    older = work.at_version(1)
    assert older.canonical("started") is None
    assert "started" not in older.allowed_after("pending")

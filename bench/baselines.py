"""The yardsticks the ledger is measured against, each as plain as its name says:

A. raw sqlite3: the JSON lines inserted in one transaction under a UNIQUE
   (entity, version) key; the floor of "durably storing these events".
B. naive eventsourcing: one aggregate per entity and `Application.save` per event
   on eventsourcing's SQLite persistence (a transaction, so an fsync, per event).
C. raw read: every stored event row selected and its JSON decoded; the floor of
   "reading the history back".
D. eventsourcing's projection style: a `Projection` whose view is a
   `SQLiteTrackingRecorder`, one transaction per event (view row + tracking).
   SQLite has no subscriptions, so the events are pulled from the application's
   notification log and handed to `process_event` as `ProjectionRunner` would.

B and D pay one commit per event, so they run on a subset and are scaled to
events per second."""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Sequence
from functools import singledispatchmethod
from pathlib import Path
from typing import Any

import orjson
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder

NAMESPACE = uuid.UUID("6f1d3a52-0c8e-4b8a-9d7e-2f5e3c1b0a99")


def entity_key(event: dict[str, Any]) -> str:
    return orjson.dumps([event["model"], event["type"], event.get("parent"), event["id"]]).decode()


def raw_insert(lines: Sequence[bytes], path: Path) -> float:
    """Baseline A: seconds to insert every line, keyed by (entity, version)."""
    started = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(
        "CREATE TABLE events (seq INTEGER PRIMARY KEY, entity TEXT NOT NULL, "
        "version INTEGER NOT NULL, state TEXT NOT NULL, UNIQUE (entity, version))"
    )
    versions: dict[str, int] = {}

    def rows() -> Any:
        for line in lines:
            key = entity_key(orjson.loads(line))
            version = versions[key] = versions.get(key, 0) + 1
            yield key, version, line.decode()

    conn.execute("BEGIN")
    conn.executemany("INSERT INTO events (entity, version, state) VALUES (?, ?, ?)", rows())
    conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - started


def raw_read(path: Path) -> tuple[float, int]:
    """Baseline C: seconds to select and decode every event of a ledger store."""
    started = time.perf_counter()
    conn = sqlite3.connect(path)
    count = 0
    for _key, _version, state in conn.execute(
        "SELECT originator_id, originator_version, state FROM stored_events"
    ):
        orjson.loads(state)
        count += 1
    conn.close()
    return time.perf_counter() - started, count


class Entity(Aggregate):
    """Baseline B's aggregate: one per ledger entity, one event per status."""

    def __init__(self, key: str, payload: dict[str, Any]) -> None:
        self.key = key
        self.status = payload["status"]

    @staticmethod
    def create_id(key: str, payload: dict[str, Any]) -> uuid.UUID:
        del payload
        return uuid.uuid5(NAMESPACE, key)

    @event("Changed")
    def change(self, payload: dict[str, Any]) -> None:
        self.status = payload["status"]


class Entities(Application[uuid.UUID]):
    pass


def _env(path: Path) -> dict[str, str]:
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}


def naive_eventsourcing(lines: Sequence[bytes], path: Path) -> float:
    """Baseline B: seconds for `Application.save` per event (aggregates kept in
    memory, so only the per-event transaction is measured, not reloading)."""
    app = Entities(env=_env(path))
    aggregates: dict[str, Entity] = {}
    started = time.perf_counter()
    for line in lines:
        payload = orjson.loads(line)
        key = entity_key(payload)
        aggregate = aggregates.get(key)
        if aggregate is None:
            aggregate = aggregates[key] = Entity(key, payload)
        else:
            aggregate.change(payload)
        app.save(aggregate)
    elapsed = time.perf_counter() - started
    app.close()
    return elapsed


class StatusView(SQLiteTrackingRecorder):
    """Baseline D's materialised view: one row per entity, written with its
    tracking record in one transaction per event."""

    def create_table(self) -> None:
        super().create_table()
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS status_view "
                "(entity TEXT PRIMARY KEY, status TEXT NOT NULL, row TEXT NOT NULL)"
            )

    def upsert(self, entity: str, status: str, row: str, tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(
                "INSERT INTO status_view VALUES (?, ?, ?) ON CONFLICT (entity) DO UPDATE "
                "SET status = excluded.status, row = excluded.row",
                (entity, status, row),
            )
            self._insert_tracking(cursor, tracking)


class StatusProjection(Projection[StatusView]):
    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        payload = domain_event.payload
        status = payload["status"]
        row = orjson.dumps({"status": status, "version": domain_event.originator_version})
        self.view.upsert(str(domain_event.originator_id), status, row.decode(), tracking)


def stock_projection(source: Path, view_path: Path) -> tuple[float, int]:
    """Baseline D: seconds to project every event of baseline B's store."""
    app = Entities(env=_env(source))
    view = StatusView(SQLiteDatastore(str(view_path)))
    view.create_table()
    projection = StatusProjection(view=view)
    count = 0
    started = time.perf_counter()
    position = 1
    while True:
        notifications = app.recorder.select_notifications(position, 500)
        for n in notifications:
            domain_event = app.mapper.to_domain_event(n)
            projection.process_event(domain_event, Tracking(app.name, n.id))
            count += 1
        if len(notifications) < 500:
            break
        position = notifications[-1].id + 1
    elapsed = time.perf_counter() - started
    app.close()
    view.datastore.close()
    return elapsed, count

"""A SQLite transaction: what the ledger asks of one `BEGIN IMMEDIATE` (or read)
transaction, as statements on the raw `sqlite3` cursor. Kept apart from the store,
which opens files and hands out these transactions, so that each reads on its own;
the transaction gets only the tracking recorder it writes through, not the store."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.sqlite import SQLiteCursor, SQLiteTrackingRecorder

from .._event import TOPIC, StatusChanged
from ._base import ChainHead, Cursor, NewRecord, Transaction, grouped_streams


class _SQLiteCursor(Cursor):
    def __init__(self, raw: sqlite3.Cursor) -> None:
        self.raw = raw
        # eventsourcing's connections make sqlite3.Row objects; plain tuples are
        # what every caller here (eventsourcing's tracking calls included) indexes,
        # and they cost less on the paths that read every event
        raw.row_factory = None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.raw.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.raw.executemany(sql, rows)

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = self.raw.fetchall()
        return rows

    def fetchone(self) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self.raw.fetchone()
        return row


class SQLiteTransaction(Transaction):
    cursor: _SQLiteCursor
    NOTIFICATION_COLUMN = "rowid"
    NOTIFICATION_IDS_ARE_SEQS = True

    def __init__(self, tracking_recorder: SQLiteTrackingRecorder, raw: sqlite3.Cursor) -> None:
        self.tracking_recorder = tracking_recorder
        self.cursor = _SQLiteCursor(raw)

    def lookup_event_ids(self, event_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        found: dict[str, tuple[str, int]] = {}
        for start in range(0, len(event_ids), 500):
            chunk = event_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            self.cursor.execute(
                f"SELECT event_id, digest, seq FROM ledger_event_ids WHERE event_id IN ({marks})",
                chunk,
            )
            for event_id, digest, seq in self.cursor.fetchall():
                found[event_id] = (digest, seq)
        return found

    def insert(self, records: Sequence[NewRecord], head: ChainHead) -> list[int]:
        self.cursor.executemany(
            "INSERT INTO stored_events (rowid, originator_id, originator_version, topic, state) "
            "VALUES (?, ?, ?, ?, ?)",
            [(r.seq, r.originator_id, r.version, TOPIC, r.state) for r in records],
        )
        self.cursor.executemany(
            "INSERT INTO ledger_event_ids (event_id, digest, seq) VALUES (?, ?, ?)",
            [(r.event_id, r.digest, r.seq) for r in records],
        )
        self.move_head(head)
        return [r.seq for r in records]

    def max_notification_id(self) -> int:
        self.cursor.execute("SELECT MAX(rowid) FROM stored_events")
        row = self.cursor.fetchone()
        return int(row[0] or 0) if row else 0

    def scan_streams(
        self, upto: int, start: str = "", stop: str | None = None
    ) -> Iterator[list[StatusChanged]]:
        raw = self.cursor.raw.connection.cursor()
        raw.row_factory = None
        # every key is a JSON array, so it sorts below the last code point
        raw.execute(
            "SELECT rowid, originator_id, originator_version, state FROM stored_events "
            "WHERE originator_id >= ? AND originator_id < ? AND rowid <= ? "
            "ORDER BY originator_id, originator_version",
            (start, "\U0010ffff" if stop is None else stop, upto),
        )
        yield from grouped_streams(raw)

    def has_table(self, name: str) -> bool:
        self.cursor.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        )
        return self.cursor.fetchone() is not None

    def max_tracking_id(self, name: str) -> int:
        value = self.tracking_recorder._max_tracking_id(name, SQLiteCursor(self.cursor.raw))
        return int(value or 0)

    def set_tracking(self, name: str, notification_id: int) -> None:
        self.tracking_recorder._insert_tracking(
            SQLiteCursor(self.cursor.raw), Tracking(name, notification_id)
        )

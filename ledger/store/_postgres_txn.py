"""A PostgreSQL transaction: what the ledger asks of one transaction, as psycopg
statements (the portable '?' SQL of the views translated on the way). Kept apart
from the store, which connects, creates the schema and takes the writer lock;
the transaction gets only the recorders it writes through, not the store."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any

import psycopg
from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresTrackingRecorder
from psycopg.rows import TupleRow, tuple_row

from .._event import TOPIC, StatusChanged
from ._base import ChainHead, Cursor, NewRecord, Transaction, grouped_streams

SCAN_ITERSIZE = 2000

INSERT_EVENTS = (
    "INSERT INTO stored_events (originator_id, originator_version, topic, state) "
    "SELECT o, v, t, s FROM unnest(%b::text[], %b::bigint[], %b::text[], %b::bytea[]) "
    "WITH ORDINALITY AS batch (o, v, t, s, n) ORDER BY n RETURNING notification_id"
)

_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|[?%]|[^'\"?%-]+|-")


@lru_cache(maxsize=512)
def translate_sql(sql: str) -> str:
    """Portable '?' placeholders become psycopg's '%s'; a literal '%' is doubled so
    psycopg never reads it as a placeholder. Quoted text and comments keep their
    '?'. Values are always passed separately, never spliced in."""
    out = []
    for token in _TOKENS.findall(sql):
        if token == "?":
            out.append("%s")
        else:
            out.append(token.replace("%", "%%"))
    return "".join(out)


class _PostgresCursor(Cursor):
    def __init__(self, raw: psycopg.Cursor[TupleRow]) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.raw.execute(translate_sql(sql), tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.raw.executemany(translate_sql(sql), [tuple(r) for r in rows])

    def fetchall(self) -> list[tuple[Any, ...]]:
        return list(self.raw.fetchall())

    def fetchone(self) -> tuple[Any, ...] | None:
        return self.raw.fetchone()


class PostgresTransaction(Transaction):
    NOTIFICATION_COLUMN = "notification_id"
    NOTIFICATION_IDS_ARE_SEQS = False

    def __init__(
        self,
        recorder: PostgresApplicationRecorder,
        tracking_recorder: PostgresTrackingRecorder,
        conn: psycopg.Connection[Any],
    ) -> None:
        self.recorder = recorder
        self.tracking_recorder = tracking_recorder
        self.conn = conn
        self.raw = conn.cursor(row_factory=tuple_row)
        self.cursor = _PostgresCursor(self.raw)
        self.es_cursor = conn.cursor()

    def lookup_event_ids(self, event_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        self.raw.execute(
            "SELECT event_id, digest, seq FROM ledger_event_ids WHERE event_id = ANY(%s)",
            (list(event_ids),),
        )
        return {event_id: (digest, seq) for event_id, digest, seq in self.raw.fetchall()}

    def insert(self, records: Sequence[NewRecord], head: ChainHead) -> list[int]:
        """Rows as eventsourcing's recorder writes them, under the writer lock
        (already held) and with its NOTIFY on commit. The rows go in as four
        plain arrays rather than its composite-type array, which psycopg can only
        encode in Python (twice the cost of the whole append); WITH ORDINALITY
        makes notification ids follow `seq` within the batch."""
        self.recorder._notify_channel(self.es_cursor)
        self.raw.execute(
            INSERT_EVENTS,
            (
                [r.originator_id for r in records],
                [r.version for r in records],
                [TOPIC] * len(records),
                [r.state for r in records],
            ),
        )
        ids = [nid for (nid,) in self.raw.fetchall()]
        assert len(ids) == len(records)
        self.raw.execute(
            "INSERT INTO ledger_event_ids (event_id, digest, seq) "
            "SELECT * FROM unnest(%b::text[], %b::text[], %b::bigint[])",
            (
                [r.event_id for r in records],
                [r.digest for r in records],
                [r.seq for r in records],
            ),
        )
        self.move_head(head)
        return list(ids)

    def max_notification_id(self) -> int:
        self.es_cursor.execute(self.recorder.max_notification_id_statement)
        row = self.es_cursor.fetchone()
        return int(row["max"] or 0) if row else 0

    def scan_streams(
        self, upto: int, start: str = "", stop: str | None = None
    ) -> Iterator[list[StatusChanged]]:
        """Streams through a server-side cursor, so a rebuild never holds the whole
        store in memory."""
        sql = (
            "SELECT notification_id, originator_id, originator_version, state FROM stored_events "
            "WHERE notification_id <= %s AND originator_id >= %s "
            + ("" if stop is None else "AND originator_id < %s ")
            + "ORDER BY originator_id, originator_version"
        )
        params = (upto, start) if stop is None else (upto, start, stop)
        with self.conn.cursor(name="status_ledger_scan", row_factory=tuple_row) as raw:
            raw.itersize = SCAN_ITERSIZE
            raw.execute(sql, params)
            yield from grouped_streams(raw)

    def has_table(self, name: str) -> bool:
        self.cursor.execute("SELECT to_regclass(?::text) IS NOT NULL", (name,))
        row = self.cursor.fetchone()
        return bool(row and row[0])

    def max_tracking_id(self, name: str) -> int:
        value = self.tracking_recorder._max_tracking_id(name, self.es_cursor)
        return int(value or 0)

    def set_tracking(self, name: str, notification_id: int) -> None:
        self.tracking_recorder._insert_tracking(self.es_cursor, Tracking(name, notification_id))

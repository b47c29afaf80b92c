"""What the ledger needs from a database, whichever it is. A store row stays as dumb
as eventsourcing's (originator, version, topic, state); the meaning lives in the
ledger. Writers hold one lock per transaction because the hash chain is a single
sequence: each event's hash depends on the one before."""

from __future__ import annotations

import itertools
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, NamedTuple

from eventsourcing.persistence import ApplicationRecorder

from .._event import StatusChanged, decode_event
from .._timestamps import now_iso

STORE_FORMAT = 1
MAX_SAMPLES = 30_000  # below SQLite's limit of 32,766 bound parameters


class ChainHead(NamedTuple):
    seq: int
    hash: str
    recorded_at: str


class NewRecord(NamedTuple):
    """A fully built event ready to be inserted (named tuples, like `ChainHead`:
    an append builds one of each per event)."""

    originator_id: str
    version: int
    seq: int
    event_id: str
    digest: str
    state: bytes


class Cursor(ABC):
    """A DB-API cursor that speaks '?' placeholders on every backend."""

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    @abstractmethod
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    @abstractmethod
    def fetchall(self) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def fetchone(self) -> tuple[Any, ...] | None: ...


class StoredRow(NamedTuple):
    """Every column of one `stored_events` row, exactly as stored."""

    notification_id: int
    originator_id: str
    originator_version: int
    topic: str
    state: bytes


class Transaction(ABC):
    """One atomic unit: reads see the store as of its start plus its own writes."""

    cursor: Cursor
    NOTIFICATION_COLUMN: str  # eventsourcing's notification id: rowid, or a column
    NOTIFICATION_IDS_ARE_SEQS: bool
    """Whether an event's notification id is its seq (SQLite's rowid, set on insert)
    or only rises with it (PostgreSQL's sequence, with gaps)."""

    def head(self) -> ChainHead:
        self.cursor.execute("SELECT seq, hash, recorded_at FROM ledger_head WHERE id = 1")
        row = self.cursor.fetchone()
        return ChainHead(0, "0" * 64, "") if row is None else ChainHead(*row)

    def stream(self, originator_id: str) -> list[StatusChanged]:
        self.cursor.execute(
            "SELECT originator_version, state FROM stored_events "
            "WHERE originator_id = ? ORDER BY originator_version",
            (originator_id,),
        )
        return [decode_event(originator_id, v, s) for v, s in self.cursor.fetchall()]

    @abstractmethod
    def lookup_event_ids(self, event_ids: Sequence[str]) -> dict[str, tuple[str, int]]: ...

    @abstractmethod
    def insert(self, records: Sequence[NewRecord], head: ChainHead) -> list[int]:
        """Store the records and move the chain head; returns notification ids."""

    def move_head(self, head: ChainHead) -> None:
        self.cursor.execute(
            "INSERT INTO ledger_head (id, seq, hash, recorded_at) VALUES (1, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, "
            "recorded_at = excluded.recorded_at",
            (head.seq, head.hash, head.recorded_at),
        )

    def events_after(self, notification_id: int, limit: int) -> list[StatusChanged]:
        """The next page of events in notification order (ids may have gaps)."""
        self.cursor.execute(
            f"SELECT {self.NOTIFICATION_COLUMN}, originator_id, originator_version, state "
            f"FROM stored_events WHERE {self.NOTIFICATION_COLUMN} > ? "
            f"ORDER BY {self.NOTIFICATION_COLUMN} LIMIT ?",
            (notification_id, limit),
        )
        events = []
        for nid, originator_id, version, state in self.cursor.fetchall():
            event = decode_event(originator_id, version, state)
            event.notification_id = nid
            events.append(event)
        return events

    def stored_rows(self, after: int, limit: int) -> list[StoredRow]:
        """The next `limit` rows after a notification id, every column as stored."""
        self.cursor.execute(
            f"SELECT {self.NOTIFICATION_COLUMN}, originator_id, originator_version, topic, state "
            f"FROM stored_events WHERE {self.NOTIFICATION_COLUMN} > ? "
            f"ORDER BY {self.NOTIFICATION_COLUMN} LIMIT ?",
            (after, limit),
        )
        return [
            StoredRow(n, o, v, t, s.encode() if isinstance(s, str) else bytes(s))
            for n, o, v, t, s in self.cursor.fetchall()
        ]

    def orphan_event_ids(self, events: int) -> list[tuple[str, int]]:
        """Idempotency keys that no event among seqs 1..`events` can own: a seq out
        of that range, or a seq claimed by more than one key. (Only asked once the
        walk has matched every event to its own key, so the count alone says some
        key is extra; this names it.)"""
        self.cursor.execute(
            "SELECT event_id, seq FROM ledger_event_ids WHERE seq < 1 OR seq > ? "
            "OR seq IN (SELECT seq FROM ledger_event_ids GROUP BY seq HAVING COUNT(*) > 1) "
            "ORDER BY seq, event_id LIMIT 10",
            (events,),
        )
        return [(str(e), int(s)) for e, s in self.cursor.fetchall()]

    @abstractmethod
    def max_notification_id(self) -> int: ...

    @abstractmethod
    def scan_streams(
        self, upto: int, start: str = "", stop: str | None = None
    ) -> Iterator[list[StatusChanged]]:
        """The events up to a notification id of every stream whose key is in
        [start, stop) (stop None: no upper end), one stream at a time, in key then
        version order. Keys compare as the database orders them."""

    def stream_bounds(
        self, upto: int, cuts: Sequence[float], samples_per_range: int = 32
    ) -> list[str]:
        """Stream keys that cut the events up to `upto` at the given fractions (in
        (0, 1), ascending) into key ranges, in the database's key order. Events are
        sampled at evenly spaced notification ids (a gap samples nothing), so a
        long stream is sampled more often than a short one and the quantiles of
        the sampled keys split events, not streams; the narrowest range still gets
        about `samples_per_range` samples (fewer where MAX_SAMPLES caps them)."""
        narrowest = min(b - a for a, b in itertools.pairwise([0.0, *cuts, 1.0]))
        if narrowest <= 0:
            raise ValueError(f"cuts must rise strictly between 0 and 1: {list(cuts)}")
        if not cuts or upto < 1:
            return []
        count = min(upto, math.ceil(samples_per_range / narrowest), MAX_SAMPLES)
        ids = sorted({1 + (upto - 1) * i // count for i in range(count)})
        marks = ",".join("?" * len(ids))
        self.cursor.execute(
            f"SELECT originator_id FROM stored_events WHERE {self.NOTIFICATION_COLUMN} IN "
            f"({marks}) ORDER BY originator_id",
            ids,
        )
        keys = [row[0] for row in self.cursor.fetchall()]
        if not keys:
            return []
        return list(dict.fromkeys(keys[min(int(len(keys) * cut), len(keys) - 1)] for cut in cuts))

    @abstractmethod
    def has_table(self, name: str) -> bool:
        """Whether the store has a table of this name (tables an application adds
        beside the ledger's may be missing from a store it may only read)."""

    @abstractmethod
    def max_tracking_id(self, name: str) -> int: ...

    @abstractmethod
    def set_tracking(self, name: str, notification_id: int) -> None: ...


def grouped_streams(rows: Iterable[tuple[int, str, int, Any]]) -> Iterator[list[StatusChanged]]:
    """(notification id, originator id, version, state) rows ordered by stream,
    decoded and grouped in one loop: this is a rebuild's innermost loop."""
    stream: list[StatusChanged] = []
    key = None
    for notification_id, originator_id, version, state in rows:
        if originator_id != key:
            if stream:
                yield stream
            stream = []
            key = originator_id
        event = decode_event(originator_id, version, state)
        event.notification_id = notification_id
        stream.append(event)
    if stream:
        yield stream


class Follower:
    """A projection worker's own line to the store. The base polls: the writer
    lock already makes every catch-up transaction exclusive, so any number of
    workers may lead; backends with a server override both methods."""

    def lead(self) -> bool:
        """Try to be the one active worker of this name; True while leading."""
        return True

    def wait(self, timeout: float) -> None:
        """Return when new events may have been appended, or after `timeout` seconds."""
        time.sleep(timeout)


class EventStore(ABC):
    """An append-only, hash-chained event store with a place for views beside it."""

    url: str  # for people: no password
    address: str
    """What another process passes to `open_store` to reach this same store: an
    absolute path, or the URL as given (password included, so never shown)."""
    backend: str
    recorder: ApplicationRecorder

    @abstractmethod
    def write(self, *, bulk: bool = False) -> AbstractContextManager[Transaction]:
        """A transaction holding the store's single writer lock. `bulk` says it will
        touch many scattered pages (an append batch), which a backend may cache."""

    @abstractmethod
    def read(self) -> AbstractContextManager[Transaction]:
        """A read-only snapshot."""

    @abstractmethod
    def reading_events(self) -> AbstractContextManager[None]:
        """Translate the backend's errors while paging through the notification log."""

    def iter_events(
        self, start: int = 1, stop: int | None = None, page: int = 5000
    ) -> Iterator[StatusChanged]:
        """Every event in ledger order, paged so memory stays flat."""
        for notification_id, originator_id, version, state in self._pages(start, stop, page):
            event = decode_event(originator_id, version, state)
            event.notification_id = notification_id
            yield event

    def iter_raw(self, page: int = 5000) -> Iterator[tuple[int, str, int, bytes]]:
        """(notification id, originator id, version, state) exactly as stored."""
        yield from self._pages(1, None, page)

    def _pages(
        self, start: int, stop: int | None, page: int
    ) -> Iterator[tuple[int, str, int, bytes]]:
        position = start
        while True:
            with self.reading_events():
                batch = self.recorder.select_notifications(position, page, stop=stop)
            for n in batch:
                state = n.state.encode() if isinstance(n.state, str) else bytes(n.state)
                yield n.id, str(n.originator_id), n.originator_version, state
            if len(batch) < page:
                return
            position = batch[-1].id + 1

    def stream(self, originator_id: str) -> list[StatusChanged]:
        with self.read() as txn:
            return txn.stream(originator_id)

    @abstractmethod
    def streams_with_prefix(self, prefix: str) -> Iterator[StatusChanged]: ...

    def head(self) -> ChainHead:
        with self.read() as txn:
            return txn.head()

    def check_integrity(self) -> None:  # noqa: B027  (a backend without one checks nothing)
        """Raise CorruptStore when the database's own structures are damaged, where
        the backend has a check affordable on every `verify` (SQLite does)."""

    def event_id_count(self) -> int:
        with self.read() as txn:
            txn.cursor.execute("SELECT COUNT(*) FROM ledger_event_ids")
            row = txn.cursor.fetchone()
        return int(row[0]) if row else 0

    def saved_models(self) -> dict[str, str]:
        with self.read() as txn:
            txn.cursor.execute("SELECT name, source FROM ledger_models ORDER BY name")
            return {name: source for name, source in txn.cursor.fetchall()}

    def save_model(self, name: str, version: int, source: str) -> None:
        with self.write() as txn:
            txn.cursor.execute(
                "INSERT INTO ledger_models (name, version, source, added_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET version = excluded.version, "
                "source = excluded.source, added_at = excluded.added_at",
                (name, version, source, now_iso()),
            )

    @contextmanager
    def follower(self, name: str) -> Iterator[Follower]:
        """The line a long-lived worker named `name` holds while it runs."""
        del name
        yield Follower()

    @abstractmethod
    def close(self) -> None: ...

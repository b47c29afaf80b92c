"""Entity streams kept across one writer's batches. After validation, loading and
decoding the streams a batch touches is the largest cost of appending, and the
rules and the views need the same streams in the same transaction. A writer holds
the store's single writer lock, so when a new transaction finds the chain head
exactly where this writer's last commit left it, nobody else has written and the
streams it read or wrote before are still complete."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from .._event import StatusChanged
from ..store._base import ChainHead, Cursor, NewRecord, Transaction

CACHED_EVENTS = 200_000
"""At most this many events are held (about 1 kB each), so a long import keeps a
bounded memory; an evicted stream is simply read again."""


class StreamCache:
    """Streams by key, valid while the chain head is the one this writer committed."""

    def __init__(self, limit: int = CACHED_EVENTS) -> None:
        self.limit = limit
        self._streams: dict[str, list[StatusChanged]] = {}
        self._size = 0
        self._committed: ChainHead | None = None
        self._pending: ChainHead | None = None

    def open(self, txn: Transaction) -> CachedTransaction:
        """Wrap a writer's transaction; forget everything if another writer moved the head."""
        if txn.head() != self._committed:
            self.clear()
        self._pending = None
        return CachedTransaction(txn, self)

    def moved(self, head: ChainHead) -> None:
        """This writer's transaction moved the head (valid once it commits)."""
        self._pending = head

    def committed(self) -> None:
        """The transaction committed: its head is now the one to expect next time."""
        if self._pending is not None:
            self._committed = self._pending

    def clear(self) -> None:
        """Forget every stream (after a rollback, or when another writer wrote)."""
        self._streams.clear()
        self._size = 0
        self._committed = None
        self._pending = None

    def get(self, key: str) -> list[StatusChanged] | None:
        found = self._streams.pop(key, None)
        if found is not None:
            self._streams[key] = found  # most recently used last: evicted last
        return found

    def put(self, key: str, events: list[StatusChanged]) -> None:
        self._size += len(events) - len(self._streams.pop(key, ()))
        self._streams[key] = events
        while self._size > self.limit and self._streams:
            oldest = next(iter(self._streams))
            self._size -= len(self._streams.pop(oldest))

    def add(self, event: StatusChanged) -> None:
        """A new event of a stream read in this transaction (ignored once evicted:
        the next reader then loads the stream, new event included)."""
        stream = self._streams.get(event.originator_id)
        if stream is not None:
            stream.append(event)
            self._size += 1


class CachedTransaction(Transaction):
    """A writer's transaction whose `stream` reads go through the cache; all else
    is the backend's own."""

    def __init__(self, inner: Transaction, cache: StreamCache) -> None:
        self.inner = inner
        self.cache = cache
        self.cursor: Cursor = inner.cursor

    def stream(self, originator_id: str) -> list[StatusChanged]:
        found = self.cache.get(originator_id)
        if found is None:
            found = self.inner.stream(originator_id)
            self.cache.put(originator_id, found)
        return list(found)

    def insert(self, records: Sequence[NewRecord], head: ChainHead) -> list[int]:
        ids = self.inner.insert(records, head)
        self.cache.moved(head)
        return ids

    def head(self) -> ChainHead:
        return self.inner.head()

    def lookup_event_ids(self, event_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        return self.inner.lookup_event_ids(event_ids)

    def events_after(self, notification_id: int, limit: int) -> list[StatusChanged]:
        return self.inner.events_after(notification_id, limit)

    def has_table(self, name: str) -> bool:
        return self.inner.has_table(name)

    def max_notification_id(self) -> int:
        return self.inner.max_notification_id()

    def scan_streams(
        self, upto: int, start: str = "", stop: str | None = None
    ) -> Iterator[list[StatusChanged]]:
        return self.inner.scan_streams(upto, start, stop)

    def max_tracking_id(self, name: str) -> int:
        return self.inner.max_tracking_id(name)

    def set_tracking(self, name: str, notification_id: int) -> None:
        self.inner.set_tracking(name, notification_id)

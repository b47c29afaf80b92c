"""A throwaway copy of the events for replay: a temporary SQLite ledger holding
the stored rows byte for byte, so that candidate models or projection code can
build their views with the real rebuild path while the live store, whichever
backend it is, is only read."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson

from .._event import LEDGER_FIELDS, content_digest
from ..store._base import ChainHead, EventStore, NewRecord
from ..store._sqlite import SQLiteEventStore

PAGE = 5000


@contextmanager
def scratch_copy(source: EventStore, upto: int) -> Iterator[EventStore]:
    """A temporary store with the events of `source` up to notification id `upto`;
    deleted on exit."""
    with tempfile.TemporaryDirectory(prefix="status-ledger-replay-") as folder:
        store = SQLiteEventStore(Path(folder) / "replay.db")
        try:
            _copy(source, store, upto)
            yield store
        finally:
            store.close()


def _copy(source: EventStore, target: EventStore, upto: int) -> None:
    batch: list[NewRecord] = []
    head = ChainHead(0, "0" * 64, "")
    for notification_id, originator_id, version, state in source.iter_raw(PAGE):
        if notification_id > upto:
            break
        data = orjson.loads(state)
        content = {k: v for k, v in data.items() if k not in LEDGER_FIELDS and k != "event_id"}
        batch.append(
            NewRecord(
                originator_id,
                version,
                data["seq"],
                data["event_id"],
                content_digest(content),
                state,
            )
        )
        head = ChainHead(data["seq"], data["hash"], data["recorded_at"])
        if len(batch) >= PAGE:
            _insert(target, batch, head)
    _insert(target, batch, head)


def _insert(target: EventStore, batch: list[NewRecord], head: ChainHead) -> None:
    if batch:
        with target.write() as txn:
            txn.insert(batch, head)
        batch.clear()

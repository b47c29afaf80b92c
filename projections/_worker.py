"""The long-lived projection worker behind `status-ledger project --follow`.

Exactly once comes from the store, not from the worker: each step reads the
tracking record, applies the events after it and moves it, all in one write
transaction, so a worker killed at any point either committed a step or left no
trace of it, and a restarted worker resumes from the record. Gaps in
notification ids need no care: a step asks for ids above the record, whatever
they are.

The lease (on PostgreSQL a session advisory lock) keeps one worker per store
active and the others waiting; it saves work, while correctness never depends
on it. Waking up is the store's business too: PostgreSQL LISTENs on the channel
eventsourcing NOTIFYs at every commit, SQLite polls. Both also wake after
`interval` seconds, so a lost notification only delays a step."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ledger.spi import EventStore

WORKER_PAGE = 1000


class StopFlag(Protocol):
    """Anything whose `is_set()` turns true to ask the worker to finish
    (a threading.Event set from a signal handler)."""

    def is_set(self) -> bool: ...


class Stepper(Protocol):
    """What the worker steps: a projector's store and its `apply_next`."""

    store: EventStore

    def apply_next(self, page: int = ...) -> int: ...


def follow(
    projector: Stepper,
    stop: StopFlag,
    *,
    name: str,
    interval: float = 0.5,
    page: int = WORKER_PAGE,
    on_applied: Callable[[int], None] | None = None,
) -> int:
    """Keep the views current until `stop` is set; returns how many events this
    worker applied. Steps are small (`page` events) so writers, which queue for
    the same lock, never wait long; the flag is checked between steps, so a
    step in progress always finishes and commits."""
    applied = 0
    with projector.store.follower(name) as line:
        while not stop.is_set():
            if not line.lead():
                line.wait(interval)
                continue
            count = projector.apply_next(page)
            applied += count
            if count and on_applied is not None:
                on_applied(count)
            if count < page:
                line.wait(interval)
    return applied

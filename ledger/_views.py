"""What the ledger asks of a views implementation (`ViewService`, found through
the entry point `status_ledger.views`, so that `ledger` never imports
`projections`), and how a store is opened from its address."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol

from ._timecut import TimeCut
from ._viewrow import ViewRow
from .append._append import Projector
from .models._registry import ModelRegistry
from .replay._report import ReplayReport
from .store._base import EventStore

Scratch = Callable[[int], AbstractContextManager[EventStore]]
"""A scratch copy of a store's events up to a position, for replay to rebuild in."""


class ViewService(Projector, Protocol):
    """What the ledger asks of the projections package (found by entry point, so
    that `ledger` never imports `projections`)."""

    def catch_up(self, page: int = ...) -> int: ...

    def follow(
        self,
        stop: threading.Event,
        *,
        interval: float = ...,
        on_applied: Callable[[int], None] | None = ...,
    ) -> int: ...

    def lag(self) -> int: ...

    def rebuild(
        self,
        views: set[tuple[str, str]] | None = ...,
        progress: Callable[[int, int], None] | None = ...,
        workers: int | None = ...,
    ) -> int: ...

    def row(
        self, model: str, type_name: str, entity_id: str, parent: str | None
    ) -> list[dict[str, Any]]: ...

    def rows(self, model: str, type_name: str, **filters: Any) -> list[dict[str, Any]]: ...

    def row_at(
        self, model: str, type_name: str, entity_id: str, parent: str | None, cut: TimeCut
    ) -> ViewRow | None: ...

    def dump(self) -> list[tuple[Any, ...]]: ...

    def replay(
        self,
        candidate: ModelRegistry,
        projections: str | None,
        scratch: Scratch,
    ) -> ReplayReport: ...


def open_store(url: str) -> EventStore:
    if url.startswith(("postgresql://", "postgres://")):
        from .store._postgres import PostgresEventStore

        return PostgresEventStore(url)
    from .store._sqlite import SQLiteEventStore

    return SQLiteEventStore(url)

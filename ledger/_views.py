"""What the ledger asks of a views implementation (`ViewService`, found through
the entry point `status_ledger.views`, so that `ledger` never imports
`projections`), and how a store is opened from its address."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Literal, Protocol, get_args

from ._errors import UsageError
from ._timecut import TimeCut
from ._viewrow import ViewRow
from .append._append import Projector
from .models._registry import ModelRegistry
from .replay._report import ReplayReport, RowDiff, ViewSummary
from .store._base import EventStore

OpenMode = Literal["create", "write", "read"]
"""What the caller is about to do with a store (see `Ledger.open`)."""

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

    def count(self, model: str, type_name: str, **filters: Any) -> int: ...

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

    def check_views(self, scratch: Scratch) -> tuple[list[ViewSummary], list[RowDiff]]: ...


def open_store(url: str, *, mode: OpenMode = "create") -> EventStore:
    """The store at a file path or postgresql:// URL, opened for `mode` (see
    `Ledger.open`)."""
    if not url:
        raise UsageError("the store (--db) is empty; give a file path or a postgresql:// URL")
    if mode not in get_args(OpenMode):
        raise UsageError(f"mode must be one of {', '.join(get_args(OpenMode))}, not {mode!r}")
    if url.startswith(("postgresql://", "postgres://")):
        from .store._postgres import PostgresEventStore

        return PostgresEventStore(url, create=mode == "create")
    from .store._sqlite import SQLiteEventStore

    return SQLiteEventStore(url, create=mode == "create", check=mode != "read")


DEFAULT_DB = "status-ledger.db"


def store_url(url: str | os.PathLike[str] | None = None) -> str:
    """The store a command means: the one given, else $STATUS_LEDGER_DB, else
    ./status-ledger.db. An empty string, given or in the variable, is refused:
    it is a mistake (an unset shell variable), never the default file."""
    if url is not None:
        return os.fspath(url)
    from_env = os.environ.get("STATUS_LEDGER_DB")
    if from_env is not None and not from_env:
        raise UsageError("STATUS_LEDGER_DB is set but empty; unset it or give a store")
    return from_env or DEFAULT_DB

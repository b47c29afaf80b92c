"""`Ledger`: the one entry point. The CLI and the HTTP service are thin layers over
it; everything a user can do goes through these methods."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from importlib.metadata import entry_points
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson

from ._audit import Audit
from ._errors import InvalidModel, LedgerError, UsageError
from ._outcome import AppendReport, Outcome
from ._sweep import due_timeouts
from ._timestamps import TimeArg, written
from ._views import OpenMode, ViewService, open_store, store_url
from .append._append import Appender
from .append._prepare import RawInput
from .models._registry import ModelRegistry, builtin_sources, read_model_dir
from .models._statusmodel import StatusModel
from .replay._report import ReplayReport
from .store._base import EventStore


class Ledger(Audit):
    """An event store, its status models and its views, opened together."""

    def __init__(
        self, store: EventStore, registry: ModelRegistry, views: ViewService | None
    ) -> None:
        self.store = store
        self.registry = registry
        self.views = views
        self._lock = threading.RLock()

    @classmethod
    def open(
        cls,
        url: str | os.PathLike[str] | None = None,
        *,
        models_dir: str | os.PathLike[str] | None = None,
        views: bool = True,
        mode: OpenMode = "create",
    ) -> Ledger:
        """Open the ledger at a file path or postgresql:// URL (default:
        $STATUS_LEDGER_DB, else ./status-ledger.db; an empty string is a
        `UsageError`) for what the caller is about to do:

        - "create" (the default, what a program that records wants): a missing
          store is created; a damaged SQLite file is refused with `CorruptStore`.
        - "write": the same check, but the store must exist (`NotFound`).
        - "read": the store must exist (`NotFound`) and nothing is created on
          disk, so a mistyped path is an error and not a new empty ledger; no
          damage check, so that a damaged store can still be read and exported.

        A store "exists" when it holds the ledger's tables: an empty file or an
        empty PostgreSQL database does not."""
        store = open_store(store_url(url), mode=mode)
        try:
            sources = [builtin_sources(), store.saved_models()]
            if models_dir is not None:
                sources.append(read_model_dir(models_dir))
            registry = ModelRegistry.from_sources(*sources)
            service = _load_views(store, registry) if views else None
        except BaseException:
            store.close()
            raise
        return cls(store, registry, service)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------

    def append(
        self,
        events: Iterable[RawInput],
        *,
        batch_size: int = 2000,
        on_outcome: Callable[[Outcome], None] | None = None,
        keep_outcomes: bool = True,
        workers: int | None = None,
    ) -> AppendReport:
        """Append many events (dicts, JSON lines or EventInput), in batches of one
        transaction each; every input gets its own outcome. For inputs too large to
        keep every outcome in memory, pass `keep_outcomes=False` and stream them
        through `on_outcome`: the report then carries only the counts. `workers=2`
        has a second process parse and validate the inputs while this one writes,
        1 keeps it all here, None brings the second process in on long inputs
        when the machine has two cores (ledger/_prepare_worker.py); the results
        are the same either way."""
        if workers not in (None, 1, 2):
            raise UsageError(f"workers must be 1 or 2, not {workers!r}")
        with self._lock:
            appender = Appender(self.store, self.registry, self.views, batch_size, workers)
            return appender.run(events, on_outcome, keep_outcomes)

    def _append_own(self, events: Iterable[RawInput]) -> AppendReport:
        """The ledger's own events (the demo's), whose ids are in its namespace
        (ledger/_reserved.py); writers go through `append`."""
        with self._lock:
            appender = Appender(self.store, self.registry, self.views, own_ids=True)
            return appender.run(events)

    def record(self, **fields: Any) -> Outcome:
        """Append one event given as keyword arguments; raises its LedgerError if
        rejected. `occurred_at` may be epoch seconds written as text, as on the
        command line."""
        event = {k: v for k, v in fields.items() if v is not None}
        if isinstance(event.get("occurred_at"), str):
            event["occurred_at"] = written(event["occurred_at"])
        outcome = self.append([event]).outcomes[0]
        if outcome.error is not None:
            raise outcome.error
        return outcome

    def add_model(self, source: str | os.PathLike[str]) -> StatusModel:
        """Add (or replace) a user model from a TOML file; it is stored in the ledger."""
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise InvalidModel(f"{path}: not UTF-8 text") from None
        except OSError as exc:
            raise UsageError(f"cannot read model file {str(path)!r}: {exc.strerror}") from None
        model = StatusModel.from_toml(text, str(path))
        stranded = self._stranded_by(model)
        if stranded is not None:
            raise InvalidModel(
                f"{path}: model {model.name!r} would no longer read its stored events "
                f"({stranded}); nothing was changed. Try a candidate with `replay --models DIR`"
            )
        self.store.save_model(model.name, model.version, text)
        self.registry = self.registry.with_models([model])
        if self.views is not None:
            self.views = _load_views(self.store, self.registry)
        return model

    def _stranded_by(self, model: StatusModel) -> str | None:
        """A replacement must still know every type and status its stored events
        use, or their views would silently vanish on the next rebuild."""
        if model.name not in self.registry:
            return None
        prefix = orjson.dumps([model.name]).decode()[:-1] + ","
        for event in self.store.streams_with_prefix(prefix):
            et = model.types.get(event.type)
            if et is None:
                return f"seq {event.seq} is a {event.type!r}, a type it drops"
            if et.canonical(event.status) is None:
                return f"seq {event.seq} has status {event.status!r}, which it drops"
        return None

    def sweep(self, now: TimeArg = None, *, dry_run: bool = False) -> list[dict[str, Any]]:
        """Append the timeout events the models define (UiPath: Terminating for a
        day becomes Faulted). Running it again finds nothing more to do."""
        actions = due_timeouts(
            self.registry, lambda model, type_, status: self.list(model, type_, status=status), now
        )
        if not dry_run and actions:
            report = self.append(actions)
            for action, outcome in zip(actions, report.outcomes, strict=True):
                action["result"] = outcome.kind
        return actions

    # -- views -----------------------------------------------------------------

    def rebuild(
        self,
        view: str | None = None,
        *,
        progress: Callable[[int, int], None] | None = None,
        workers: int | None = None,
    ) -> int:
        """Rebuild all views, or one ("openfn/run", "osmo workflow"), beside the live
        ones. `workers` processes share the scan; None lets a large store use two
        when the machine has the cores (projections/_parallel.py)."""
        selected = None
        if view is not None:
            parts = view.replace("/", " ").replace(".", " ").split()
            if len(parts) != 2:
                raise UsageError(f"view {view!r} must be MODEL/TYPE, e.g. openfn/run")
            self.registry.entity_type(parts[0], parts[1], for_writing=False)
            selected = {(parts[0], parts[1])}
        with self._lock:
            return self._service().rebuild(selected, progress, workers)

    def catch_up(self) -> int:
        with self._lock:
            return self._service().catch_up()

    def follow(
        self,
        stop: threading.Event,
        *,
        interval: float = 0.5,
        on_applied: Callable[[int], None] | None = None,
    ) -> int:
        """Run as a projection worker until `stop` is set: apply new events to the
        views as they are committed, exactly once, resuming where the last worker
        stopped. Only one worker per store is active at a time (on PostgreSQL the
        others wait for its lease). Returns how many events this worker applied."""
        return self._service().follow(stop, interval=interval, on_applied=on_applied)

    def replay(
        self,
        *,
        models_dir: str | os.PathLike[str] | None = None,
        models: Iterable[StatusModel] = (),
        projections: str | None = None,
    ) -> ReplayReport:
        """Build the views a candidate would produce from the full history (models
        from `models_dir` or `models` over the installed ones; projection code from
        the importable module `projections`) in a scratch store, and compare them
        row by row with the live views. The live store is only read. With no
        candidate this is a determinism check and must find no difference."""
        from .replay._scratch import scratch_copy

        candidate = list(models)
        if models_dir is not None:
            candidate += ModelRegistry.from_sources(read_model_dir(models_dir)).values()
        report = self._service().replay(
            self.registry.with_models(candidate),
            projections,
            lambda upto: scratch_copy(self.store, upto),
        )
        report.models = None if models_dir is None else str(models_dir)
        return report


def append_own(ledger: Ledger, events: Iterable[RawInput]) -> AppendReport:
    """The ledger's own events (the demo's), whose ids are in its reserved
    namespace (ledger/_reserved.py); writers go through `Ledger.append`."""
    return ledger._append_own(events)


def _load_views(store: EventStore, registry: ModelRegistry) -> ViewService:
    found = entry_points(group="status_ledger.views", name="default")
    if not found:
        raise LedgerError("no view plugin installed (entry point status_ledger.views)")
    factory = next(iter(found)).load()
    service: ViewService = factory(store, registry)
    return service

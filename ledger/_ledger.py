"""`Ledger`: the one entry point. The CLI and the HTTP service are thin layers over
it; everything a user can do goes through these methods."""

from __future__ import annotations

import builtins
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from importlib.metadata import entry_points
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ._checkpoint import (
    Checkpoint,
    append_checkpoint,
    is_store,
    load_private_key,
    load_public_key,
    make_checkpoint,
    read_checkpoint_file,
    store_checkpoint,
    stored_checkpoints,
)
from ._errors import InvalidModel, LedgerError, NotFound, UsageError
from ._event import StatusChanged
from ._history import HistoryEntry, history_entry
from ._identity import stream_key
from ._outcome import AppendReport, Outcome
from ._paging import RowKey, parse_cursor
from ._sweep import due_timeouts
from ._timecut import TimeCut
from ._timestamps import TimeArg, parse_time, to_epoch, written
from ._verify import VerifyReport, verify_chain
from ._viewrow import ViewRow
from ._views import OpenMode, ViewService, open_store
from .append._append import Appender
from .append._prepare import RawInput
from .models._registry import ModelRegistry, builtin_sources, read_model_dir
from .models._statusmodel import EntityType, StatusModel
from .replay._report import ReplayReport
from .store._base import EventStore

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


class Ledger:
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

    # -- reading ---------------------------------------------------------------

    def _service(self) -> ViewService:
        if self.views is None:
            raise UsageError("this ledger was opened without views")
        return self.views

    def status(
        self,
        model: str,
        type: str,
        id: str,
        *,
        parent: str | None = None,
        as_of: TimeArg = None,
        known_at: TimeArg = None,
    ) -> ViewRow:
        """The view row of one entity, now or as of a past time."""
        et = self.registry.entity_type(model, type, for_writing=False)
        label = f"{model} {type} {id}"
        service = self._service()
        if as_of is not None or known_at is not None:
            row = service.row_at(
                model,
                type,
                id,
                parent or self._parent_of(model, type, id, parent),
                _cut(as_of, known_at),
            )
            if row is None:
                raise NotFound(f"{label} did not exist at that time", entity=label)
            return row
        rows = service.row(model, type, id, parent)
        if not rows:
            raise NotFound(f"no {label}" + (f" in {parent}" if parent else ""), entity=label)
        if len(rows) > 1:
            raise _ambiguous(et, label, rows)
        return ViewRow.model_validate(rows[0])

    def _parent_of(self, model: str, type: str, id: str, parent: str | None) -> str | None:
        if parent is not None:
            return parent
        rows = self._service().row(model, type, id, None)
        if len(rows) > 1:
            raise _ambiguous(self.registry[model].types[type], f"{model} {type} {id}", rows)
        return rows[0]["parent"] if rows else None

    def list(
        self,
        model: str,
        type: str,
        *,
        status: str | None = None,
        parent: str | None = None,
        as_of: TimeArg = None,
        known_at: TimeArg = None,
        limit: int | None = None,
        offset: int = 0,
        after: str | None = None,
    ) -> builtins.list[ViewRow]:
        """View rows of one type in (parent, id) order, filtered by status (any
        case, aliases allowed; an unknown one is UnknownStatus) and parent.
        `after` is the cursor of the previous page (`page_cursor` of its last row)."""
        wanted, start = self._filters(model, type, status, after)
        service = self._service()
        if as_of is None and known_at is None:
            rows = service.rows(
                model, type, status=wanted, parent=parent, limit=limit, offset=offset, after=start
            )
            return [ViewRow.model_validate(r) for r in rows]
        result = self._rows_at(model, type, wanted, parent, start, _cut(as_of, known_at))
        return result[offset : None if limit is None else offset + limit]

    def count(
        self,
        model: str,
        type: str,
        *,
        status: str | None = None,
        parent: str | None = None,
        as_of: TimeArg = None,
        known_at: TimeArg = None,
        after: str | None = None,
    ) -> int:
        """How many rows `list` would give without a limit: what a page that
        stops early says is left (`... 34900 more`)."""
        wanted, start = self._filters(model, type, status, after)
        if as_of is None and known_at is None:
            return self._service().count(model, type, status=wanted, parent=parent, after=start)
        return len(self._rows_at(model, type, wanted, parent, start, _cut(as_of, known_at)))

    def _filters(
        self, model: str, type: str, status: str | None, after: str | None
    ) -> tuple[str | None, RowKey | None]:
        self.registry.entity_type(model, type, for_writing=False)
        wanted = self.registry.view_status(model, type, status) if status is not None else None
        return wanted, parse_cursor(after) if after is not None else None

    def _rows_at(
        self,
        model: str,
        type: str,
        wanted: str | None,
        parent: str | None,
        start: RowKey | None,
        cut: TimeCut,
    ) -> builtins.list[ViewRow]:
        service = self._service()
        result = []
        for current in service.rows(model, type, parent=parent, after=start):
            past = service.row_at(model, type, current["id"], current.get("parent"), cut)
            if past is not None and (wanted is None or past.status.status == wanted):
                result.append(past)
        return result

    def history(
        self,
        model: str,
        type: str,
        id: str,
        *,
        parent: str | None = None,
        as_of: TimeArg = None,
        known_at: TimeArg = None,
    ) -> builtins.list[HistoryEntry]:
        """Every event of an entity (of its children, for derived types) in occurred order."""
        et = self.registry.entity_type(model, type, for_writing=False)
        found_parent = self._parent_of(model, type, id, parent) if not et.derived else None
        events: builtins.list[StatusChanged] = []
        if et.derived:
            assert et.child is not None
            child_et = self.registry.entity_type(model, et.child, for_writing=False)
            for child in self._service().rows(model, et.child, parent=id):
                events += self.store.stream(stream_key(model, child_et, child["id"], id))
        if not et.derived or et.written:
            events += self.store.stream(stream_key(model, et, id, found_parent))
        cut = _cut(as_of, known_at)
        events = [e for e in events if cut.keeps(e)]
        if not events:
            raise NotFound(f"no events for {model} {type} {id}", entity=f"{model} {type} {id}")
        events.sort(key=lambda e: (to_epoch(e.occurred_at), e.seq))
        return [history_entry(self.registry, e) for e in events]

    def verify(
        self,
        *,
        views: bool = False,
        against: Iterable[str | os.PathLike[str] | Checkpoint] = (),
        public_key: str | os.PathLike[str] | Ed25519PublicKey | None = None,
    ) -> VerifyReport:
        """Check every event, idempotency key and the chain head (docs/guarantees.md
        section 6), and on SQLite the file's own structures (CorruptStore).
        `against`: checkpoints (files of them, stores holding them, or Checkpoint
        objects) the ledger must still extend; `public_key` (a key file or key)
        proves they were signed with that key. `views`: compare the views with a
        rebuild in a scratch store, row by row; the live views are only read."""
        checkpoints = [c for source in against for c in load_checkpoints(source)]
        trusted = (
            public_key
            if public_key is None or isinstance(public_key, Ed25519PublicKey)
            else load_public_key(public_key)
        )
        report = verify_chain(self.store, self.registry, checkpoints, trusted)
        if views:
            from .replay._scratch import scratch_copy

            summaries, differences = self._service().check_views(
                lambda upto: scratch_copy(self.store, upto)
            )
            report.views, report.view_differences = summaries, differences
            if differences and report.ok:
                first = differences[0]
                report.ok = False
                report.code = "views_differ"
                report.problem = (
                    f"{len(differences)} view rows differ from a rebuild of the events, "
                    f"first {first.view} {first.id} ({first.kind}): run `rebuild`"
                )
        return report

    def checkpoint(
        self,
        key: str | os.PathLike[str] | Ed25519PrivateKey,
        *,
        append_to: str | os.PathLike[str] | None = None,
        to_store: str | None = None,
    ) -> Checkpoint:
        """Sign the chain head (seq, hash, now) with an Ed25519 key; append the
        statement to a file and/or record it in another store. Keep both where the
        ledger's writers cannot change them: `verify(against=...)` then proves the
        ledger still extends it. The head is signed as it is: verify first."""
        signing = key if isinstance(key, Ed25519PrivateKey) else load_private_key(key)
        made = make_checkpoint(self.store.head(), signing)
        if to_store is not None:
            target = open_store(to_store)
            try:
                if target.address == self.store.address:
                    raise UsageError(
                        "--to-store must be another store: whoever rewrites this ledger "
                        "could rewrite its checkpoints too"
                    )
                store_checkpoint(target, made)
            finally:
                target.close()
        if append_to is not None:
            append_checkpoint(append_to, made)
        return made

    def export(self, *, with_ledger_fields: bool = False) -> Iterator[dict[str, Any]]:
        """Events in ledger order as written (importing them into an empty store
        reproduces it), optionally with the ledger's own fields."""
        for event in self.store.iter_events():
            yield event.with_ledger_fields() if with_ledger_fields else event.written()

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


def load_checkpoints(source: str | os.PathLike[str] | Checkpoint) -> builtins.list[Checkpoint]:
    """The checkpoints of a file of statements, of a store they were recorded in
    (`checkpoint --to-store`), or one given as is."""
    if isinstance(source, Checkpoint):
        return [source]
    name = os.fspath(source)
    if not is_store(name):
        return read_checkpoint_file(name)
    store = open_store(name)
    try:
        return stored_checkpoints(store)
    finally:
        store.close()


def append_own(ledger: Ledger, events: Iterable[RawInput]) -> AppendReport:
    """The ledger's own events (the demo's), whose ids are in its reserved
    namespace (ledger/_reserved.py); writers go through `Ledger.append`."""
    return ledger._append_own(events)


def _ambiguous(et: EntityType, label: str, rows: builtins.list[dict[str, Any]]) -> UsageError:
    """A group name used in several workflows needs its workflow named."""
    parents = sorted(r["parent"] for r in rows)
    return UsageError(
        f"{label} exists in several {et.parent.type if et.parent else 'parent'}s "
        f"({', '.join(parents)}); give --parent",
        allowed=parents,
    )


def _cut(as_of: TimeArg, known_at: TimeArg) -> TimeCut:
    return TimeCut(
        None if as_of is None else parse_time(as_of),
        None if known_at is None else parse_time(known_at),
    )


def _load_views(store: EventStore, registry: ModelRegistry) -> ViewService:
    found = entry_points(group="status_ledger.views", name="default")
    if not found:
        raise LedgerError("no view plugin installed (entry point status_ledger.views)")
    factory = next(iter(found)).load()
    service: ViewService = factory(store, registry)
    return service

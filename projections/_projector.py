"""Keeps the views current and rebuilds them. A row is a pure function of its
entity's events, so applying an event means recomputing the rows it touches;
the tracking record (eventsourcing's) commits with those rows, so a crash at any
point leaves views that either include an event or will apply it once more."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any

import orjson

from ledger import (
    ConcurrencyConflict,
    EntityType,
    EventStore,
    ModelRegistry,
    ReadOnlyStore,
    ReplayReport,
    RowDiff,
    StatusChanged,
    TimeCut,
    Transaction,
    ViewRow,
    ViewSummary,
    stream_key,
)

from . import _table as table
from ._derived import (
    Child,
    aggregate_row,
    child_from_row,
    derive_aggregate,
    derive_last_child,
    last_child_row,
)
from ._entity import Mark, Row, entity_row, project_entity
from ._parallel import (
    DerivedJob,
    Own,
    Range,
    Tally,
    build_in_parallel,
    key_ranges,
    range_cuts,
    worker_count,
)
from ._worker import StopFlag, follow

TRACKING = "views"
REBUILD_CLAIM = "rebuild_claim"
PAGE = 5000
REBUILD_BUFFER_EVENTS = 50_000
"""A rebuild writes its rows when they cover this many events, not only every PAGE
rows: a row's trail holds every status of its entity, so counting rows alone lets
memory grow with the events per entity (about 250 MB at 2M events over 20k
entities) instead of staying flat."""
ViewName = tuple[str, str]
Progress = Callable[[int, int], None]
Scratch = Callable[[int], AbstractContextManager[EventStore]]


class ViewProjector:
    """The views of one store under one model registry.

    The three functions that turn events into rows are attributes, so that
    candidate projection code (`replay --projections MODULE`) can replace them."""

    project_entity = staticmethod(project_entity)
    derive_last_child = staticmethod(derive_last_child)
    derive_aggregate = staticmethod(derive_aggregate)

    def __init__(self, store: EventStore, registry: ModelRegistry) -> None:
        self.store = store
        self.registry = registry
        self.claim = ""
        self._merged = {
            (name, et.child)
            for name, model in registry.items()
            for et in model.types.values()
            if et.derived and et.child
        }
        try:
            with store.write() as txn:
                table.create_table(txn.cursor, table.LIVE, indexes=True)
        except ReadOnlyStore:
            pass  # a read-only store is read through the views it already has

    def runs_builtin_code(self) -> bool:
        """Whether rows come from this module's own functions: no subclass, no
        replaced hook. Only then can spawned workers share a rebuild."""
        return (
            type(self) is ViewProjector
            and self.project_entity is project_entity
            and self.derive_last_child is derive_last_child
            and self.derive_aggregate is derive_aggregate
        )

    def _entity_row(
        self, model: str, et: EntityType, events: list[StatusChanged]
    ) -> tuple[Row, list[Mark]]:
        """The built-in projection goes straight to the stored JSON form; replaced
        hooks (candidate code) return a ViewRow, dumped to the same form."""
        if self.project_entity is project_entity:
            return entity_row(model, et, events)
        row, trail = self.project_entity(model, et, events)
        return row.model_dump(mode="json"), trail

    def _encoded(self, model: str, et: EntityType, events: list[StatusChanged]) -> table.Encoded:
        """A written entity's table row. Trails exist so that derived views can merge
        their children's marks: a type nothing derives from stores none, which is
        most of what a rebuild or an import would otherwise write."""
        row, trail = self._entity_row(model, et, events)
        return table.encode(row, trail if (model, et.name) in self._merged else ())

    def _type(self, model: str, type_name: str) -> EntityType | None:
        found = self.registry.get(model)
        return None if found is None else found.types.get(type_name)

    def _derived_of(self, model: str, child: str) -> list[EntityType]:
        found = self.registry.get(model)
        if found is None:
            return []
        return [t for t in found.types.values() if t.derived and t.child == child]

    # -- incremental -------------------------------------------------------

    def apply(self, txn: Transaction, events: list[StatusChanged]) -> None:
        """Bring the live views up to and including `events`, inside `txn`."""
        tracked = txn.max_tracking_id(TRACKING)
        pending = [e for e in events if e.notification_id > tracked]
        if not pending:
            return
        backlog: list[StatusChanged] = []
        # Only ids strictly between the tracking record and the first pending event
        # can be a backlog; when there are none (the usual case) nothing is read.
        while tracked < pending[0].notification_id - 1:
            fetched = txn.events_after(tracked, PAGE)
            page = [e for e in fetched if e.notification_id < pending[0].notification_id]
            backlog.extend(page)
            if not page or len(page) < len(fetched):
                break
            tracked = page[-1].notification_id
        self._update(txn, table.LIVE, [*backlog, *pending], None)
        txn.set_tracking(TRACKING, pending[-1].notification_id)

    def catch_up(self, page: int = PAGE) -> int:
        """Apply whatever the views have not seen yet; returns how many events."""
        applied = 0
        while step := self.apply_next(page):
            applied += step
        return applied

    def apply_next(self, page: int = PAGE) -> int:
        """Apply at most `page` unseen events in one transaction; returns how many.
        The tracking record is read and moved under the writer lock, so workers
        running at once never apply an event twice."""
        with self.store.write() as txn:
            tracked = txn.max_tracking_id(TRACKING)
            events = txn.events_after(tracked, page)
            if events:
                self._update(txn, table.LIVE, events, None)
                txn.set_tracking(TRACKING, events[-1].notification_id)
        return len(events)

    def follow(
        self,
        stop: StopFlag,
        *,
        interval: float = 0.5,
        on_applied: Callable[[int], None] | None = None,
    ) -> int:
        """Run as the store's projection worker until `stop` is set (see _worker)."""
        return follow(self, stop, name=TRACKING, interval=interval, on_applied=on_applied)

    def lag(self) -> int:
        with self.store.read() as txn:
            return max(0, txn.max_notification_id() - txn.max_tracking_id(TRACKING))

    def _update(
        self,
        txn: Transaction,
        target: str,
        events: Iterable[StatusChanged],
        only: set[ViewName] | None,
    ) -> None:
        latest: dict[str, StatusChanged] = {}
        upto = 0
        for event in events:
            latest[event.originator_id] = event
            upto = max(upto, event.seq)
        rows: list[table.Encoded] = []
        parents: set[tuple[str, str, str]] = set()
        for key, event in latest.items():
            et = self._type(event.model, event.type)
            if et is None:
                continue
            if et.derived:
                parents.add((event.model, et.name, event.id))
                continue
            for derived in self._derived_of(event.model, et.name):
                if event.parent is not None:
                    parents.add((event.model, derived.name, event.parent))
            if _includes(only, event.model, et.name):
                # only events up to the checkpoint: a lagging projector must not
                # show later events of an entity before it has applied them
                applied = [e for e in txn.stream(key) if e.seq <= upto]
                rows.append(self._encoded(event.model, et, applied))
        table.upsert(txn.cursor, target, rows)
        for model, type_name, parent_id in sorted(parents):
            if _includes(only, model, type_name):
                self._derive_one(txn, target, model, type_name, parent_id, upto, only)

    def _derive_one(
        self,
        txn: Transaction,
        target: str,
        model: str,
        type_name: str,
        entity_id: str,
        upto: int,
        only: set[ViewName] | None,
    ) -> None:
        """A derived row into `target`, from the children there; a rebuild of the
        derived view alone finds them in the live views, as its scan did."""
        et = self._type(model, type_name)
        assert et is not None and et.child is not None
        child_et = self._type(model, et.child)
        assert child_et is not None
        children = target if _includes(only, model, et.child) else table.LIVE
        kids = [
            child_from_row(r, t)
            for r, t in table.children(txn.cursor, children, model, et.child, entity_id)
        ]
        own = txn.stream(stream_key(model, et, entity_id, None)) if et.written else []
        own = [e for e in own if e.seq <= upto]
        row = self._derived_row(model, et, child_et, entity_id, own, kids)
        if row is None:
            table.delete(txn.cursor, target, model, type_name, "", entity_id)
        else:
            table.upsert(txn.cursor, target, [table.encode(row, [])])

    # -- rebuild -------------------------------------------------------------

    def rebuild(
        self,
        views: set[ViewName] | None = None,
        progress: Progress | None = None,
        workers: int | None = None,
    ) -> int:
        """Build fresh views beside the live ones, then swap them in one transaction.
        Readers see the old views until the swap; a crash leaves them untouched.
        `workers` processes share the scan (None: as many as pay off, see _parallel).
        Returns how many events the views now stand on: the chain head's seq, not
        the highest notification id, which on PostgreSQL has gaps where a
        transaction was rolled back (a killed import)."""
        selected = self._closure(views)
        self.claim = uuid.uuid4().hex
        with self.store.write() as txn:
            txn.cursor.execute(
                "INSERT INTO ledger_meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (REBUILD_CLAIM, self.claim),
            )
            txn.cursor.execute(f"DROP TABLE IF EXISTS {table.NEXT}")
            table.create_table(txn.cursor, table.NEXT, indexes=False)
        with self.store.read() as txn:
            upto = txn.max_notification_id()
            total = txn.head().seq  # the events up to `upto`, gaps or not
            count = worker_count(self, workers, total)
            bounds = txn.stream_bounds(upto, range_cuts(count))
        self._build(upto, total, bounds, selected, progress, count)
        with self.store.write() as txn:
            self._still_ours(txn)
            while True:
                late = txn.events_after(upto, PAGE)
                if not late:
                    break
                self._update(txn, table.NEXT, late, selected)
                upto = late[-1].notification_id
            self._swap(txn, selected)
            if selected is None and upto > txn.max_tracking_id(TRACKING):
                txn.set_tracking(TRACKING, upto)
            txn.cursor.execute("DELETE FROM ledger_meta WHERE key = ?", (REBUILD_CLAIM,))
            return txn.head().seq

    def holds_claim(self, txn: Transaction) -> bool:
        txn.cursor.execute("SELECT value FROM ledger_meta WHERE key = ?", (REBUILD_CLAIM,))
        row = txn.cursor.fetchone()
        return row is not None and row[0] == self.claim

    def _still_ours(self, txn: Transaction) -> None:
        """Two rebuilds share `views_next`: the one started last owns it, and an
        earlier one stops before it writes into a table it no longer owns."""
        if not self.holds_claim(txn):
            raise ConcurrencyConflict(
                "another rebuild started after this one; it will finish the views"
            )

    def _closure(self, views: set[ViewName] | None) -> set[ViewName] | None:
        """A rebuilt view takes the views derived from it along."""
        if views is None:
            return None
        result = set(views)
        for model, type_name in views:
            result |= {(model, d.name) for d in self._derived_of(model, type_name)}
        return result

    def _build(
        self,
        upto: int,
        total: int,
        bounds: list[str],
        selected: set[ViewName] | None,
        progress: Progress | None,
        workers: int,
    ) -> None:
        """Write every selected row into `views_next`: the written entities first,
        then the derived ones, which read their children back from it."""
        ranges = key_ranges(bounds)
        reported = 0

        def report(done: int) -> None:
            nonlocal reported
            reported = done
            if progress:
                progress(done, total)

        tally = Tally(report)
        if workers > 1:
            build_in_parallel(self, upto, ranges, selected, workers, tally)
        else:
            own = self.build_ranges(upto, selected, ranges, tally)
            for job in self.derived_jobs(selected, own):
                self.build_derived(job)
        if progress and reported != total:
            progress(total, total)

    def build_ranges(
        self,
        upto: int,
        selected: set[ViewName] | None,
        ranges: Iterable[Range],
        tally: Tally,
    ) -> Own:
        """Write the rows of every written entity whose stream key is in `ranges`
        into `views_next`; return the derived types' own streams met on the way.
        Each range is read in its own snapshot (events up to `upto` never change):
        a snapshot held for the whole scan would stop SQLite from checkpointing the
        rows written meanwhile, leaving all of them to the swap's commit."""
        own: Own = {}
        buffer: list[table.Encoded] = []
        scanned = 0
        buffered_events = 0
        for start, stop in ranges:
            with self.store.read() as snapshot:
                for events in snapshot.scan_streams(upto, start, stop):
                    scanned += len(events)
                    first = events[0]
                    et = self._type(first.model, first.type)
                    if et is None:
                        continue
                    if et.derived:
                        own[(first.model, et.name, first.id)] = events
                        continue
                    if not _includes(selected, first.model, et.name):
                        continue
                    buffer.append(self._encoded(first.model, et, events))
                    buffered_events += len(events)
                    if len(buffer) >= PAGE or buffered_events >= REBUILD_BUFFER_EVENTS:
                        self._flush(buffer)
                        buffered_events = 0
                        tally.add(scanned)
                        scanned = 0
        self._flush(buffer)
        tally.add(scanned)
        return own

    def _flush(self, buffer: list[table.Encoded]) -> None:
        if buffer:
            with self.store.write() as txn:
                self._still_ours(txn)
                table.upsert(txn.cursor, table.NEXT, buffer)
            buffer.clear()

    def derived_jobs(
        self, selected: set[ViewName] | None, own: Own, pieces: int = 1
    ) -> list[DerivedJob]:
        """`pieces` jobs per selected derived type (see DerivedJob). The parents are
        read here, once, so the pieces share them out without overlap. Children
        read from the live views (only the derived view rebuilt) may change before
        a piece reads them, so such a type is built in one piece, which reads
        every child it finds then."""
        with self.store.read() as txn:
            return [
                job
                for model_name, model in self.registry.items()
                for et in model.types.values()
                if et.derived and _includes(selected, model_name, et.name)
                for job in self._pieces(txn, model_name, et, selected, own, pieces)
            ]

    def _pieces(
        self,
        txn: Transaction,
        model: str,
        et: EntityType,
        selected: set[ViewName] | None,
        own: Own,
        pieces: int,
    ) -> list[DerivedJob]:
        assert et.child is not None
        rebuilt = _includes(selected, model, et.child)
        parents = table.parents(txn.cursor, table.NEXT, model, et.child) if rebuilt else []
        streams = {i: events for (m, t, i), events in own.items() if (m, t) == (model, et.name)}
        own_only = sorted(streams.keys() - set(parents))
        count = pieces if rebuilt else 1
        jobs = []
        for piece in range(count):
            share = _share(parents, piece, count)
            ids = [*share, *_share(own_only, piece, count)]
            mine = {(model, et.name, i): streams[i] for i in ids if i in streams}
            jobs.append(DerivedJob(model, et.name, rebuilt, share, mine))
        return jobs

    def build_derived(self, job: DerivedJob) -> None:
        """Write a derived type's rows into `views_next`, from its children's rows
        (rebuilt ones, or the live ones when only the derived view is rebuilt)."""
        et = self.registry.model(job.model).types[job.type]
        assert et.child is not None
        child_et = self.registry.model(job.model).types[et.child]
        with self.store.read() as txn:
            if job.children_rebuilt:
                kids = (
                    _children_by_parent(
                        txn, table.NEXT, job.model, et.child, job.parents[0], job.parents[-1]
                    )
                    if job.parents
                    else {}
                )
            else:
                kids = _children_by_parent(txn, table.LIVE, job.model, et.child)
        ids = list(dict.fromkeys([*kids, *job.parents, *(i for (_, _, i) in job.own)]))
        rows: list[table.Encoded] = []
        for entity_id in ids:
            row = self._derived_row(
                job.model,
                et,
                child_et,
                entity_id,
                job.own.get((job.model, job.type, entity_id), []),
                kids.get(entity_id, []),
            )
            if row is not None:
                rows.append(table.encode(row, []))
            if len(rows) >= PAGE:
                self._flush(rows)
        self._flush(rows)

    def _swap(self, txn: Transaction, selected: set[ViewName] | None) -> None:
        cursor = txn.cursor
        if selected is None:
            cursor.execute(f"DROP TABLE {table.LIVE}")
            cursor.execute(f"ALTER TABLE {table.NEXT} RENAME TO {table.LIVE}")
            table.create_indexes(cursor, table.LIVE)
            return
        for model, type_name in sorted(selected):
            cursor.execute(
                f"DELETE FROM {table.LIVE} WHERE model = ? AND type = ?", (model, type_name)
            )
        cursor.execute(
            f"INSERT INTO {table.LIVE} ({table.COLUMNS}) SELECT {table.COLUMNS} FROM {table.NEXT}"
        )
        cursor.execute(f"DROP TABLE {table.NEXT}")

    # -- reads -----------------------------------------------------------------

    def row(
        self, model: str, type_name: str, entity_id: str, parent: str | None
    ) -> list[dict[str, Any]]:
        with self.store.read() as txn:
            return table.find(txn.cursor, model, type_name, entity_id, parent)

    def rows(self, model: str, type_name: str, **filters: Any) -> list[dict[str, Any]]:
        with self.store.read() as txn:
            return table.select(txn.cursor, model, type_name, **filters)

    def count(self, model: str, type_name: str, **filters: Any) -> int:
        with self.store.read() as txn:
            return table.count(txn.cursor, model, type_name, **filters)

    def row_at(
        self, model: str, type_name: str, entity_id: str, parent: str | None, cut: TimeCut
    ) -> ViewRow | None:
        """A row as it was (or as it was known) at a past time, from the events."""
        et = self._type(model, type_name)
        if et is None:
            return None
        if et.derived:
            assert et.child is not None
            child_et = self._type(model, et.child)
            assert child_et is not None
            child_rows = self.rows(model, et.child, parent=entity_id)
            kids = []
            for child in child_rows:
                events = [
                    e
                    for e in self.store.stream(stream_key(model, child_et, child["id"], entity_id))
                    if cut.keeps(e)
                ]
                if events:
                    kid_row, trail = self.project_entity(model, child_et, events)
                    kids.append(Child(kid_row.id, trail, kid_row.last_actor, kid_row.forced))
            own = (
                [
                    e
                    for e in self.store.stream(stream_key(model, et, entity_id, None))
                    if cut.keeps(e)
                ]
                if et.written
                else []
            )
            return self._derive(model, et, child_et, entity_id, own, kids)
        events = [
            e for e in self.store.stream(stream_key(model, et, entity_id, parent)) if cut.keeps(e)
        ]
        if not events:
            return None
        return self.project_entity(model, et, events)[0]

    def dump(self) -> list[tuple[Any, ...]]:
        with self.store.read() as txn:
            return table.dump(txn.cursor)

    def _derive(
        self,
        model: str,
        et: EntityType,
        child_et: EntityType,
        entity_id: str,
        own: list[StatusChanged],
        kids: list[Child],
    ) -> ViewRow | None:
        if et.derived == "last_child":
            return self.derive_last_child(model, et, child_et, entity_id, kids)
        return self.derive_aggregate(model, et, child_et, entity_id, own, kids)

    def _derived_row(
        self,
        model: str,
        et: EntityType,
        child_et: EntityType,
        entity_id: str,
        own: list[StatusChanged],
        kids: list[Child],
    ) -> Row | None:
        """As `_entity_row`, for derived views (a subclass may override `_derive`)."""
        if type(self)._derive is ViewProjector._derive:
            if et.derived == "last_child" and self.derive_last_child is derive_last_child:
                return last_child_row(model, et, child_et, entity_id, kids)
            if et.derived != "last_child" and self.derive_aggregate is derive_aggregate:
                return aggregate_row(model, et, child_et, entity_id, own, kids)
        row = self._derive(model, et, child_et, entity_id, own, kids)
        return None if row is None else row.model_dump(mode="json")

    # -- replay ----------------------------------------------------------------

    def replay(
        self, candidate: ModelRegistry, projections: str | None, scratch: Scratch
    ) -> ReplayReport:
        """Build the views `candidate` models and `projections` code would give from
        the full history in a scratch store, and compare them with the live ones."""
        from ._replay import replay

        return replay(self.store, candidate, projections, scratch)

    def check_views(self, scratch: Scratch) -> tuple[list[ViewSummary], list[RowDiff]]:
        """The live views against a rebuild into a scratch store (`verify --views`)."""
        from ._replay import check_views

        return check_views(self.store, self.registry, scratch)


def _includes(views: set[ViewName] | None, model: str, type_name: str) -> bool:
    """Whether a rebuild or an update of `views` (None: every view) covers a type."""
    return views is None or (model, type_name) in views


def _share(values: list[str], piece: int, pieces: int) -> list[str]:
    """The piece-th of `pieces` contiguous slices: together they hold every value
    once, and each is a run of neighbours in the list's order."""
    return values[piece * len(values) // pieces : (piece + 1) * len(values) // pieces]


def _children_by_parent(
    txn: Transaction,
    source: str,
    model: str,
    child: str,
    first: str | None = None,
    last: str | None = None,
) -> dict[str, list[Child]]:
    """The children of the parents from `first` to `last` in the database's order
    (None: every parent)."""
    if first is None or last is None:
        txn.cursor.execute(
            f"SELECT parent, row, trail FROM {source} WHERE model = ? AND type = ? "
            "ORDER BY parent, id",
            (model, child),
        )
    else:
        txn.cursor.execute(
            f"SELECT parent, row, trail FROM {source} WHERE model = ? AND type = ? "
            "AND parent >= ? AND parent <= ? ORDER BY parent, id",
            (model, child, first, last),
        )
    out: dict[str, list[Child]] = {}
    for parent, row, trail in txn.cursor.fetchall():
        out.setdefault(parent, []).append(child_from_row(orjson.loads(row), orjson.loads(trail)))
    return out

"""Keeping the views current: a row is a pure function of its entity's events,
so applying an event means recomputing the rows it touches; the tracking record
(eventsourcing's) commits with those rows, so a crash at any point leaves views
that either include an event or will apply it once more."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ledger.spi import StatusChanged, Transaction, stream_key

from . import _table as table
from ._derived import child_from_row
from ._rows import Rows, ViewName, _includes
from ._table import PAGE, TRACKING
from ._worker import StopFlag, follow


class Apply(Rows):
    """Incremental updates of the live views, inside a writer's transaction or
    page by page after the tracking record."""

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

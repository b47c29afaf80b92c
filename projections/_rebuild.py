"""Rebuilding views beside the live ones: rows are written into `views_next`
(the written entities, then the derived ones, which read their children back
from it), the events that arrived meanwhile are applied, and the tables are
swapped in one transaction. Readers see the old views until the swap; a crash
leaves them untouched. On a large store the scan is shared with worker
processes (_parallel.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from ledger import ConcurrencyConflict, EntityType
from ledger.spi import Transaction

from . import _table as table
from ._apply import Apply
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
from ._rows import Progress, ViewName, _includes
from ._table import PAGE, REBUILD_BUFFER_EVENTS, TRACKING


class Rebuild(Apply):
    """A full or partial rebuild, alone or shared with worker processes."""

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
            table.start_rebuild(txn.cursor, self.claim)
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
            table.swap(txn.cursor, selected)
            if selected is None and upto > txn.max_tracking_id(TRACKING):
                txn.set_tracking(TRACKING, upto)
            table.end_rebuild(txn.cursor)
            return txn.head().seq

    def holds_claim(self, txn: Transaction) -> bool:
        return table.rebuild_claim(txn.cursor) == self.claim

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
                    table.children_by_parent(
                        txn.cursor,
                        table.NEXT,
                        job.model,
                        et.child,
                        job.parents[0],
                        job.parents[-1],
                    )
                    if job.parents
                    else {}
                )
            else:
                kids = table.children_by_parent(txn.cursor, table.LIVE, job.model, et.child)
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


def _share(values: list[str], piece: int, pieces: int) -> list[str]:
    """The piece-th of `pieces` contiguous slices: together they hold every value
    once, and each is a run of neighbours in the list's order."""
    return values[piece * len(values) // pieces : (piece + 1) * len(values) // pieces]

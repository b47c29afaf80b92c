"""Appending: every input is checked on its own (so one bad line never blocks the
others) and accepted events are written in batches, one transaction per batch,
with the chain, the idempotency keys and the views updated in that same
transaction."""

from __future__ import annotations

import bisect
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

from eventsourcing.persistence import IntegrityError as ESIntegrityError

from .._errors import ConcurrencyConflict, EventIdConflict, LedgerError
from .._event import StatusChanged, canonical_json, chain_hash, decode_event
from .._outcome import AppendReport, Outcome
from .._timestamps import now_iso
from ..models._registry import ModelRegistry
from ..models._rules import Candidate, Slot, check
from ..models._statusmodel import EntityType
from ..store._base import ChainHead, EventStore, NewRecord, Transaction
from ._prepare import Prepared, Preparer, RawInput
from ._streams import StreamCache
from ._worker import PrepareWorker, Result

WORKER_AFTER = 10_000
"""Inputs after which a long append starts a worker to prepare the rest: starting
one costs about half a second of the other core's time, which a shorter append
would not win back."""


class Projector(Protocol):
    """Keeps views current inside the writer's transaction (see projections)."""

    def apply(self, txn: Transaction, events: list[StatusChanged]) -> None: ...


class Appender:
    """One call's worth of appending. `workers` is 1 (this process prepares every
    input), 2 (a worker starts at once and prepares the inputs from when it is
    ready) or None (a worker starts after WORKER_AFTER inputs, when the machine
    has a second core). `own_ids` is for the ledger's own writes: see Preparer."""

    def __init__(
        self,
        store: EventStore,
        registry: ModelRegistry,
        projector: Projector | None,
        batch_size: int = 2000,
        workers: int | None = None,
        *,
        own_ids: bool = False,
    ) -> None:
        self.store = store
        self.registry = registry
        self.projector = projector
        self.batch_size = batch_size
        self.preparer = Preparer(registry, own_ids=own_ids)
        self.streams = StreamCache()
        if own_ids:  # a worker's Preparer checks every id as a writer's
            self.worker_after = None
        elif workers is None:
            self.worker_after = WORKER_AFTER if (os.cpu_count() or 1) > 1 else None
        else:
            self.worker_after = None if workers == 1 else 0

    def run(
        self,
        inputs: Iterable[RawInput],
        on_outcome: Callable[[Outcome], None] | None = None,
        keep_outcomes: bool = True,
    ) -> AppendReport:
        kept: list[Outcome] = []
        counts = dict.fromkeys(("accepted", "duplicate", "rejected"), 0)

        def report(outcome: Outcome) -> None:
            """Counted here, not on the pydantic report: its validated attribute
            assignment cost more per event than building the outcome."""
            counts[outcome.kind] += 1
            if keep_outcomes:
                kept.append(outcome)
            if on_outcome:
                on_outcome(outcome)

        for batch in self._batches(inputs, report):
            for outcome in self._commit(batch):
                report(outcome)
        kept.sort(key=lambda o: o.index)
        return AppendReport(
            accepted=counts["accepted"],
            duplicates=counts["duplicate"],
            rejected=counts["rejected"],
            outcomes=kept,
        )

    def _batches(
        self, inputs: Iterable[RawInput], report: Callable[[Outcome], None]
    ) -> Iterator[list[Prepared]]:
        batch: list[Prepared] = []
        for result in self._prepared(inputs):
            if not isinstance(result, Prepared):
                report(Outcome(index=result[0], kind="rejected", error=result[1]))
                continue
            batch.append(result)
            if len(batch) >= self.batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def _prepared(self, inputs: Iterable[RawInput]) -> Iterator[Result]:
        """Results in input order. Past `worker_after` inputs a worker starts, and
        once it is ready it prepares the rest (_prepare_worker.py)."""
        remaining = iter(inputs)
        worker: PrepareWorker | None = None
        try:
            for index, raw in enumerate(remaining):
                try:
                    yield self.preparer(index, raw)
                except LedgerError as error:
                    yield index, error
                if worker is None:
                    if self.worker_after is not None and index + 1 >= self.worker_after:
                        worker = self._start_worker()
                elif worker.ready.is_set():
                    yield from worker.prepared(remaining, index + 1, self.preparer.ordinals)
                    return
        finally:
            if worker is not None:
                worker.close()

    def _start_worker(self) -> PrepareWorker | None:
        """A worker, or None where no interpreter can be started (an embedded
        Python without `sys.executable`): the append then goes on here alone, as
        it does when a worker never gets ready."""
        self.worker_after = None
        try:
            return PrepareWorker(self.registry)
        except OSError:
            return None

    def _commit(self, batch: list[Prepared]) -> list[Outcome]:
        for _attempt in range(5):
            try:
                try:
                    with self.store.write(bulk=len(batch) > 1) as raw:
                        txn = self.streams.open(raw)
                        outcomes, events = self._place(txn, batch)
                        if self.projector is not None and events:
                            self.projector.apply(txn, events)
                except BaseException:
                    self.streams.clear()
                    raise
                self.streams.committed()
                return outcomes
            except ESIntegrityError:
                continue
        raise ConcurrencyConflict("another writer kept winning the race for these entities")

    def _place(
        self, txn: Transaction, batch: list[Prepared]
    ) -> tuple[list[Outcome], list[StatusChanged]]:
        head = txn.head()
        known = txn.lookup_event_ids([p.event_id for p in batch])
        histories: dict[str, _History] = {}
        outcomes: list[Outcome] = []
        records: list[NewRecord] = []
        events: list[StatusChanged] = []
        for p in batch:
            prior = known.get(p.event_id)
            if prior is not None:
                digest, seq = prior
                if digest != p.digest:
                    conflict = EventIdConflict(
                        f"{p.label}: event_id {p.event_id!r} is already used by seq {seq} "
                        "with different content",
                        entity=p.label,
                        event_id=p.event_id,
                        seq=seq,
                    )
                    outcomes.append(
                        Outcome(index=p.index, kind="rejected", event_id=p.event_id, error=conflict)
                    )
                else:
                    outcomes.append(
                        Outcome(index=p.index, kind="duplicate", seq=seq, event_id=p.event_id)
                    )
                continue
            history = histories.get(p.key)
            if history is None:
                history = histories[p.key] = _History.load(txn, p.key, p.et)
            try:
                check(
                    Candidate(p.et, p.label, p.status, p.reason, p.parent, p.at, p.forced),
                    history.parent,
                    history.slots,
                )
            except LedgerError as error:
                outcomes.append(
                    Outcome(index=p.index, kind="rejected", event_id=p.event_id, error=error)
                )
                continue
            now = now_iso()
            recorded_at = now if now > head.recorded_at else head.recorded_at
            body = {
                **p.content,
                "event_id": p.event_id,
                "seq": head.seq + 1,
                "version": history.version + 1,
                "recorded_at": recorded_at,
                "schema_version": p.schema_version,
            }
            digest = chain_hash(head.hash, body)
            stored = {**body, "prev_hash": head.hash, "hash": digest}
            state = canonical_json(stored)
            head = ChainHead(head.seq + 1, digest, recorded_at)
            history.add(
                Slot(p.at, head.seq, p.status, p.content["occurred_at"], p.forced), p.parent
            )
            records.append(NewRecord(p.key, history.version, head.seq, p.event_id, p.digest, state))
            known[p.event_id] = (p.digest, head.seq)
            event = decode_event(p.key, history.version, stored)
            event.__dict__["_occurred_epoch"] = p.at  # parsed once already: seed the cache
            events.append(event)
            outcomes.append(
                Outcome(index=p.index, kind="accepted", seq=head.seq, event_id=p.event_id)
            )
        if records:
            for event, notification_id in zip(events, txn.insert(records, head), strict=True):
                event.notification_id = notification_id
                self.streams.add(event)
        return outcomes, events


class _History:
    """An entity's accepted events in occurred order, as the rules see them."""

    __slots__ = ("parent", "slots", "version")

    def __init__(self, slots: list[Slot], parent: str | None, version: int) -> None:
        self.slots = slots
        self.parent = parent
        self.version = version

    @classmethod
    def load(cls, txn: Transaction, key: str, et: EntityType) -> _History:
        events = txn.stream(key)
        slots = sorted(
            (
                Slot(
                    e.occurred_epoch,
                    e.seq,
                    et.canonical(e.status) or e.status,
                    e.occurred_at,
                    bool(e.force),
                )
                for e in events
            ),
            key=lambda s: (s.at, s.seq),
        )
        parent = events[0].parent if events else None
        return cls(slots, parent, len(events))

    def add(self, slot: Slot, parent: str | None) -> None:
        bisect.insort(self.slots, slot, key=lambda s: (s.at, s.seq))
        if self.parent is None:
            self.parent = parent
        self.version += 1

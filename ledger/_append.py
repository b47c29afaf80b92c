"""Appending: every input is checked on its own (so one bad line never blocks the
others) and accepted events are written in batches, one transaction per batch,
with the chain, the idempotency keys and the views updated in that same
transaction."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from eventsourcing.persistence import IntegrityError as ESIntegrityError

from ._errors import (
    ConcurrencyConflict,
    DerivedType,
    EventIdConflict,
    InvalidField,
    LedgerError,
    MissingField,
    UnexpectedField,
)
from ._event import (
    SCHEMA_VERSION,
    EventInput,
    StatusChanged,
    canonical_json,
    chain_hash,
    content_digest,
    decode_event,
    derived_event_id,
    parse_line,
    validate_input,
)
from ._identity import entity_label, stream_key
from ._legacy import legacy_status
from ._outcome import AppendReport, Outcome
from ._registry import ModelRegistry
from ._rules import Slot, check_error_type, check_parent, check_transition
from ._statusmodel import EntityType
from ._store import ChainHead, EventStore, NewRecord, Transaction
from ._streams import StreamCache
from ._timestamps import now_iso, to_epoch

RawInput = bytes | str | dict[str, Any] | EventInput


class Projector(Protocol):
    """Keeps views current inside the writer's transaction (see projections)."""

    def apply(self, txn: Transaction, events: list[StatusChanged]) -> None: ...


@dataclass(slots=True)
class Prepared:
    index: int
    content: dict[str, Any]
    digest: str
    event_id: str
    et: EntityType
    key: str
    label: str
    status: str
    at: float
    parent: str | None
    reason: str | None
    forced: bool
    schema_version: int


@dataclass(slots=True)
class Checked:
    """One input that passed every check that needs no store: the event, its type,
    canonical status and schema, its label and its time in epoch seconds."""

    event: EventInput
    et: EntityType
    status: str
    schema_version: int
    label: str
    at: float


def prepare(raw: RawInput, registry: ModelRegistry) -> Checked:
    """Validate one input on its own: shape, model, type, status, timestamp, fields."""
    if isinstance(raw, EventInput):
        event = raw
    else:
        obj = parse_line(raw) if isinstance(raw, bytes | str) else raw
        event = validate_input(obj)
    model = registry.model(event.model)
    legacy = model.legacy.get(event.type)
    if legacy is not None:
        et = model.at_version(legacy.schema_version).types[legacy.upcast_to]
        schema_version = legacy.schema_version
    else:
        et = registry.entity_type(event.model, event.type, for_writing=True)
        schema_version = SCHEMA_VERSION
    label = entity_label(event.model, et.name, event.id, event.parent, et)
    if legacy is None:
        status = et.resolve(event.status, label)
    else:
        status = legacy_status(model, legacy, event.type, event.status, label)
    if status not in et.writable_statuses:
        raise DerivedType(
            f"{label}: {status} is derived from its {et.child}s; "
            f"written statuses are: {', '.join(et.writable_statuses)}",
            entity=label,
            allowed=list(et.writable_statuses),
        )
    at = to_epoch(event.occurred_at)
    if et.parent is None and event.parent is not None:
        raise UnexpectedField(f"{label}: {event.model} {et.name} has no parent", field="parent")
    if et.parent is not None and et.parent.required and event.parent is None:
        raise MissingField(
            f"{label}: a {et.name} needs its parent {et.parent.type} in 'parent'", field="parent"
        )
    if et.declaration == status and not _is_name_list((event.attributes or {}).get("groups")):
        raise InvalidField(
            f"{label}: a {status} declaration needs attributes.groups, a list of group names",
            field="attributes.groups",
        )
    return Checked(event, et, status, schema_version, label, at)


def _is_name_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v for v in value)


class Appender:
    """One call's worth of appending; ordinals for derived event ids count within it."""

    def __init__(
        self,
        store: EventStore,
        registry: ModelRegistry,
        projector: Projector | None,
        batch_size: int = 2000,
    ) -> None:
        self.store = store
        self.registry = registry
        self.projector = projector
        self.batch_size = batch_size
        self._ordinals: dict[str, int] = {}
        self.streams = StreamCache()

    def run(
        self,
        inputs: Iterable[RawInput],
        on_outcome: Callable[[Outcome], None] | None = None,
        keep_outcomes: bool = True,
    ) -> AppendReport:
        report = AppendReport(keep=keep_outcomes)
        for batch in self._batches(inputs, report, on_outcome):
            for outcome in self._commit(batch):
                report.add(outcome)
                if on_outcome:
                    on_outcome(outcome)
        report.outcomes.sort(key=lambda o: o.index)
        return report

    def _batches(
        self,
        inputs: Iterable[RawInput],
        report: AppendReport,
        on_outcome: Callable[[Outcome], None] | None,
    ) -> Iterator[list[Prepared]]:
        batch: list[Prepared] = []
        for index, raw in enumerate(inputs):
            try:
                batch.append(self._prepare(index, raw))
            except LedgerError as error:
                outcome = Outcome(index=index, kind="rejected", error=error)
                report.add(outcome)
                if on_outcome:
                    on_outcome(outcome)
                continue
            if len(batch) >= self.batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def _prepare(self, index: int, raw: RawInput) -> Prepared:
        checked = prepare(raw, self.registry)
        event, et = checked.event, checked.et
        content = event.content()
        digest = content_digest(content)
        if event.event_id is not None:
            event_id = event.event_id
        else:
            ordinal = self._ordinals.get(digest, 0)
            self._ordinals[digest] = ordinal + 1
            event_id = derived_event_id(digest, ordinal)
        return Prepared(
            index=index,
            content=content,
            digest=digest,
            event_id=event_id,
            et=et,
            key=stream_key(event.model, et, event.id, event.parent),
            label=checked.label,
            status=checked.status,
            at=checked.at,
            parent=event.parent,
            reason=event.reason,
            forced=bool(event.force),
            schema_version=checked.schema_version,
        )

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
                check_parent(p.et, p.label, history.parent, p.parent, history.slots)
                check_error_type(p.et, p.label, p.status, p.reason, history.slots)
                if not p.forced:
                    check_transition(p.et, p.label, history.slots, p.at, p.status)
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

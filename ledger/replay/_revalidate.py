"""Would a candidate model have accepted the history we already have? Each stream
is walked in occurred order and every event is put through the same rules the
appender uses, against the stored events before it. A rejected event stays in
the walk (it is in the history, whatever the candidate thinks of it), so one
removed edge is reported once, not as a cascade over everything after it."""

from __future__ import annotations

from collections.abc import Sequence

from .._errors import DerivedType, LedgerError, UnknownModel, UnknownType
from .._event import StatusChanged
from .._identity import entity_label
from .._timestamps import to_epoch
from ..models._legacy import legacy_type
from ..models._registry import ModelRegistry
from ..models._rules import Candidate, Slot, check
from ..models._statusmodel import EntityType
from ._report import RejectedEvent


def rejected_events(
    registry: ModelRegistry, stream: Sequence[StatusChanged]
) -> list[RejectedEvent]:
    """The events of one stream (one entity) that `registry` would reject."""
    ordered = sorted(stream, key=lambda e: (to_epoch(e.occurred_at), e.seq))
    slots: list[Slot] = []
    parent: str | None = None
    rejected: list[RejectedEvent] = []
    for event in ordered:
        at = to_epoch(event.occurred_at)
        label = f"{event.model} {event.written_type or event.type} {event.id}"
        status = event.status
        try:
            et = _entity_type(registry, event)
            label = entity_label(event.model, et.name, event.id, event.parent, et)
            status = et.resolve(event.status, label)
            if status not in et.writable_statuses:
                raise DerivedType(
                    f"{label}: {status} is derived from its {et.child}s",
                    entity=label,
                    allowed=list(et.writable_statuses),
                )
            check(
                Candidate(et, label, status, event.reason, event.parent, at, bool(event.force)),
                parent,
                slots,
            )
        except LedgerError as error:
            rejected.append(
                RejectedEvent(
                    seq=event.seq,
                    entity=label,
                    status=event.status,
                    occurred_at=event.occurred_at,
                    code=error.code,
                    message=error.message,
                )
            )
        slots.append(Slot(at, event.seq, status, event.occurred_at, bool(event.force)))
        parent = parent or event.parent
    return rejected


def _entity_type(registry: ModelRegistry, event: StatusChanged) -> EntityType:
    """The type the event is checked against: a schema-1 event under the model as
    that schema knew it, everything else under the model as it is."""
    model = registry.get(event.model)
    if model is None:
        raise UnknownModel(f"unknown model {event.model!r}", allowed=sorted(registry))
    legacy = model.legacy.get(event.written_type or "")
    if legacy is not None and legacy.upcast_to in model.types:
        return legacy_type(model, legacy)
    if event.type not in model.types:
        raise UnknownType(
            f"model {event.model!r} has no type {event.type!r}", allowed=list(model.types)
        )
    return registry.entity_type(event.model, event.type, for_writing=True)

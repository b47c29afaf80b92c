"""Everything about one input that needs no store: its shape, model, type, status,
timestamp and fields checked, its content digest and event id worked out. Kept
apart from the appending so that a second process can do it (_prepare_worker.py):
it is a third of an import's CPU time and depends on nothing but the models and
the inputs before it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._errors import DerivedType, InvalidField, MissingField, UnexpectedField
from .._event import (
    SCHEMA_VERSION,
    EventInput,
    content_digest,
    derived_event_id,
    parse_line,
    validate_input,
)
from .._identity import entity_label, stream_key
from .._reserved import check_claimed_id
from .._timestamps import to_epoch
from ..models._legacy import legacy_status, legacy_type
from ..models._registry import ModelRegistry
from ..models._statusmodel import EntityType, LegacyType

RawInput = bytes | str | dict[str, Any] | EventInput

Wire = tuple[
    int, dict[str, Any], str, str, str, str, str, str, str, float, str | None, str | None, bool
]
"""A `Prepared` as it crosses between processes: plain values, the entity type
by its model and written name (the receiving process looks it up once per type)."""


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


def writable_type(
    registry: ModelRegistry, model_name: str, type_name: str
) -> tuple[EntityType, int, LegacyType | None]:
    """The type an event of `type_name` is written as, its schema version, and the
    legacy name's entry if `type_name` is one: a legacy type is written as the type
    it was renamed to, as its older model version saw it."""
    model = registry.model(model_name)
    legacy = model.legacy.get(type_name)
    if legacy is not None:
        return legacy_type(model, legacy), legacy.schema_version, legacy
    return registry.entity_type(model_name, type_name, for_writing=True), SCHEMA_VERSION, None


def prepare(raw: RawInput, registry: ModelRegistry) -> Checked:
    """Validate one input on its own: shape, model, type, status, timestamp, fields."""
    if isinstance(raw, EventInput):
        event = raw
    else:
        obj = parse_line(raw) if isinstance(raw, bytes | str) else raw
        event = validate_input(obj)
    et, schema_version, legacy = writable_type(registry, event.model, event.type)
    label = entity_label(event.model, et.name, event.id, event.parent, et)
    if legacy is None:
        status = et.resolve(event.status, label)
    else:
        status = legacy_status(registry.model(event.model), legacy, event.type, event.status, label)
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


class Preparer:
    """Prepares one call's inputs in order. Derived event ids count identical
    inputs within the call, so a worker that takes over part way starts from the
    counts so far (`ordinals`). Only the ledger's own writes (`own_ids`: the
    demo) may give ids in its namespace that their content does not derive
    (ledger/_reserved.py)."""

    def __init__(
        self,
        registry: ModelRegistry,
        ordinals: dict[str, int] | None = None,
        *,
        own_ids: bool = False,
    ) -> None:
        self.registry = registry
        self.ordinals = {} if ordinals is None else ordinals
        self.own_ids = own_ids
        self._types: dict[tuple[str, str], tuple[EntityType, int, LegacyType | None]] = {}

    def __call__(self, index: int, raw: RawInput) -> Prepared:
        checked = prepare(raw, self.registry)
        event, et = checked.event, checked.et
        content = event.content()
        digest = content_digest(content)
        if event.event_id is not None:
            event_id = event.event_id
            if not self.own_ids:
                check_claimed_id(event_id, digest, content)
        else:
            ordinal = self.ordinals.get(digest, 0)
            self.ordinals[digest] = ordinal + 1
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

    @staticmethod
    def wire(p: Prepared) -> Wire:
        return (
            p.index,
            p.content,
            p.digest,
            p.event_id,
            p.content["model"],
            p.content["type"],
            p.key,
            p.label,
            p.status,
            p.at,
            p.parent,
            p.reason,
            p.forced,
        )

    def unwire(self, wire: Wire) -> Prepared:
        index, content, digest, event_id, model, type_name, key, label, status, at = wire[:10]
        parent, reason, forced = wire[10:]
        found = self._types.get((model, type_name))
        if found is None:
            found = self._types[model, type_name] = writable_type(self.registry, model, type_name)
        et, schema_version, _legacy = found
        return Prepared(
            index,
            content,
            digest,
            event_id,
            et,
            key,
            label,
            status,
            at,
            parent,
            reason,
            forced,
            schema_version,
        )

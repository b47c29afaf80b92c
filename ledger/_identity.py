"""How an entity is named: in storage (an unambiguous stream key, eventsourcing's
originator id) and to people (a short label in every message)."""

from __future__ import annotations

import orjson

from .models._statusmodel import EntityType


def scoped(et: EntityType) -> bool:
    return et.parent is not None and et.parent.scopes_id


def stream_key(model: str, et: EntityType, entity_id: str, parent: str | None) -> str:
    """A JSON array, so ids may contain any printable character without ambiguity."""
    parts = [model, et.name, parent, entity_id] if scoped(et) else [model, et.name, entity_id]
    return orjson.dumps(parts).decode()


def type_prefix(model: str, type_name: str) -> str:
    """The common prefix of every stream key of one entity type."""
    return orjson.dumps([model, type_name])[:-1].decode() + ","


def entity_label(
    model: str, type_name: str, entity_id: str, parent: str | None, et: EntityType
) -> str:
    label = f"{model} {type_name} {entity_id}"
    return f"{label} (in {et.parent.type} {parent})" if scoped(et) and et.parent else label

"""Events of an older schema (a model's `[legacy.NAME]` tables): which type they
are validated against and what to tell a writer who mixes the two schemas."""

from __future__ import annotations

from .._errors import UnknownStatus
from ._statusmodel import EntityType, LegacyType, StatusModel


def legacy_type(model: StatusModel, legacy: LegacyType) -> EntityType:
    """The type as the old schema knew it: statuses added later are unknown."""
    return model.at_version(legacy.schema_version).types[legacy.upcast_to]


def legacy_status(
    model: StatusModel, legacy: LegacyType, written_type: str, written: str, label: str
) -> str:
    """The canonical status of a legacy event; a status that only the newer schema
    has is refused with a message that says how to write it instead."""
    et = legacy_type(model, legacy)
    try:
        return et.resolve(written, label)
    except UnknownStatus as exc:
        newer = model.types[legacy.upcast_to].canonical(written)
        if newer is None:
            raise
        raise UnknownStatus(
            f"{label}: {newer} does not exist in schema version {legacy.schema_version}, "
            f"where a {legacy.upcast_to} was written as type {written_type!r}; "
            f"write it with type {legacy.upcast_to!r}",
            **exc.details,
        ) from None

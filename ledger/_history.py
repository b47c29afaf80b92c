"""An audit line: one recorded event with its canonical status beside the status
exactly as it was written."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ._event import StatusChanged
from .models._registry import ModelRegistry


class HistoryEntry(BaseModel):
    seq: int
    version: int
    model: str
    type: str
    id: str
    parent: str | None = None
    status: str
    written_status: str | None = None
    written_type: str | None = None
    occurred_at: int | float | str
    recorded_at: str
    actor: str | None = None
    reason: str | None = None
    message: str | None = None
    execution: str | None = None
    attributes: dict[str, Any] | None = None
    forced: bool = False
    event_id: str
    schema_version: int
    prev_hash: str
    hash: str


def history_entry(registry: ModelRegistry, event: StatusChanged) -> HistoryEntry:
    model = registry.get(event.model)
    et = model.types.get(event.type) if model else None
    canonical = (et.canonical(event.status) if et else None) or event.status
    return HistoryEntry(
        seq=event.seq,
        version=event.version,
        model=event.model,
        type=event.type,
        id=event.id,
        parent=event.parent,
        status=canonical,
        written_status=event.status if event.status != canonical else None,
        written_type=event.written_type,
        occurred_at=event.occurred_at,
        recorded_at=event.recorded_at,
        actor=event.actor,
        reason=event.reason,
        message=event.message,
        execution=event.execution,
        attributes=event.attributes,
        forced=bool(event.force),
        event_id=event.event_id,
        schema_version=event.schema_version,
        prev_hash=event.prev_hash,
        hash=event.hash,
    )

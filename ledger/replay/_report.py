"""What a replay found, owned by the ledger so that the API can promise its shape
(the projections package computes it): per-view counts, the differing rows
field by field, and the historic events the candidate model would reject."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel


class FieldChange(BaseModel):
    """One field of a view row; nested objects are named with dots (`status.count`)."""

    field: str
    live: Any = None
    candidate: Any = None


class RowDiff(BaseModel):
    """A view row that the candidate adds, removes or changes."""

    view: str
    id: str
    parent: str | None = None
    kind: Literal["added", "removed", "changed"]
    changes: list[FieldChange] = []
    live: dict[str, Any] | None = None
    candidate: dict[str, Any] | None = None


class ViewSummary(BaseModel):
    view: str
    live_rows: int
    candidate_rows: int
    added: int = 0
    removed: int = 0
    changed: int = 0

    @property
    def differs(self) -> bool:
        return bool(self.added or self.removed or self.changed)


class RejectedEvent(BaseModel):
    """A stored event that the candidate model would not accept at its place."""

    seq: int
    entity: str
    status: str
    occurred_at: int | float | str
    code: str
    message: str


class ReplayReport(BaseModel):
    """`identical` is true only when every view matches and no event is rejected."""

    identical: bool
    models: str | None = None
    projections: str | None = None
    events: int
    unprojected: int = 0
    views: list[ViewSummary]
    differences: list[RowDiff]
    rejected: list[RejectedEvent]

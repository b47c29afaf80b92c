"""The shape of a view row (spec section 5), owned by the ledger so that the API
can promise it; the projections package computes it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

Timestamp = int | float | str


class StatusRecord(BaseModel):
    """Lightning's WorkStatus: one status with the time it was set."""

    model_config = ConfigDict(frozen=True)

    status: str
    timestamp: Timestamp
    reason: str | None = None
    message: str | None = None
    count: int = 1

    def work_status_repr(self) -> str:
        return (
            f"WorkStatus(stage={self.status!r}, timestamp={self.timestamp!r}, "
            f"reason={self.reason!r}, message={self.message!r}, count={self.count})"
        )


class ViewRow(BaseModel):
    """Current view of one entity; per-model extras ride along as extra fields."""

    model_config = ConfigDict(extra="allow")

    model: str
    type: str
    id: str
    parent: str | None = None
    status: StatusRecord
    statuses: list[StatusRecord]
    final: bool
    first_seen: Timestamp
    transitions: int
    last_actor: str | None = None
    forced: bool = False


def statuses_repr(records: list[StatusRecord]) -> str:
    return "[" + ", ".join(r.work_status_repr() for r in records) + "]"

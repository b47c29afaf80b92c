"""What an append reports: one outcome per input, and the totals, as pydantic
models so API callers and the HTTP service get `.model_dump()` for free."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from ._errors import LedgerError

Kind = Literal["accepted", "duplicate", "rejected"]


class Outcome(BaseModel):
    """Accepted (new seq), duplicate (seq of the original) or rejected (the error)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: int
    kind: Kind
    seq: int | None = None
    event_id: str | None = None
    error: LedgerError | None = None

    @field_serializer("error")
    def _error(self, error: LedgerError | None) -> dict[str, Any] | None:
        return None if error is None else error.to_dict()

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class AppendReport(BaseModel):
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    outcomes: list[Outcome] = Field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected}

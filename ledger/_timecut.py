"""A bitemporal cut: what had occurred by `as_of`, and what the ledger had been
told by `known_at` (epoch seconds; None means no cut)."""

from __future__ import annotations

from dataclasses import dataclass

from ._event import StatusChanged
from ._timestamps import to_epoch


@dataclass(frozen=True)
class TimeCut:
    as_of: float | None = None
    known_at: float | None = None

    def keeps(self, event: StatusChanged) -> bool:
        if self.as_of is not None and to_epoch(event.occurred_at) > self.as_of:
            return False
        return self.known_at is None or to_epoch(event.recorded_at) <= self.known_at

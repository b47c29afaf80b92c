"""Timeout rules as events: a status held too long (UiPath Terminating for a day)
gets the model's follow-up status appended, with the sweep's actor and reason."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ._errors import LedgerError
from ._event import content_digest, validate_input
from ._reserved import sweep_event_id
from ._timestamps import epoch_to_iso, parse_cli_time, to_epoch

if TYPE_CHECKING:
    from ._ledger import Ledger, TimeArg


def due_timeouts(ledger: Ledger, now: TimeArg) -> list[dict[str, Any]]:
    if now is None:
        at = time.time()
        written: int | float | str = epoch_to_iso(at)
    else:
        at = parse_cli_time(now) if isinstance(now, str) else to_epoch(now)
        written = now if not isinstance(now, str) else _as_written(now)
    actions: list[dict[str, Any]] = []
    for model_name, model in ledger.registry.items():
        for et in model.types.values():
            for status, rule in et.timeouts.items():
                for row in ledger.list(model_name, et.name, status=status):
                    entered = to_epoch(row.status.timestamp)
                    if at - entered < rule.after_seconds:
                        continue
                    action: dict[str, Any] = {
                        "model": model_name,
                        "type": et.name,
                        "id": row.id,
                        **({"parent": row.parent} if row.parent else {}),
                        "status": rule.to,
                        "occurred_at": written,
                        "actor": rule.actor,
                        "reason": rule.reason,
                        "message": f"{status} since {row.status.timestamp}",
                    }
                    actions.append(_with_event_id(action))
    return actions


def _with_event_id(action: dict[str, Any]) -> dict[str, Any]:
    """The action with its id in the ledger's namespace, derived from its whole
    content as the append will see it (ledger/_reserved.py says why). An action
    that is not a valid event keeps none: the append reports why."""
    try:
        digest = content_digest(validate_input(action).content())
    except LedgerError:
        return action
    return {**action, "event_id": sweep_event_id(digest)}


def _as_written(text: str) -> int | float | str:
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and "." not in text else number

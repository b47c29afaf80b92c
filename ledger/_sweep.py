"""Timeout rules as events: a status held too long (UiPath Terminating for a day)
gets the model's follow-up status appended, with the sweep's actor and reason."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

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
                    actions.append(
                        {
                            "model": model_name,
                            "type": et.name,
                            "id": row.id,
                            **({"parent": row.parent} if row.parent else {}),
                            "status": rule.to,
                            "occurred_at": written,
                            "actor": rule.actor,
                            "reason": rule.reason,
                            "message": f"{status} since {row.status.timestamp}",
                            "event_id": (
                                f"sweep:{model_name}:{et.name}:{row.id}:{status}:"
                                f"{row.status.timestamp}"
                            ),
                        }
                    )
    return actions


def _as_written(text: str) -> int | float | str:
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and "." not in text else number

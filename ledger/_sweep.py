"""Timeout rules as events: a status held too long (UiPath Terminating for a day)
gets the model's follow-up status appended, with the sweep's actor and reason."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ._errors import LedgerError
from ._event import content_digest, validate_input
from ._reserved import sweep_event_id
from ._timestamps import TimeArg, Timestamp, epoch_to_iso, parse_time, to_epoch, written
from ._viewrow import ViewRow
from .models._registry import ModelRegistry

Rows = Callable[[str, str, str], list[ViewRow]]
"""The view rows of (model, type) in a status: `Ledger.list`, without the ledger."""


def due_timeouts(registry: ModelRegistry, rows: Rows, now: TimeArg) -> list[dict[str, Any]]:
    """The timeout events due at `now` (None: the clock), for `rows` in the
    statuses the models time out."""
    if now is None:
        at = time.time()
        kept: Timestamp = epoch_to_iso(at)
    else:
        at = parse_time(now)
        kept = written(now)
    actions: list[dict[str, Any]] = []
    for model_name, model in registry.items():
        for et in model.types.values():
            for status, rule in et.timeouts.items():
                for row in rows(model_name, et.name, status):
                    entered = to_epoch(row.status.timestamp)
                    if at - entered < rule.after_seconds:
                        continue
                    action: dict[str, Any] = {
                        "model": model_name,
                        "type": et.name,
                        "id": row.id,
                        **({"parent": row.parent} if row.parent else {}),
                        "status": rule.to,
                        "occurred_at": kept,
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

"""Lightning AI: the `WorkStatus` records a LightningWork keeps, in the shapes
its state exposes them.

- The app state (`{"vars", "calls", "flows", "works"}`, as the Lightning app
  serves it): every work found under `works`, at any depth of `flows`, named by
  its path (`root.flow.work`). A work's `calls` hold one entry per `work.run(...)`
  call, `{"statuses": [{stage, timestamp, reason, message}, ...]}`; the call
  hash is the event's `execution` and the record's place in the list its id,
  so a stage the work reports twice (seed 004's repeated running) stays two
  events while a re-read is a duplicate.
- One work: `{"name": "root.work", "calls": {...}}`.
- Bare records: `{"name": "root.work", "statuses": [WorkStatus, ...]}` or
  `{"name": ..., "status": WorkStatus}`; the ledger then infers executions, and
  ids come from the stage, the timestamp and the ordinal among equal records.

A record's `count` is not written: the ledger computes it from the failures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._errors import InvalidField, MissingField
from ._common import event_id, items, load, message, need, obj, optional_text, text

ACTOR = "system:lightning"
LATEST = "latest_call_hash"


def adapt(payload: bytes) -> list[dict[str, Any] | str]:
    """The work status events of an app state, a work state or status records."""
    data = obj(load(payload, "lightning"), "lightning payload")
    if "works" in data or "flows" in data:
        return _flow("root", data)
    name = text(data, "name", "lightning payload")
    if "calls" in data:
        return _calls(name, data["calls"])
    if "statuses" in data:
        records = items(data["statuses"], f"lightning work {name}: statuses")
    elif "status" in data:
        records = [data["status"]]
    else:
        raise MissingField(
            f"lightning work {name} has none of 'calls', 'statuses', 'status'", field="statuses"
        )
    seen: dict[tuple[str, str], int] = {}
    events: list[dict[str, Any] | str] = []
    for number, raw in enumerate(records):
        record = obj(raw, f"lightning work {name}: status {number}")
        stage, at = _stage_and_time(record, f"lightning work {name}: status {number}")
        key = (stage, repr(at))
        ordinal = seen.get(key, 0)
        seen[key] = ordinal + 1
        events.append(_event(name, record, stage, at, None, (stage, repr(at), str(ordinal))))
    return events


def _flow(path: str, flow: Mapping[str, Any]) -> list[dict[str, Any] | str]:
    events: list[dict[str, Any] | str] = []
    works = obj(flow.get("works") or {}, f"lightning flow {path}: works")
    for name, work in works.items():
        state = obj(work, f"lightning work {path}.{name}")
        events.extend(_calls(f"{path}.{name}", state.get("calls") or {}))
    flows = obj(flow.get("flows") or {}, f"lightning flow {path}: flows")
    for name, child in flows.items():
        events.extend(_flow(f"{path}.{name}", obj(child, f"lightning flow {path}.{name}")))
    return events


def _calls(name: str, calls: Any) -> list[dict[str, Any] | str]:
    events: list[dict[str, Any] | str] = []
    for call_hash, raw in obj(calls, f"lightning work {name}: calls").items():
        if call_hash == LATEST:
            continue
        what = f"lightning work {name}: call {call_hash}"
        call = obj(raw, what)
        for number, status in enumerate(items(call.get("statuses") or [], f"{what}: statuses")):
            record = obj(status, f"{what}: status {number}")
            stage, at = _stage_and_time(record, f"{what}: status {number}")
            events.append(_event(name, record, stage, at, call_hash, (call_hash, str(number))))
    return events


def _stage_and_time(record: Mapping[str, Any], what: str) -> tuple[str, int | float]:
    stage = text(record, "stage", what)
    at = need(record, "timestamp", what)
    if isinstance(at, bool) or not isinstance(at, int | float):
        raise InvalidField(f"{what}: 'timestamp' must be epoch seconds", field="timestamp")
    return stage, at


def _event(
    name: str,
    record: Mapping[str, Any],
    stage: str,
    at: int | float,
    execution: str | None,
    key: tuple[str, ...],
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "model": "lightning",
        "type": "work",
        "id": name,
        "status": stage,
        "occurred_at": at,
        "actor": ACTOR,
        "event_id": event_id("lightning", name, *key),
    }
    if execution is not None:
        event["execution"] = execution
    reason = optional_text(record, "reason")
    if reason is not None:
        event["reason"] = reason
    text_ = message(optional_text(record, "message"))
    if text_ is not None:
        event["message"] = text_
    return event

"""OpenFn Lightning runs as its REST API returns them (`GET /api/runs`, JSON:API
pages of `{"type": "runs", "id", "attributes": {...}}`), bare run records, work
orders with their runs, and the older revision's attempts.

Lightning keeps a run's state, not its history, so each record is unfolded into
the steps its timestamps prove: `available` at `inserted_at`, `claimed` at
`claimed_at`, `started` at `started_at`, and a final state at `finished_at`
with `error_type` as the reason. Each step's event id is the run id and the
step, so reading the same run again, however far it has got, repeats only
duplicates and adds the steps that are new."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._errors import InvalidField
from ._common import event_id, items, load, need, obj, optional_text, text

ACTOR = "system:openfn"
# Lightning's own names for the steps before a run ends (the model's aliases).
_STEPS = (("available", "inserted_at"), ("claimed", "claimed_at"), ("started", "started_at"))
_UNFINISHED = {step for step, _ in _STEPS}
_RUN_TYPES = {"runs": "run", "run": "run", "attempts": "attempt", "attempt": "attempt"}
_WORK_ORDER_TYPES = {"work_orders", "work_order", "workorders"}


def adapt(payload: bytes) -> list[dict[str, Any] | str]:
    """The run status events of one API response, page or record."""
    data = load(payload, "openfn")
    if isinstance(data, Mapping) and "data" in data:
        data = data["data"]
    events: list[dict[str, Any] | str] = []
    for number, raw in enumerate(items(data, "openfn payload")):
        events.extend(_record(obj(raw, f"openfn record {number}"), f"openfn record {number}"))
    return events


def _record(record: Mapping[str, Any], what: str) -> list[dict[str, Any] | str]:
    kind = optional_text(record, "type") or "runs"
    fields = record.get("attributes", record)
    fields = obj(fields, f"{what}: attributes")
    record_id = text(record, "id", what)
    if kind in _WORK_ORDER_TYPES:
        # A work order's status is derived from its runs; only its runs are written.
        runs = fields.get("runs") or []
        out: list[dict[str, Any] | str] = []
        for number, raw in enumerate(items(runs, f"{what}: runs")):
            run = obj(raw, f"{what}: run {number}")
            inner = obj(run.get("attributes", run), f"{what}: run {number}")
            out.extend(
                _run(
                    "run",
                    text(run, "id", f"{what}: run {number}"),
                    {**inner, "work_order_id": inner.get("work_order_id", record_id)},
                    f"openfn work order {record_id}: run {number}",
                )
            )
        return out
    written = _RUN_TYPES.get(kind)
    if written is None:
        raise InvalidField(
            f"{what}: type {kind!r} is not a run, attempt or work order", field="type"
        )
    return _run(written, record_id, fields, f"openfn {written} {record_id}")


def _run(
    written: str, run_id: str, fields: Mapping[str, Any], what: str
) -> list[dict[str, Any] | str]:
    state = text(fields, "state", what)
    parent = text(fields, "work_order_id", what)
    steps: list[tuple[str, str]] = []
    for step, key in _STEPS:
        at = optional_text(fields, key)
        if at is not None:
            steps.append((step, at))
        if step == state.lower():
            if at is None:
                need(fields, key, what)
            break
    if state.lower() not in _UNFINISHED:
        at = (
            optional_text(fields, "finished_at")
            or optional_text(fields, "updated_at")
            or text(fields, "finished_at", what)
        )
        steps.append((state, at))
    reason = optional_text(fields, "error_type")
    events: list[dict[str, Any] | str] = []
    for step, at in steps:
        event: dict[str, Any] = {
            "model": "openfn",
            "type": written,
            "id": run_id,
            "parent": parent,
            "status": step,
            "occurred_at": at,
            "actor": ACTOR,
            "event_id": event_id("openfn", written, run_id, step.lower()),
        }
        if step == state and reason is not None and step.lower() not in _UNFINISHED:
            event["reason"] = reason
        events.append(event)
    return events

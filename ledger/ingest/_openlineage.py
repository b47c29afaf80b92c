"""OpenLineage run events (`RunEvent` of the OpenLineage spec), one per payload
or a JSON array of them, recorded under the user model `openlineage`
(docs/models/openlineage.toml, added with `models add` or `--models DIR`): the
run is `openlineage run RUN_ID`, its job `NAMESPACE/NAME` the parent, and the
`eventType` (START, RUNNING, COMPLETE, ABORT, FAIL) its status. `OTHER` events
carry metadata, not a transition, and yield nothing. The event id is the run,
the event type and the event time, so a re-sent event is a duplicate."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._common import compact, event_id, items, load, message, obj, optional_text, text

MODEL = "openlineage"
ACTOR = "system:openlineage"


def adapt(payload: bytes) -> list[dict[str, Any] | str]:
    """The run status events of one or more run events."""
    events: list[dict[str, Any] | str] = []
    for number, raw in enumerate(items(load(payload, "openlineage"), "openlineage payload")):
        event = _event(obj(raw, f"openlineage event {number}"), f"openlineage event {number}")
        if event is not None:
            events.append(event)
    return events


def _event(data: Mapping[str, Any], what: str) -> dict[str, Any] | None:
    kind = text(data, "eventType", what)
    if kind.upper() == "OTHER":
        return None
    at = text(data, "eventTime", what)
    run = obj(data.get("run") or {}, f"{what}: run")
    run_id = text(run, "runId", f"{what}: run")
    job = obj(data.get("job") or {}, f"{what}: job")
    namespace = text(job, "namespace", f"{what}: job")
    name = text(job, "name", f"{what}: job")
    event: dict[str, Any] = {
        "model": MODEL,
        "type": "run",
        "id": run_id,
        "parent": f"{namespace}/{name}",
        "status": kind,
        "occurred_at": at,
        "actor": ACTOR,
        "event_id": event_id("openlineage", run_id, kind, at),
        "attributes": compact({"producer": optional_text(data, "producer")}),
    }
    facets = run.get("facets")
    error = facets.get("errorMessage") if isinstance(facets, Mapping) else None
    if isinstance(error, Mapping):
        text_ = message(optional_text(error, "message"))
        if text_ is not None:
            event["message"] = text_
    if not event["attributes"]:
        del event["attributes"]
    return event

"""NVIDIA OSMO: the JSON of `osmo workflow query NAME --format-type json` (the
workflow with its `groups`, each with its `status` and the times it entered
each stage). OSMO keeps a group's current status, so each group is unfolded into
the lifecycle its times prove, and the workflow itself into its declaration
(PENDING at `submit_time`, listing every group) and any workflow-level failure.

Stage times: SUBMITTING (and WAITING, for a group with upstream groups) at the
workflow's `submit_time`, PROCESSING at `processing_start_time`, SCHEDULING at
`scheduling_start_time`, INITIALIZING at `initializing_start_time`, RUNNING at
`start_time`, a final status at `end_time` with `failure_message`. OSMO writes
its UTC times without an offset; they are read as UTC. Event ids are the
workflow, the group and the status, so a later query repeats duplicates and
adds only what is new."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._common import event_id, items, load, message, obj, optional_text, text, utc

ACTOR = "system:osmo"
_STAGES = (
    ("PROCESSING", "processing_start_time"),
    ("SCHEDULING", "scheduling_start_time"),
    ("INITIALIZING", "initializing_start_time"),
    ("RUNNING", "start_time"),
)
_BEFORE_PROCESSING = ("SUBMITTING", "WAITING")
_UNFINISHED = {*_BEFORE_PROCESSING, *(stage for stage, _ in _STAGES)}
# Statuses that exist only at workflow level; the rest is aggregated from groups.
_WORKFLOW_ONLY = {"FAILED_SUBMISSION", "FAILED_START_ERROR", "FAILED_START_TIMEOUT"}


def adapt(payload: bytes) -> list[dict[str, Any] | str]:
    """The workflow and group events of one or more queried workflows."""
    events: list[dict[str, Any] | str] = []
    for number, raw in enumerate(items(load(payload, "osmo"), "osmo payload")):
        events.extend(_workflow(obj(raw, f"osmo workflow {number}")))
    return events


def _workflow(data: Mapping[str, Any]) -> list[dict[str, Any] | str]:
    workflow = text(data, "name", "osmo workflow")
    what = f"osmo workflow {workflow}"
    submitted = utc(text(data, "submit_time", what))
    groups = [obj(g, f"{what}: group") for g in items(data.get("groups") or [], f"{what}: groups")]
    names = [text(g, "name", f"{what}: group") for g in groups]
    downstream = {str(n) for g in groups for n in (g.get("downstream_groups") or [])}
    events: list[dict[str, Any] | str] = [
        {
            "model": "osmo",
            "type": "workflow",
            "id": workflow,
            "status": "PENDING",
            "occurred_at": submitted,
            "actor": ACTOR,
            "event_id": event_id("osmo", workflow, "declared"),
            "attributes": {"groups": names},
        }
    ]
    status = (optional_text(data, "status") or "").upper()
    if status in _WORKFLOW_ONLY:
        events.append(
            {
                "model": "osmo",
                "type": "workflow",
                "id": workflow,
                "status": status,
                "occurred_at": utc(text(data, "end_time", what)),
                "actor": ACTOR,
                "event_id": event_id("osmo", workflow, status),
            }
        )
    for name, group in zip(names, groups, strict=True):
        upstream = bool(group.get("remaining_upstream_groups")) or name in downstream
        events.extend(_group(workflow, name, group, submitted, upstream))
    return events


def _group(
    workflow: str, name: str, group: Mapping[str, Any], submitted: str, upstream: bool
) -> list[dict[str, Any] | str]:
    what = f"osmo workflow {workflow}: group {name}"
    status = text(group, "status", what)
    current = status.upper()
    steps = [("SUBMITTING", submitted)]
    if current == "WAITING" or (upstream and current != "SUBMITTING"):
        steps.append(("WAITING", submitted))
    if current not in _BEFORE_PROCESSING:
        for stage, key in _STAGES:
            at = optional_text(group, key)
            if at is not None:
                steps.append((stage, utc(at)))
            if stage == current:
                if at is None:
                    text(group, key, what)
                break
        else:
            steps.append((status, utc(text(group, "end_time", what))))
    failure = message(optional_text(group, "failure_message"))
    events: list[dict[str, Any]] = []
    for stage, at in steps:
        event: dict[str, Any] = {
            "model": "osmo",
            "type": "task_group",
            "id": name,
            "parent": workflow,
            "status": stage,
            "occurred_at": at,
            "actor": ACTOR,
            "event_id": event_id("osmo", workflow, name, stage.upper()),
        }
        events.append(event)
    if failure is not None and current not in _UNFINISHED:
        events[-1]["message"] = failure
    return list(events)

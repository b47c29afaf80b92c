"""UiPath Orchestrator webhooks: one delivery is one Orchestrator event
(`job.created`, `job.started`, `job.completed`, `job.faulted`, `job.stopped`,
`job.suspended`, `job.resumed`) about one or more jobs. Each job becomes one
`uipath job` event in the job's `State`; the delivery's `EventId` is the
idempotency key, so a redelivery is a duplicate. Events about robots, queues,
processes or triggers carry no job status and yield nothing.

Orchestrator signs each delivery with the webhook's secret: `X-UiPath-Signature`
is the Base64 of the HMAC-SHA256 of the raw body, the secret's UTF-8 bytes as
the key."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from .._errors import MissingField
from ._common import compact, event_id, items, load, message, obj, optional_text, text

ACTOR = "system:uipath"
HEADER = "X-UiPath-Signature"
# The job state each event type reports, for a job object that omits `State`.
STATE_OF_EVENT = {
    "job.created": "Pending",
    "job.started": "Running",
    "job.completed": "Successful",
    "job.faulted": "Faulted",
    "job.stopped": "Stopped",
    "job.suspended": "Suspended",
    "job.resumed": "Resumed",
}


def adapt(payload: bytes) -> list[dict[str, Any] | str]:
    """The job status events of one webhook delivery."""
    data = obj(load(payload, "uipath webhook"), "uipath webhook")
    kind = text(data, "Type", "uipath webhook")
    if not kind.lower().startswith("job."):
        return []
    delivery = text(data, "EventId", f"uipath {kind}")
    at = text(data, "Timestamp", f"uipath {kind} {delivery}")
    jobs = data.get("Jobs", data.get("Job"))
    if jobs is None:
        raise MissingField(f"uipath {kind} {delivery} has no 'Jobs'", field="Jobs")
    events: list[dict[str, Any] | str] = []
    for number, raw in enumerate(items(jobs, f"uipath {kind} {delivery}: Jobs")):
        what = f"uipath {kind} {delivery}: job {number}"
        job = obj(raw, what)
        job_id = text(job, "Id", what)
        state = optional_text(job, "State") or STATE_OF_EVENT.get(kind.lower())
        if state is None:
            state = text(job, "State", what)
        event: dict[str, Any] = {
            "model": "uipath",
            "type": "job",
            "id": job_id,
            "status": state,
            "occurred_at": at,
            "actor": ACTOR,
            "event_id": event_id("uipath", delivery, job_id),
            "attributes": compact(
                {
                    "event": kind,
                    "key": optional_text(job, "Key"),
                    "process": optional_text(job, "ReleaseName"),
                    "tenant_id": data.get("TenantId"),
                    "folder_id": data.get("OrganizationUnitId"),
                    "user_id": data.get("UserId"),
                }
            ),
        }
        info = message(optional_text(job, "Info"))
        if info is not None:
            event["message"] = info
        events.append(event)
    return events


def sign(body: bytes, secret: str) -> str:
    """The `X-UiPath-Signature` Orchestrator sends with `body`."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signature_valid(body: bytes, signature: str, secret: str) -> bool:
    """Constant-time comparison of the header with the body's own signature."""
    return hmac.compare_digest(sign(body, secret).encode("ascii"), signature.strip().encode())

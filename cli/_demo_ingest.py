"""The demo's two ingest steps, as the tour prints them: Lightning's works
arriving through a NATS stream (built by `demo`), and UiPath webhook deliveries
fed through their signature check and the uipath adapter."""

from __future__ import annotations

from typing import Any

import orjson
from rich.console import Console

from demo import DemoResult
from ledger import Ledger, ingest

from ._output import heading

WEBHOOK_SECRET = "demo-webhook-secret"
WEBHOOK_JOB = 4711
_WEBHOOK_STEPS = (
    ("job.created", "9001", "2024-05-02T09:00:00.1234567Z", {"State": "Pending"}),
    ("job.started", "9002", "2024-05-02T09:00:04.5000000Z", {"State": "Running"}),
    (
        "job.faulted",
        "9003",
        "2024-05-02T09:03:10.2500000Z",
        {"State": "Faulted", "Info": "Could not find file 'INV-2291.pdf'."},
    ),
)


def webhook_deliveries() -> list[tuple[bytes, str]]:
    """UiPath Orchestrator's webhook deliveries for one job, as it sends them: the
    body and its `X-UiPath-Signature` under the demo's secret."""
    uipath = ingest.SIGNATURES["uipath"]
    out = []
    for kind, event_id, at, job in _WEBHOOK_STEPS:
        body = orjson.dumps(
            {
                "Type": kind,
                "EventId": event_id,
                "Timestamp": at,
                "Job" if kind != "job.created" else "Jobs": (
                    {"Id": WEBHOOK_JOB, "ReleaseName": "InvoiceIntake", **job}
                    if kind != "job.created"
                    else [{"Id": WEBHOOK_JOB, "ReleaseName": "InvoiceIntake", **job}]
                ),
                "TenantId": 1,
                "OrganizationUnitId": 7,
            }
        )
        out.append((body, uipath.sign(body, WEBHOOK_SECRET)))
    # Orchestrator retries a delivery it thinks was lost; someone alters one in transit.
    last_body, last_signature = out[-1]
    out.append((last_body, last_signature))
    out.append((last_body.replace(b"Faulted", b"Successful"), last_signature))
    return out


def feed_webhooks(ledger: Ledger) -> list[dict[str, Any]]:
    """What `POST /ingest/uipath` does with each delivery: check the signature,
    turn the body into events with the uipath adapter, append them."""
    uipath = ingest.SIGNATURES["uipath"]
    answers = []
    for body, signature in webhook_deliveries():
        delivery = orjson.loads(body)
        answer: dict[str, Any] = {
            "type": delivery["Type"],
            "event_id": delivery["EventId"],
            "signature_valid": uipath.valid(body, signature, WEBHOOK_SECRET),
            "outcomes": [],
        }
        if answer["signature_valid"]:
            events = ingest.adapter("uipath")(body)
            report = ledger.append(events)
            answer["outcomes"] = [
                {**o.to_dict(), "status": e["status"]}
                for o, e in zip(report.outcomes, events, strict=True)
                if isinstance(e, dict)
            ]
        answers.append(answer)
    return answers


def webhooks_step(ledger: Ledger, out: Console) -> None:
    heading(
        out,
        "7. Ingest: UiPath webhooks, as Orchestrator sends them",
        "Each delivery's X-UiPath-Signature is checked, then the uipath adapter turns it "
        "into events (what POST /ingest/uipath does; see docs/ingest.md):",
    )
    seen: set[str] = set()
    for answer in feed_webhooks(ledger):
        name = f"{answer['type']} {answer['event_id']}"
        if not answer["signature_valid"]:
            out.print(f"  {name}, altered in transit: bad_signature, refused", markup=False)
            continue
        again = " again" if name in seen else ""
        seen.add(name)
        for outcome in answer["outcomes"]:
            word = "recorded as" if outcome["kind"] == "accepted" else f"{outcome['kind']} of"
            out.print(
                f"  {name}{again}: job {WEBHOOK_JOB} {outcome['status']}, {word} seq "
                f"{outcome.get('seq')}",
                markup=False,
            )


def bus_step(out: Console, result: DemoResult) -> None:
    bus = result.bus
    if bus is None or bus.report is None:
        reason = "no NATS server given" if bus is None else bus.skipped
        heading(out, "5. Message bus", f"skipped: {reason}; those events were delivered directly.")
        return
    report = bus.report
    heading(
        out,
        f"5. Message bus: the trainer and server works arrived through NATS ({bus.url})",
        f"Published one event per message to stream {bus.stream}, consumed by a durable "
        f"pull consumer that acknowledges after each commit: {report.messages} messages, "
        f"accepted {report.accepted}, rejected {report.rejected}. The stream is deleted again.",
    )
    for reject in bus.rejects:
        out.print(
            f"  to {bus.rejects_subject}: {reject['code']}: {reject['message']}", markup=False
        )
    out.print(
        f"The same from a shell: status-ledger consume {bus.url} --stream STREAM "
        "--subject SUBJECT --format ledger --rejects-subject REJECTS",
        markup=False,
    )


def bus_summary(result: DemoResult) -> dict[str, Any]:
    bus = result.bus
    if bus is None or bus.report is None:
        return {"skipped": "no NATS server given" if bus is None else bus.skipped}
    return {
        "url": bus.url,
        "stream": bus.stream,
        "counts": bus.report.counts(),
        "rejects": bus.rejects,
    }

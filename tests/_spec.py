"""Small builders shared by the specification tests: events written the way a
user writes them, the real command line, and a fingerprint of everything a
rejected input must leave untouched."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner, Result

from cli import app
from ledger import Ledger

# The transition tables of spec section 3, written out by hand, the one place
# tests take them from (test_models.py checks every edge against the models).
OSMO_FAILURES = [
    "FAILED",
    "FAILED_CANCELED",
    "FAILED_SERVER_ERROR",
    "FAILED_BACKEND_ERROR",
    "FAILED_EXEC_TIMEOUT",
    "FAILED_QUEUE_TIMEOUT",
    "FAILED_IMAGE_PULL",
    "FAILED_EVICTED",
    "FAILED_PREEMPTED",
]
OSMO_ANY_UNFINISHED = ["RESCHEDULED", *OSMO_FAILURES]
LIGHTNING_STAGES = ["pending", "started", "running", "succeeded", "failed", "stopped"]

# None: the first event. A status missing from a table may be followed by nothing.
SPEC: dict[tuple[str, str], dict[str | None, list[str]]] = {
    ("openfn", "run"): {
        None: ["Pending", "Rejected"],
        "Pending": ["Running", "Cancelled", "Rejected"],
        "Running": [
            "Running",
            "Success",
            "Failed",
            "Crashed",
            "Cancelled",
            "Killed",
            "Exception",
            "Lost",
        ],
    },
    ("osmo", "task_group"): {
        None: ["SUBMITTING"],
        "SUBMITTING": ["WAITING", "PROCESSING", "FAILED_UPSTREAM", *OSMO_ANY_UNFINISHED],
        "WAITING": ["PROCESSING", "FAILED_UPSTREAM", *OSMO_ANY_UNFINISHED],
        "PROCESSING": ["SCHEDULING", *OSMO_ANY_UNFINISHED],
        "SCHEDULING": ["INITIALIZING", *OSMO_ANY_UNFINISHED],
        "INITIALIZING": ["RUNNING", *OSMO_ANY_UNFINISHED],
        "RUNNING": ["COMPLETED", *OSMO_ANY_UNFINISHED],
    },
    ("osmo", "workflow"): {
        None: ["PENDING", "FAILED_SUBMISSION", "FAILED_START_ERROR", "FAILED_START_TIMEOUT"],
        "PENDING": ["FAILED_SUBMISSION", "FAILED_START_ERROR", "FAILED_START_TIMEOUT"],
    },
    ("uipath", "job"): {
        None: ["Pending"],
        "Pending": ["Running", "Faulted", "Stopped"],
        "Running": ["Successful", "Faulted", "Stopping", "Terminating", "Suspended", "Stopped"],
        "Stopping": ["Successful", "Faulted", "Terminating"],
        "Terminating": ["Stopped", "Faulted"],
        "Suspended": ["Resumed", "Stopping", "Terminating", "Faulted"],
        "Resumed": ["Running", "Successful", "Faulted", "Stopping", "Terminating", "Suspended"],
    },
    ("lightning", "work"): {
        None: ["not_started", "pending"],
        "not_started": LIGHTNING_STAGES,
        **{stage: LIGHTNING_STAGES for stage in LIGHTNING_STAGES},
    },
}

STATUSES: dict[tuple[str, str], list[str]] = {
    ("openfn", "run"): [
        "Pending",
        "Running",
        "Success",
        "Failed",
        "Crashed",
        "Cancelled",
        "Killed",
        "Exception",
        "Lost",
        "Rejected",
    ],
    ("osmo", "task_group"): [
        "SUBMITTING",
        "WAITING",
        "PROCESSING",
        "SCHEDULING",
        "INITIALIZING",
        "RUNNING",
        "COMPLETED",
        "FAILED_UPSTREAM",
        *OSMO_ANY_UNFINISHED,
    ],
    ("osmo", "workflow"): [
        "PENDING",
        "FAILED_SUBMISSION",
        "FAILED_START_ERROR",
        "FAILED_START_TIMEOUT",
    ],
    ("uipath", "job"): [
        "Pending",
        "Running",
        "Successful",
        "Faulted",
        "Stopping",
        "Terminating",
        "Suspended",
        "Resumed",
        "Stopped",
    ],
    ("lightning", "work"): ["not_started", *LIGHTNING_STAGES],
}

FINAL: dict[tuple[str, str], set[str]] = {
    ("openfn", "run"): set(STATUSES[("openfn", "run")]) - {"Pending", "Running"},
    ("osmo", "task_group"): {"COMPLETED", "FAILED_UPSTREAM", *OSMO_ANY_UNFINISHED},
    ("uipath", "job"): {"Successful", "Faulted", "Stopped"},
    ("lightning", "work"): {"succeeded", "failed", "stopped"},
}


BASE = 1_700_000_000
"""Epoch seconds the tests count from, so timestamps read as small offsets."""


def at(offset: float) -> int | float:
    """An `occurred_at` `offset` seconds after BASE, as a JSON number."""
    return BASE + offset


def event(
    model: str, type_: str, id_: str, status: str, when: float, **fields: Any
) -> dict[str, Any]:
    """One event as a user writes it; `when` is an offset from BASE."""
    return {
        "model": model,
        "type": type_,
        "id": id_,
        "status": status,
        "occurred_at": at(when),
        **fields,
    }


def cli(*args: str, input: str | None = None) -> Result:
    """Run `status-ledger ARGS` in-process, exactly as the console script does."""
    return CliRunner().invoke(app, list(args), input=input)


def fingerprint(ledger: Ledger) -> tuple[Any, ...]:
    """Everything an append could change: events, chain, idempotency keys, views."""
    assert ledger.views is not None
    return (
        list(ledger.export(with_ledger_fields=True)),
        ledger.verify().model_dump(),
        ledger.store.head(),
        ledger.store.event_id_count(),
        ledger.views.dump(),
    )

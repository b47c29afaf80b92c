"""The demo's story as events: one realistic morning of four orchestration
systems, written as a user would write them, so that every feature a newcomer
should see (retries, a failing OSMO group and its FAILED_UPSTREAM consequence,
UiPath Stop and Kill, a forced transition, a late event, the seed-004 example)
is one readable list here rather than code spread over the command line.

Every event gets an explicit `event_id` (`demo:...`, see `EventIds`): the
seed-004 example repeats an identical `running` record, which a source must send
with its own id, and the prefix is how the demo recognises a database it may
replace."""

from __future__ import annotations

from typing import Any

Event = dict[str, Any]

DAY = "2024-05-01T"
SWEEP_NOW = "2024-05-02T12:00:00Z"
AS_OF = "2024-05-01T10:23:00Z"
AUDITED_WORK_ORDER = "wo-1003"
RETRIED_WORK_ORDER = "wo-1002"
FIRST_EVENT_ID = "demo:openfn:r-1001-1:1"


class EventIds:
    """Numbers each entity's events in the order they are sent: `demo:MODEL:ID:N`."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def __call__(self, events: list[Event]) -> list[Event]:
        for event in events:
            key = f"{event['model']}:{event['id']}"
            self.counts[key] = self.counts.get(key, 0) + 1
            event["event_id"] = f"demo:{key}:{self.counts[key]}"
        return events


def _event(model: str, type_: str, id_: str, status: str, at: str | float, **more: Any) -> Event:
    occurred: str | float = f"{DAY}{at}Z" if isinstance(at, str) else at
    event: Event = {
        "model": model,
        "type": type_,
        "id": id_,
        "status": status,
        "occurred_at": occurred,
    }
    event.update({k: v for k, v in more.items() if v is not None})
    return event


def _run(work_order: str, run: str, *steps: tuple[str, str], **last: Any) -> list[Event]:
    """One OpenFn run: its steps as (status as the worker wrote it, time)."""
    events = [
        _event("openfn", "run", run, s, t, parent=work_order, actor="system:worker")
        for s, t in steps
    ]
    events[-1].update(last)
    return events


def _group(workflow: str, group: str, *steps: tuple[str, str], **last: Any) -> list[Event]:
    events = [_event("osmo", "task_group", group, s, t, parent=workflow) for s, t in steps]
    events[-1].update(last)
    return events


def _job(job: str, *steps: tuple[str, str, str | None], **first: Any) -> list[Event]:
    """One UiPath job: (status, time, actor)."""
    events = [_event("uipath", "job", job, s, t, actor=a) for s, t, a in steps]
    events[0].update(first)
    return events


def openfn() -> list[Event]:
    return [
        *_run(
            "wo-1001",
            "r-1001-1",
            ("available", "09:00:00"),
            ("claimed", "09:00:02"),
            ("started", "09:00:03"),
            ("Success", "09:01:10"),
        ),
        # A retry: the first run fails with a handled error, the second one succeeds.
        *_run(
            "wo-1002",
            "r-1002-1",
            ("Pending", "10:00:00"),
            ("claimed", "10:00:01"),
            ("started", "10:00:02"),
            ("Failed", "10:04:30"),
            reason="TypeError",
            message="Cannot read properties of undefined (reading 'age')",
        ),
        # An operator closes a run no worker ever claimed; the model forbids
        # Pending -> Lost, so it is recorded as forced, with who and why.
        *_run("wo-1003", "r-1003-1", ("Pending", "10:30:00")),
        _event(
            "openfn",
            "run",
            "r-1003-1",
            "Lost",
            "11:00:00",
            parent="wo-1003",
            actor="alice@ops",
            force=True,
            reason="operator_override",
            message="worker pool drained during the upgrade; the run was never claimed",
        ),
        *_run(
            "wo-1003",
            "r-1003-2",
            ("Pending", "11:05:00"),
            ("claimed", "11:05:01"),
            ("started", "11:05:02"),
            ("Success", "11:06:40"),
        ),
        *_run(
            "wo-1004",
            "r-1004-1",
            ("Pending", "11:10:00"),
            ("Running", "11:10:01"),
            ("Killed", "11:12:00"),
            reason="OomError",
            message="the run used more memory than this instance allows",
        ),
        _event(
            "openfn",
            "run",
            "r-1005-1",
            "Rejected",
            "11:20:00",
            parent="wo-1005",
            actor="system:limiter",
            reason="run_limit",
            message="project reached its run limit",
        ),
    ]


def openfn_late() -> list[Event]:
    """The retry of wo-1002, delivered after the rest: `started` arrives last and
    is validated at its place in occurred order, between `claimed` and Success."""
    return [
        *_run("wo-1002", "r-1002-2", ("Pending", "10:20:00"), ("claimed", "10:20:01")),
        _event(
            "openfn",
            "run",
            "r-1002-2",
            "Success",
            "10:26:15",
            parent="wo-1002",
            actor="system:worker",
        ),
        _event(
            "openfn",
            "run",
            "r-1002-2",
            "started",
            "10:20:02",
            parent="wo-1002",
            actor="system:worker",
        ),
    ]


def osmo() -> list[Event]:
    train = "wf-train-42"
    start = ("SUBMITTING", "08:00:00")
    return [
        _event(
            "osmo",
            "workflow",
            train,
            "PENDING",
            "08:00:00",
            attributes={"groups": ["prepare", "train", "evaluate", "report"]},
        ),
        *_group(
            train,
            "prepare",
            start,
            ("PROCESSING", "08:00:05"),
            ("SCHEDULING", "08:00:10"),
            ("INITIALIZING", "08:01:00"),
            ("RUNNING", "08:02:00"),
            ("COMPLETED", "08:30:00"),
        ),
        *_group(
            train,
            "train",
            start,
            ("WAITING", "08:00:05"),
            ("PROCESSING", "08:30:05"),
            ("SCHEDULING", "08:30:10"),
            ("INITIALIZING", "08:31:00"),
            ("RUNNING", "08:32:00"),
            ("FAILED_EXEC_TIMEOUT", "10:32:00"),
            message="exceeded exec_timeout of 2h",
        ),
        *_group(train, "evaluate", start, ("WAITING", "08:00:05"), ("FAILED_UPSTREAM", "10:32:01")),
        *_group(train, "report", start, ("WAITING", "08:00:05"), ("FAILED_UPSTREAM", "10:32:01")),
        *_group(
            "wf-etl-7",
            "extract",
            ("SUBMITTING", "07:00:00"),
            ("PROCESSING", "07:00:02"),
            ("SCHEDULING", "07:00:04"),
            ("INITIALIZING", "07:00:30"),
            ("RUNNING", "07:01:00"),
            ("COMPLETED", "07:20:00"),
        ),
        _event(
            "osmo",
            "workflow",
            "wf-sim-3",
            "PENDING",
            "11:00:00",
            attributes={"groups": ["setup", "simulate"]},
        ),
        *_group(
            "wf-sim-3",
            "setup",
            ("SUBMITTING", "11:00:00"),
            ("PROCESSING", "11:00:03"),
            ("SCHEDULING", "11:00:05"),
            ("INITIALIZING", "11:01:00"),
            ("RUNNING", "11:02:00"),
        ),
        *_group("wf-sim-3", "simulate", ("SUBMITTING", "11:00:00"), ("WAITING", "11:00:03")),
    ]


def uipath() -> list[Event]:
    return [
        *_job(
            "job-501",
            ("Pending", "09:00:00", None),
            ("Running", "09:00:05", "robot-7"),
            ("Successful", "09:12:00", "robot-7"),
        ),
        # The Stop button: Stopping, then the process ends cleanly in Successful.
        *_job(
            "job-502",
            ("Pending", "09:30:00", None),
            ("Running", "09:30:04", "robot-7"),
            ("Stopping", "09:45:00", "bob"),
            ("Successful", "09:45:20", "robot-7"),
        ),
        # The Kill button: Terminating, then Stopped.
        *_job(
            "job-503",
            ("Pending", "10:00:00", None),
            ("Running", "10:00:03", "robot-9"),
            ("Terminating", "10:15:00", "bob"),
            ("Stopped", "10:15:08", "robot-9"),
        ),
        # Killed, but the robot never answers: the sweep faults it after 24 hours.
        *_job(
            "job-504",
            ("Pending", "10:30:00", None),
            ("Running", "10:30:02", "robot-3"),
            ("Terminating", "10:40:00", "bob"),
        ),
        *_job("job-505", ("Pending", "11:00:00", None), ("Faulted", "11:00:30", "robot-3")),
        *_job(
            "job-506",
            ("Pending", "11:05:00", "bob"),
            ("Running", "11:05:04", "robot-7"),
            attributes={"restart_of": "job-505"},
        ),
    ]


def lightning_extra() -> list[Event]:
    """Works beside the seed's: timeouts that aggregate into one status (count 2),
    and a work stopped by SIGTERM."""
    wait = "requesting_ressource"
    return [
        _event("lightning", "work", "trainer", "pending", 1714557600.0, reason=wait),
        _event("lightning", "work", "trainer", "running", 1714557660.5),
        _event(
            "lightning",
            "work",
            "trainer",
            "failed",
            1714558260.5,
            reason="timeout",
            message="no heartbeat for 600s",
        ),
        _event("lightning", "work", "trainer", "pending", 1714558300.25, reason=wait),
        _event("lightning", "work", "trainer", "running", 1714558360.75),
        _event(
            "lightning",
            "work",
            "trainer",
            "failed",
            1714558960.75,
            reason="timeout",
            message="no heartbeat for 600s",
        ),
        _event("lightning", "work", "server", "pending", 1714557700.0, reason="image_building"),
        _event("lightning", "work", "server", "running", 1714557900.0),
        _event(
            "lightning", "work", "server", "stopped", 1714561500.0, reason="sigterm_signal_handler"
        ),
    ]


SEED_STATUS_WORK = "seed004-status"
SEED_STATUSES_WORK = "seed004-statuses"
_FAILED = {"reason": "user_exception", "message": "The provided value was 1"}


def seed_status_deltas() -> list[list[Event]]:
    """Seed 004's first example (work.status printed by the Flow), one delta per
    status change, exactly as the document prints the timestamps."""
    w = SEED_STATUS_WORK
    return [
        [_event("lightning", "work", w, "not_started", 1653498225.18468)],
        [_event("lightning", "work", w, "pending", 1653498225.217413)],
        [_event("lightning", "work", w, "running", 1653498228.825194)],
        [_event("lightning", "work", w, "succeeded", 1653498229.831793)],
        [_event("lightning", "work", w, "running", 1653498229.846451)],
        [_event("lightning", "work", w, "failed", 1653498230.852565, **_FAILED)],
    ]


def seed_statuses_deltas() -> list[list[Event]]:
    """Seed 004's second example (work.statuses), grouped as the Flow saw the
    deltas arrive: the second execution's pending and running together, and the
    repeated running together with the failure."""
    w = SEED_STATUSES_WORK
    return [
        [_event("lightning", "work", w, "pending", 1653498622.252016)],
        [_event("lightning", "work", w, "running", 1653498626.185683)],
        [_event("lightning", "work", w, "succeeded", 1653498627.191053)],
        [
            _event("lightning", "work", w, "pending", 1653498627.204636),
            _event("lightning", "work", w, "running", 1653498627.205509),
        ],
        [
            _event("lightning", "work", w, "running", 1653498627.205509),
            _event("lightning", "work", w, "failed", 1653498628.210164, **_FAILED),
        ],
    ]


def illegal_example() -> Event:
    """What the demo tries, and the ledger refuses: a finished job cannot run again."""
    return _event(
        "uipath", "job", "job-501", "Running", "12:00:00", actor="robot-7", event_id="demo:illegal"
    )

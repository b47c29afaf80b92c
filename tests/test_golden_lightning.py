"""The golden rule (spec section 5, issue 4): fed the Lightning document's
example one event at a time through the real command line, `status --format
repr` and `status --statuses --format repr` print the document's
`WorkStatus(...)` lines and lists character for character. The expected text
below is copied from /work/shared/seeds/004_adc010d03a0acc13.txt; the document
prints each state many times while its flow polls, so it is kept here once per
change and must appear, in order, among our outputs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from _spec import at, cli, event

from ledger import Ledger

# First example: `print(self.work.status)` while work.run(0) succeeds and
# work.run(1) fails. Distinct lines, in the document's order.
FIRST_STATUS_LINES = [
    "WorkStatus(stage='not_started', timestamp=1653498225.18468, reason=None, message=None, count=1)",  # noqa: E501
    "WorkStatus(stage='pending', timestamp=1653498225.217413, reason=None, message=None, count=1)",
    "WorkStatus(stage='running', timestamp=1653498228.825194, reason=None, message=None, count=1)",
    "WorkStatus(stage='succeeded', timestamp=1653498229.831793, reason=None, message=None, count=1)",  # noqa: E501
    "WorkStatus(stage='running', timestamp=1653498229.846451, reason=None, message=None, count=1)",
    "WorkStatus(stage='failed', timestamp=1653498230.852565, reason='user_exception', message='The provided value was 1', count=1)",  # noqa: E501
]

# The events behind it. The document shows succeeded followed directly by
# running: that running opens the second execution.
FIRST_EVENTS: list[dict[str, Any]] = [
    {"status": "not_started", "occurred_at": 1653498225.18468},
    {"status": "pending", "occurred_at": 1653498225.217413},
    {"status": "running", "occurred_at": 1653498228.825194},
    {"status": "succeeded", "occurred_at": 1653498229.831793},
    {"status": "running", "occurred_at": 1653498229.846451},
    {
        "status": "failed",
        "occurred_at": 1653498230.852565,
        "reason": "user_exception",
        "message": "The provided value was 1",
    },
]

_P1 = "WorkStatus(stage='pending', timestamp=1653498622.252016, reason=None, message=None, count=1)"
_R1 = "WorkStatus(stage='running', timestamp=1653498626.185683, reason=None, message=None, count=1)"
_S1 = (
    "WorkStatus(stage='succeeded', timestamp=1653498627.191053, reason=None, message=None, count=1)"
)
_P2 = "WorkStatus(stage='pending', timestamp=1653498627.204636, reason=None, message=None, count=1)"
_R2 = "WorkStatus(stage='running', timestamp=1653498627.205509, reason=None, message=None, count=1)"
_F2 = (
    "WorkStatus(stage='failed', timestamp=1653498628.210164, reason='user_exception', "
    "message='The provided value was 1', count=1)"
)

# Second example: `print(self.work.statuses)`, distinct lists in order.
SECOND_STATUSES_LINES = [
    "[]",
    f"[{_P1}]",
    f"[{_P1}, {_R1}]",
    f"[{_P1}, {_R1}, {_S1}]",
    f"[{_P2}, {_R2}]",
    f"[{_P2}, {_R2}, {_R2}, {_F2}]",
]

# The document does not print the creation time of the second example's work;
# 1653498622.2 is our choice, just before its first pending (1653498622.252016).
# The running at 1653498627.205509 really happens twice (the document lists it
# twice), so, as a source that repeats a status must, each event carries its own
# event_id.
SECOND_EVENTS: list[dict[str, Any]] = [
    {"status": "not_started", "occurred_at": 1653498622.2},
    {"status": "pending", "occurred_at": 1653498622.252016},
    {"status": "running", "occurred_at": 1653498626.185683},
    {"status": "succeeded", "occurred_at": 1653498627.191053},
    {"status": "pending", "occurred_at": 1653498627.204636},
    {"status": "running", "occurred_at": 1653498627.205509},
    {"status": "running", "occurred_at": 1653498627.205509},
    {
        "status": "failed",
        "occurred_at": 1653498628.210164,
        "reason": "user_exception",
        "message": "The provided value was 1",
    },
]


def _appear_in_order(expected: list[str], printed: list[str]) -> bool:
    remaining = iter(printed)
    return all(any(line == out for out in remaining) for line in expected)


def _show(db: str, work: str) -> tuple[str, str]:
    status = cli("status", "lightning", "work", work, "--format", "repr", "--db", db)
    statuses = cli(
        "status", "lightning", "work", work, "--statuses", "--format", "repr", "--db", db
    )
    assert status.exit_code == 0, status.output
    assert statuses.exit_code == 0, statuses.output
    return status.stdout.rstrip("\n"), statuses.stdout.rstrip("\n")


def _record_args(fields: dict[str, Any]) -> list[str]:
    args = ["--status", fields["status"], "--occurred-at", repr(fields["occurred_at"])]
    for name in ("reason", "message", "event_id"):
        if name in fields:
            args += [f"--{name.replace('_', '-')}", fields[name]]
    return args


@pytest.mark.slow
def test_first_example_prints_the_documents_work_status_lines_one_event_at_a_time(
    ledger_url: str,
) -> None:
    db = ledger_url
    statuses_printed: list[str] = []
    status_printed: list[str] = []
    for fields in FIRST_EVENTS:
        done = cli(
            "record",
            "--model",
            "lightning",
            "--type",
            "work",
            "--id",
            "w-first",
            *_record_args(fields),
            "--db",
            db,
        )
        assert done.exit_code == 0, done.output
        status, statuses = _show(db, "w-first")
        status_printed.append(status)
        statuses_printed.append(statuses)
    assert status_printed == FIRST_STATUS_LINES
    assert statuses_printed[0] == "[]"
    assert statuses_printed[-1] == f"[{FIRST_STATUS_LINES[4]}, {FIRST_STATUS_LINES[5]}]"


@pytest.mark.slow
def test_second_example_prints_the_documents_statuses_lists_one_event_at_a_time(
    ledger_url: str,
) -> None:
    db = ledger_url
    status_printed: list[str] = []
    statuses_printed: list[str] = []
    for number, fields in enumerate(SECOND_EVENTS):
        line = json.dumps(
            {
                "model": "lightning",
                "type": "work",
                "id": "w-second",
                "event_id": f"seed-004-second-{number}",
                **fields,
            }
        )
        done = cli("import", "-", "--json", "--db", db, input=line + "\n")
        assert done.exit_code == 0, done.output
        assert json.loads(done.stdout) == {"accepted": 1, "duplicates": 0, "rejected": 0}
        status, statuses = _show(db, "w-second")
        status_printed.append(status)
        statuses_printed.append(statuses)
    assert _appear_in_order(SECOND_STATUSES_LINES, statuses_printed), statuses_printed
    assert status_printed[-1] == _F2
    assert status_printed[0] == (
        "WorkStatus(stage='not_started', timestamp=1653498622.2, reason=None, message=None, "
        "count=1)"
    )


def test_the_documents_duplicated_running_stays_two_events_when_imported_as_one_file(
    ledger_url: str,
) -> None:
    db = ledger_url
    lines = [
        json.dumps({"model": "lightning", "type": "work", "id": "w-file", **f})
        for f in SECOND_EVENTS
    ]
    done = cli("import", "-", "--json", "--db", db, input="\n".join(lines) + "\n")
    assert json.loads(done.stdout) == {"accepted": 8, "duplicates": 0, "rejected": 0}
    assert _show(db, "w-file") == (_F2, SECOND_STATUSES_LINES[-1])
    again = cli("import", "-", "--json", "--db", db, input="\n".join(lines) + "\n")
    assert json.loads(again.stdout) == {"accepted": 0, "duplicates": 8, "rejected": 0}


def test_work_status_flags_follow_the_documents_has_started_is_pending_is_running(
    ledger: Ledger,
) -> None:
    def flags() -> dict[str, Any]:
        extra = ledger.status("lightning", "work", "w-flags").model_extra or {}
        names = (
            "has_started",
            "is_pending",
            "is_running",
            "has_succeeded",
            "has_failed",
            "has_stopped",
        )
        return {name: extra[name] for name in names if extra[name]}

    ledger.record(**event("lightning", "work", "w-flags", "not_started", 0))
    assert flags() == {}
    ledger.record(**event("lightning", "work", "w-flags", "pending", 1))
    assert flags() == {"has_started": True, "is_pending": True}
    ledger.record(**event("lightning", "work", "w-flags", "running", 2))
    assert flags() == {"has_started": True, "is_running": True}
    ledger.record(**event("lightning", "work", "w-flags", "succeeded", 3))
    assert flags() == {"has_started": True, "has_succeeded": True}
    ledger.record(**event("lightning", "work", "w-flags", "running", 4))
    ledger.record(**event("lightning", "work", "w-flags", "failed", 5, reason="user_exception"))
    assert flags() == {"has_started": True, "has_failed": True}
    ledger.record(
        **event("lightning", "work", "w-flags", "stopped", 6, reason="sigterm_signal_handler")
    )
    assert flags() == {"has_started": True, "has_stopped": True}


# -- timeout aggregation (Lightning's _aggregate_status_timeout) ---------------


def _work(ledger: Ledger, work: str, steps: list[tuple[str, float, dict[str, Any]]]) -> None:
    for status, when, fields in steps:
        ledger.record(**event("lightning", "work", work, status, when, **fields))


def _timeout(message: str, **fields: Any) -> dict[str, Any]:
    return {"reason": "timeout", "message": message, **fields}


def test_timeouts_without_a_success_count_all_and_take_the_first_records_timestamp(
    ledger: Ledger,
) -> None:
    _work(
        ledger,
        "w",
        [
            ("pending", 1, {}),
            ("running", 2, {}),
            ("failed", 3, _timeout("first")),
            ("pending", 4, {}),
            ("running", 5, {}),
            ("failed", 6, _timeout("second")),
        ],
    )
    status = ledger.status("lightning", "work", "w").status
    assert (status.status, status.count, status.reason, status.message, status.timestamp) == (
        "failed",
        2,
        "timeout",
        "second",
        at(1),
    )


def test_timeouts_are_counted_since_the_last_success_from_the_record_after_it(
    ledger: Ledger,
) -> None:
    one = {"execution": "e1"}
    _work(
        ledger,
        "w",
        [
            ("pending", 1, one),
            ("running", 2, one),
            ("failed", 3, _timeout("before", **one)),
            ("pending", 4, one),
            ("running", 5, one),
            ("succeeded", 6, one),
            ("pending", 7, one),
            ("failed", 8, _timeout("after 1", **one)),
            ("pending", 9, one),
            ("failed", 10, _timeout("after 2", **one)),
        ],
    )
    status = ledger.status("lightning", "work", "w").status
    assert (status.count, status.message, status.timestamp) == (2, "after 2", at(7))


def test_a_failure_that_is_not_a_timeout_is_shown_alone_with_its_own_timestamp(
    ledger: Ledger,
) -> None:
    _work(
        ledger,
        "w",
        [
            ("pending", 1, {}),
            ("failed", 2, _timeout("slow")),
            ("pending", 3, {}),
            ("failed", 4, {"reason": "user_exception", "message": "boom"}),
        ],
    )
    status = ledger.status("lightning", "work", "w").status
    assert (status.count, status.reason, status.timestamp) == (1, "user_exception", at(4))


def test_a_late_timeout_is_aggregated_where_it_occurred(ledger: Ledger) -> None:
    _work(
        ledger,
        "w",
        [
            ("pending", 1, {}),
            ("failed", 2, _timeout("one")),
            ("pending", 3, {}),
            ("failed", 5, _timeout("three")),
            ("failed", 4, _timeout("two, arrived late")),
        ],
    )
    status = ledger.status("lightning", "work", "w").status
    assert (status.count, status.message, status.timestamp) == (3, "three", at(1))


# -- executions (one per work.run call) ---------------------------------------


def _statuses(ledger: Ledger, work: str) -> list[tuple[str, int | float | str]]:
    return [(s.status, s.timestamp) for s in ledger.status("lightning", "work", work).statuses]


def test_a_pending_after_a_timeout_failure_retries_the_same_execution(ledger: Ledger) -> None:
    _work(ledger, "w", [("pending", 1, {}), ("failed", 2, _timeout("t")), ("pending", 3, {})])
    assert _statuses(ledger, "w") == [("pending", at(1)), ("failed", at(2)), ("pending", at(3))]


@pytest.mark.parametrize(
    ("end", "fields"),
    [
        ("succeeded", {}),
        ("stopped", {"reason": "sigterm_signal_handler"}),
        ("failed", {"reason": "user_exception"}),
        ("failed", {}),
    ],
)
@pytest.mark.parametrize("start", ["pending", "running"])
def test_a_start_after_an_end_that_is_not_a_timeout_opens_a_new_execution(
    ledger: Ledger, end: str, fields: dict[str, Any], start: str
) -> None:
    _work(ledger, "w", [("pending", 1, {}), ("running", 2, {}), (end, 3, fields), (start, 4, {})])
    assert _statuses(ledger, "w") == [(start, at(4))]


def test_an_explicit_execution_always_wins(ledger: Ledger) -> None:
    _work(
        ledger,
        "w",
        [
            ("pending", 1, {"execution": "run-1"}),
            ("succeeded", 2, {"execution": "run-1"}),
            ("running", 3, {"execution": "run-1"}),
            ("pending", 4, {"execution": "run-2"}),
        ],
    )
    assert _statuses(ledger, "w") == [("pending", at(4))]
    extra = ledger.status("lightning", "work", "w").model_extra or {}
    assert extra["execution"] == "run-2"


def test_an_explicit_execution_keeps_a_run_going_past_a_success(ledger: Ledger) -> None:
    _work(
        ledger,
        "w",
        [
            ("pending", 1, {"execution": "run-1"}),
            ("succeeded", 2, {"execution": "run-1"}),
            ("running", 3, {"execution": "run-1"}),
        ],
    )
    assert _statuses(ledger, "w") == [("pending", at(1)), ("succeeded", at(2)), ("running", at(3))]

"""The OSMO workflow view, aggregated from its task groups as OSMO's code does
(spec section 3): PENDING until a group runs, RUNNING while one runs, WAITING
when started but nothing runs, and once every group has finished COMPLETED or
the workflow twin of the failure that caused it, by OSMO's precedence."""

from __future__ import annotations

from typing import Any

import pytest
from _spec import at, event

from ledger import Ledger, NotFound

UP_TO_RUNNING = ["SUBMITTING", "PROCESSING", "SCHEDULING", "INITIALIZING", "RUNNING"]


def ran(final: str | None = None) -> list[str]:
    """A group that reached RUNNING, then optionally finished with `final`."""
    return [*UP_TO_RUNNING, final] if final else list(UP_TO_RUNNING)


def waited(final: str | None = None) -> list[str]:
    """A group waiting for upstream groups, then optionally finished with `final`."""
    return ["SUBMITTING", "WAITING", final] if final else ["SUBMITTING", "WAITING"]


def _feed(ledger: Ledger, workflow: str, groups: dict[str, list[str]]) -> None:
    """Each group's statuses in order; groups interleave in time by position."""
    for step in range(max(len(h) for h in groups.values())):
        for index, (name, history) in enumerate(groups.items()):
            if step < len(history):
                ledger.record(
                    **event(
                        "osmo",
                        "task_group",
                        name,
                        history[step],
                        step * 10 + index,
                        parent=workflow,
                    )
                )


def _workflow(ledger: Ledger, workflow: str = "wf") -> str:
    return ledger.status("osmo", "workflow", workflow).status.status


# (case, groups, expected workflow status)
CASES: list[tuple[str, dict[str, list[str]], str]] = [
    ("submitted only", {"a": ["SUBMITTING"]}, "PENDING"),
    ("processing and waiting", {"a": ["SUBMITTING", "PROCESSING"], "b": waited()}, "PENDING"),
    ("one running", {"a": ran(), "b": waited()}, "RUNNING"),
    ("completed, next one waiting", {"a": ran("COMPLETED"), "b": waited()}, "WAITING"),
    ("completed, next one running", {"a": ran("COMPLETED"), "b": ran()}, "RUNNING"),
    ("all completed", {"a": ran("COMPLETED"), "b": ran("COMPLETED")}, "COMPLETED"),
    ("failure while another runs", {"a": ran("FAILED_EXEC_TIMEOUT"), "b": ran()}, "RUNNING"),
    ("failure while another waits", {"a": ran("FAILED_EVICTED"), "b": waited()}, "WAITING"),
    (
        "upstream failure next to its cause",
        {"a": ran("FAILED_EXEC_TIMEOUT"), "b": waited("FAILED_UPSTREAM")},
        "FAILED_EXEC_TIMEOUT",
    ),
    (
        "cause, consequence and a success",
        {"a": ran("FAILED_IMAGE_PULL"), "b": waited("FAILED_UPSTREAM"), "c": ran("COMPLETED")},
        "FAILED_IMAGE_PULL",
    ),
    ("upstream failures only", {"a": ran("COMPLETED"), "b": waited("FAILED_UPSTREAM")}, "FAILED"),
    (
        "canceled beats server error",
        {"a": ran("FAILED_SERVER_ERROR"), "b": ran("FAILED_CANCELED")},
        "FAILED_CANCELED",
    ),
    (
        "canceled beats everything",
        {
            "a": ran("FAILED_QUEUE_TIMEOUT"),
            "b": ran("FAILED_EXEC_TIMEOUT"),
            "c": ran("FAILED_SERVER_ERROR"),
            "d": ran("FAILED_CANCELED"),
            "e": ran("FAILED_EVICTED"),
        },
        "FAILED_CANCELED",
    ),
    (
        "server error beats exec timeout",
        {"a": ran("FAILED_EXEC_TIMEOUT"), "b": ran("FAILED_SERVER_ERROR")},
        "FAILED_SERVER_ERROR",
    ),
    (
        "exec timeout beats queue timeout",
        {"a": ran("FAILED_QUEUE_TIMEOUT"), "b": ran("FAILED_EXEC_TIMEOUT")},
        "FAILED_EXEC_TIMEOUT",
    ),
    (
        "queue timeout beats the rest",
        {"a": ran("FAILED_PREEMPTED"), "b": ran("FAILED_QUEUE_TIMEOUT"), "c": ran("FAILED")},
        "FAILED_QUEUE_TIMEOUT",
    ),
    (
        "one shared cause",
        {"a": ran("FAILED_EVICTED"), "b": ran("FAILED_EVICTED")},
        "FAILED_EVICTED",
    ),
    ("causes differ", {"a": ran("FAILED_EVICTED"), "b": ran("FAILED_PREEMPTED")}, "FAILED"),
    ("plain FAILED", {"a": ran("FAILED")}, "FAILED"),
    *[
        (f"{s} has a workflow twin", {"a": ran(s), "b": ran("COMPLETED")}, s)
        for s in [
            "FAILED_BACKEND_ERROR",
            "FAILED_IMAGE_PULL",
            "FAILED_EVICTED",
            "FAILED_PREEMPTED",
            "FAILED_SERVER_ERROR",
            "FAILED_CANCELED",
            "FAILED_EXEC_TIMEOUT",
            "FAILED_QUEUE_TIMEOUT",
        ]
    ],
    (
        "rescheduled group is left out of success",
        {"a": ran("RESCHEDULED"), "b": ran("COMPLETED")},
        "COMPLETED",
    ),
    (
        "rescheduled group is left out of failure",
        {"a": ran("RESCHEDULED"), "b": ran("FAILED_EVICTED")},
        "FAILED_EVICTED",
    ),
    ("rescheduled while another runs", {"a": ran("RESCHEDULED"), "b": ran()}, "RUNNING"),
    ("only a rescheduled group, its work goes on elsewhere", {"a": ran("RESCHEDULED")}, "WAITING"),
]


@pytest.mark.parametrize(("groups", "expected"), [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_workflow_status_is_aggregated_from_its_groups(
    ledger: Ledger, groups: dict[str, list[str]], expected: str
) -> None:
    _feed(ledger, "wf", groups)
    assert _workflow(ledger) == expected


def test_every_workflow_failure_twin_is_final(ledger: Ledger) -> None:
    _feed(ledger, "wf", {"a": ran("FAILED_EXEC_TIMEOUT"), "b": waited("FAILED_UPSTREAM")})
    row = ledger.status("osmo", "workflow", "wf")
    assert row.final
    assert (row.model_extra or {})["groups"] == {
        "FAILED_EXEC_TIMEOUT": ["a"],
        "FAILED_UPSTREAM": ["b"],
    }


def test_a_workflow_with_no_events_does_not_exist(ledger: Ledger) -> None:
    with pytest.raises(NotFound):
        ledger.status("osmo", "workflow", "wf")


def _declare(ledger: Ledger, groups: list[str], when: float = -1, **fields: Any) -> None:
    ledger.record(
        **event("osmo", "workflow", "wf", "PENDING", when, attributes={"groups": groups}, **fields)
    )


def test_a_declaration_alone_is_pending(ledger: Ledger) -> None:
    _declare(ledger, ["a", "b"])
    row = ledger.status("osmo", "workflow", "wf")
    assert (row.status.status, (row.model_extra or {})["groups"]) == (
        "PENDING",
        {"NOT_SUBMITTED": ["a", "b"]},
    )


def test_declared_groups_not_yet_seen_keep_the_workflow_unfinished(ledger: Ledger) -> None:
    _declare(ledger, ["a", "b"])
    _feed(ledger, "wf", {"a": ran("COMPLETED")})
    row = ledger.status("osmo", "workflow", "wf")
    assert row.status.status == "WAITING"
    assert not row.final
    assert (row.model_extra or {})["groups"] == {"COMPLETED": ["a"], "NOT_SUBMITTED": ["b"]}
    _feed(ledger, "wf", {"b": ran("COMPLETED")})
    assert _workflow(ledger) == "COMPLETED"


def test_without_a_declaration_the_groups_seen_so_far_are_the_whole_set(ledger: Ledger) -> None:
    _feed(ledger, "wf", {"a": ran("COMPLETED")})
    assert _workflow(ledger) == "COMPLETED"
    _feed(ledger, "wf", {"b": ["SUBMITTING"]})
    assert _workflow(ledger) == "WAITING"


def test_workflow_level_failed_submission(ledger: Ledger) -> None:
    _declare(ledger, ["a"])
    ledger.record(**event("osmo", "workflow", "wf", "FAILED_SUBMISSION", 0, message="bad spec"))
    row = ledger.status("osmo", "workflow", "wf")
    assert (row.status.status, row.status.message, row.final) == (
        "FAILED_SUBMISSION",
        "bad spec",
        True,
    )


def test_workflow_level_failure_without_any_group(ledger: Ledger) -> None:
    ledger.record(**event("osmo", "workflow", "wf", "FAILED_START_TIMEOUT", 0))
    assert _workflow(ledger) == "FAILED_START_TIMEOUT"


def test_a_workflow_level_failure_ends_the_workflow_even_while_a_group_runs(
    ledger: Ledger,
) -> None:
    _feed(ledger, "wf", {"a": ran()})
    ledger.record(**event("osmo", "workflow", "wf", "FAILED_START_ERROR", 100))
    assert _workflow(ledger) == "FAILED_START_ERROR"


def test_a_declaration_needs_the_list_of_groups(ledger: Ledger) -> None:
    (outcome,) = ledger.append([event("osmo", "workflow", "wf", "PENDING", 0)]).outcomes
    assert outcome.error is not None and "attributes.groups" in outcome.error.message


def test_workflow_statuses_record_each_change_with_the_time_of_the_group_event(
    ledger: Ledger,
) -> None:
    _feed(ledger, "wf", {"a": ran("COMPLETED"), "b": waited()})
    for when, status in enumerate(
        ["PROCESSING", "SCHEDULING", "INITIALIZING", "RUNNING", "COMPLETED"]
    ):
        ledger.record(**event("osmo", "task_group", "b", status, 100 + when, parent="wf"))
    row = ledger.status("osmo", "workflow", "wf")
    # a: SUBMITTING at 0 ... RUNNING at 40, COMPLETED at 50; b runs at 103.
    assert [(s.status, s.timestamp) for s in row.statuses] == [
        ("PENDING", at(0)),
        ("RUNNING", at(40)),
        ("WAITING", at(50)),
        ("RUNNING", at(103)),
        ("COMPLETED", at(104)),
    ]


def test_groups_of_other_workflows_do_not_count(ledger: Ledger) -> None:
    _feed(ledger, "wf", {"a": ran("COMPLETED")})
    _feed(ledger, "other", {"a": ran()})
    assert (_workflow(ledger, "wf"), _workflow(ledger, "other")) == ("COMPLETED", "RUNNING")

"""The OpenFn views: a run row per run, and a work order whose status is the
status of its last run, the run whose first event occurred last (ties: the one
the ledger recorded later)."""

from __future__ import annotations

from typing import Any

import pytest
from _spec import at, event

from ledger import Ledger, ModelRegistry, NotFound
from projections import Child, Mark
from projections._derived import last_child_row


def _run(ledger: Ledger, run: str, statuses: list[str], start: float, **fields: Any) -> None:
    for step, status in enumerate(statuses):
        ledger.record(**event("openfn", "run", run, status, start + step, parent="wo", **fields))


def _order(ledger: Ledger) -> tuple[str, bool, list[str], str]:
    row = ledger.status("openfn", "work_order", "wo")
    extra = row.model_extra or {}
    return row.status.status, row.final, extra["runs"], extra["last_run"]


def test_a_failed_run_retried_successfully_makes_the_work_order_a_success(
    ledger: Ledger,
) -> None:
    _run(ledger, "r-1", ["Pending", "Running"], 0)
    ledger.record(**event("openfn", "run", "r-1", "Failed", 2, parent="wo", reason="JobError"))
    assert _order(ledger) == ("Failed", True, ["r-1"], "r-1")
    _run(ledger, "r-2", ["Pending", "Running", "Success"], 10)
    assert _order(ledger) == ("Success", True, ["r-1", "r-2"], "r-2")


def test_a_successful_run_followed_by_a_failed_one_makes_the_work_order_failed(
    ledger: Ledger,
) -> None:
    _run(ledger, "r-1", ["Pending", "Running", "Success"], 0)
    _run(ledger, "r-2", ["Pending", "Running"], 10)
    ledger.record(**event("openfn", "run", "r-2", "Crashed", 12, parent="wo", reason="SyntaxError"))
    assert _order(ledger) == ("Crashed", True, ["r-1", "r-2"], "r-2")


def test_a_retry_in_progress_shows_the_work_order_unfinished(ledger: Ledger) -> None:
    _run(ledger, "r-1", ["Pending", "Running", "Failed"], 0)
    _run(ledger, "r-2", ["Pending"], 10)
    assert _order(ledger) == ("Pending", False, ["r-1", "r-2"], "r-2")


def test_late_events_of_an_older_run_do_not_change_the_work_order(ledger: Ledger) -> None:
    _run(ledger, "r-1", ["Pending", "Running"], 0)
    _run(ledger, "r-2", ["Pending", "Running", "Success"], 10)
    ledger.record(**event("openfn", "run", "r-1", "Lost", 20, parent="wo"))
    assert _order(ledger)[:2] == ("Success", True)
    assert ledger.status("openfn", "run", "r-1").status.status == "Lost"


def test_the_last_run_is_the_one_that_started_last_not_the_one_recorded_last(
    ledger: Ledger,
) -> None:
    _run(ledger, "r-late", ["Pending", "Running", "Success"], 10)
    _run(ledger, "r-early", ["Pending", "Running", "Failed"], 0)
    assert _order(ledger) == ("Success", True, ["r-early", "r-late"], "r-late")


def test_runs_starting_at_the_same_time_are_ordered_by_the_ledger(ledger: Ledger) -> None:
    _run(ledger, "r-b", ["Pending"], 0)
    _run(ledger, "r-a", ["Rejected"], 0)
    assert _order(ledger) == ("Rejected", True, ["r-b", "r-a"], "r-a")


def test_runs_a_candidate_trail_starts_at_one_position_keep_the_first_met_as_last() -> None:
    """Candidate projection code may give two runs' first marks one position."""
    model = ModelRegistry.builtin().model("openfn")
    runs = [
        Child(run, [Mark(1.0, 5, status, "2024-05-01T10:00:00Z", None, None)], None, False)
        for run, status in (("r-a", "Running"), ("r-b", "Success"))
    ]
    row = last_child_row("openfn", model.types["work_order"], model.types["run"], "wo", runs)
    assert row is not None and (row["last_run"], row["status"]["status"]) == ("r-a", "Running")


def test_work_order_statuses_follow_its_last_run_while_it_was_last(ledger: Ledger) -> None:
    _run(ledger, "r-1", ["Pending", "Running", "Failed"], 0)
    _run(ledger, "r-2", ["Pending", "Running", "Success"], 10)
    row = ledger.status("openfn", "work_order", "wo")
    assert [(s.status, s.timestamp) for s in row.statuses] == [
        ("Pending", at(0)),
        ("Running", at(1)),
        ("Failed", at(2)),
        ("Pending", at(10)),
        ("Running", at(11)),
        ("Success", at(12)),
    ]
    assert (row.first_seen, row.transitions) == (at(0), 6)


def test_a_work_order_without_runs_does_not_exist(ledger: Ledger) -> None:
    with pytest.raises(NotFound):
        ledger.status("openfn", "work_order", "wo")


def test_the_work_order_list_filters_by_status_case_insensitively(ledger: Ledger) -> None:
    _run(ledger, "r-1", ["Pending", "Running", "Success"], 0)
    assert [r.id for r in ledger.list("openfn", "work_order", status="Success")] == ["wo"]
    assert [r.id for r in ledger.list("openfn", "work_order", status="success")] == ["wo"]


def test_a_run_row_carries_the_fields_of_the_spec(ledger: Ledger) -> None:
    ledger.record(**event("openfn", "run", "r-1", "available", 0, parent="wo", actor="web"))
    ledger.record(**event("openfn", "run", "r-1", "claimed", 1, parent="wo", actor="system:worker"))
    ledger.record(
        **event(
            "openfn",
            "run",
            "r-1",
            "Killed",
            2,
            parent="wo",
            reason="OomError",
            message="out of memory",
            actor="system:worker",
        )
    )
    row = ledger.status("openfn", "run", "r-1")
    assert row.model_dump(exclude={"statuses"}) == {
        "model": "openfn",
        "type": "run",
        "id": "r-1",
        "parent": "wo",
        "status": {
            "status": "Killed",
            "timestamp": at(2),
            "reason": "OomError",
            "message": "out of memory",
            "count": 1,
        },
        "final": True,
        "first_seen": at(0),
        "transitions": 3,
        "last_actor": "system:worker",
        "forced": False,
        "aborts": True,
    }


def test_runs_written_as_attempts_under_the_old_schema_are_runs(ledger: Ledger) -> None:
    ledger.record(**event("openfn", "attempt", "a-1", "Pending", 0, parent="wo"))
    ledger.record(**event("openfn", "attempt", "a-1", "Running", 1, parent="wo"))
    ledger.record(**event("openfn", "run", "a-1", "Success", 2, parent="wo"))
    assert ledger.status("openfn", "run", "a-1").status.status == "Success"
    assert _order(ledger)[0] == "Success"
    written = [e.written_type for e in ledger.history("openfn", "run", "a-1")]
    assert written == ["attempt", "attempt", None]

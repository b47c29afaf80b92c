"""Bitemporal reads (spec section 6): `--as-of T` shows what had occurred by T,
`--known-at T` what the ledger had been told by T, on `status`, `list` and
`history`. The two differ exactly when events arrive late."""

from __future__ import annotations

import json
from typing import Any

import pytest
from _spec import at, cli, event

from ledger import Ledger, NotFound


@pytest.fixture
def late(ledger: Ledger) -> tuple[Ledger, str]:
    """A UiPath job whose Stopping (occurred at 20) was recorded after its
    Successful (occurred at 30); returns the ledger and when Successful was known."""
    for status, when in [("Pending", 0), ("Running", 10), ("Successful", 30)]:
        ledger.record(**event("uipath", "job", "j", status, when, actor="robot"))
    known_before_late = ledger.history("uipath", "job", "j")[-1].recorded_at
    ledger.record(**event("uipath", "job", "j", "Stopping", 20, actor="alice"))
    return ledger, known_before_late


def _iso(seconds: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def test_as_of_shows_what_had_occurred_by_then(late: tuple[Ledger, str]) -> None:
    ledger, _ = late
    assert ledger.status("uipath", "job", "j", as_of=at(15)).status.status == "Running"
    assert ledger.status("uipath", "job", "j", as_of=at(25)).status.status == "Stopping"
    assert ledger.status("uipath", "job", "j", as_of=at(30)).status.status == "Successful"
    assert ledger.status("uipath", "job", "j", as_of=_iso(at(15))).status.status == "Running"


def test_known_at_hides_what_was_recorded_later(late: tuple[Ledger, str]) -> None:
    ledger, known = late
    then = ledger.status("uipath", "job", "j", known_at=known)
    assert [s.status for s in then.statuses] == ["Pending", "Running", "Successful"]
    now = ledger.status("uipath", "job", "j")
    assert [s.status for s in now.statuses] == ["Pending", "Running", "Stopping", "Successful"]


def test_as_of_and_known_at_together_answer_what_did_we_know_then(
    late: tuple[Ledger, str],
) -> None:
    ledger, known = late
    row = ledger.status("uipath", "job", "j", as_of=at(25), known_at=known)
    assert (row.status.status, row.last_actor) == ("Running", "robot")
    assert ledger.status("uipath", "job", "j", as_of=at(25)).last_actor == "alice"


def test_an_entity_did_not_exist_before_its_first_event(late: tuple[Ledger, str]) -> None:
    ledger, _ = late
    with pytest.raises(NotFound):
        ledger.status("uipath", "job", "j", as_of=at(-1))
    assert ledger.list("uipath", "job", as_of=at(-1)) == []


def test_history_takes_both_cuts(late: tuple[Ledger, str]) -> None:
    ledger, known = late

    def statuses(**cut: Any) -> list[str]:
        return [h.status for h in ledger.history("uipath", "job", "j", **cut)]

    assert statuses(as_of=at(15)) == ["Pending", "Running"]
    assert statuses(known_at=known) == ["Pending", "Running", "Successful"]
    assert statuses(as_of=at(25), known_at=known) == ["Pending", "Running"]


def test_list_filters_by_the_status_at_the_cut(late: tuple[Ledger, str]) -> None:
    ledger, known = late
    ledger.record(**event("uipath", "job", "k", "Pending", 12))
    assert [r.id for r in ledger.list("uipath", "job", as_of=at(5))] == ["j"]
    assert [r.id for r in ledger.list("uipath", "job", status="running", as_of=at(15))] == ["j"]
    assert [r.id for r in ledger.list("uipath", "job", status="Pending", as_of=at(15))] == ["k"]
    assert [r.id for r in ledger.list("uipath", "job", known_at=known)] == ["j"]


def test_derived_views_take_the_cut_too(ledger: Ledger) -> None:
    for run, start, final in [("r-1", 0, "Failed"), ("r-2", 10, "Success")]:
        for step, status in enumerate(["Pending", "Running", final]):
            ledger.record(**event("openfn", "run", run, status, start + step, parent="wo"))
    assert ledger.status("openfn", "work_order", "wo", as_of=at(5)).status.status == "Failed"
    assert ledger.status("openfn", "work_order", "wo").status.status == "Success"
    for when, status in enumerate(
        ["SUBMITTING", "PROCESSING", "SCHEDULING", "INITIALIZING", "RUNNING", "COMPLETED"]
    ):
        ledger.record(**event("osmo", "task_group", "g", status, when, parent="wf"))
    assert ledger.status("osmo", "workflow", "wf", as_of=at(4)).status.status == "RUNNING"
    assert ledger.status("osmo", "workflow", "wf").status.status == "COMPLETED"


def test_the_command_line_takes_the_cuts_on_status_list_and_history(
    late: tuple[Ledger, str], ledger_url: str
) -> None:
    _, known = late

    def run(*args: str) -> Any:
        result = cli(*args, "--json", "--db", ledger_url)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    assert run("status", "uipath", "job", "j", "--as-of", str(at(15)))["status"]["status"] == (
        "Running"
    )
    assert (
        run("status", "uipath", "job", "j", "--as-of", _iso(at(25)), "--known-at", known)["status"][
            "status"
        ]
        == "Running"
    )
    assert [
        r["status"]["status"] for r in run("list", "uipath", "job", "--as-of", str(at(25)))
    ] == ["Stopping"]
    assert len(run("history", "uipath", "job", "j", "--known-at", known)) == 3
    missing = cli("status", "uipath", "job", "j", "--as-of", str(at(-1)), "--db", ledger_url)
    assert missing.exit_code == 1
    assert missing.stderr.startswith("Error: not_found")
    bad = cli("status", "uipath", "job", "j", "--as-of", "last tuesday", "--db", ledger_url)
    assert bad.exit_code != 0
    assert "bad_timestamp" in bad.stderr

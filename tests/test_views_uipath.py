"""UiPath jobs: the Stop button ends in Successful, the Kill button in Stopped,
and Orchestrator's cleanup faults a job that has been Terminating for 24 hours.
That cleanup is an event appended by `status-ledger sweep`, never a view trick."""

from __future__ import annotations

import json

import pytest
from _spec import at, cli, event, fingerprint

from ledger import Ledger

DAY = 86_400


def _job(ledger: Ledger, job: str, statuses: list[str], start: float = 0) -> None:
    for step, status in enumerate(statuses):
        ledger.record(**event("uipath", "job", job, status, start + step))


def test_the_stop_button_ends_in_successful(ledger: Ledger) -> None:
    _job(ledger, "j", ["Pending", "Running", "Stopping", "Successful"])
    row = ledger.status("uipath", "job", "j")
    assert (row.status.status, row.final, row.transitions) == ("Successful", True, 4)


def test_a_job_terminating_for_a_day_is_faulted_by_sweep(ledger: Ledger) -> None:
    _job(ledger, "j", ["Pending", "Running", "Terminating"])
    actions = ledger.sweep(at(2 + DAY))
    assert [(a["id"], a["status"], a["result"]) for a in actions] == [("j", "Faulted", "accepted")]
    row = ledger.status("uipath", "job", "j")
    assert (row.status.status, row.status.reason, row.status.timestamp, row.last_actor) == (
        "Faulted",
        "terminating_timeout",
        at(2 + DAY),
        "system:cleanup",
    )
    assert row.final
    entry = ledger.history("uipath", "job", "j")[-1]
    assert (entry.actor, entry.reason, entry.forced) == (
        "system:cleanup",
        "terminating_timeout",
        False,
    )


def test_sweep_leaves_jobs_terminating_for_less_than_a_day(ledger: Ledger) -> None:
    _job(ledger, "j", ["Pending", "Running", "Terminating"])
    before = fingerprint(ledger)
    assert ledger.sweep(at(2 + DAY - 1)) == []
    assert fingerprint(ledger) == before


def test_sweep_leaves_jobs_the_kill_button_already_stopped(ledger: Ledger) -> None:
    _job(ledger, "j", ["Pending", "Running", "Terminating", "Stopped"])
    assert ledger.sweep(at(10 * DAY)) == []


def test_sweep_is_safe_to_run_again(ledger: Ledger) -> None:
    _job(ledger, "j", ["Pending", "Running", "Terminating"])
    ledger.sweep(at(2 + DAY))
    after_first = fingerprint(ledger)
    assert ledger.sweep(at(2 + DAY)) == []
    assert ledger.sweep(at(5 * DAY)) == []
    assert fingerprint(ledger) == after_first


def test_sweep_dry_run_lists_without_appending(ledger: Ledger) -> None:
    _job(ledger, "j-1", ["Pending", "Running", "Terminating"])
    _job(ledger, "j-2", ["Pending", "Running", "Stopping", "Terminating"], start=100)
    _job(ledger, "j-3", ["Pending", "Running"])
    before = fingerprint(ledger)
    planned = ledger.sweep(at(3 + DAY), dry_run=True)
    assert [(a["id"], a["status"], a["actor"]) for a in planned] == [
        ("j-1", "Faulted", "system:cleanup")
    ]
    assert fingerprint(ledger) == before
    done = ledger.sweep(at(103 + DAY))
    assert sorted(a["id"] for a in done) == ["j-1", "j-2"]


@pytest.mark.parametrize(
    ("now", "written"),
    [("1700086402", 1_700_086_402), ("2023-11-15T22:13:22Z", "2023-11-15T22:13:22Z")],
)
def test_sweep_on_the_command_line_takes_now_as_occurred_at_as_written(
    ledger_url: str, now: str, written: int | str
) -> None:
    db = ledger_url
    with Ledger.open(db) as ledger:
        _job(ledger, "j", ["Pending", "Running", "Terminating"])
    dry = cli("sweep", "--now", now, "--dry-run", "--json", "--db", db)
    assert dry.exit_code == 0, dry.output
    assert [a["occurred_at"] for a in json.loads(dry.stdout)] == [written]
    assert "would append" in cli("sweep", "--now", now, "--dry-run", "--db", db).stdout
    assert cli("sweep", "--now", now, "--db", db).exit_code == 0
    assert "nothing to sweep" in cli("sweep", "--now", now, "--db", db).stdout
    row = json.loads(cli("status", "uipath", "job", "j", "--json", "--db", db).stdout)
    assert (row["status"]["status"], row["status"]["timestamp"]) == ("Faulted", written)

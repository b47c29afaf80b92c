"""Event ids in the ledger's own namespace (`sha256:`, `sweep:`, `demo:`): a writer
may not claim one for other content, so nobody can pre-claim the id of a future
sweep (or of someone's content-derived event) and block it for ever; an export
that carries them still imports again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _attack import cli as run_cli
from _attack import one_error_line
from _spec import at, event, fingerprint

from ledger import InvalidField, Ledger, LedgerError, ReservedEventId

DAY = 86_400
TERMINATING_AT = 2


def _terminating(ledger: Ledger, job: str) -> None:
    for step, status in enumerate(["Pending", "Running", "Terminating"]):
        ledger.record(**event("uipath", "job", job, status, step))


def _claim(ledger: Ledger, event_id: str, **fields: Any) -> LedgerError | None:
    """Another writer's event, for another job, carrying `event_id`."""
    sent = {**event("uipath", "job", "squatter", "Pending", 0), **fields, "event_id": event_id}
    return ledger.append([sent]).outcomes[0].error


def _derived_id_of(content: dict[str, Any], tmp_path: Path) -> str:
    """The id the ledger derives for `content` sent without one (from a scratch store)."""
    with Ledger.open(tmp_path / "scratch.db") as scratch:
        outcome = scratch.record(**content)
    assert outcome.event_id is not None and outcome.event_id.startswith("sha256:")
    return outcome.event_id


@pytest.mark.parametrize(
    "claimed",
    [
        "sweep:uipath:job:j:Terminating:1700000002",
        "sweep:" + "0" * 40,
        "sha256:" + "0" * 40,
        "demo:openfn:r-1001-1:1",
        "demo:illegal",
    ],
)
def test_a_writer_cannot_claim_an_id_in_the_ledgers_namespace(ledger: Ledger, claimed: str) -> None:
    _terminating(ledger, "j")
    before = fingerprint(ledger)
    error = _claim(ledger, claimed)
    assert isinstance(error, ReservedEventId) and isinstance(error, InvalidField)
    assert error.to_dict()["code"] == "reserved_event_id"
    assert error.to_dict()["field"] == "event_id"
    assert fingerprint(ledger) == before


def test_a_pre_claimed_sweep_id_cannot_block_the_sweep(ledger: Ledger) -> None:
    _terminating(ledger, "j")
    now = at(TERMINATING_AT + DAY)
    (planned,) = ledger.sweep(now, dry_run=True)
    squats = [
        planned["event_id"],
        f"sweep:uipath:job:j:Terminating:{at(TERMINATING_AT)}",
    ]
    for squat in squats:
        assert isinstance(_claim(ledger, squat), ReservedEventId)
    (done,) = ledger.sweep(now)
    assert (done["event_id"], done["result"]) == (planned["event_id"], "accepted")
    assert ledger.status("uipath", "job", "j").status.status == "Faulted"


def test_an_event_with_exactly_the_sweeps_content_and_id_only_makes_the_sweep_a_duplicate(
    ledger: Ledger,
) -> None:
    """The one way to write a sweep id is with the sweep's own content: then the
    sweep's event is already in, and the sweep finds it done."""
    _terminating(ledger, "j")
    now = at(TERMINATING_AT + DAY)
    (planned,) = ledger.sweep(now, dry_run=True)
    ledger.record(**planned)
    assert ledger.sweep(now) == []
    assert ledger.status("uipath", "job", "j").status.status == "Faulted"


def test_a_sweep_is_not_refused_for_an_entity_id_of_the_longest_length(ledger: Ledger) -> None:
    """Sweep ids once grew with the entity id and went over the 256-character
    limit, so a long id kept its job Terminating for ever."""
    job = "j" * 256
    _terminating(ledger, job)
    (done,) = ledger.sweep(at(TERMINATING_AT + DAY))
    assert done["result"] == "accepted"
    assert len(done["event_id"]) <= 256


def test_a_writer_cannot_pre_claim_the_derived_id_of_someone_elses_content(
    ledger: Ledger, tmp_path: Path
) -> None:
    victim = event("uipath", "job", "victim", "Pending", 0)
    error = _claim(ledger, _derived_id_of(victim, tmp_path))
    assert isinstance(error, ReservedEventId)
    (outcome,) = ledger.append([victim]).outcomes
    assert outcome.kind == "accepted"


def test_the_ledgers_own_ids_in_an_export_import_into_an_empty_store(
    ledger: Ledger, tmp_path: Path
) -> None:
    """Content-derived ids (two identical events too), a sweep's id and the
    readable sweep ids older versions wrote all name their own content."""
    twin = event("lightning", "work", "w-1", "running", 1)
    ledger.append([event("lightning", "work", "w-1", "pending", 0), twin, twin])
    _terminating(ledger, "j")
    ledger.record(
        **event("uipath", "job", "old", "Pending", 0),
        message="Pending since 1700000000",
        event_id=f"sweep:uipath:job:old:Pending:{at(0)}",
    )
    assert ledger.sweep(at(TERMINATING_AT + DAY))[0]["result"] == "accepted"
    exported = list(ledger.export())
    assert {e["event_id"].split(":")[0] for e in exported} == {"sha256", "sweep"}
    with Ledger.open(tmp_path / "copy.db") as copy:
        report = copy.append(exported)
        assert (report.accepted, report.rejected) == (len(exported), 0)
        assert list(copy.export()) == exported


def test_the_command_line_refuses_a_claimed_id_with_one_error_line(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    args = ["record", "--model", "uipath", "--type", "job", "--id", "j", "--status", "Pending"]
    answer = run_cli(*args, "--occurred-at", "2024-05-01T10:00:00Z", "--event-id", "sweep:x", db=db)
    assert answer.returncode == 1
    one_error_line(answer.stderr, "reserved_event_id")
    with Ledger.open(db) as ledger:
        assert ledger.verify().events == 0

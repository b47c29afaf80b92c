"""Every bad input is rejected with a stable code (spec section 4), a message
that says what is wrong with which entity, and no trace in the store: events,
chain head, idempotency keys and views are exactly as before."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _spec import at, cli, event, fingerprint

from ledger import IllegalTransition, Ledger, LedgerError


@pytest.fixture
def busy(ledger: Ledger) -> Ledger:
    """A ledger with a running OpenFn run, an OSMO group and a used event_id."""
    ledger.record(**event("openfn", "run", "r-1", "Pending", 0, parent="wo-1"))
    ledger.record(**event("openfn", "run", "r-1", "Running", 1, parent="wo-1", event_id="e-1"))
    ledger.record(**event("osmo", "task_group", "g", "SUBMITTING", 0, parent="wf"))
    return ledger


RUN = {"model": "openfn", "type": "run", "id": "r-1", "parent": "wo-1"}
RUN_ALLOWED = [
    "Running",
    "Success",
    "Failed",
    "Crashed",
    "Cancelled",
    "Killed",
    "Exception",
    "Lost",
]

# (name, input as written, code, words the message must contain)
REJECTIONS: list[tuple[str, Any, str, list[str]]] = [
    ("truncated json", '{"model": "openfn", ', "bad_json", ["JSON"]),
    ("not an object", "[1, 2]", "bad_json", ["object"]),
    ("no status", {**RUN, "occurred_at": at(2)}, "missing_field", ["status"]),
    ("no occurred_at", {**RUN, "status": "Success"}, "missing_field", ["occurred_at"]),
    (
        "run without its work order",
        {"model": "openfn", "type": "run", "id": "r-9", "status": "Pending", "occurred_at": at(2)},
        "missing_field",
        ["openfn run r-9", "parent", "work_order"],
    ),
    (
        "unknown model",
        {**RUN, "model": "jenkins", "status": "Success", "occurred_at": at(2)},
        "unknown_model",
        ["jenkins", "openfn", "osmo", "uipath", "lightning"],
    ),
    (
        "unknown type",
        {**RUN, "type": "job", "status": "Success", "occurred_at": at(2)},
        "unknown_type",
        ["job", "run", "work_order"],
    ),
    (
        "derived work order",
        {
            "model": "openfn",
            "type": "work_order",
            "id": "wo-1",
            "status": "Success",
            "occurred_at": at(2),
        },
        "derived_type",
        ["work_order", "run"],
    ),
    (
        "aggregated workflow status",
        {
            "model": "osmo",
            "type": "workflow",
            "id": "wf",
            "status": "RUNNING",
            "occurred_at": at(2),
        },
        "derived_type",
        ["osmo workflow wf", "RUNNING", "PENDING", "FAILED_SUBMISSION"],
    ),
    (
        "unknown status",
        {**RUN, "status": "Finished", "occurred_at": at(2)},
        "unknown_status",
        ["openfn run r-1", "Finished", "Pending", "Success", "Rejected"],
    ),
    (
        "time without offset",
        {**RUN, "status": "Success", "occurred_at": "2024-05-01T10:00:00"},
        "bad_timestamp",
        ["2024-05-01T10:00:00"],
    ),
    (
        "time in words",
        {**RUN, "status": "Success", "occurred_at": "yesterday"},
        "bad_timestamp",
        ["yesterday"],
    ),
    (
        "milliseconds",
        {**RUN, "status": "Success", "occurred_at": 1_700_000_000_000},
        "bad_timestamp",
        ["ms"],
    ),
    ("boolean time", {**RUN, "status": "Success", "occurred_at": True}, "bad_timestamp", []),
    (
        "impossible date",
        {**RUN, "status": "Success", "occurred_at": "2024-02-30T10:00:00Z"},
        "bad_timestamp",
        ["2024-02-30"],
    ),
    (
        "illegal transition",
        {**RUN, "status": "Pending", "occurred_at": at(2)},
        "illegal_transition",
        ["openfn run r-1", "from Running to Pending", *RUN_ALLOWED],
    ),
    (
        "new parent",
        {**RUN, "parent": "wo-2", "status": "Success", "occurred_at": at(2)},
        "parent_mismatch",
        ["openfn run r-1", "wo-1", "wo-2", "current status Running", *RUN_ALLOWED],
    ),
    (
        "wrong error type",
        {**RUN, "status": "Failed", "reason": "SyntaxError", "occurred_at": at(2)},
        "wrong_error_type",
        ["openfn run r-1", "SyntaxError", "Crashed", "current status Running", *RUN_ALLOWED],
    ),
    (
        "reused event_id",
        {**RUN, "status": "Success", "occurred_at": at(2), "event_id": "e-1"},
        "event_id_conflict",
        ["openfn run r-1", "e-1", "seq 2"],
    ),
    (
        "force without reason",
        {**RUN, "status": "Pending", "occurred_at": at(2), "force": True},
        "force_without_reason",
        ["reason"],
    ),
]


@pytest.mark.parametrize(
    ("raw", "code", "words"), [pytest.param(*r[1:], id=r[0]) for r in REJECTIONS]
)
def test_a_rejected_input_has_a_stable_code_a_telling_message_and_changes_nothing(
    busy: Ledger, raw: Any, code: str, words: list[str]
) -> None:
    before = fingerprint(busy)
    report = busy.append([raw])
    (outcome,) = report.outcomes
    assert outcome.kind == "rejected"
    assert outcome.error is not None
    assert outcome.error.code == code
    for word in words:
        assert word in outcome.error.message
    assert fingerprint(busy) == before


@pytest.mark.parametrize(
    ("raw", "current"),
    [
        ({**RUN, "status": "Pending", "occurred_at": at(2)}, "Running"),
        ({**RUN, "parent": "wo-2", "status": "Success", "occurred_at": at(2)}, "Running"),
        ({**RUN, "status": "Killed", "reason": "JobError", "occurred_at": at(2)}, "Running"),
        (
            {
                "model": "uipath",
                "type": "job",
                "id": "new",
                "status": "Running",
                "occurred_at": at(2),
            },
            None,
        ),
    ],
    ids=["illegal_transition", "parent_mismatch", "wrong_error_type", "illegal first"],
)
def test_entity_rule_errors_carry_entity_current_status_and_allowed_next(
    busy: Ledger, raw: dict[str, Any], current: str | None
) -> None:
    (outcome,) = busy.append([raw]).outcomes
    assert outcome.error is not None
    details = outcome.error.to_dict()
    assert details["entity"].startswith(f"{raw['model']} {raw['type']} {raw['id']}")
    assert details["current"] == current
    expected = RUN_ALLOWED if raw["model"] == "openfn" else ["Pending"]
    assert details["allowed"] == expected


def test_the_api_raises_the_same_error_the_cli_reports(busy: Ledger) -> None:
    with pytest.raises(IllegalTransition) as raised:
        busy.record(**{**RUN, "status": "Pending", "occurred_at": at(2)})
    assert isinstance(raised.value, LedgerError)
    assert raised.value.code == "illegal_transition"


def test_one_bad_line_does_not_block_the_good_ones(busy: Ledger) -> None:
    report = busy.append(
        [
            {**RUN, "status": "Pending", "occurred_at": at(2)},
            {**RUN, "status": "Success", "occurred_at": at(3)},
            "not json",
        ]
    )
    assert [o.kind for o in report.outcomes] == ["rejected", "accepted", "rejected"]
    assert busy.status("openfn", "run", "r-1").status.status == "Success"


# -- through the command line ---------------------------------------------------


def test_import_writes_each_rejected_line_with_its_code_and_exits_1(
    tmp_path: Path, ledger_url: str
) -> None:
    db = ledger_url
    lines = [
        json.dumps(event("uipath", "job", "j", "Pending", 0)),
        "{oops",
        json.dumps(event("uipath", "job", "j", "Successful", 1)),
        "",
        json.dumps(event("uipath", "job", "j", "Running", 2)),
    ]
    source = tmp_path / "events.jsonl"
    source.write_text("\n".join(lines) + "\n")
    rejects = tmp_path / "rejects.jsonl"
    result = cli("import", str(source), "--rejects", str(rejects), "--json", "--db", db)
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {"accepted": 2, "duplicates": 0, "rejected": 2}
    written = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [(r["line"], r["code"], r["input"]) for r in written] == [
        (2, "bad_json", "{oops"),
        (3, "illegal_transition", lines[2]),
    ]
    assert "allowed next: Running, Faulted, Stopped" in written[1]["message"]


def test_record_reports_one_line_with_the_code_and_no_traceback(ledger_url: str) -> None:
    db = ledger_url
    args = ["--model", "uipath", "--type", "job", "--id", "j", "--db", db]
    assert (
        cli(
            "record", *args, "--status", "Pending", "--occurred-at", "2024-05-01T10:00:00Z"
        ).exit_code
        == 0
    )
    result = cli("record", *args, "--status", "Resumed", "--occurred-at", "2024-05-01T10:01:00Z")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: illegal_transition: uipath job j: cannot move from ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


# -- forced transitions -------------------------------------------------------


def test_a_forced_transition_is_accepted_and_flagged_in_history_and_views(busy: Ledger) -> None:
    busy.record(
        **{
            **RUN,
            "status": "Pending",
            "occurred_at": at(2),
            "force": True,
            "reason": "operator re-queued a stuck run",
            "actor": "alice",
        }
    )
    entry = busy.history("openfn", "run", "r-1")[-1]
    assert (entry.status, entry.forced, entry.actor) == ("Pending", True, "alice")
    assert [e.forced for e in busy.history("openfn", "run", "r-1")] == [False, False, True]
    assert busy.status("openfn", "run", "r-1").forced
    assert busy.status("openfn", "work_order", "wo-1").forced
    assert busy.status("openfn", "run", "r-1").status.status == "Pending"


def test_a_forced_transition_shows_as_forced_on_the_command_line(ledger_url: str) -> None:
    db = ledger_url
    base = ["--model", "uipath", "--type", "job", "--id", "j", "--db", db]
    cli("record", *base, "--status", "Pending", "--occurred-at", "2024-05-01T10:00:00Z")
    forced = cli(
        "record",
        *base,
        "--status",
        "Successful",
        "--occurred-at",
        "2024-05-01T10:05:00Z",
        "--force",
        "--reason",
        "ran outside Orchestrator",
    )
    assert forced.exit_code == 0, forced.output
    history = json.loads(cli("history", "uipath", "job", "j", "--json", "--db", db).stdout)
    assert [h["forced"] for h in history] == [False, True]
    assert json.loads(cli("status", "uipath", "job", "j", "--json", "--db", db).stdout)["forced"]
    table = cli("history", "uipath", "job", "j", "--db", db).stdout
    assert "FORCED" in table


def test_force_without_a_reason_is_rejected_on_the_command_line(ledger_url: str) -> None:
    db = ledger_url
    result = cli(
        "record",
        "--model",
        "uipath",
        "--type",
        "job",
        "--id",
        "j",
        "--status",
        "Successful",
        "--occurred-at",
        "2024-05-01T10:00:00Z",
        "--force",
        "--db",
        db,
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: force_without_reason")


def test_events_after_a_forced_one_are_checked_from_the_forced_status(busy: Ledger) -> None:
    busy.record(
        **{**RUN, "status": "Pending", "occurred_at": at(2), "force": True, "reason": "re-queued"}
    )
    assert busy.record(**{**RUN, "status": "Running", "occurred_at": at(3)}).kind == "accepted"


# -- late events ------------------------------------------------------------------


def _job(status: str, when: float) -> dict[str, Any]:
    return event("uipath", "job", "j", status, when)


def test_a_late_event_that_fits_where_it_occurred_is_accepted_and_ordered_there(
    ledger: Ledger,
) -> None:
    for status, when in [("Pending", 0), ("Running", 10), ("Successful", 30)]:
        ledger.record(**_job(status, when))
    ledger.record(**_job("Stopping", 20))
    row = ledger.status("uipath", "job", "j")
    assert [s.status for s in row.statuses] == ["Pending", "Running", "Stopping", "Successful"]
    assert row.status.status == "Successful"
    assert [h.status for h in ledger.history("uipath", "job", "j")] == [
        "Pending",
        "Running",
        "Stopping",
        "Successful",
    ]


def test_a_late_event_is_rejected_when_its_successor_may_not_follow_it(ledger: Ledger) -> None:
    ledger.record(**_job("Pending", 0))
    ledger.record(**_job("Running", 10))
    before = fingerprint(ledger)
    with pytest.raises(IllegalTransition, match=r"late Faulted .* followed by Running"):
        ledger.record(**_job("Faulted", 5))
    assert fingerprint(ledger) == before


def test_a_late_event_is_rejected_when_it_may_not_follow_its_predecessor(ledger: Ledger) -> None:
    for status, when in [("Pending", 0), ("Running", 10), ("Terminating", 20)]:
        ledger.record(**_job(status, when))
    with pytest.raises(IllegalTransition, match=r"from Pending to Resumed \(late event"):
        ledger.record(**_job("Resumed", 5))


def test_a_late_event_before_the_first_one_must_be_a_first_status(ledger: Ledger) -> None:
    ledger.record(**_job("Pending", 10))
    with pytest.raises(IllegalTransition, match="cannot start with Running"):
        ledger.record(**_job("Running", 5))


def test_a_late_event_at_the_same_time_goes_after_the_known_one(ledger: Ledger) -> None:
    ledger.record(**_job("Pending", 0))
    ledger.record(**_job("Running", 10))
    ledger.record(**_job("Successful", 10))
    row = ledger.status("uipath", "job", "j")
    assert [s.status for s in row.statuses] == ["Pending", "Running", "Successful"]

"""Idempotent append (spec section 4): importing the same input again adds
nothing, identical lines of one input stay distinct events, and an event_id
means one content for ever."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _spec import cli, event, fingerprint

from ledger import Ledger

LINES = [
    event("lightning", "work", "w", "pending", 0),
    event("lightning", "work", "w", "running", 1),
    event("lightning", "work", "w", "running", 1),
    event("lightning", "work", "w", "failed", 2, reason="user_exception"),
]


def _write(path: Path, events: list[dict[str, object]]) -> str:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return str(path)


def _import(db: str, source: str, *extra: str) -> dict[str, int]:
    result = cli("import", source, "--json", "--db", db, *extra)
    assert result.exit_code == 0, result.output
    counts: dict[str, int] = json.loads(result.stdout)
    return counts


def test_importing_the_same_file_again_adds_nothing(tmp_path: Path, ledger_url: str) -> None:
    db = ledger_url
    source = _write(tmp_path / "events.jsonl", LINES)
    assert _import(db, source) == {"accepted": 4, "duplicates": 0, "rejected": 0}
    exported = cli("export", "--with-ledger-fields", "--db", db).stdout
    assert _import(db, source) == {"accepted": 0, "duplicates": 4, "rejected": 0}
    assert cli("export", "--with-ledger-fields", "--db", db).stdout == exported


def test_two_identical_lines_in_one_file_stay_two_events(ledger: Ledger) -> None:
    report = ledger.append(LINES)
    assert report.counts() == {"accepted": 4, "duplicates": 0, "rejected": 0}
    running = [s.status for s in ledger.status("lightning", "work", "w").statuses]
    assert running == ["pending", "running", "running", "failed"]


def test_identical_lines_stay_distinct_whatever_the_batch_size(
    tmp_path: Path, ledger_url: str
) -> None:
    db = ledger_url
    source = _write(tmp_path / "events.jsonl", LINES)
    assert _import(db, source, "--batch-size", "1")["accepted"] == 4
    assert _import(db, source, "--batch-size", "3")["duplicates"] == 4


def test_the_same_event_sent_again_later_without_event_id_is_a_duplicate(
    ledger: Ledger,
) -> None:
    first = ledger.record(**LINES[0])
    again = ledger.record(**LINES[0])
    assert (again.kind, again.seq, again.event_id) == ("duplicate", first.seq, first.event_id)
    assert ledger.store.head().seq == 1


def test_key_order_and_spacing_do_not_make_a_new_event(ledger: Ledger) -> None:
    ledger.append([json.dumps(LINES[0])])
    reordered = json.dumps(dict(reversed(list(LINES[0].items()))), indent=2)
    assert ledger.append([reordered]).counts()["duplicates"] == 1


def test_a_later_input_with_one_more_copy_adds_exactly_that_copy(ledger: Ledger) -> None:
    ledger.append([LINES[0], LINES[0]])
    report = ledger.append([LINES[0], LINES[0], LINES[0]])
    assert report.counts() == {"accepted": 1, "duplicates": 2, "rejected": 0}


def test_the_same_event_id_with_the_same_content_is_a_duplicate(ledger: Ledger) -> None:
    ledger.record(**LINES[0], event_id="src-1")
    before = fingerprint(ledger)
    assert ledger.record(**LINES[0], event_id="src-1").kind == "duplicate"
    assert fingerprint(ledger) == before


@pytest.mark.parametrize(
    "changed",
    [
        {"occurred_at": 1_700_000_099},
        {"status": "running"},
        {"reason": "image_building"},
        {"attributes": {"k": 1}},
    ],
    ids=["time", "status", "reason", "attributes"],
)
def test_the_same_event_id_with_other_content_is_an_event_id_conflict(
    ledger: Ledger, changed: dict[str, object]
) -> None:
    ledger.record(**LINES[0], event_id="src-1")
    before = fingerprint(ledger)
    (outcome,) = ledger.append([{**LINES[0], **changed, "event_id": "src-1"}]).outcomes
    assert outcome.error is not None and outcome.error.code == "event_id_conflict"
    assert fingerprint(ledger) == before


def test_an_event_id_conflict_inside_one_input_rejects_the_second(ledger: Ledger) -> None:
    report = ledger.append(
        [
            {**LINES[0], "event_id": "src-1"},
            {**LINES[1], "event_id": "src-1"},
        ]
    )
    assert [o.kind for o in report.outcomes] == ["accepted", "rejected"]


def test_export_imported_into_an_empty_store_reproduces_it(tmp_path: Path, ledger_url: str) -> None:
    db = ledger_url
    copy = str(tmp_path / "second.db")
    events = [
        *LINES,
        event("openfn", "attempt", "a-1", "Pending", 0, parent="wo-1"),
        event("openfn", "run", "r-2", "available", 1, parent="wo-1"),
        event("uipath", "job", "j", "Pending", 0),
        event("uipath", "job", "j", "Successful", 1, force=True, reason="manual"),
    ]
    assert _import(db, _write(tmp_path / "events.jsonl", events))["accepted"] == len(events)
    exported = cli("export", "--db", db).stdout
    dump = tmp_path / "export.jsonl"
    dump.write_text(exported)
    assert _import(copy, str(dump))["accepted"] == len(events)
    assert cli("export", "--db", copy).stdout == exported
    with Ledger.open(db) as one, Ledger.open(copy) as two:
        assert one.views is not None and two.views is not None
        assert one.views.dump() == two.views.dump()
    assert _import(copy, str(dump)) == {"accepted": 0, "duplicates": len(events), "rejected": 0}

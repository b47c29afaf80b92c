"""Schema version 1 (seed 000: an OpenFn run was an "attempt", with no Rejected)
stays readable forever: the committed v1 fixture opens, verifies and projects to
its golden views, old-schema JSONL imports as written and reads as runs, and
export gives back exactly what was imported."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sqlite3
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from _spec import cli
from eventsourcing.utils import resolve_topic

from ledger import Ledger, UnknownStatus
from ledger.spi import StatusChanged

FIXTURES = Path(__file__).resolve().parent / "fixtures"
V1_DB = FIXTURES / "v1-ledger.db"
GOLDEN = json.loads((FIXTURES / "v1-ledger.views.json").read_text(encoding="utf-8"))

OLD_SCHEMA: list[dict[str, Any]] = [
    {
        "model": "openfn",
        "type": "attempt",
        "id": "a-1",
        "parent": "wo-1",
        "status": "available",
        "occurred_at": "2023-03-01T10:00:00Z",
    },
    {
        "model": "openfn",
        "type": "attempt",
        "id": "a-1",
        "parent": "wo-1",
        "status": "claimed",
        "occurred_at": "2023-03-01T10:00:05Z",
        "actor": "system:worker",
    },
    {
        "model": "openfn",
        "type": "attempt",
        "id": "a-1",
        "parent": "wo-1",
        "status": "Failed",
        "occurred_at": 1677665100.25,
        "reason": "JobError",
        "message": "404",
    },
    {
        "model": "openfn",
        "type": "run",
        "id": "r-2",
        "parent": "wo-1",
        "status": "Rejected",
        "occurred_at": "2023-03-01T11:00:00Z",
        "attributes": {"limit": 10},
    },
]


def _generator() -> ModuleType:
    path = FIXTURES / "make_v1_fixture.py"
    spec = importlib.util.spec_from_file_location("make_v1_fixture", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def v1(tmp_path: Path) -> Path:
    """A copy of the fixture: opening a ledger creates its view tables."""
    copy = tmp_path / "v1.db"
    shutil.copyfile(V1_DB, copy)
    return copy


def _raw(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT rowid, originator_id, originator_version, topic, state FROM stored_events "
            "ORDER BY rowid"
        ).fetchall()


def test_the_committed_fixture_is_what_its_generator_writes(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.db"
    _generator().write(fresh)
    assert _raw(fresh) == _raw(V1_DB)


def test_every_fixture_event_is_schema_1_and_openfn_runs_are_attempts() -> None:
    states = [json.loads(state) for *_, state in _raw(V1_DB)]
    assert {s["schema_version"] for s in states} == {1}
    assert {s["type"] for s in states if s["model"] == "openfn"} == {"attempt"}
    assert "started" not in {s["status"] for s in states if s["model"] == "lightning"}


def test_the_v1_fixture_opens_and_verifies(v1: Path) -> None:
    with Ledger.open(v1) as ledger:
        report = ledger.verify()
    assert report.ok, report.problem
    assert report.events == len(_generator().EVENTS)


def test_the_v1_fixture_rebuilds_to_its_golden_views(v1: Path) -> None:
    golden_module = _generator()
    with Ledger.open(v1) as ledger:
        ledger.rebuild()
        assert golden_module.view_rows(ledger) == GOLDEN


def test_the_v1_fixture_projects_incrementally_to_the_same_golden_views(v1: Path) -> None:
    with Ledger.open(v1) as ledger:
        ledger.catch_up()
        assert _generator().view_rows(ledger) == GOLDEN
        assert ledger.replay().identical


def test_projecting_the_v1_fixture_never_rewrites_a_stored_event(v1: Path) -> None:
    before = _raw(v1)
    with Ledger.open(v1) as ledger:
        ledger.rebuild()
        ledger.catch_up()
        list(ledger.history("openfn", "work_order", "wo-1"))
    assert _raw(v1) == before


def test_stored_topics_resolve_through_eventsourcing_to_the_event_class(v1: Path) -> None:
    assert {resolve_topic(topic) for *_, topic, _state in _raw(v1)} == {StatusChanged}


def test_v1_attempts_read_as_runs_and_history_keeps_the_written_type(v1: Path) -> None:
    with Ledger.open(v1) as ledger:
        ledger.rebuild()
        history = ledger.history("openfn", "run", "att-1")
        row = ledger.status("openfn", "run", "att-1")
        order = ledger.status("openfn", "work_order", "wo-3")
    assert [(e.type, e.written_type, e.schema_version) for e in history] == [
        ("run", "attempt", 1)
    ] * 4
    assert [(e.status, e.written_status) for e in history] == [
        ("Pending", "available"),
        ("Running", "claimed"),
        ("Running", "started"),
        ("Failed", None),
    ]
    assert (row.type, row.status.status, row.status.reason) == ("run", "Failed", "JobError")
    assert order.model_extra == {"runs": ["att-4", "att-5"], "last_run": "att-5"}
    assert order.forced


def test_the_v1_fixture_exports_what_importing_into_an_empty_store_reproduces(
    v1: Path, tmp_path: Path
) -> None:
    """Its user model travels separately: `models add` it to the new store first."""
    first = cli("export", "--db", str(v1))
    assert first.exit_code == 0
    dump = tmp_path / "v1.jsonl"
    dump.write_text(first.stdout, encoding="utf-8")
    empty = str(tmp_path / "again.db")
    model = tmp_path / "deploy.toml"
    model.write_text(_generator().DEPLOY_MODEL, encoding="utf-8")
    assert cli("init", "--db", empty).exit_code == 0
    assert cli("models", "add", str(model), "--db", empty).exit_code == 0
    assert cli("import", str(dump), "--db", empty).exit_code == 0
    assert cli("export", "--db", empty).stdout == first.stdout
    assert cli("verify", "--db", empty).exit_code == 0


def test_old_schema_jsonl_imports_as_written_and_exports_byte_for_byte(tmp_path: Path) -> None:
    source = tmp_path / "old.jsonl"
    source.write_text("".join(json.dumps(e) + "\n" for e in OLD_SCHEMA), encoding="utf-8")
    db, copy = str(tmp_path / "a.db"), str(tmp_path / "b.db")
    assert cli("import", str(source), "--db", db).exit_code == 0
    exported = cli("export", "--db", db).stdout
    written = [json.loads(line) for line in exported.splitlines()]
    assert [{k: v for k, v in e.items() if k != "event_id"} for e in written] == OLD_SCHEMA
    again = tmp_path / "exported.jsonl"
    again.write_text(exported, encoding="utf-8")
    assert cli("import", str(again), "--db", copy).exit_code == 0
    assert cli("export", "--db", copy).stdout == exported
    ledger_fields = cli("export", "--with-ledger-fields", "--db", db).stdout.splitlines()
    assert [json.loads(line)["schema_version"] for line in ledger_fields] == [1, 1, 1, 2]


def test_old_schema_events_are_views_of_runs_everywhere(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.db") as ledger:
        ledger.append(OLD_SCHEMA)
        runs = {r.id: r.status.status for r in ledger.list("openfn", "run")}
        order = ledger.status("openfn", "work_order", "wo-1")
    assert runs == {"a-1": "Failed", "r-2": "Rejected"}
    assert order.status.status == "Rejected"
    assert order.model_extra == {"runs": ["a-1", "r-2"], "last_run": "r-2"}
    shown = cli("history", "openfn", "run", "a-1", "--db", str(tmp_path / "l.db"))
    assert "run a-1 (as attempt)" in shown.stdout


def test_rejected_does_not_exist_for_schema_1_attempts(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.db") as ledger, pytest.raises(UnknownStatus) as caught:
        ledger.record(
            model="openfn",
            type="attempt",
            id="a-9",
            parent="wo-9",
            status="rejected",
            occurred_at="2023-03-01T10:00:00Z",
        )
    assert caught.value.code == "unknown_status"
    assert caught.value.message == (
        "openfn run a-9: Rejected does not exist in schema version 1, where a run was "
        "written as type 'attempt'; write it with type 'run'"
    )


def test_a_schema_1_attempt_and_later_run_events_are_one_entity(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.db") as ledger:
        ledger.record(
            model="openfn", type="attempt", id="x", parent="wo", status="Pending", occurred_at=1000
        )
        ledger.record(
            model="openfn", type="run", id="x", parent="wo", status="Running", occurred_at=1001
        )
        row = ledger.status("openfn", "run", "x")
        assert [s.status for s in row.statuses] == ["Pending", "Running"]
        assert [e.schema_version for e in ledger.history("openfn", "run", "x")] == [1, 2]

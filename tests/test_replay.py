"""Replay builds the views a candidate (models or projection code) would produce
from the full history in a scratch store, and reports exactly how they differ
from the live ones, which it never touches."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _spec import cli, event, fingerprint

from ledger import Ledger, ModelRegistry, UsageError

MODELS = Path(__file__).resolve().parent.parent / "ledger" / "models"
OSMO_PRECEDENCE = (
    'precedence = ["FAILED_CANCELED", "FAILED_SERVER_ERROR", "FAILED_EXEC_TIMEOUT", '
    '"FAILED_QUEUE_TIMEOUT"]'
)


def _group(workflow: str, name: str, path: list[str], start: float) -> list[dict[str, Any]]:
    return [
        event("osmo", "task_group", name, status, start + n, parent=workflow)
        for n, status in enumerate(path)
    ]


TO_RUNNING = ["SUBMITTING", "PROCESSING", "SCHEDULING", "INITIALIZING", "RUNNING"]
HISTORY: list[dict[str, Any]] = [
    # Two causes: OSMO's precedence picks FAILED_CANCELED over FAILED_EXEC_TIMEOUT.
    *_group("wf-both", "a", [*TO_RUNNING, "FAILED_EXEC_TIMEOUT"], 0),
    *_group("wf-both", "b", ["SUBMITTING", "FAILED_CANCELED"], 10),
    *_group("wf-timeout", "a", [*TO_RUNNING, "FAILED_EXEC_TIMEOUT"], 20),
    *_group("wf-done", "a", [*TO_RUNNING, "COMPLETED"], 30),
    event("openfn", "run", "r-1", "Pending", 40, parent="wo-1"),
    event("openfn", "run", "r-1", "claimed", 41, parent="wo-1"),
    event("openfn", "run", "r-1", "Lost", 42, parent="wo-1", actor="system:janitor"),
    event("uipath", "job", "j-1", "Pending", 50),
    event("uipath", "job", "j-1", "Running", 51),
    event("uipath", "job", "j-1", "Terminating", 52),
    event("uipath", "job", "j-1", "Faulted", 52 + 86400, reason="terminating_timeout"),
    event("uipath", "job", "j-2", "Pending", 60),
    event("uipath", "job", "j-2", "Running", 61),
    event("uipath", "job", "j-2", "Terminating", 62),
    event("uipath", "job", "j-2", "Stopped", 63),
    *[
        event("lightning", "work", "w-1", stage, 70 + n, **extra)
        for n, (stage, extra) in enumerate(
            [
                ("not_started", {}),
                ("pending", {}),
                ("running", {}),
                ("failed", {"reason": "timeout"}),
                ("pending", {}),
                ("running", {}),
                ("succeeded", {}),
            ]
        )
    ],
]


@pytest.fixture
def live(ledger: Ledger) -> Ledger:
    report = ledger.append(HISTORY)
    assert report.rejected == 0, [o.error for o in report.outcomes if o.error]
    return ledger


def _candidate(folder: Path, name: str, old: str, new: str) -> Path:
    """A copy of a built-in model with one line changed."""
    text = (MODELS / f"{name}.toml").read_text(encoding="utf-8")
    assert text.count(old) == 1
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.toml").write_text(text.replace(old, new), encoding="utf-8")
    return folder


def test_replay_without_a_candidate_reports_no_difference(live: Ledger) -> None:
    report = live.replay()
    assert report.identical
    assert report.differences == [] and report.rejected == []
    assert report.events == len(HISTORY)
    assert {v.view: (v.live_rows, v.candidate_rows) for v in report.views} == {
        "lightning/work": (1, 1),
        "openfn/run": (1, 1),
        "openfn/work_order": (1, 1),
        "osmo/task_group": (4, 4),
        "osmo/workflow": (3, 3),
        "uipath/job": (2, 2),
    }


def test_replay_never_touches_the_live_store(live: Ledger, tmp_path: Path) -> None:
    before = fingerprint(live)
    live.replay(
        models_dir=_candidate(
            tmp_path / "c", "osmo", OSMO_PRECEDENCE, OSMO_PRECEDENCE.replace("CANCELED", "X")
        )
    )
    assert fingerprint(live) == before


def test_an_osmo_precedence_change_reports_exactly_the_workflow_it_changes(
    live: Ledger, tmp_path: Path
) -> None:
    swapped = OSMO_PRECEDENCE.replace('"FAILED_CANCELED", ', "").replace(
        '"FAILED_QUEUE_TIMEOUT"]', '"FAILED_QUEUE_TIMEOUT", "FAILED_CANCELED"]'
    )
    report = live.replay(models_dir=_candidate(tmp_path / "c", "osmo", OSMO_PRECEDENCE, swapped))
    assert not report.identical and report.rejected == []
    assert [(d.view, d.id, d.kind) for d in report.differences] == [
        ("osmo/workflow", "wf-both", "changed")
    ]
    changes = {c.field: (c.live, c.candidate) for c in report.differences[0].changes}
    assert changes["status.status"] == ("FAILED_CANCELED", "FAILED_EXEC_TIMEOUT")
    assert set(changes) == {"status.status", "statuses"}
    summary = {v.view: (v.added, v.removed, v.changed) for v in report.views}
    assert summary["osmo/workflow"] == (0, 0, 1)
    assert all(counts == (0, 0, 0) for view, counts in summary.items() if view != "osmo/workflow")


def test_a_candidate_that_forbids_a_historic_transition_lists_the_event(
    live: Ledger, tmp_path: Path
) -> None:
    candidate = _candidate(
        tmp_path / "c",
        "uipath",
        'Terminating = ["Stopped", "Faulted"]',
        'Terminating = ["Stopped"]',
    )
    report = live.replay(models_dir=candidate)
    assert report.differences == []
    assert [(r.entity, r.status, r.code) for r in report.rejected] == [
        ("uipath job j-1", "Faulted", "illegal_transition")
    ]
    assert "cannot move from Terminating to Faulted" in report.rejected[0].message
    assert not report.identical


def test_a_candidate_without_a_status_rejects_its_events_and_changes_rows(
    live: Ledger, tmp_path: Path
) -> None:
    folder = tmp_path / "c"
    _candidate(
        folder,
        "openfn",
        '"Exception", "Lost", "Rejected"]\ninitial',
        '"Exception", "Rejected"]\ninitial',
    )
    text = (folder / "openfn.toml").read_text(encoding="utf-8")
    for old, new in [
        ('"Exception", "Lost", "Rejected"]', '"Exception", "Rejected"]'),
        (', "Lost"]', "]"),
        ('Lost = "bright_black"\n', ""),
    ]:
        text = text.replace(old, new)
    (folder / "openfn.toml").write_text(text, encoding="utf-8")
    report = live.replay(models_dir=folder)
    assert [(r.entity, r.status, r.code) for r in report.rejected] == [
        ("openfn run r-1", "Lost", "unknown_status")
    ]
    changed = {(d.view, d.id): {c.field for c in d.changes} for d in report.differences}
    assert changed == {
        ("openfn/run", "r-1"): {"final", "aborts"},
        ("openfn/work_order", "wo-1"): {"final"},
    }


def test_old_lightning_histories_replay_unchanged_between_model_versions(live: Ledger) -> None:
    v2 = ModelRegistry.builtin()["lightning"]
    assert v2.version == 2 and v2.types["work"].added_in == {"started": 2}
    v1 = v2.at_version(1)
    assert "started" not in v1.types["work"].statuses
    report = live.replay(models=[v1])
    assert report.identical, report.differences or report.rejected


def test_histories_using_a_newer_stage_are_rejected_by_the_older_version(
    live: Ledger,
) -> None:
    live.record(**event("lightning", "work", "w-2", "pending", 100))
    live.record(**event("lightning", "work", "w-2", "started", 101))
    report = live.replay(models=[ModelRegistry.builtin()["lightning"].at_version(1)])
    assert [(r.entity, r.status, r.code) for r in report.rejected] == [
        ("lightning work w-2", "started", "unknown_status")
    ]


def test_events_the_views_have_not_applied_are_left_out_and_counted(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as writer:
        writer.append(HISTORY[:6])
    with Ledger.open(ledger_url, views=False) as lagging:
        lagging.append(HISTORY[6:])
    with Ledger.open(ledger_url) as ledger:
        report = ledger.replay()
    assert report.identical
    assert (report.events, report.unprojected) == (6, len(HISTORY) - 6)


@pytest.fixture
def candidate_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in ("same_rows", "shouting_actors", "custom_projector", "not_a_projection"):
        sys.modules.pop(name, None)


def test_projection_code_that_computes_the_same_rows_reports_no_difference(
    live: Ledger, candidate_module: Path
) -> None:
    (candidate_module / "same_rows.py").write_text(
        "from projections import project_entity\n", encoding="utf-8"
    )
    assert live.replay(projections="same_rows").identical


def test_replacement_project_entity_changes_exactly_the_rows_it_computes_differently(
    live: Ledger, candidate_module: Path
) -> None:
    (candidate_module / "shouting_actors.py").write_text(
        "import projections\n\n"
        "def project_entity(model, et, events):\n"
        "    row, trail = projections.project_entity(model, et, events)\n"
        "    if row.last_actor:\n"
        "        row.last_actor = row.last_actor.upper()\n"
        "    return row, trail\n",
        encoding="utf-8",
    )
    report = live.replay(projections="shouting_actors")
    assert [(d.view, d.id, [c.field for c in d.changes]) for d in report.differences] == [
        ("openfn/run", "r-1", ["last_actor"]),
        ("openfn/work_order", "wo-1", ["last_actor"]),
    ]
    assert report.differences[0].changes[0].candidate == "SYSTEM:JANITOR"


def test_a_projector_subclass_is_used_as_is(live: Ledger, candidate_module: Path) -> None:
    (candidate_module / "custom_projector.py").write_text(
        "import projections\n\n"
        "class ViewProjector(projections.ViewProjector):\n"
        "    def _derive(self, model, et, child_et, entity_id, own, kids):\n"
        "        return None if et.derived == 'last_child' else super()._derive(\n"
        "            model, et, child_et, entity_id, own, kids)\n",
        encoding="utf-8",
    )
    report = live.replay(projections="custom_projector")
    assert [(d.view, d.id, d.kind) for d in report.differences] == [
        ("openfn/work_order", "wo-1", "removed")
    ]


def test_a_module_that_is_not_projection_code_is_a_usage_error(
    live: Ledger, candidate_module: Path
) -> None:
    (candidate_module / "not_a_projection.py").write_text("X = 1\n", encoding="utf-8")
    with pytest.raises(UsageError, match="defines neither ViewProjector nor"):
        live.replay(projections="not_a_projection")
    with pytest.raises(UsageError, match="cannot import module 'no_such_module_here'"):
        live.replay(projections="no_such_module_here")


# -- the command ---------------------------------------------------------------


@pytest.fixture
def db(sqlite_url: str) -> str:
    with Ledger.open(sqlite_url) as ledger:
        ledger.append(HISTORY)
    return sqlite_url


def test_replay_command_exits_0_and_says_identical(db: str) -> None:
    result = cli("replay", "--db", db)
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == (
        f"replayed {len(HISTORY)} events with the installed models and projections"
    )
    assert result.stdout.splitlines()[-1] == (
        "identical: no view row differs and no event would be rejected"
    )


def test_replay_command_prints_the_summary_and_first_differences_and_exits_1(
    db: str, tmp_path: Path
) -> None:
    swapped = OSMO_PRECEDENCE.replace('"FAILED_CANCELED", ', "")
    folder = _candidate(tmp_path / "c", "osmo", OSMO_PRECEDENCE, swapped)
    result = cli("replay", "--models", str(folder), "--db", db)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == f"replayed {len(HISTORY)} events with models from {folder}"
    assert "osmo/workflow                 3         3      0       0       1" in lines
    assert lines[lines.index("differences:") + 1 :][:2] == [
        "  changed osmo/workflow wf-both",
        "    status.status: 'FAILED_CANCELED' -> 'FAILED_EXEC_TIMEOUT'",
    ]


def test_replay_json_is_the_full_diff(db: str, tmp_path: Path) -> None:
    folder = _candidate(
        tmp_path / "c",
        "uipath",
        'Terminating = ["Stopped", "Faulted"]',
        'Terminating = ["Stopped"]',
    )
    result = cli("replay", "--models", str(folder), "--json", "--db", db)
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["identical"] is False and data["models"] == str(folder)
    assert [r["entity"] for r in data["rejected"]] == ["uipath job j-1"]
    assert {v["view"] for v in data["views"]} >= {"uipath/job", "osmo/workflow"}


def test_replay_with_a_bad_projection_module_is_a_usage_error(db: str) -> None:
    result = cli("replay", "--projections", "no_such_module_here", "--db", db)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: usage_error: --projections: cannot import")

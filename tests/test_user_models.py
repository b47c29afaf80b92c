"""Users add their own status models from TOML, with the power of the built-ins:
stored in the ledger by `models add`, or given for one command with `--models
DIR`; a model that makes no sense is refused with invalid_model and a message
that says what is wrong. `models show --diagram` draws any model from its data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _spec import cli

from ledger import Ledger, ModelRegistry, model_diagram

DEPLOY = """\
name = "deploy"
version = 1
title = "Deployments"

[types.release]
statuses = ["queued", "rolling", "live", "rolled_back"]
initial = ["queued"]
final = ["live", "rolled_back"]
parent = { type = "train" }

[types.release.aliases]
deploying = "rolling"

[types.release.transitions]
queued = ["rolling"]
rolling = ["live", "rolled_back"]

[types.train]
derived = "last_child"
child = "release"
"""

RELEASE = (
    '{"model": "deploy", "type": "release", "id": "r-%d", "parent": "t-1", '
    '"status": "%s", "occurred_at": %d}\n'
)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _events(tmp_path: Path) -> Path:
    lines = [
        RELEASE % (1, "queued", 10),
        RELEASE % (1, "deploying", 11),
        RELEASE % (1, "live", 12),
        RELEASE % (2, "queued", 20),
    ]
    return _write(tmp_path / "events.jsonl", "".join(lines))


@pytest.fixture
def db(tmp_path: Path) -> str:
    """An existing, empty ledger: `models` commands never create one."""
    path = str(tmp_path / "l.db")
    Ledger.open(path).close()
    return path


def test_an_added_model_is_stored_and_works_like_a_built_in(tmp_path: Path, db: str) -> None:
    added = cli("models", "add", str(_write(tmp_path / "deploy.toml", DEPLOY)), "--db", db)
    assert (added.exit_code, added.stdout) == (0, "added model deploy v1 (release, train)\n")
    assert cli("import", str(_events(tmp_path)), "--db", db).exit_code == 0
    with Ledger.open(db) as ledger:
        assert "deploy" in ledger.registry
        train = ledger.status("deploy", "train", "t-1")
        history = ledger.history("deploy", "release", "r-1")
    assert train.status.status == "queued"
    assert train.model_extra == {"runs": ["r-1", "r-2"], "last_run": "r-2"}
    assert [(e.status, e.written_status) for e in history][1] == ("rolling", "deploying")
    listed = json.loads(cli("models", "list", "--json", "--db", db).stdout)
    assert {
        "name": "deploy",
        "version": 1,
        "title": "Deployments",
        "types": ["release", "train"],
    } in listed


def test_a_models_dir_serves_one_command_and_is_not_stored(tmp_path: Path) -> None:
    db = str(tmp_path / "l.db")
    folder = tmp_path / "models"
    _write(folder / "deploy.toml", DEPLOY)
    assert cli("import", str(_events(tmp_path)), "--models", str(folder), "--db", db).exit_code == 0
    shown = cli("status", "deploy", "release", "r-1", "--json", "--models", str(folder), "--db", db)
    assert json.loads(shown.stdout)["status"]["status"] == "live"
    for command in (["list", "deploy", "release"], ["history", "deploy", "release", "r-1"]):
        assert cli(*command, "--models", str(folder), "--db", db).exit_code == 0
    without = cli("status", "deploy", "release", "r-1", "--db", db)
    assert without.exit_code == 1
    assert without.stderr.startswith("Error: unknown_model: unknown model 'deploy'")


BAD_MODELS = {
    "no initial status": (
        DEPLOY.replace('initial = ["queued"]\n', ""),
        "type 'release': no initial status",
    ),
    "unreachable final": (
        DEPLOY.replace('rolling = ["live", "rolled_back"]', 'rolling = ["live"]'),
        "type 'release': status 'rolled_back' is unreachable from the initial statuses",
    ),
    "unknown status in a transition": (
        DEPLOY.replace('queued = ["rolling"]', 'queued = ["rolling", "gone"]'),
        "type 'release': transitions.queued names unknown status 'gone'",
    ),
    "model name not an identifier": (
        DEPLOY.replace('name = "deploy"', 'name = "Deploy-It"'),
        "model name 'Deploy-It' must match",
    ),
    "type name not an identifier": (
        DEPLOY.replace("types.release", 'types."re lease"'),
        "type 're lease': name must match",
    ),
    "a status that can never finish": (
        DEPLOY.replace(
            'rolling = ["live", "rolled_back"]', 'rolling = ["live", "rolled_back", "paused"]'
        ).replace('"rolled_back"]\ninitial', '"rolled_back", "paused"]\ninitial'),
        "type 'release': status 'paused' is not final and can never reach a final status",
    ),
    "a derived type of an unknown child": (
        DEPLOY.replace('child = "release"', 'child = "job"'),
        "type 'train': derived from unknown child type 'job'",
    ),
    "a derived type of a derived type": (
        DEPLOY.replace('child = "release"', 'child = "train"'),
        "type 'train': derived from 'train', itself derived; a child must be written",
    ),
    "not TOML": ('name = "deploy\n', "not valid TOML"),
    "a misspelt key": (
        DEPLOY.replace("initial =", "initials ="),
        "types.release.initials: Extra inputs are not permitted",
    ),
}


@pytest.mark.parametrize(("text", "message"), BAD_MODELS.values(), ids=BAD_MODELS.keys())
def test_a_model_that_makes_no_sense_is_invalid_model_and_stores_nothing(
    tmp_path: Path, db: str, text: str, message: str
) -> None:
    path = _write(tmp_path / "bad.toml", text)
    result = cli("models", "add", str(path), "--db", db)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: invalid_model: {path}: ")
    assert message in result.stderr
    with Ledger.open(db) as ledger:
        assert ledger.store.saved_models() == {}


def test_adding_a_missing_file_is_a_usage_error(tmp_path: Path, db: str) -> None:
    result = cli("models", "add", str(tmp_path / "nope.toml"), "--db", db)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: usage_error: cannot read model file")


def test_the_mermaid_diagram_draws_every_edge_of_the_model() -> None:
    model = ModelRegistry.builtin()["uipath"]
    job = model.types["job"]
    text = model_diagram(model, "mermaid")
    edges = [line.strip() for line in text.splitlines() if "-->" in line]
    expected = ["[*] --> job__Pending"]
    expected += [f"job__{a} --> job__{b}" for a in job.statuses for b in job.allowed_after(a)]
    expected += [f"job__{s} --> [*]" for s in job.final]
    assert edges == expected
    assert text.startswith("stateDiagram-v2\n")


def test_the_dot_diagram_marks_finals_and_notes_derived_types() -> None:
    text = model_diagram(ModelRegistry.builtin()["openfn"], "dot")
    assert '"run/[start]" -> "run/Pending";' in text
    assert '"run/Success" [label="Success", peripheries=2];' in text
    assert '"run/Pending" -> "run/Success"' not in text
    assert "// work_order: derived (last_child) from run, not written" in text


def test_models_show_prints_the_diagram_of_a_user_model(tmp_path: Path, db: str) -> None:
    folder = tmp_path / "models"
    _write(folder / "deploy.toml", DEPLOY)
    result = cli(
        "models",
        "show",
        "deploy",
        "--diagram",
        "mermaid",
        "--models",
        str(folder),
        "--db",
        db,
    )
    assert result.exit_code == 0
    assert "release__rolling --> release__rolled_back" in result.stdout
    bad = cli(
        "models",
        "show",
        "deploy",
        "--diagram",
        "svg",
        "--models",
        str(folder),
        "--db",
        db,
    )
    assert bad.exit_code == 2
    assert "unknown diagram kind 'svg'; choose one of: mermaid, dot" in bad.stderr

"""`status-ledger demo` is the newcomer's first command: run through the real
console script in an empty directory, it must show every feature it promises
and end with next commands that work, as printed, on the database it made."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = shutil.which("status-ledger") or str(Path(sys.executable).with_name("status-ledger"))

# Seed 004, first example: the distinct lines the Flow prints, verbatim.
SEED_STATUS_LINES = [
    "NOT STARTED",
    "WorkStatus(stage='not_started', timestamp=1653498225.18468, reason=None, message=None, count=1)",  # noqa: E501
    "PENDING",
    "WorkStatus(stage='pending', timestamp=1653498225.217413, reason=None, message=None, count=1)",
    "RUNNING",
    "WorkStatus(stage='running', timestamp=1653498228.825194, reason=None, message=None, count=1)",
    "SUCCESS",
    "WorkStatus(stage='succeeded', timestamp=1653498229.831793, reason=None, message=None, count=1)",  # noqa: E501
    "RUNNING",
    "WorkStatus(stage='running', timestamp=1653498229.846451, reason=None, message=None, count=1)",
    "FAILED",
    "WorkStatus(stage='failed', timestamp=1653498230.852565, reason='user_exception', message='The provided value was 1', count=1)",  # noqa: E501
]
# Seed 004, second example: the last list, with its repeated running.
SEED_LAST_STATUSES = (
    "[WorkStatus(stage='pending', timestamp=1653498627.204636, reason=None, message=None, count=1)"
    ", "
    "WorkStatus(stage='running', timestamp=1653498627.205509, reason=None, message=None, count=1), "
    "WorkStatus(stage='running', timestamp=1653498627.205509, reason=None, message=None, count=1), "
    "WorkStatus(stage='failed', timestamp=1653498628.210164, reason='user_exception', "
    "message='The provided value was 1', count=1)]"
)


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("STATUS_LEDGER_DB", "FORCE_COLOR")}
    return subprocess.run(
        [SCRIPT, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo")


@pytest.fixture(scope="module")
def tour(demo_dir: Path) -> str:
    done = run(["demo"], demo_dir)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout


def next_commands(output: str) -> list[str]:
    tail = output.split("\nTry next\n", 1)[1]
    return [line.strip() for line in tail.splitlines() if line.strip()]


def test_demo_creates_its_database_in_the_current_directory(tour: str, demo_dir: Path) -> None:
    assert (demo_dir / "status-ledger-demo.db").is_file()
    assert "in status-ledger-demo.db" in tour


def test_demo_prints_the_seed_004_work_status_lines_in_order(tour: str) -> None:
    lines = tour.splitlines()
    start = lines.index(SEED_STATUS_LINES[0])
    assert lines[start : start + len(SEED_STATUS_LINES)] == SEED_STATUS_LINES
    assert SEED_LAST_STATUSES in lines


def test_demo_shows_the_forced_transition_with_its_actor_and_reason(tour: str) -> None:
    assert "FORCED" in tour
    assert (
        "FORCED: seq 10 moved run r-1003-1 to Lost; actor alice@ops, reason operator_override"
        in tour
    )


def test_demo_shows_every_view_and_the_osmo_upstream_consequence(tour: str) -> None:
    for title in (
        "openfn work_order (5)",
        "openfn run (7)",
        "osmo workflow (3)",
        "osmo task_group (7)",
        "uipath job (6)",
        "lightning work (4)",
    ):
        assert title in tour
    assert "FAILED_UPSTREAM: evaluate, report" in tour
    assert "identical to the views kept incrementally" in tour


def test_demo_compares_what_was_known_with_what_happened(tour: str) -> None:
    rows = {line.split("│")[1].strip(): line for line in tour.splitlines() if line.startswith("│ ")}
    assert "Success" in rows["now"]
    assert "Running" in rows["as it happened at 10:23 (occurred by)"]
    assert "Failed" in rows["as the ledger knew it before the retry arrived (recorded by)"]


def test_demo_sweeps_the_killed_job_and_verifies_the_chain(tour: str) -> None:
    assert "job job-504: Terminating since 2024-05-01T10:40:00Z -> Faulted" in tour
    assert "verify: chain intact: 97 events" in tour


def test_demo_piped_output_has_no_colour_and_uncut_tables(tour: str) -> None:
    assert "\x1b[" not in tour
    assert "…" not in tour
    assert any(len(line) > 120 for line in tour.splitlines() if line.startswith("│"))


@pytest.mark.slow
def test_demo_ends_with_next_commands_that_work_on_its_database(tour: str, demo_dir: Path) -> None:
    commands = next_commands(tour)
    assert any("--known-at" in c for c in commands)
    assert all("--db status-ledger-demo.db" in c for c in commands if c != "status-ledger --help")
    for command in commands:
        args = shlex.split(command)
        assert args[0] == "status-ledger"
        done = run(args[1:], demo_dir)
        assert done.returncode == 0, (command, done.stderr)
        assert done.stdout.strip(), command


def test_the_suggested_known_at_command_shows_the_failed_first_run(
    tour: str, demo_dir: Path
) -> None:
    command = next(c for c in next_commands(tour) if "--known-at" in c)
    done = run([*shlex.split(command)[1:], "--json"], demo_dir)
    row = json.loads(done.stdout)
    assert row["status"]["status"] == "Failed"
    assert row["runs"] == ["r-1002-1"]


@pytest.mark.slow
def test_demo_run_again_starts_from_a_fresh_database(tmp_path: Path) -> None:
    first = run(["demo", "--db", "again.db", "--json"], tmp_path)
    second = run(["demo", "--db", "again.db", "--json"], tmp_path)
    assert first.returncode == second.returncode == 0
    assert json.loads(first.stdout)["events"] == json.loads(second.stdout)["events"] == 97
    assert json.loads(second.stdout)["verify"]["ok"] is True


def test_demo_refuses_to_replace_a_file_that_is_not_a_demo(tmp_path: Path) -> None:
    precious = tmp_path / "status-ledger.db"
    precious.write_bytes(b"my real ledger")
    done = run(["demo", "--db", str(precious)], tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("Error: usage_error: ")
    assert len(done.stderr.splitlines()) == 1
    assert precious.read_bytes() == b"my real ledger"


def test_demo_feeds_signed_uipath_webhooks_once_and_refuses_an_altered_one(tour: str) -> None:
    section = tour.split("\n7. Ingest: UiPath webhooks", 1)[1].split("\nTry next\n", 1)[0]
    assert "job.faulted 9003: job 4711 Faulted, recorded as seq 100" in section
    assert "job.faulted 9003 again: job 4711 Faulted, duplicate of seq 100" in section
    assert "job.faulted 9003, altered in transit: bad_signature, refused" in section


def test_demo_json_reports_each_webhook_delivery(tmp_path: Path) -> None:
    done = run(["demo", "--db", "hooks.db", "--json"], tmp_path)
    hooks = json.loads(done.stdout)["webhooks"]
    assert [h["signature_valid"] for h in hooks] == [True, True, True, True, False]
    assert [o["kind"] for h in hooks for o in h["outcomes"]] == [
        "accepted",
        "accepted",
        "accepted",
        "duplicate",
    ]

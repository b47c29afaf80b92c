"""What a person or a script sees from the command line: tables that are never
cut when piped, each system's own status colours on a terminal and none
otherwise, `--json` without decoration, one-line errors with a stable code,
an example in every command's help, and shell completion."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import orjson
import pytest
from _attack import CLI, history
from typer.testing import CliRunner, Result

from cli import app
from cli.docgen import command_paths, help_text
from demo import build_demo
from ledger import Ledger

COLOUR = re.compile(r"\x1b\[(?:\d+;)*(?:3[0-7]|9[0-7]|38;[25];[\d;]+)m")
PLAIN = {"NO_COLOR": None, "FORCE_COLOR": None, "PY_COLORS": None, "STATUS_LEDGER_DB": None}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("out") / "demo.db"
    build_demo(path)
    return str(path)


def invoke(*args: str, **env: str | None) -> Result:
    return CliRunner().invoke(app, list(args), env={**PLAIN, **env}, prog_name="status-ledger")


READ_COMMANDS = [
    ["status", "openfn", "work_order", "wo-1002"],
    ["status", "lightning", "work", "trainer", "--as-of", "1714558300.25"],
    ["list", "osmo", "task_group", "--parent", "wf-train-42"],
    ["list", "openfn", "work_order", "--known-at", "2000-01-01T00:00:00Z"],
    ["history", "openfn", "work_order", "wo-1003"],
    ["verify"],
    ["models", "list"],
    ["models", "show", "uipath"],
]


@pytest.mark.parametrize("command", READ_COMMANDS, ids=" ".join)
def test_every_read_command_gives_plain_json(command: list[str], db: str) -> None:
    result = invoke(*command, "--db", db, "--json", FORCE_COLOR="1")
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)
    assert "\x1b" not in result.stdout


def test_piped_tables_keep_every_column_whole(db: str) -> None:
    result = invoke("history", "openfn", "work_order", "wo-1003", "--db", db, COLUMNS="60")
    assert "…" not in result.stdout
    assert "alice@ops" in result.stdout
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", result.stdout)


def test_piped_output_has_no_colour(db: str) -> None:
    result = invoke("list", "openfn", "run", "--db", db)
    assert "\x1b" not in result.stdout


def test_terminal_colours_follow_each_systems_status_colours(db: str) -> None:
    result = invoke("list", "openfn", "run", "--db", db, FORCE_COLOR="1")
    assert "\x1b[31mFailed" in result.stdout  # OpenFn's red chip
    assert "\x1b[32mSuccess" in result.stdout  # green chip
    jobs = invoke("list", "uipath", "job", "--db", db, FORCE_COLOR="1")
    assert "\x1b[31mFaulted" in jobs.stdout


def test_no_color_turns_colours_off_even_on_a_terminal(db: str) -> None:
    result = invoke("list", "openfn", "run", "--db", db, FORCE_COLOR="1", NO_COLOR="1")
    assert not COLOUR.search(result.stdout)


def test_a_ledger_error_is_one_line_with_its_code_and_no_traceback(db: str) -> None:
    result = invoke("status", "openfn", "run", "no-such-run", "--db", db)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "Error: not_found: no openfn run no-such-run\n"


def test_debug_shows_the_traceback_before_the_error_line(db: str) -> None:
    result = invoke("--debug", "status", "openfn", "run", "no-such-run", "--db", db)
    assert result.exit_code == 1
    assert result.stderr.startswith("Traceback")
    assert result.stderr.endswith("Error: not_found: no openfn run no-such-run\n")


@pytest.mark.parametrize(
    "args",
    [
        ["status"],
        ["list", "openfn", "run", "--limit", "0"],
        ["no-such-command"],
        ["record", "--model", "uipath"],
    ],
    ids=" ".join,
)
def test_usage_errors_are_one_line_with_exit_2(args: list[str], tmp_path: Path) -> None:
    result = invoke(*args, "--db", str(tmp_path / "x.db"))
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: usage_error: ")


PATHS = list(command_paths())
LEAVES = [p for p in PATHS if p and not any(len(q) > len(p) and q[: len(p)] == p for q in PATHS)]


@pytest.mark.parametrize("path", LEAVES, ids=" ".join)
def test_every_command_help_has_an_example(path: list[str]) -> None:
    text = help_text(path)
    assert "Example: status-ledger " + path[0] in " ".join(text.split())


def test_completion_completes_command_names() -> None:
    result = CliRunner().invoke(
        app,
        [],
        prog_name="status-ledger",
        env={
            "_STATUS_LEDGER_COMPLETE": "complete_bash",
            "COMP_WORDS": "status-ledger hist",
            "COMP_CWORD": "1",
        },
    )
    assert result.stdout.split() == ["history"]


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="needs job control signals")
def test_json_piped_to_a_slow_reader_arrives_whole_when_the_command_is_stopped_and_continued(
    tmp_path: Path,
) -> None:
    """Ctrl-Z and fg while `list --json` fills a pipe: the output must not come
    out short (it did, with exit code 0)."""
    db = tmp_path / "ledger.db"
    with Ledger.open(db) as ledger:
        ledger.append([orjson.dumps(e) for e in history(800, 4)])
    command = [CLI, "list", "lightning", "work", "--all", "--json", "--db", str(db)]
    expected = subprocess.run(command, capture_output=True, check=True).stdout
    assert len(expected) > 100_000  # larger than a pipe holds
    process = subprocess.Popen(command, stdout=subprocess.PIPE, start_new_session=True)
    assert process.stdout is not None
    done = threading.Event()

    def stop_and_continue() -> None:
        while not done.is_set():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGSTOP)
                time.sleep(0.003)
                os.killpg(process.pid, signal.SIGCONT)
            time.sleep(0.01)

    signals = threading.Thread(target=stop_and_continue)
    signals.start()
    received = bytearray()
    try:
        while chunk := os.read(process.stdout.fileno(), 16_384):
            received += chunk
            time.sleep(0.005)
        assert process.wait(timeout=60) == 0
    finally:
        done.set()
        signals.join()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGCONT)
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert bytes(received) == expected

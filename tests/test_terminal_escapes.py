"""Hostile text on its way to a terminal: escape sequences stored in messages,
attributes and user models, or typed as command-line arguments, are printed by
every human-readable command as visible escapes (`\\x1b`), never raw; Rich
markup and emoji codes in them stay as written. `--json` is JSON-escaped down
to the C1 controls and bidi overrides, and `export` stays byte for byte what
orjson writes."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest
from _spec import cli
from rich.style import Style

from cli._output import shown, status_text
from ledger import Ledger, ModelRegistry, StatusModel

# CSI (clear screen), OSC 0 (window title, ended by BEL), OSC 8 (hyperlink, ended by
# ST), a C1 CSI, DEL, a backspace, a carriage return, a line separator and a bidi
# override: each can repaint, retitle, forge or reorder what a terminal shows.
HOSTILE = (
    "\x1b[2J\x1b]0;PWNED\x07\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\"
    "\x9b31m\x7f\x08\r\u2028\u202egnp.exe"
)
RAW = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""What must never be printed (a newline ends a line of the output itself)."""

JOB = ["--model", "uipath", "--type", "job", "--status", "Pending", "--occurred-at", "5"]
MODEL = """name = "evil"
title = "Evil \\u001b]0;PWNED\\u0007 \\u001b[2J model"
[types.job]
statuses = ["New", "Done"]
initial = ["New"]
final = ["Done"]
[types.job.transitions]
New = ["Done"]
"""


def test_shown_escapes_every_control_separator_and_override_and_nothing_else() -> None:
    assert shown(HOSTILE) == (
        "\\x1b[2J\\x1b]0;PWNED\\x07\\x1b]8;;https://evil.example\\x1b\\click\\x1b]8;;\\x1b\\"
        "\\x9b31m\\x7f\\x08\\x0d\\u2028\\u202egnp.exe"
    )
    assert shown("a\tb\nc\x00") == "a\\x09b\\x0ac\\x00"
    plain = "Ordinary text: é, 東京, 🚀, [bold]x[/bold], :smile:, \\x1b"
    assert shown(plain) == plain
    assert not RAW.search(shown("".join(map(chr, range(0x3000)))))


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    """A store whose events carry escape sequences wherever the ledger lets free
    text in (message, attributes keys and values), and a user model with one in
    its title."""
    db = tmp_path / "ledger.db"
    (tmp_path / "evil.toml").write_text(MODEL)
    with Ledger.open(db) as ledger:
        ledger.add_model(tmp_path / "evil.toml")
        ledger.record(
            model="uipath",
            type="job",
            id="job-1",
            status="Pending",
            occurred_at=5,
            message=HOSTILE,
            attributes={HOSTILE: [HOSTILE, {"k": HOSTILE}]},
        )
        ledger.record(
            model="uipath",
            type="job",
            id="job-1",
            status="Faulted",
            occurred_at=6,
            reason="JobError",
            message=HOSTILE,
        )
    return db


HUMAN_COMMANDS = {
    "status": ["status", "uipath", "job", "job-1"],
    "status --statuses": ["status", "uipath", "job", "job-1", "--statuses"],
    "status --format repr": ["status", "uipath", "job", "job-1", "--format", "repr"],
    "list": ["list", "uipath", "job"],
    "history": ["history", "uipath", "job", "job-1"],
    "models list": ["models", "list"],
    "models show": ["models", "show", "evil"],
    "models show --diagram": ["models", "show", "evil", "--diagram", "mermaid"],
    "verify": ["verify"],
    "an id typed as an argument": ["status", "uipath", "job", HOSTILE],
    "a model typed as an argument": ["list", HOSTILE, "job"],
    "a command typed as an argument": [HOSTILE],
    "an option value typed as an argument": ["list", "uipath", "job", "--limit", HOSTILE],
    "a file name typed as an argument": ["import", f"/nonexistent/{HOSTILE}.jsonl"],
    "an event id typed as an argument": ["record", *JOB, "--id", "j-2", "--event-id", HOSTILE],
    "an error shown with --debug": ["--debug", "status", "uipath", "job", HOSTILE],
}


@pytest.mark.parametrize("name", list(HUMAN_COMMANDS))
def test_no_human_output_passes_an_escape_sequence_through_raw(hostile: Path, name: str) -> None:
    args = HUMAN_COMMANDS[name]
    result = cli(*args, *([] if args == [HOSTILE] else ["--db", str(hostile)]))
    printed = result.stdout + result.stderr
    assert printed.strip(), name
    assert not RAW.search(printed), printed
    assert ("Traceback" in printed) == (args[0] == "--debug")


def test_import_reports_rejected_lines_without_raw_escapes(hostile: Path, tmp_path: Path) -> None:
    source = tmp_path / "bad.jsonl"
    bad = {"model": "uipath", "type": "job", "id": "j", "status": "Pending", "occurred_at": 5}
    source.write_bytes(
        orjson.dumps({**bad, HOSTILE: 1})
        + b"\n"
        + orjson.dumps(bad)[:-1]
        + b',"'
        + HOSTILE.encode()
        + b'":1,"'
        + HOSTILE.encode()
        + b'":2}\n'
    )
    result = cli("import", str(source), "--db", str(hostile))
    assert result.exit_code == 1
    assert "unexpected_field" in result.stderr and "bad_json" in result.stderr
    assert not RAW.search(result.stdout + result.stderr), result.stderr


def test_rich_markup_and_emoji_codes_in_user_text_print_as_written(hostile: Path) -> None:
    text = "[link=https://evil.example]x[/link] [bold]y[/bold] :smile:"
    result = cli("record", *JOB, "--id", "j-3", "--event-id", text, "--db", str(hostile))
    assert result.exit_code == 0, result.output
    assert text in result.stdout
    shown_row = cli("history", "uipath", "job", "j-3", "--db", str(hostile))
    assert "history of uipath job j-3" in shown_row.stdout


def test_json_output_escapes_what_a_terminal_acts_on_and_export_stays_byte_exact(
    hostile: Path,
) -> None:
    status = cli("status", "uipath", "job", "job-1", "--json", "--db", str(hostile))
    assert not RAW.search(status.stdout), status.stdout
    assert orjson.loads(status.stdout)["status"]["message"] == HOSTILE
    with Ledger.open(hostile) as ledger:
        written = b"".join(orjson.dumps(e) + b"\n" for e in ledger.export())
    exported = cli("export", "--db", str(hostile)).stdout_bytes
    assert exported == written
    assert "\u202e".encode() in exported


def test_a_model_colour_cannot_print_a_hyperlink() -> None:
    """A Rich style can carry `link URL`, which prints an OSC 8 hyperlink."""
    tinted = MODEL + (
        '[types.job.colors]\nNew = "bold red link https://evil.example"\nDone = "no style"\n'
    )
    registry = ModelRegistry.builtin().with_models([StatusModel.from_toml(tinted, "evil.toml")])
    new = status_text(registry, "evil", "job", "New")
    assert isinstance(new.style, Style) and new.style.link is None
    assert new.style.bold and new.style.color is not None and new.style.color.name == "red"
    assert status_text(registry, "evil", "job", "Done").style == Style()

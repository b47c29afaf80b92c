"""One time parser for the CLI, the Python API and the sweep: a time written as
epoch seconds in text means the same wherever it is given."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cli import app
from ledger import Ledger


def test_record_takes_epoch_seconds_written_as_text_as_the_cli_does(tmp_path: Path) -> None:
    api, cli_db = tmp_path / "api.db", tmp_path / "cli.db"
    with Ledger.open(api) as ledger:
        outcome = ledger.record(
            model="uipath", type="job", id="j", status="Pending", occurred_at="1714558300"
        )
        assert outcome.kind == "accepted"
        stored = list(ledger.export())
    result = CliRunner().invoke(
        app,
        [
            "record",
            "--model",
            "uipath",
            "--type",
            "job",
            "--id",
            "j",
            "--status",
            "Pending",
            "--occurred-at",
            "1714558300",
            "--db",
            str(cli_db),
        ],
    )
    assert result.exit_code == 0, result.output
    with Ledger.open(cli_db) as ledger:
        assert list(ledger.export()) == stored
    assert stored[0]["occurred_at"] == 1714558300


def test_sweep_and_as_of_take_the_same_text_forms(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.db") as ledger:
        ledger.record(model="uipath", type="job", id="j", status="Pending", occurred_at=10)
        ledger.record(model="uipath", type="job", id="j", status="Running", occurred_at=20)
        ledger.record(model="uipath", type="job", id="j", status="Stopping", occurred_at=30)
        ledger.record(model="uipath", type="job", id="j", status="Terminating", occurred_at=40)
        by_text = ledger.status("uipath", "job", "j", as_of="25")
        by_number = ledger.status("uipath", "job", "j", as_of=25)
        assert by_text == by_number and by_text.status.status == "Running"
        due = ledger.sweep("900000", dry_run=True)
    assert json.dumps([a["occurred_at"] for a in due]) == "[900000]"

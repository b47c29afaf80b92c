"""The benchmark (issue 7) runs end to end in its quick mode, and its synthetic
history is what it claims to be: deterministic and accepted by the ledger. Only
correctness is checked here; timings are never asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.history import generate
from ledger import Ledger

pytestmark = pytest.mark.slow  # processes, crashes, concurrency or many generated cases

ROOT = Path(__file__).resolve().parents[1]


def test_the_synthetic_history_is_deterministic_and_every_event_is_accepted(
    sqlite_url: str,
) -> None:
    lines, summary = generate(events=3_000, entity_count=300)
    assert generate(events=3_000, entity_count=300)[0] == lines
    assert summary.lines == len(lines) == 3_000
    with Ledger.open(sqlite_url) as ledger:
        report = ledger.append(lines)
        assert report.counts() == {
            "accepted": summary.accepted,
            "duplicates": summary.duplicates,
            "rejected": 0,
        }
        assert ledger.views is not None
        incremental = ledger.views.dump()
        ledger.rebuild()
        assert ledger.views.dump() == incremental


def test_quick_mode_measures_every_path_and_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out), "--workdir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert text == done.stdout
    expected = (
        "A raw sqlite3",
        "B naive eventsourcing",
        "status-ledger import",
        "C raw read",
        "D stock projection",
        "status-ledger rebuild",
        "import / A",
        "rebuild / D",
        "per round",
        "status lookup p99",
        "rebuild peak RSS growth",
        "SQLite",
        "python -m bench --quick",
    )
    for row in expected:
        assert row in text
    assert not list(tmp_path.glob("bench-*")), "the work directory is removed"

"""The message-bus benchmark (bench/nats.py) runs end to end at tiny sizes
against the real server, and refreshes only its own section of the page.
Timings are never asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.nats import HEADING, replace_section

ROOT = Path(__file__).resolve().parents[1]


def test_quick_mode_measures_both_consumers_and_writes_its_section(
    nats_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "benchmarks.md"
    out.write_text("# Benchmarks\n\n## Machine\n\nkept\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "bench.nats", nats_url, "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(HEADING)
    for row in ("plain JetStream pull consumer", "status-ledger consume", "consume / plain"):
        assert row in done.stdout
    assert "The ledger stored 294 events and counted 6 re-sent ones as duplicates" in done.stdout
    assert out.read_text(encoding="utf-8") == "# Benchmarks\n\n## Machine\n\nkept\n\n" + done.stdout


def test_a_new_section_replaces_the_old_one_and_keeps_the_rest() -> None:
    page = f"# B\n\n## A\n\na\n\n{HEADING}\n\nold\n\n## Z\n\nz\n"
    new = f"{HEADING}\n\nnew\n"
    assert replace_section(page, new) == f"# B\n\n## A\n\na\n\n{HEADING}\n\nnew\n\n## Z\n\nz\n"
    assert replace_section(f"# B\n\n{HEADING}\n\nold\n", new) == f"# B\n\n{new}"

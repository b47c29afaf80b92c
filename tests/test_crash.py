"""Crash safety: a process killed with SIGKILL (no cleanup, no finally) at a random
point must leave a store that the same command, run again, completes exactly:
every line once, a gapless seq, a clean chain, views equal to a rebuild, and
readable views all along."""

from __future__ import annotations

import random
import signal
import subprocess
import time
from pathlib import Path

import orjson
import pytest
from _attack import CLI, assert_whole, cli, head_seq, history, write_jsonl

from ledger import Ledger

pytestmark = pytest.mark.slow  # processes, crashes, concurrency or many generated cases

SEEDS = [11, 23, 47]


def _kill_when(
    process: subprocess.Popen[bytes], db: Path, threshold: int, rng: random.Random
) -> None:
    """SIGKILL once `threshold` events are committed (or at once for 0), a little
    later by a random delay, so kills land between and inside transactions."""
    deadline = time.monotonic() + 60
    while process.poll() is None and head_seq(db) < threshold and time.monotonic() < deadline:
        time.sleep(0.002)
    time.sleep(rng.uniform(0, 0.05))
    process.send_signal(signal.SIGKILL)
    process.wait()


@pytest.mark.parametrize("seed", SEEDS)
def test_import_killed_at_random_points_then_rerun_stores_every_line_exactly_once(
    tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    events = history(40, seed)
    source = write_jsonl(tmp_path / "events.jsonl", events)
    db = tmp_path / "ledger.db"
    thresholds = sorted(rng.sample(range(1, len(events)), 2))
    for threshold in [0, *thresholds]:
        batch = str(rng.choice([2, 7, 40]))
        process = subprocess.Popen(
            [CLI, "import", str(source), "--db", str(db), "--batch-size", batch],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _kill_when(process, db, threshold, rng)
        committed = head_seq(db)
        if committed:
            assert_whole(db, events[:committed])
    final = cli("import", str(source), "--json", db=db)
    assert final.returncode == 0, final.stderr
    assert_whole(db, events)


def test_import_rerun_after_a_crash_counts_the_committed_prefix_as_duplicates(
    tmp_path: Path,
) -> None:
    events = history(30, 5)
    source = write_jsonl(tmp_path / "events.jsonl", events)
    db = tmp_path / "ledger.db"
    process = subprocess.Popen(
        [CLI, "import", str(source), "--db", str(db), "--batch-size", "5"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _kill_when(process, db, len(events) // 2, random.Random(5))
    committed = head_seq(db)
    final = cli("import", str(source), "--json", db=db)
    assert final.returncode == 0, final.stderr
    assert orjson.loads(final.stdout) == {
        "accepted": len(events) - committed,
        "duplicates": committed,
        "rejected": 0,
    }


@pytest.fixture(scope="module")
def rebuilt_store(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, list[tuple[object, ...]]]:
    """A store big enough that a rebuild takes a noticeable while, and its views."""
    folder = tmp_path_factory.mktemp("rebuild")
    db = folder / "ledger.db"
    with Ledger.open(db) as ledger:
        report = ledger.append(history(400, 3))
        assert report.rejected == 0
        assert ledger.views is not None
        views = ledger.views.dump()
    return db, views


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_rebuild_killed_at_random_points_leaves_the_previous_views_and_next_run_completes(
    rebuilt_store: tuple[Path, list[tuple[object, ...]]], tmp_path: Path, seed: int
) -> None:
    original, views = rebuilt_store
    db = tmp_path / "ledger.db"
    db.write_bytes(original.read_bytes())
    rng = random.Random(seed)
    for _ in range(2):
        process = subprocess.Popen(
            [CLI, "rebuild", "--db", str(db)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.3, 1.6))
        process.send_signal(signal.SIGKILL)
        process.wait()
        with Ledger.open(db) as ledger:
            assert ledger.views is not None
            assert ledger.views.dump() == views
            assert ledger.status("uipath", "job", "job-7").id == "job-7"
            assert len(ledger.list("openfn", "work_order")) == 7
    finished = cli("rebuild", "--json", db=db)
    assert finished.returncode == 0, finished.stderr
    with Ledger.open(db) as ledger:
        assert ledger.views is not None
        assert ledger.views.dump() == views
    assert_whole(db)

"""Exactly-once projection across crashes (spec section 5): a projection process
killed with SIGKILL at random points leaves views that are exactly the views of
the events it has checkpointed, never more, never fewer, and the next run catches
up to exactly the rebuilt result, also while writers keep appending."""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from _attack import history

from ledger import Ledger

pytestmark = pytest.mark.slow  # processes, crashes, concurrency or many generated cases

CLI = shutil.which("status-ledger") or str(Path(sys.executable).with_name("status-ledger"))

# A projector that commits a checkpoint every few events, so kills land between
# and inside many transactions.
SMALL_PAGES = (
    "import sys\n"
    "from ledger import Ledger\n"
    "with Ledger.open(sys.argv[1]) as ledger:\n"
    "    assert ledger.views is not None\n"
    "    print('ready', flush=True)\n"
    "    ledger.views.catch_up(page=int(sys.argv[2]))\n"
)


def _views_at_checkpoint(url: str) -> tuple[int, list[tuple[Any, ...]], list[dict[str, Any]]]:
    with Ledger.open(url) as ledger:
        assert ledger.views is not None
        checkpoint = ledger.store.head().seq - ledger.views.lag()
        return checkpoint, ledger.views.dump(), list(ledger.export())


def _views_of(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The views a fresh store computes from exactly these events."""
    with tempfile.TemporaryDirectory() as scratch, Ledger.open(Path(scratch) / "x.db") as fresh:
        assert fresh.append(events).accepted == len(events)
        assert fresh.views is not None
        return fresh.views.dump()


def _kill_after(process: subprocess.Popen[bytes], seconds: float) -> None:
    time.sleep(seconds)
    process.send_signal(signal.SIGKILL)
    process.wait()


def _write_without_views(url: str, events: list[dict[str, Any]]) -> None:
    with Ledger.open(url, views=False) as writer:
        assert writer.append(events).rejected == 0


@pytest.mark.parametrize("seed", [3])
def test_a_projector_killed_at_random_points_catches_up_to_the_rebuilt_views(
    ledger_url: str, seed: int
) -> None:
    rng = random.Random(seed)
    events = history(40, seed)
    _write_without_views(ledger_url, events[:400])
    written = 400
    for round_ in range(4):
        worker = subprocess.Popen(
            [sys.executable, "-c", SMALL_PAGES, ledger_url, str(rng.choice([1, 5, 25]))],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert worker.stdout is not None
        worker.stdout.readline()
        _kill_after(worker, rng.uniform(0, 0.4))
        checkpoint, views, exported = _views_at_checkpoint(ledger_url)
        assert views == _views_of(exported[:checkpoint]), f"round {round_}, seq {checkpoint}"
        if written < len(events):
            _write_without_views(ledger_url, events[written : written + 60])
            written += 60
    _write_without_views(ledger_url, events[written:])
    done = subprocess.run(
        [CLI, "project", "--json", "--db", ledger_url], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    with Ledger.open(ledger_url) as ledger:
        assert ledger.views is not None
        assert ledger.views.lag() == 0
        caught_up = ledger.views.dump()
        ledger.rebuild()
        assert ledger.views.dump() == caught_up
        assert caught_up == _views_of(list(ledger.export()))


def test_the_project_command_killed_then_rerun_applies_every_event_once(
    sqlite_url: str,
) -> None:
    rng = random.Random(1)
    events = history(40, 1)
    _write_without_views(sqlite_url, events)
    for _ in range(3):
        worker = subprocess.Popen(
            [CLI, "project", "--db", sqlite_url],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _kill_after(worker, rng.uniform(0.1, 1.2))
        checkpoint, views, exported = _views_at_checkpoint(sqlite_url)
        assert views == _views_of(exported[:checkpoint])
    done = subprocess.run(
        [CLI, "project", "--db", sqlite_url], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    checkpoint, views, exported = _views_at_checkpoint(sqlite_url)
    assert checkpoint == len(exported) == len(events)
    assert views == _views_of(exported)

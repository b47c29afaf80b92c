"""The ledger's own paths, measured the way a user meets them: `status-ledger
import` run as the real command (interpreter start-up included), and rebuild and
lookups in a fresh child process (see bench/probe.py) so that their memory is
their own."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

COMMAND = Path(sys.executable).with_name("status-ledger")
ROOT = Path(__file__).resolve().parents[1]


def cli_import(jsonl: Path, db: Path) -> tuple[float, float, dict[str, int]]:
    """Wall and CPU seconds of `status-ledger import FILE --json` into a new store,
    and its counts."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [str(COMMAND), "import", str(jsonl), "--db", str(db), "--json"],
        capture_output=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if done.returncode not in (0, 1):
        raise RuntimeError(f"import failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    counts: dict[str, int] = orjson.loads(done.stdout)
    return seconds, cpu, counts


def probe(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.probe", *args], capture_output=True, check=False, cwd=ROOT
    )
    if done.returncode != 0:
        raise RuntimeError(f"probe {args[0]} failed: {done.stderr.decode()[-2000:]}")
    result: dict[str, Any] = orjson.loads(done.stdout)
    return result


def build(db: Path, jsonl: Path) -> dict[str, Any]:
    """A large store appended in a child without views (for the scale runs)."""
    return probe("build", str(db), str(jsonl))


def rebuild(db: Path) -> dict[str, Any]:
    """`Ledger.rebuild()` of every view in a child: seconds (rebuild only) and peak RSS."""
    return probe("rebuild", str(db))


def lookups(db: Path, count: int, seed: int = 11) -> dict[str, Any]:
    """Latency of in-process `Ledger.status` on random written entities."""
    return probe("lookups", str(db), str(count), str(seed))

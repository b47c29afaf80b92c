"""One ledger operation in a fresh process, reported as one JSON line: rebuild
(time and peak memory) or status lookups (latency percentiles). A fresh process
is what makes peak RSS mean something: the benchmark's own history would
otherwise be counted.

    python -m bench.probe build DB JSONL
    python -m bench.probe rebuild DB
    python -m bench.probe lookups DB COUNT SEED"""

from __future__ import annotations

import os
import random
import resource
import sqlite3
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import orjson

from ledger import Ledger


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def build(db: str, jsonl: str) -> dict[str, Any]:
    """A large store for the scale runs, appended without views (a rebuild follows
    and makes them current), which is quicker than a full import."""
    with Ledger.open(db, views=False) as ledger, open(jsonl, "rb") as lines:
        started = time.perf_counter()
        report = ledger.append((line.rstrip(b"\n") for line in lines), batch_size=5000)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, **report.counts()}


class WorkerPeak(threading.Thread):
    """The rebuild worker's peak RSS, read from its own /proc status every 20 ms.
    `RUSAGE_CHILDREN`'s ru_maxrss would not do: it counts this process's memory,
    which the child holds between the fork and the exec of the new interpreter."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_kb = 0
        self.done = threading.Event()

    def run(self) -> None:
        """Look for the (one) worker until it appears, then follow it until it exits."""
        me = str(os.getpid())
        while not self.done.wait(0.02):
            for entry in Path("/proc").iterdir():
                if entry.name.isdigit() and self._is_worker(entry, me):
                    self._follow(entry)
                    return

    @staticmethod
    def _is_worker(entry: Path, parent: str) -> bool:
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            return False
        return stat.rsplit(")", 1)[1].split()[1] == parent and b"_parallel" in command

    def _follow(self, entry: Path) -> None:
        while not self.done.is_set():
            try:
                status = (entry / "status").read_text()
            except OSError:
                return
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    self.peak_kb = max(self.peak_kb, int(line.split()[1]))
            time.sleep(0.02)


def rebuild(db: str) -> dict[str, Any]:
    with Ledger.open(db) as ledger:
        before = _status_kb("VmRSS")
        worker = WorkerPeak()
        worker.start()
        started = time.perf_counter()
        cpu = time.process_time()
        events = ledger.rebuild()
        seconds = time.perf_counter() - started
        worker.done.set()
        worker.join()
        workers = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_seconds = time.process_time() - cpu + workers.ru_utime + workers.ru_stime
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "events": events,
        "rss_before_kb": before,
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "vmhwm_kb": _status_kb("VmHWM"),
        "worker_peak_kb": worker.peak_kb,
    }


def lookups(db: str, count: int, seed: int) -> dict[str, Any]:
    """`Ledger.status` of random written entities; the first tenth warms up."""
    conn = sqlite3.connect(f"file:{Path(db).resolve()}?mode=ro", uri=True)
    rows = conn.execute(
        "SELECT model, type, id, parent FROM views WHERE type NOT IN ('work_order', 'workflow') "
        "ORDER BY model, type, parent, id"
    ).fetchall()
    conn.close()
    picks = random.Random(seed).choices(rows, k=count + count // 10)
    latencies: list[float] = []
    with Ledger.open(db) as ledger:
        for n, (model, type_name, entity_id, parent) in enumerate(picks):
            started = time.perf_counter()
            ledger.status(model, type_name, entity_id, parent=parent or None)
            if n >= count // 10:
                latencies.append((time.perf_counter() - started) * 1000)
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "count": len(latencies),
        "p50_ms": cuts[49],
        "p99_ms": cuts[98],
        "max_ms": max(latencies),
    }


def main(argv: list[str]) -> None:
    if argv[0] == "build":
        result = build(argv[1], argv[2])
    elif argv[0] == "rebuild":
        result = rebuild(argv[1])
    elif argv[0] == "lookups":
        result = lookups(argv[1], int(argv[2]), int(argv[3]))
    else:
        raise SystemExit(f"unknown probe {argv[0]!r}")
    sys.stdout.buffer.write(orjson.dumps(result) + b"\n")


if __name__ == "__main__":
    main(sys.argv[1:])

"""PostgreSQL numbers beside the SQLite ones: ingest through the real `status-ledger
import` (views kept current by the writer, as on SQLite), and follow latency,
the time from a writer's commit to the row in the views when the writer leaves
the views to a `status-ledger project --follow` worker.

    python -m bench.postgres postgresql://postgres@127.0.0.1:5432/test [--events 20000]

Each measure gets a scratch database on that server, dropped afterwards."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import psycopg

from ledger import Ledger

from .history import generate, write

COMMAND = Path(sys.executable).with_name("status-ledger")


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A new empty database on the server of `server_url`, dropped on exit."""
    base = server_url.rsplit("/", 1)[0]
    name = f"sl_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def ingest(server_url: str, events: int = 20_000) -> dict[str, Any]:
    """`status-ledger import` of a synthetic history into a new PostgreSQL store."""
    lines, _summary = generate(events, max(1, events // 10))
    with tempfile.TemporaryDirectory() as work, scratch_database(server_url) as url:
        jsonl = Path(work) / "history.jsonl"
        write(jsonl, lines)
        subprocess.run([str(COMMAND), "init", "--db", url], check=True, capture_output=True)
        started = time.perf_counter()
        done = subprocess.run(
            [str(COMMAND), "import", str(jsonl), "--db", url, "--json"],
            capture_output=True,
            check=False,
        )
        seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise RuntimeError(f"import failed: {done.stderr.decode()[-2000:]}")
    counts: dict[str, int] = orjson.loads(done.stdout)
    return {
        "events": len(lines),
        "seconds": round(seconds, 2),
        "events_per_second": round(len(lines) / seconds),
        **counts,
    }


def follow_latency(server_url: str, samples: int = 50) -> dict[str, Any]:
    """Seconds from a writer's commit (views left to the worker) to the worker's
    view row being visible, one event at a time."""
    latencies: list[float] = []
    with scratch_database(server_url) as url:
        Ledger.open(url).close()
        worker = subprocess.Popen(
            [str(COMMAND), "project", "--follow", "--db", url],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            with Ledger.open(url, views=False) as writer, psycopg.connect(url) as reader:
                reader.autocommit = True
                for i in range(samples + 1):
                    job = f"latency-{i}"
                    writer.record(
                        model="uipath",
                        type="job",
                        id=job,
                        status="Pending",
                        occurred_at=1_714_557_600 + i,
                    )
                    committed = time.perf_counter()
                    while not reader.execute(
                        "SELECT 1 FROM views WHERE model = 'uipath' AND type = 'job' AND id = %s",
                        (job,),
                    ).fetchone():
                        time.sleep(0.0005)
                    if i:  # the first one also waits for the worker to start
                        latencies.append(time.perf_counter() - committed)
        finally:
            worker.terminate()
            worker.wait(timeout=60)
    latencies.sort()
    return {
        "samples": len(latencies),
        "median_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.postgres", description=__doc__)
    parser.add_argument("server_url", help="postgresql:// URL of any database on the server")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--samples", type=int, default=50)
    args = parser.parse_args(argv)
    report = {
        "ingest": ingest(args.server_url, args.events),
        "follow_latency": follow_latency(args.server_url, args.samples),
    }
    print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What the reliability tests share: a realistic mixed history, the real command
run as a separate process (so it can be killed), and the checks that say a store
lost nothing and let nothing in."""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson

from ledger import Ledger

CLI = shutil.which("status-ledger") or str(Path(sys.executable).with_name("status-ledger"))
BASE = 1_700_000_000


def history(entities: int, seed: int = 0, prefix: str = "") -> list[dict[str, Any]]:
    """Events for `entities` entities of every written model, interleaved the way a
    collector would emit them, with the seed-004 kind of duplicate (two identical
    lines that must stay two events). A `prefix` keeps the entities apart from
    another history's."""
    rng = random.Random(seed)
    streams: list[list[dict[str, Any]]] = []
    for n in range(entities):
        t = BASE + n
        job = {"model": "uipath", "type": "job", "id": f"{prefix}job-{n}"}
        streams.append(
            [
                {**job, "status": "Pending", "occurred_at": t},
                {**job, "status": "Running", "occurred_at": t + 10, "actor": "robot-1"},
                {**job, "status": rng.choice(["Successful", "Faulted"]), "occurred_at": t + 20},
            ]
        )
        run = {
            "model": "openfn",
            "type": "run",
            "id": f"{prefix}run-{n}",
            "parent": f"{prefix}wo-{n % 7}",
        }
        streams.append(
            [
                {**run, "status": "available", "occurred_at": f"2024-05-01T10:{n % 60:02d}:00Z"},
                {**run, "status": "claimed", "occurred_at": f"2024-05-01T10:{n % 60:02d}:01Z"},
                {**run, "status": "Success", "occurred_at": f"2024-05-01T10:{n % 60:02d}:02Z"},
            ]
        )
        work = {"model": "lightning", "type": "work", "id": f"{prefix}work-{n}"}
        running = {**work, "status": "running", "occurred_at": t + 2.5}
        streams.append(
            [
                {**work, "status": "pending", "occurred_at": t + 1.25, "reason": "image_building"},
                running,
                dict(running),
                {**work, "status": "succeeded", "occurred_at": t + 3.125},
            ]
        )
        group = {"model": "osmo", "type": "task_group", "id": "train", "parent": f"{prefix}wf-{n}"}
        streams.append(
            [
                {**group, "status": s, "occurred_at": t + i}
                for i, s in enumerate(
                    [
                        "SUBMITTING",
                        "PROCESSING",
                        "SCHEDULING",
                        "INITIALIZING",
                        "RUNNING",
                        "COMPLETED",
                    ]
                )
            ]
        )
    out: list[dict[str, Any]] = []
    while streams:
        stream = rng.choice(streams)
        out.append(stream.pop(0))
        if not stream:
            streams.remove(stream)
    return out


def write_jsonl(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    return path


def cli(*args: str, db: str | Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """The real console command in its own process."""
    return subprocess.run(
        [CLI, *args, "--db", str(db)],
        input=None if stdin is None else stdin.decode(),
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "STATUS_LEDGER_DEBUG": ""},
    )


def head_seq(db: Path) -> int:
    """The committed chain length, read behind the ledger's back (0 if not yet there)."""
    try:
        conn = sqlite3.connect(f"file:{quote(str(db))}?mode=ro", uri=True, timeout=5)
        try:
            row = conn.execute("SELECT seq FROM ledger_head WHERE id = 1").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return 0
    return int(row[0]) if row else 0


def stored_seqs(db: Path) -> list[int]:
    conn = sqlite3.connect(f"file:{quote(str(db))}?mode=ro", uri=True)
    try:
        return [
            orjson.loads(state)["seq"]
            for (state,) in conn.execute("SELECT state FROM stored_events ORDER BY rowid")
        ]
    finally:
        conn.close()


def assert_whole(db: str | Path, expected: list[dict[str, Any]] | None = None) -> None:
    """The store holds exactly `expected` (in ledger order, as written), its seq is
    gapless, its chain verifies, and its views equal a rebuild from the events."""
    with Ledger.open(db) as ledger:
        report = ledger.verify()
        assert report.ok, report
        exported = list(ledger.export())
        if expected is not None:
            assert [_written(e) for e in exported] == expected
        assert ledger.views is not None
        incremental = ledger.views.dump()
        ledger.rebuild()
        assert ledger.views.dump() == incremental
    if not str(db).startswith("postgresql://"):
        assert stored_seqs(Path(db)) == list(range(1, len(exported) + 1))


def _written(event: dict[str, Any]) -> dict[str, Any]:
    """An exported event without the event id the ledger derived for it."""
    return {k: v for k, v in event.items() if k != "event_id"}


def one_error_line(stderr: str, code: str) -> None:
    """The CLI's contract for errors: one line, its stable code, no traceback."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr, stderr
    assert lines and lines[0].startswith(f"Error: {code}: "), stderr
    assert len(lines) == 1, stderr

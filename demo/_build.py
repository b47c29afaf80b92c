"""`build_demo`: write the demo's story (story.jsonl, read by _story.py) into a
fresh SQLite ledger the way real sources would, in deliveries, and keep what a
newcomer should be shown. It is not in the CLI, so that the HTTP service or a
notebook can build the same ledger."""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ledger import Ledger, LedgerError, UsageError, VerifyReport, ViewRow, statuses_repr
from ledger.spi import append_own

from . import _story as story
from ._bus import BusDemo, deliver_through_nats

DEMO_DB = "status-ledger-demo.db"


@dataclass
class DemoResult:
    """What the demo did, for a printer to show."""

    db: str
    events: int = 0
    known_before_late: str = ""
    as_of: str = story.AS_OF
    audited_work_order: str = story.AUDITED_WORK_ORDER
    retried_work_order: str = story.RETRIED_WORK_ORDER
    seed_status_work: str = story.SEED_STATUS_WORK
    seed_statuses_work: str = story.SEED_STATUSES_WORK
    seed_status_lines: list[tuple[str, str]] = field(default_factory=list)
    seed_statuses_lines: list[str] = field(default_factory=list)
    rejected: LedgerError | None = None
    swept: list[dict[str, Any]] = field(default_factory=list)
    sweep_now: str = story.SWEEP_NOW
    rebuilt_events: int = 0
    rebuild_identical: bool = False
    seconds: float = 0.0
    verify: VerifyReport | None = None
    bus: BusDemo | None = None


def build_demo(
    path: str | os.PathLike[str] | None = None, *, nats_url: str | None = None
) -> DemoResult:
    """Replace `path` (default ./status-ledger-demo.db) with a new demo ledger.
    Refuses a file that is not an earlier demo, so a mistyped `--db` never
    destroys a real ledger. With `nats_url`, Lightning's extra works arrive
    through a NATS stream when that server answers (demo/_bus.py); the
    ledger is the same either way."""
    started = time.perf_counter()
    if path is not None and not os.fspath(path):
        raise UsageError("the demo's --db is empty; give a file path")
    target = Path(path if path is not None else DEMO_DB)
    _remove_previous_demo(target)
    result = DemoResult(db=str(target))
    sent = story.deliveries()
    with Ledger.open(target) as ledger:
        _deliver(ledger, sent["morning"])
        result.known_before_late = _tick(ledger)
        _deliver(ledger, sent["late"])
        for delta in story.series(sent, story.SEED_STATUS_WORK):
            _deliver(ledger, delta)
            row = ledger.status("lightning", "work", story.SEED_STATUS_WORK)
            result.seed_status_lines.append((flow_word(row), row.status.work_status_repr()))
        for delta in story.series(sent, story.SEED_STATUSES_WORK):
            _deliver(ledger, delta)
            row = ledger.status("lightning", "work", story.SEED_STATUSES_WORK)
            result.seed_statuses_lines.append(statuses_repr(row.statuses))
        result.bus = deliver_through_nats(ledger, nats_url, sent["lightning"])
        _deliver(ledger, sent["lightning"])
        result.swept = ledger.sweep(story.SWEEP_NOW)
        result.rejected = append_own(ledger, sent["refused"][:1]).outcomes[0].error
        views = ledger.views
        assert views is not None  # opened with its views
        before = views.dump()
        result.rebuilt_events = ledger.rebuild()
        result.rebuild_identical = views.dump() == before
        result.verify = ledger.verify()
        result.events = result.verify.events
    result.seconds = time.perf_counter() - started
    return result


def flow_word(row: ViewRow) -> str:
    """What seed 004's Flow prints above each status, from the view's flags."""
    extra = row.model_extra or {}
    if not extra.get("has_started"):
        return "NOT STARTED"
    for flag, word in (
        ("is_pending", "PENDING"),
        ("is_running", "RUNNING"),
        ("has_succeeded", "SUCCESS"),
        ("has_failed", "FAILED"),
        ("has_stopped", "STOPPED"),
    ):
        if extra.get(flag):
            return word
    return row.status.status.upper()


def _deliver(ledger: Ledger, events: list[dict[str, Any]]) -> None:
    report = append_own(ledger, events)
    for outcome in report.outcomes:
        if outcome.error is not None:
            raise outcome.error


def _tick(ledger: Ledger) -> str:
    """The ledger clock after everything so far, once the clock has moved on, so
    that `--known-at` this time excludes every later delivery."""
    known = ledger.store.head().recorded_at
    while _clock() <= known:
        time.sleep(0.001)
    return known


def _clock() -> str:
    """The clock as the ledger writes `recorded_at` (UTC, microseconds)."""
    seconds, nanos = divmod(time.time_ns(), 1_000_000_000)
    second = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{second}.{nanos // 1000:06d}Z"


def _remove_previous_demo(target: Path) -> None:
    if str(target).startswith(("postgresql://", "postgres://")):
        raise UsageError("the demo writes an embedded SQLite file; give a file path")
    if target.exists() and target.stat().st_size > 0 and not _is_demo(target):
        raise UsageError(
            f"{target} exists and is not a demo ledger; refusing to replace it "
            "(give another --db path)"
        )
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)


def _is_demo(target: Path) -> bool:
    try:
        with sqlite3.connect(f"file:{target}?mode=ro", uri=True) as conn:
            found = conn.execute(
                "SELECT 1 FROM ledger_event_ids WHERE event_id = ?", (story.FIRST_EVENT_ID,)
            ).fetchone()
    except sqlite3.Error:
        return False
    return found is not None

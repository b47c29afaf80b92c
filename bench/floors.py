"""Floors: the least work any import or rebuild of this store layout has to do,
written as directly as Python allows, so that the distance between a target and
the ledger splits into what the layout costs and what the ledger adds.

- import floor: each line parsed and validated as an `EventInput`, its content
  digest, canonical JSON and chain hash computed, and the row inserted into
  eventsourcing's `stored_events` and the event-id index, in 50,000-event
  transactions with a 64 MB cache. No status-model checks, no views, no reports.
  Split over two processes as the import is: a worker parses and validates,
  this process hash-chains and inserts.
- read floor: every stream read back in key order, as a rebuild must, and each
  event decoded. No rows built, nothing written. One process: what one core of
  a rebuild can do."""

from __future__ import annotations

import resource
import sqlite3
import time
from collections.abc import Sequence
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from ledger._event import (
    canonical_json,
    chain_hash,
    content_digest,
    decode_event,
    derived_event_id,
    parse_line,
    validate_input,
)

BATCH = 50_000
CHUNK = 5000


def _validated(lines: list[bytes]) -> list[tuple[dict[str, Any], str, str, str]]:
    """The worker's part: each line's content, digest, event id and stream key."""
    out = []
    for line in lines:
        event = validate_input(parse_line(line))
        content = event.content()
        digest = content_digest(content)
        event_id = event.event_id or derived_event_id(digest, 0)
        key = canonical_json([event.model, event.type, event.parent, event.id]).decode()
        out.append((content, digest, event_id, key))
    return out


def _cpu() -> float:
    """CPU seconds of this process and of its children that have ended."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def import_floor(lines: Sequence[bytes], path: Path) -> tuple[float, float]:
    """Wall and CPU seconds (both processes, the worker's start included) for the
    required work of an import of `lines` into a new file."""
    cpu = _cpu()
    started = time.perf_counter()
    pool = get_context("spawn").Pool(1)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA cache_size=-65536")
    conn.execute(
        "CREATE TABLE stored_events (originator_id TEXT, originator_version INTEGER, "
        "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))"
    )
    conn.execute(
        "CREATE TABLE ledger_event_ids (event_id TEXT PRIMARY KEY, digest TEXT NOT NULL, "
        "seq INTEGER NOT NULL) WITHOUT ROWID"
    )
    versions: dict[str, int] = {}
    seen: set[str] = set()
    head, seq = "0" * 64, 0
    rows: list[tuple[int, str, int, bytes]] = []
    ids: list[tuple[str, str, int]] = []

    def write() -> None:
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO stored_events (rowid, originator_id, originator_version, topic, state) "
            "VALUES (?, ?, ?, 'StatusChanged', ?)",
            rows,
        )
        conn.executemany("INSERT INTO ledger_event_ids VALUES (?, ?, ?)", ids)
        conn.execute("COMMIT")
        rows.clear()
        ids.clear()

    chunks = [list(lines[i : i + CHUNK]) for i in range(0, len(lines), CHUNK)]
    for validated in pool.imap(_validated, chunks):
        for content, digest, event_id, key in validated:
            if event_id in seen:
                continue
            seen.add(event_id)
            version = versions[key] = versions.get(key, 0) + 1
            seq += 1
            body = {**content, "event_id": event_id, "seq": seq, "version": version}
            digest_of_chain = chain_hash(head, body)
            rows.append((seq, key, version, canonical_json({**body, "hash": digest_of_chain})))
            ids.append((event_id, digest, seq))
            head = digest_of_chain
            if len(rows) >= BATCH:
                write()
    if rows:
        write()
    conn.close()
    pool.close()
    pool.join()
    return time.perf_counter() - started, _cpu() - cpu


def read_floor(path: Path) -> tuple[float, int]:
    """Seconds to read and decode every event of a ledger store in stream order."""
    started = time.perf_counter()
    conn = sqlite3.connect(path)
    count = 0
    for key, version, state in conn.execute(
        "SELECT originator_id, originator_version, state FROM stored_events "
        "ORDER BY originator_id, originator_version"
    ):
        decode_event(key, version, state)
        count += 1
    conn.close()
    return time.perf_counter() - started, count

"""Edits made behind the ledger's back, straight into the database with `sqlite3`
or `psycopg`, the way an attacker with write access to the store would make them.
Statements use '?' placeholders and `{nid}` for the notification id column (SQLite's
rowid, PostgreSQL's notification_id), so one attack runs on both backends."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import orjson

from ledger._event import LEDGER_FIELDS, chain_hash, content_digest

PG = ("postgresql://", "postgres://")


def sql(url: str, statement: str, *params: Any) -> list[tuple[Any, ...]]:
    """Run one statement in its own committed transaction; returns its rows."""
    if url.startswith(PG):
        import psycopg

        text = statement.replace("{nid}", "notification_id").replace("?", "%s")
        with psycopg.connect(url) as conn:
            cursor = conn.execute(text, params)
            return list(cursor.fetchall()) if cursor.description else []
    with sqlite3.connect(url) as conn:
        found = conn.execute(statement.replace("{nid}", "rowid"), params).fetchall()
    conn.close()
    return found


def state(url: str, seq: int) -> dict[str, Any]:
    """The stored state of the event at `seq` (notification ids have no gaps in a
    fresh test store)."""
    ((raw,),) = sql(url, "SELECT state FROM stored_events WHERE {nid} = ?", seq)
    data: dict[str, Any] = orjson.loads(bytes(raw))
    return data


def put_state(url: str, seq: int, data: dict[str, Any]) -> None:
    encoded = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    sql(url, "UPDATE stored_events SET state = ? WHERE {nid} = ?", encoded, seq)


def rewrite_state(url: str, seq: int, change: Callable[[dict[str, Any]], None]) -> None:
    data = state(url, seq)
    change(data)
    put_state(url, seq, data)


def rechain(url: str, seq: int, change: Callable[[dict[str, Any]], None]) -> None:
    """A consistent rewrite of the tail: change the event at `seq`, then recompute
    its hash, every later link, the idempotency key's digest and the head, as an
    attacker who knows the (unkeyed) chain rule does. Only a checkpoint catches it."""
    (count,) = sql(url, "SELECT COUNT(*) FROM stored_events")[0]
    prev = state(url, seq)["prev_hash"]
    for current in range(seq, count + 1):
        data = state(url, current)
        if current == seq:
            change(data)
        body = {k: v for k, v in data.items() if k not in ("prev_hash", "hash")}
        data["prev_hash"] = prev
        data["hash"] = prev = chain_hash(prev, body)
        put_state(url, current, data)
        content = {k: v for k, v in data.items() if k not in LEDGER_FIELDS and k != "event_id"}
        sql(
            url,
            "UPDATE ledger_event_ids SET digest = ? WHERE event_id = ?",
            content_digest(content),
            data["event_id"],
        )
    sql(url, "UPDATE ledger_head SET hash = ?", prev)


def truncate(url: str, keep: int) -> None:
    """Cut the tail after seq `keep` consistently: events, their keys, and the head
    moved back to the last kept event."""
    last = state(url, keep)
    sql(url, "DELETE FROM stored_events WHERE {nid} > ?", keep)
    sql(url, "DELETE FROM ledger_event_ids WHERE seq > ?", keep)
    sql(
        url,
        "UPDATE ledger_head SET seq = ?, hash = ?, recorded_at = ?",
        keep,
        last["hash"],
        last["recorded_at"],
    )

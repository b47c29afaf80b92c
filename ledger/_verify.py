"""Tamper evidence: walk the whole chain and name the first seq that does not hold."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel

from ._event import GENESIS_HASH, chain_hash
from .store._base import ChainHead, EventStore


class VerifyReport(BaseModel):
    ok: bool
    events: int
    head_hash: str
    first_broken_seq: int | None = None
    problem: str | None = None


def verify_chain(store: EventStore) -> VerifyReport:
    """The head and its idempotency keys are read first, in one snapshot; the walk
    that follows must pass through that head. Events appended meanwhile by other
    writers are walked too (each must link to the one before), so verifying a
    store that is being written to never reports a false break."""
    head, ids = _snapshot(store)
    prev = GENESIS_HASH
    expected = 1
    for notification_id, originator_id, version, state in store.iter_raw():
        problem = _problem(expected, prev, notification_id, originator_id, version, state)
        if problem is None and expected == head.seq and _hash(state) != head.hash:
            problem = "the chain head does not match the event at its seq: the head was altered"
        if problem is not None:
            return VerifyReport(
                ok=False,
                events=expected - 1,
                head_hash=prev,
                first_broken_seq=expected,
                problem=problem,
            )
        prev = _hash(state)
        expected += 1
    count = expected - 1
    if count < head.seq:
        return VerifyReport(
            ok=False,
            events=count,
            head_hash=prev,
            first_broken_seq=count + 1,
            problem=f"the chain head says seq {head.seq} but the events end at seq {count}: "
            "events were deleted from the end",
        )
    if ids != head.seq:
        return VerifyReport(
            ok=False,
            events=count,
            head_hash=prev,
            first_broken_seq=min(ids, head.seq) + 1,
            problem=f"{ids} idempotency keys but {head.seq} events: events were deleted",
        )
    return VerifyReport(ok=True, events=count, head_hash=prev)


def _snapshot(store: EventStore) -> tuple[ChainHead, int]:
    with store.read() as txn:
        head = txn.head()
        txn.cursor.execute("SELECT COUNT(*) FROM ledger_event_ids")
        row = txn.cursor.fetchone()
    return head, int(row[0]) if row else 0


def _hash(state: bytes) -> str:
    return str(orjson.loads(state)["hash"])


def _problem(
    expected: int, prev: str, notification_id: int, originator_id: str, version: int, state: bytes
) -> str | None:
    try:
        data: dict[str, Any] = orjson.loads(state)
    except orjson.JSONDecodeError:
        return "the stored event is not valid JSON"
    seq = data.get("seq")
    if seq != expected:
        return f"expected seq {expected}, found seq {seq}: an event is missing or moved"
    if data.get("prev_hash") != prev:
        return "prev_hash does not match the previous event's hash: an event was removed or altered"
    body = {k: v for k, v in data.items() if k not in ("prev_hash", "hash")}
    if chain_hash(prev, body) != data.get("hash"):
        return "the event's content does not match its hash: it was altered"
    if data.get("version") != version or notification_id < expected:
        return "the stored position does not match the hashed one"
    try:
        key = orjson.loads(originator_id)
    except orjson.JSONDecodeError:
        return "the stream key is not valid"
    if (
        not isinstance(key, list)
        or not key
        or key[0] != data.get("model")
        or key[-1] != data.get("id")
    ):
        return "the stream key does not match the event's entity"
    return None

"""Tamper evidence: walk the whole chain and name the first seq that does not hold."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel

from ._event import GENESIS_HASH, chain_hash
from ._store import EventStore


class VerifyReport(BaseModel):
    ok: bool
    events: int
    head_hash: str
    first_broken_seq: int | None = None
    problem: str | None = None


def verify_chain(store: EventStore) -> VerifyReport:
    prev = GENESIS_HASH
    expected = 1
    for notification_id, originator_id, version, state in store.iter_raw():
        problem = _problem(expected, prev, notification_id, originator_id, version, state)
        if problem is not None:
            return VerifyReport(
                ok=False, events=expected - 1, head_hash=prev, first_broken_seq=expected,
                problem=problem,
            )
        prev = orjson.loads(state)["hash"]
        expected += 1
    count = expected - 1
    head = store.head()
    if head.seq != count or head.hash != prev:
        return VerifyReport(
            ok=False, events=count, head_hash=prev, first_broken_seq=count + 1,
            problem=f"the chain head says seq {head.seq} but the events end at seq {count}: "
            "events were deleted from the end",
        )
    ids = store.event_id_count()
    if ids != count:
        return VerifyReport(
            ok=False, events=count, head_hash=prev, first_broken_seq=count + 1,
            problem=f"{ids} idempotency keys but {count} events: events were deleted",
        )
    return VerifyReport(ok=True, events=count, head_hash=prev)


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
    if not isinstance(key, list) or not key or key[0] != data.get("model") or key[-1] != data.get("id"):
        return "the stream key does not match the event's entity"
    return None

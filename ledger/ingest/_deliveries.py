"""Which deliveries may share one `Ledger.append`. The ledger tells identical
events without an `event_id` apart by their ordinal within one call, and a
delivery (a message, a webhook body, a file) is one call's worth: an event
identical to one of an earlier delivery is a duplicate of it. Appending several
deliveries in one call would make the second copy a new event instead, so a
batch of deliveries is cut into runs in which no two deliveries could hold an
identical event without an id. Any delivery type will do (`D`): only the
events are looked at."""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import Any, TypeVar

import orjson

D = TypeVar("D")
Input = dict[str, Any] | str


def deliveries_apart(
    readable: list[tuple[D, list[Input]]],
) -> Iterator[list[tuple[D, list[Input]]]]:
    """Consecutive runs of deliveries in which no two deliveries may share an
    event without an `event_id`. The key is coarser than the ledger's content digest
    (identical content always has the same key; different content rarely
    does), so a needless split costs one more transaction, never a wrong id."""
    run: list[tuple[D, list[Input]]] = []
    seen: set[Hashable] = set()
    for delivery, events in readable:
        keys = _content_keys(events)
        if run and not seen.isdisjoint(keys):
            yield run
            run, seen = [], set()
        run.append((delivery, events))
        seen |= keys
    if run:
        yield run


def _content_keys(events: list[Input]) -> set[Hashable]:
    """A key per event without an `event_id`, from the fields identical events
    share. Events the ledger will reject take no ordinal, so they need none."""
    keys: set[Hashable] = set()
    for event in events:
        obj: Any = event
        if isinstance(event, str):
            try:
                obj = orjson.loads(event)
            except orjson.JSONDecodeError:
                continue  # rejected as bad_json: it takes no ordinal
        if not isinstance(obj, dict) or obj.get("event_id") is not None:
            continue
        key = tuple(obj.get(f) for f in ("model", "type", "id", "status", "occurred_at"))
        try:
            hash(key)
        except TypeError:
            continue  # a list or object where a string belongs: rejected
        keys.add(key)
    return keys

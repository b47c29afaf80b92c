"""Event ids in the ledger's own namespace. The ledger names some events itself:
content-derived ids (`sha256:`), the timeout sweep's (`sweep:`) and the demo's
(`demo:`). A writer who could claim such an id for other content would block the
ledger's own event for ever (it would be an `event_id_conflict`), so a writer may
only send one that the ledger itself derives from that very event's content (an
export imported again), where it can only ever meet its own duplicate. `demo:`
ids derive from nothing, and the demo replaces a file that holds its first one,
so only the demo writes them."""

from __future__ import annotations

from typing import Any

from ._errors import ReservedEventId
from ._event import derived_event_id

DERIVED = "sha256:"  # as _event.derived_event_id writes them
SWEEP = "sweep:"
DEMO = "demo:"
RESERVED_PREFIXES = (DERIVED, SWEEP, DEMO)

MAX_ORDINAL = 256
"""Ordinals a claimed `sha256:` id is checked against. An ordinal counts
byte-identical events (same entity, status, time, message, everything) in one
input, so an export holds higher ones only after hundreds of such repeats were
all accepted; the bound keeps a refused line to well under a millisecond."""


def sweep_event_id(digest: str) -> str:
    """The sweep's id is its event's whole content digest: an event that carries
    it has exactly the sweep's content, so the sweep finds it a duplicate (done),
    never a conflict; and it is fixed in length, so no long entity id makes it
    invalid."""
    return SWEEP + digest[:40]


def check_claimed_id(event_id: str, digest: str, content: dict[str, Any]) -> None:
    """Raise ReservedEventId unless a writer's `event_id` is outside the ledger's
    namespace or is what the ledger derives from `content` (of digest `digest`)."""
    if not event_id.startswith(RESERVED_PREFIXES):
        return
    if event_id.startswith(DERIVED) and any(
        event_id == derived_event_id(digest, n) for n in range(MAX_ORDINAL)
    ):
        return
    if event_id.startswith(SWEEP) and event_id in (
        sweep_event_id(digest),
        _first_sweep_id(content),
    ):
        return
    prefix = event_id.split(":", 1)[0] + ":"
    raise ReservedEventId(
        f"event_id {event_id!r}: ids starting {prefix!r} are the ledger's own and only "
        "name the content they are derived from; choose another event_id",
        field="event_id",
        event_id=event_id,
    )


def _first_sweep_id(content: dict[str, Any]) -> str | None:
    """The readable id sweeps wrote before ids were digests
    (`sweep:MODEL:TYPE:ID:STATUS:SINCE`, its message `STATUS since SINCE`), so
    that exports of older ledgers import again. The sweep no longer writes
    these, so a writer who sends one blocks nothing."""
    held, found, since = str(content.get("message", "")).partition(" since ")
    if not found:
        return None
    return f"{SWEEP}{content['model']}:{content['type']}:{content['id']}:{held}:{since}"

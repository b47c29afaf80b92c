"""The demo's story as data (story.jsonl beside this module): one realistic
morning of four orchestration systems, written as a user would write the
events, so that every feature a newcomer should see (retries, a failing OSMO
group and its FAILED_UPSTREAM consequence, UiPath Stop and Kill, a forced
transition, a late event, the seed-004 example) is one readable file rather
than code spread over the command line.

Each line is `{"delivery": NAME, "note": WHY (optional), "event": EVENT}`;
lines of one delivery are sent together, in file order. Every event carries an
explicit `event_id` (`demo:MODEL:ID:N`, numbering each entity's events in the
order they are sent): the seed-004 example repeats an identical `running`
record, which a source must send with its own id, and the prefix is how the
demo recognises a database it may replace."""

from __future__ import annotations

from importlib import resources
from typing import Any

import orjson

Event = dict[str, Any]

SWEEP_NOW = "2024-05-02T12:00:00Z"
AS_OF = "2024-05-01T10:23:00Z"
AUDITED_WORK_ORDER = "wo-1003"
RETRIED_WORK_ORDER = "wo-1002"
FIRST_EVENT_ID = "demo:openfn:r-1001-1:1"
SEED_STATUS_WORK = "seed004-status"
SEED_STATUSES_WORK = "seed004-statuses"


def deliveries() -> dict[str, list[Event]]:
    """The story's deliveries by name, in the order they are sent."""
    text = resources.files("demo").joinpath("story.jsonl").read_bytes()
    found: dict[str, list[Event]] = {}
    for line in text.splitlines():
        item = orjson.loads(line)
        found.setdefault(item["delivery"], []).append(item["event"])
    return found


def series(story: dict[str, list[Event]], name: str) -> list[list[Event]]:
    """Deliveries `name/1`, `name/2`, ... in order: one per delta a source sent."""
    return [events for key, events in story.items() if key.rpartition("/")[0] == name]

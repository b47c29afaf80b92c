"""From one entity's events to its view row, with Lightning's WorkStatus rules:
records sorted by occurred time (ties by seq), one execution per run call, and
aggregated failures counted since the last success.

Rows are built as the plain JSON dicts the views table stores (what
`ViewRow.model_dump(mode="json")` gives): a rebuild makes one per entity and an
import one per touched entity, so going through pydantic for each row and each
status record cost more than the rules themselves. `project_entity` is the same
row as a `ViewRow`, for callers and candidate projections that want the model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from ledger import EntityType, StatusRecord, ViewRow
from ledger.spi import StatusChanged

Row = dict[str, Any]


class Mark(NamedTuple):
    """One status record plus where it falls in occurred order; derived views merge
    their children's marks, so they are stored with each row as its trail. (A
    named tuple: one is made per event, several times faster than a dataclass.)"""

    at: float
    seq: int
    status: str
    timestamp: int | float | str
    reason: str | None
    message: str | None

    def record(self, count: int = 1) -> StatusRecord:
        return StatusRecord.model_validate(record_of(self, count))

    def to_list(self) -> list[Any]:
        return list(self)


def record_of(mark: Mark, count: int = 1) -> Row:
    """A status record as the views store it (StatusRecord's JSON form)."""
    return {
        "status": mark.status,
        "timestamp": mark.timestamp,
        "reason": mark.reason,
        "message": mark.message,
        "count": count,
    }


def marked(et: EntityType, events: Sequence[StatusChanged]) -> list[tuple[Mark, StatusChanged]]:
    """Each event with its mark (its occurred time and position, its canonical
    status, or the status as written where the model no longer knows it), in
    occurred order. Every event of a rebuild passes through here, so it is
    written flat: `tuple.__new__` skips
    the named tuple's Python-level `__new__`, and one list comprehension with
    local names skips a call per event; together a third off the marks' cost.
    Marks sort by (at, seq) as tuples (seq is unique), which is occurred order
    without a key function; each carries its event along."""
    names = et.exact_names
    canonical = et.canonical
    new = tuple.__new__
    paired = [
        (
            new(
                Mark,
                (
                    e.occurred_epoch,
                    e.seq,
                    names.get(e.status) or canonical(e.status) or e.status,
                    e.occurred_at,
                    e.reason,
                    e.message,
                ),
            ),
            e,
        )
        for e in events
    ]
    paired.sort()
    return paired


def executions(
    et: EntityType, ordered: Sequence[StatusChanged], marks: Sequence[Mark]
) -> list[str]:
    """The execution label of each record: an explicit `execution` wins; otherwise a
    start after an end opens a new one, unless the end was an aggregated failure."""
    spec = et.executions
    labels: list[str] = []
    current = ""
    counter = 0
    previous: Mark | None = None
    for event, mark in zip(ordered, marks, strict=True):
        if event.execution is not None:
            current = event.execution
        elif spec is None:
            current = current or "1"
        elif not current or (
            mark.status in spec.starts
            and previous is not None
            and previous.status in spec.ends
            and not et.aggregated(previous.status, previous.reason)
        ):
            counter += 1
            current = f"#{counter}"
        labels.append(current)
        previous = mark
    return labels


def current_record(et: EntityType, statuses: Sequence[Mark]) -> Row:
    """Lightning's WorkStatus.status: the latest record, or the aggregate of the
    failures since the last success when the latest is an aggregated failure."""
    latest = statuses[-1]
    if not et.aggregated(latest.status, latest.reason):
        return record_of(latest)
    successes = [i for i, m in enumerate(statuses) if m.status in et.success]
    tail = statuses[successes[-1] + 1 :] if successes else statuses
    counted = [m for m in tail if et.aggregated(m.status, m.reason)]
    return record_of(counted[-1]._replace(timestamp=tail[0].timestamp), len(counted))


def current_status(et: EntityType, statuses: Sequence[Mark]) -> StatusRecord:
    return StatusRecord.model_validate(current_record(et, statuses))


def entity_row(
    model: str, et: EntityType, events: Sequence[StatusChanged]
) -> tuple[Row, list[Mark]]:
    """The view row of a written entity (as stored) and its full-life trail of marks."""
    paired = marked(et, events)
    ordered = [e for _, e in paired]
    kept = [(e, m) for m, e in paired if m.status != et.creation]
    life = [m for _, m in kept]
    extras: Row = {}
    if kept:
        labels = executions(et, [e for e, _ in kept], life)
        current = labels[-1]
        statuses = [m for m, label in zip(life, labels, strict=True) if label == current]
        status = current_record(et, statuses)
        if et.executions:
            extras["execution"] = current
    else:
        statuses = []
        status = record_of(paired[-1][0])
        if et.executions:
            extras["execution"] = None
    first = ordered[0]
    last = ordered[-1]
    if et.creation:
        extras["has_started"] = status["status"] != et.creation
    for flag, members in et.flags.items():
        extras[flag] = status["status"] in members
    restart_of = (first.attributes or {}).get("restart_of")
    if restart_of is not None:
        extras["restart_of"] = restart_of
    row: Row = {
        "model": model,
        "type": et.name,
        "id": first.id,
        "parent": first.parent,
        "status": status,
        "statuses": [
            {
                "status": m.status,
                "timestamp": m.timestamp,
                "reason": m.reason,
                "message": m.message,
                "count": 1,
            }
            for m in statuses
        ],  # record_of, inlined: a call per status record cost more than the dict
        "final": et.is_final(status["status"]),
        "first_seen": first.occurred_at,
        "transitions": len(ordered),
        "last_actor": last.actor,
        "forced": any(e.force for e in ordered),
        **extras,
    }
    return row, life


def project_entity(
    model: str, et: EntityType, events: Sequence[StatusChanged]
) -> tuple[ViewRow, list[Mark]]:
    """The view row of a written entity as a `ViewRow`, and its trail."""
    row, trail = entity_row(model, et, events)
    return ViewRow.model_validate(row), trail

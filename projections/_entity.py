"""From one entity's events to its view row, with Lightning's WorkStatus rules:
records sorted by occurred time (ties by seq), one execution per run call, and
aggregated failures counted since the last success."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ledger import EntityType, StatusChanged, StatusRecord, ViewRow


@dataclass(slots=True, frozen=True)
class Mark:
    """One status record plus where it falls in occurred order; derived views merge
    their children's marks, so they are stored with each row as its trail."""

    at: float
    seq: int
    status: str
    timestamp: int | float | str
    reason: str | None
    message: str | None

    def record(self, count: int = 1) -> StatusRecord:
        return StatusRecord(
            status=self.status,
            timestamp=self.timestamp,
            reason=self.reason,
            message=self.message,
            count=count,
        )

    def to_list(self) -> list[Any]:
        return [self.at, self.seq, self.status, self.timestamp, self.reason, self.message]

    @classmethod
    def from_list(cls, item: Sequence[Any]) -> Mark:
        return cls(item[0], item[1], item[2], item[3], item[4], item[5])


def occurred_order(events: Sequence[StatusChanged]) -> list[StatusChanged]:
    return sorted(events, key=lambda e: (e.occurred_epoch, e.seq))


def mark_of(et: EntityType, event: StatusChanged) -> Mark:
    return Mark(
        event.occurred_epoch,
        event.seq,
        et.canonical(event.status) or event.status,
        event.occurred_at,
        event.reason,
        event.message,
    )


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


def current_status(et: EntityType, statuses: Sequence[Mark]) -> StatusRecord:
    """Lightning's WorkStatus.status: the latest record, or the aggregate of the
    failures since the last success when the latest is an aggregated failure."""
    latest = statuses[-1]
    if not et.aggregated(latest.status, latest.reason):
        return latest.record()
    successes = [i for i, m in enumerate(statuses) if m.status in et.success]
    tail = statuses[successes[-1] + 1 :] if successes else statuses
    counted = [m for m in tail if et.aggregated(m.status, m.reason)]
    last = counted[-1]
    return StatusRecord(
        status=last.status,
        timestamp=tail[0].timestamp,
        reason=last.reason,
        message=last.message,
        count=len(counted),
    )


def project_entity(
    model: str, et: EntityType, events: Sequence[StatusChanged]
) -> tuple[ViewRow, list[Mark]]:
    """The view row of a written entity and its full-life trail of marks."""
    ordered = occurred_order(events)
    all_marks = [mark_of(et, e) for e in ordered]
    kept = [(e, m) for e, m in zip(ordered, all_marks, strict=True) if m.status != et.creation]
    life = [m for _, m in kept]
    if kept:
        labels = executions(et, [e for e, _ in kept], life)
        current = labels[-1]
        statuses = [m for m, label in zip(life, labels, strict=True) if label == current]
        status = current_status(et, statuses)
        extras: dict[str, Any] = {"execution": current} if et.executions else {}
    else:
        statuses = []
        status = all_marks[-1].record()
        extras = {"execution": None} if et.executions else {}
    first = ordered[0]
    last = ordered[-1]
    if et.creation:
        extras["has_started"] = status.status != et.creation
    for flag, members in et.flags.items():
        extras[flag] = status.status in members
    restart_of = (first.attributes or {}).get("restart_of")
    if restart_of is not None:
        extras["restart_of"] = restart_of
    row = ViewRow(
        model=model,
        type=et.name,
        id=first.id,
        parent=first.parent,
        status=status,
        statuses=[m.record() for m in statuses],
        final=et.is_final(status.status),
        first_seen=first.occurred_at,
        transitions=len(ordered),
        last_actor=last.actor,
        forced=any(bool(e.force) for e in ordered),
        **extras,
    )
    return row, life

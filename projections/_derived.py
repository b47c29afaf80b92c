"""Views of entities that nobody writes directly: an OpenFn work order (its last
run) and an OSMO workflow (aggregated from its task groups). Both walk their
children's status marks in occurred order, so late events land where they
belong and a rebuild gives the same rows as the incremental path."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ledger import AggregationSpec, EntityType, ViewRow
from ledger.spi import StatusChanged

from ._entity import Mark, Row, marked, record_of


@dataclass(slots=True, frozen=True)
class Child:
    """A child's row as the derivation needs it: its id, last actor, trail."""

    id: str
    marks: list[Mark]
    last_actor: str | None
    forced: bool


def _occurred(pair: tuple[Mark, str]) -> tuple[float, int]:
    """Occurred order, and nothing more: trails made by candidate projection code
    may repeat a position, and their other fields need not compare."""
    return pair[0].at, pair[0].seq


def _merged(children: Sequence[Child]) -> list[tuple[Mark, str]]:
    pairs = [(m, c.id) for c in children for m in c.marks]
    pairs.sort(key=_occurred)
    return pairs


def _model(row: Row | None) -> ViewRow | None:
    return None if row is None else ViewRow.model_validate(row)


def derive_last_child(
    model: str, et: EntityType, child_et: EntityType, entity_id: str, children: Sequence[Child]
) -> ViewRow | None:
    """`last_child_row` as a `ViewRow`."""
    return _model(last_child_row(model, et, child_et, entity_id, children))


def derive_aggregate(
    model: str,
    et: EntityType,
    child_et: EntityType,
    entity_id: str,
    own: Sequence[StatusChanged],
    children: Sequence[Child],
) -> ViewRow | None:
    """`aggregate_row` as a `ViewRow`."""
    return _model(aggregate_row(model, et, child_et, entity_id, own, children))


def last_child_row(
    model: str, et: EntityType, child_et: EntityType, entity_id: str, children: Sequence[Child]
) -> Row | None:
    """Status of the run whose first event occurred last (ties: ledger position);
    the work order's history mirrors every status that run had while it was last."""
    live = [c for c in children if c.marks]
    if not live:
        return None
    runs: dict[str, None] = {}  # in the order of their first marks
    records: list[Row] = []
    last_run = ""
    last_start = (-math.inf, -1)
    for mark, child_id in _merged(live):
        # marks come in occurred order, so a run met for the first time started
        # no earlier than every run met before it; on a tie (possible only in
        # candidate trails) the run met first stays the last run
        if child_id not in runs:
            runs[child_id] = None
            if (mark.at, mark.seq) > last_start:
                last_run, last_start = child_id, (mark.at, mark.seq)
        if child_id == last_run:
            records.append(record_of(mark))
    by_id = {c.id: c for c in live}
    status = records[-1]
    first = min((c.marks[0] for c in live), key=lambda m: (m.at, m.seq))
    return {
        "model": model,
        "type": et.name,
        "id": entity_id,
        "parent": None,
        "status": status,
        "statuses": records,
        "final": child_et.is_final(status["status"]),
        "first_seen": first.timestamp,
        "transitions": sum(len(c.marks) for c in live),
        "last_actor": by_id[last_run].last_actor,
        "forced": any(c.forced for c in live),
        "runs": list(runs),
        "last_run": last_run,
    }


def aggregate_row(
    model: str,
    et: EntityType,
    child_et: EntityType,
    entity_id: str,
    own: Sequence[StatusChanged],
    children: Sequence[Child],
) -> Row | None:
    """OSMO's workflow status from its task groups, replayed event by event."""
    spec = et.aggregation
    assert spec is not None
    own_marks = [(mark, "") for mark, _ in marked(et, own)]
    steps = sorted([*own_marks, *_merged(children)], key=_occurred)
    if not steps:
        return None
    declared: list[str] | None = None
    declarations = {e.seq: (e.attributes or {}).get("groups") for e in own}
    written: str | None = None
    groups: dict[str, str] = {}
    started = False
    records: list[Row] = []
    for mark, child_id in steps:
        if child_id:
            groups[child_id] = mark.status
            started = started or mark.status in spec.started
        elif mark.status == et.declaration:
            declared = list(declarations.get(mark.seq) or [])
        else:
            written = mark.status
        status = _aggregate(spec, et, child_et, written, declared, groups, started)
        if not records or records[-1]["status"] != status:
            records.append(record_of(mark._replace(status=status)))
    by_status: dict[str, list[str]] = {}
    for name in sorted({*(declared or []), *groups}):
        by_status.setdefault(groups.get(name, "NOT_SUBMITTED"), []).append(name)
    actors = {e.seq: e.actor for e in own}
    for child in children:
        if child.marks:
            actors[child.marks[-1].seq] = child.last_actor
    last_actor = actors.get(steps[-1][0].seq)
    status_record = records[-1]
    return {
        "model": model,
        "type": et.name,
        "id": entity_id,
        "parent": None,
        "status": status_record,
        "statuses": records,
        "final": et.is_final(status_record["status"]),
        "first_seen": steps[0][0].timestamp,
        "transitions": len(steps),
        "last_actor": last_actor,
        "forced": any(bool(e.force) for e in own) or any(c.forced for c in children),
        "groups": by_status,
    }


def _aggregate(
    spec: AggregationSpec,
    et: EntityType,
    child_et: EntityType,
    written: str | None,
    declared: list[str] | None,
    groups: dict[str, str],
    started: bool,
) -> str:
    """The workflow status once its groups have `groups` statuses. It depends only
    on which statuses occur among the groups it considers (None: declared, not
    yet seen), so it works on that set: it runs once per workflow event."""
    if written is not None and et.is_final(written):
        return written
    present: set[str | None] = set(groups.values())
    if declared and not groups.keys() >= set(declared):
        present.add(None)
    considered = present.difference(spec.left_out)
    unfinished = {s for s in considered if s is None or s not in child_et.final}
    if unfinished or not considered:
        if not unfinished.isdisjoint(spec.running):
            return spec.busy
        return spec.waiting if started else spec.idle
    # every considered group has finished by now (None counts as unfinished);
    # the comprehension only tells the type checker so
    finished = {s for s in considered if s is not None}
    if finished == {spec.success}:
        return spec.success
    causes = finished.difference(spec.consequence, (spec.success,))
    for status in spec.precedence:
        if status in causes:
            return _twin(et, spec, status)
    if len(causes) == 1:
        return _twin(et, spec, causes.pop())
    return spec.mixed


def _twin(et: EntityType, spec: AggregationSpec, status: str) -> str:
    return status if status in et.statuses else spec.mixed


def child_from_row(row: dict[str, Any], trail: list[list[Any]]) -> Child:
    # as in `marked`: no Python-level call per mark, and no length check, as the
    # table's own trails always hold Mark's six fields
    new = tuple.__new__
    return Child(
        id=row["id"],
        marks=[new(Mark, mark) for mark in trail],
        last_actor=row.get("last_actor"),
        forced=bool(row.get("forced")),
    )

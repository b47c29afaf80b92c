"""A deterministic synthetic history for the benchmark: legal status paths walked
over the built-in model tables (so the ledger accepts every event), spread over
time, with a few late events (sent after their successor) and exact duplicates
(re-sent lines with the same `event_id`).

Walking the tables instead of hard-coding paths keeps the generator honest when a
model changes: whatever the TOML files allow is what the benchmark sends."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from ledger import EntityType, ModelRegistry

START = 1_714_557_600.0  # 2024-05-01T10:00:00Z: every history starts here
SPAN_SECONDS = 30 * 86400.0
LATE_SHARE = 0.03
DUPLICATE_SHARE = 0.02
# Share of entities per written type; lightning works take whatever events are
# left, because Lightning lets a work run again and again.
MIX = (("openfn", "run", 0.30), ("osmo", "task_group", 0.30), ("uipath", "job", 0.20))
GROUP_NAMES = ("preprocess", "train", "evaluate", "export", "publish", "notify")
ACTORS = ("system:worker", "system:janitor", "alice", "bob", "ci-bot", "system:scheduler")
MESSAGES = (
    "reported by the worker heartbeat after the image pull",
    "seen by the orchestrator's reconciliation loop",
    "operator action from the web console",
    "automatic update from the queue service",
)


@dataclass(slots=True)
class Entity:
    """One written entity and the statuses it will go through."""

    model: str
    type: str
    id: str
    parent: str | None
    path: list[str]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Summary:
    """What was generated: lines written, and what the ledger should make of them."""

    lines: int
    accepted: int
    duplicates: int
    late: int
    entities: int


def rfc3339(seconds: float) -> str:
    return (
        datetime.fromtimestamp(seconds, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def walk(et: EntityType, length: int, rng: random.Random) -> list[str]:
    """A legal path of at most `length` statuses: stays unfinished while there is
    room, then ends in a final status (success most often) when it can."""
    path: list[str] = []
    previous: str | None = None
    while len(path) < length:
        options = [s for s in et.allowed_after(previous) if s != et.creation or not path]
        if not options:
            break
        last = len(path) == length - 1
        unfinished = [s for s in options if not et.is_final(s)]
        finals = [s for s in options if et.is_final(s)]
        if last and finals:
            pool = finals
        elif unfinished and not last:
            pool = unfinished
        else:
            pool = options
        weights = [_weight(et, s, path) for s in pool]
        previous = rng.choices(pool, weights)[0]
        path.append(previous)
        if et.is_final(previous) and not et.allowed_after(previous):
            break
    return path


def _weight(et: EntityType, status: str, path: Sequence[str]) -> float:
    """Prefer moving forward and succeeding, as real systems mostly do."""
    if status in et.success or (et.final and status == et.final[0]):
        return 8.0
    if status == et.creation:
        return 1.0
    if path and status == path[-1]:
        return 0.3
    order = et.statuses.index(status) if status in et.statuses else 0
    last = et.statuses.index(path[-1]) if path and path[-1] in et.statuses else -1
    return 4.0 if order > last else 1.0


def entities(registry: ModelRegistry, count: int, events: int, rng: random.Random) -> list[Entity]:
    """`count` written entities (osmo workflow declarations included) whose paths
    add up to exactly `events` statuses."""
    out: list[Entity] = []
    budget = events
    for model, type_name, share in MIX:
        et = registry[model].types[type_name]
        made = 0
        while made < int(count * share):
            made += _family(registry, model, et, out, rng, made)
    budget -= sum(len(e.path) for e in out)
    works = max(1, count - len(out))
    if budget < 2 * works:
        raise ValueError(f"{events} events are too few for {count} entities")
    lengths = [budget // works + (1 if i < budget % works else 0) for i in range(works)]
    for i, length in enumerate(lengths):
        path = _lightning_path(length, rng)
        out.append(Entity("lightning", "work", f"work-{i:06d}", None, path))
    return out


def _family(
    registry: ModelRegistry,
    model: str,
    et: EntityType,
    out: list[Entity],
    rng: random.Random,
    index: int,
) -> int:
    """Add one parent's worth of children (a work order's runs, a workflow's
    groups, or one job); returns how many written entities were added."""
    if model == "openfn":
        order = f"wo-{index:06d}"
        runs = rng.choice((1, 1, 1, 2, 3))
        for n in range(runs):
            length = rng.choice((3, 4, 4, 4, 5))
            out.append(Entity(model, et.name, f"run-{index:06d}-{n}", order, walk(et, length, rng)))
        return runs
    if model == "osmo":
        workflow = f"wf-{index:06d}"
        groups = list(GROUP_NAMES[: rng.randint(2, 5)])
        declared = registry[model].types["workflow"]
        assert declared.declaration is not None
        out.append(
            Entity(model, "workflow", workflow, None, [declared.declaration], {"groups": groups})
        )
        for name in groups:
            out.append(Entity(model, et.name, name, workflow, walk(et, rng.randint(5, 8), rng)))
        return len(groups) + 1
    extra = {"restart_of": f"job-{index - 1:06d}"} if index and rng.random() < 0.05 else {}
    path = walk(et, rng.randint(3, 12), rng)
    out.append(Entity(model, et.name, f"job-{index:06d}", None, path, extra))
    return 1


def _lightning_path(length: int, rng: random.Random) -> list[str]:
    """Executions of pending, running, and an outcome; timeouts retry."""
    path = ["not_started"] if rng.random() < 0.5 else []
    while len(path) < length:
        outcome = rng.choices(("succeeded", "failed", "stopped"), (6, 3, 1))[0]
        path += ["pending", "running", outcome]
    return path[:length]


def _reason(et: EntityType, status: str, rng: random.Random) -> str | None:
    documented = et.error_types.get(status) or et.reasons.get(status)
    if documented:
        return rng.choice(documented)
    return None


def _events(registry: ModelRegistry, entity: Entity, rng: random.Random) -> list[dict[str, Any]]:
    et = registry[entity.model].types[entity.type]
    at = START + rng.random() * SPAN_SECONDS
    lines = []
    aliases = {target: alias for alias, target in et.aliases.items()}
    for n, status in enumerate(entity.path):
        at += 1.0 + rng.random() * 120.0
        written = aliases[status] if status in aliases and rng.random() < 0.3 else status
        event: dict[str, Any] = {
            "model": entity.model,
            "type": entity.type,
            "id": entity.id,
            "status": written,
            "occurred_at": round(at, 5) if entity.model == "lightning" else rfc3339(at),
        }
        if entity.parent is not None:
            event["parent"] = entity.parent
        reason = _reason(et, status, rng)
        if reason is not None:
            event["reason"] = reason
        event["message"] = rng.choice(MESSAGES)
        event["actor"] = rng.choice(ACTORS)
        if entity.model != "lightning":
            parent = entity.parent or ""
            event["event_id"] = f"{entity.model}:{entity.type}:{parent}:{entity.id}:{n}"
        attributes: dict[str, Any] = {"host": f"node-{rng.randrange(64):02d}", "attempt": n}
        if n == 0:
            attributes.update(entity.extra)
        event["attributes"] = attributes
        lines.append(event)
    return lines


def _late(et: EntityType, path: Sequence[str], i: int) -> bool:
    """Event i may arrive after event i+1 when i+1 is a legal step from i-1: the
    ledger then places i back between them, where it fits."""
    return 0 < i < len(path) - 1 and path[i + 1] in et.allowed_after(path[i - 1])


def generate(
    events: int = 200_000,
    entity_count: int = 20_000,
    seed: int = 7,
    registry: ModelRegistry | None = None,
) -> tuple[list[bytes], Summary]:
    """The history as JSONL lines in arrival order, and what to expect of it."""
    registry = registry or ModelRegistry.builtin()
    rng = random.Random(seed)
    duplicates = int(events * DUPLICATE_SHARE)
    population = entities(registry, entity_count, events - duplicates, rng)
    arrivals: list[tuple[float, int, bytes]] = []
    late = 0
    order = 0
    for entity in population:
        et = registry[entity.model].types[entity.type]
        stamps: list[float] = []
        for event in _events(registry, entity, rng):
            at = event["occurred_at"]
            stamps.append(at if isinstance(at, float) else datetime.fromisoformat(at).timestamp())
            arrivals.append((stamps[-1], order, orjson.dumps(event)))
            order += 1
        i = 1
        while i < len(stamps) - 1:
            if rng.random() < LATE_SHARE and _late(et, entity.path, i):
                _, seq, line = arrivals[i - len(stamps)]
                arrivals[i - len(stamps)] = (stamps[i + 1] + 0.5, seq, line)
                late += 1
                i += 1  # its neighbours stay on time, so each late event has a fixed place
            i += 1
    arrivals.sort()
    lines = [line for _, _, line in arrivals]
    with_ids = [j for j, line in enumerate(lines) if b'"event_id"' in line]
    if duplicates <= len(with_ids):
        picks = rng.sample(with_ids, duplicates)
    else:  # few events carry ids (mostly lightning works): some are re-sent twice
        picks = rng.choices(with_ids, k=duplicates)
    for j in sorted(picks, reverse=True):
        lines.insert(min(len(lines), j + 1 + rng.randrange(5000)), lines[j])
    summary = Summary(len(lines), events - duplicates, duplicates, late, len(population))
    return lines, summary


def write(path: Path, lines: Sequence[bytes]) -> None:
    with path.open("wb") as out:
        for line in lines:
            out.write(line + b"\n")


def iter_lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        for raw in handle:
            yield raw.rstrip(b"\n")

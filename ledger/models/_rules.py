"""The pure rules that decide whether one more event fits an entity's history:
the event is placed where it occurred (late events too) and must be a legal step
from its predecessor and to its successor. `POLICY` is their order, the one list
the appender and replay's revalidation both run (`check`)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from typing import NamedTuple

from .._display import display_time
from .._errors import IllegalTransition, ParentMismatch, WrongErrorType
from ._statusmodel import EntityType


class Slot(NamedTuple):
    """One accepted event of an entity, reduced to what the rules need. A named
    tuple, not a frozen dataclass: an append builds one per event, and a frozen
    dataclass's __init__ costs twice as much (docs/performance.md)."""

    at: float
    seq: int
    status: str
    occurred_at: int | float | str
    forced: bool


class Candidate(NamedTuple):
    """An event about to join an entity's history, as the rules see it: its type,
    label, canonical status, reason, parent, occurred epoch and force flag."""

    et: EntityType
    entity: str
    status: str
    reason: str | None
    parent: str | None
    at: float
    forced: bool


Rule = Callable[[Candidate, str | None, list[Slot]], None]
"""A rule: raises its LedgerError unless the candidate fits the history (with
the entity's known parent)."""


def _parent_rule(event: Candidate, known: str | None, history: list[Slot]) -> None:
    check_parent(event.et, event.entity, known, event.parent, history)


def _error_type_rule(event: Candidate, known: str | None, history: list[Slot]) -> None:
    check_error_type(event.et, event.entity, event.status, event.reason, history)


def _transition_rule(event: Candidate, known: str | None, history: list[Slot]) -> None:
    if not event.forced:  # a forced event is recorded whatever the table says
        check_transition(event.et, event.entity, history, event.at, event.status)


POLICY: tuple[Rule, ...] = (_parent_rule, _error_type_rule, _transition_rule)
"""The checks in order; the first that fails names the rejection: a wrong
parent, then an error type documented for another status, then the transition
(skipped when forced)."""


def check(event: Candidate, known_parent: str | None, history: list[Slot]) -> None:
    """Run the policy: raises the first rule's error, or returns when all pass."""
    for rule in POLICY:
        rule(event, known_parent, history)


def check_error_type(
    et: EntityType, entity: str, status: str, reason: str | None, history: list[Slot]
) -> None:
    owner = et.documented_owner(reason)
    if owner is not None and owner != status:
        current, allowed = _now(et, history)
        raise WrongErrorType(
            f"{entity}: {reason} is a documented error type of {owner}, not of {status}; "
            f"{_state(current, allowed)}",
            entity=entity,
            current=current,
            allowed=allowed,
            reason=reason,
            owner=owner,
        )


def check_parent(
    et: EntityType, entity: str, known: str | None, given: str | None, history: list[Slot]
) -> None:
    if et.parent and et.parent.fixed and known is not None and given != known:
        current, allowed = _now(et, history)
        raise ParentMismatch(
            f"{entity}: parent is {known!r} for life, got {given!r}; {_state(current, allowed)}",
            entity=entity,
            current=current,
            allowed=allowed,
            parent=given,
            known_parent=known,
        )


def _now(et: EntityType, history: list[Slot]) -> tuple[str | None, tuple[str, ...]]:
    """The entity's latest status in occurred order and what may follow it."""
    current = history[-1].status if history else None
    return current, et.allowed_after(current)


def _state(current: str | None, allowed: tuple[str, ...]) -> str:
    return f"current status {current or 'none (new entity)'}, allowed next: {_names(allowed)}"


def place(history: list[Slot], at: float) -> int:
    """Index where an event occurring at `at` goes: after every event at or before it."""
    return bisect_right(history, at, key=_at)


def _at(slot: Slot) -> float:
    return slot.at


def check_transition(
    et: EntityType, entity: str, history: list[Slot], at: float, status: str
) -> None:
    """Raise IllegalTransition unless `status` fits at its place in occurred order."""
    index = place(history, at)
    before = history[index - 1] if index else None
    after = history[index] if index < len(history) else None
    previous = before.status if before else None
    allowed = et.allowed_after(previous)
    if status not in allowed:
        where = (
            ""
            if after is None
            else f" (late event, placed before {after.status} at {display_time(after.occurred_at)})"
        )
        if previous is None:
            message = (
                f"{entity}: cannot start with {status}{where}; allowed first: {_names(allowed)}"
            )
        else:
            message = (
                f"{entity}: cannot move from {previous} to {status}{where}; "
                f"allowed next: {_names(allowed)}"
            )
        raise IllegalTransition(message, entity=entity, current=previous, allowed=allowed)
    if after is not None and not after.forced and after.status not in et.allowed_after(status):
        raise IllegalTransition(
            f"{entity}: late {status} at its place would be followed by {after.status} "
            f"(at {display_time(after.occurred_at)}), which may not follow {status}; "
            f"allowed here: {_names(_fitting(et, previous, after.status), 'none')}",
            entity=entity,
            current=previous,
            allowed=_fitting(et, previous, after.status),
        )


def _fitting(et: EntityType, previous: str | None, following: str) -> tuple[str, ...]:
    return tuple(s for s in et.allowed_after(previous) if following in et.allowed_after(s))


def _names(statuses: tuple[str, ...], empty: str = "none (final)") -> str:
    return ", ".join(statuses) if statuses else empty

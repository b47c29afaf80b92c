"""A status model is data: one TOML table per system, read into these pydantic
classes and checked for sense once, so that every rule about a status lives in one
readable file and the code that applies it stays generic."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .._errors import InvalidModel, UnknownStatus

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ParentSpec(_Spec):
    type: str
    required: bool = True
    fixed: bool = True
    scopes_id: bool = False


class ExecutionSpec(_Spec):
    starts: tuple[str, ...]
    ends: tuple[str, ...]


class TimeoutRule(_Spec):
    after_seconds: float = Field(gt=0)
    to: str
    reason: str
    actor: str = "system:cleanup"


class AggregationSpec(_Spec):
    running: tuple[str, ...]
    started: tuple[str, ...]
    success: str
    left_out: tuple[str, ...] = ()
    consequence: tuple[str, ...] = ()
    precedence: tuple[str, ...] = ()
    mixed: str
    idle: str
    busy: str
    waiting: str


class EntityType(_Spec):
    """One entity type of a model: its statuses and the edges between them."""

    name: str
    statuses: tuple[str, ...] = ()
    initial: tuple[str, ...] = ()
    final: tuple[str, ...] = ()
    transitions: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    from_any: tuple[str, ...] = ()
    from_any_unfinished: tuple[str, ...] = ()
    aliases: dict[str, str] = Field(default_factory=dict)
    error_types: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    flags: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    colors: dict[str, str] = Field(default_factory=dict)
    added_in: dict[str, int] = Field(default_factory=dict)
    parent: ParentSpec | None = None
    derived: Literal["last_child", "aggregate_groups"] | None = None
    child: str | None = None
    written: tuple[str, ...] | None = None
    declaration: str | None = None
    aggregation: AggregationSpec | None = None
    creation: str | None = None
    success: tuple[str, ...] = ()
    executions: ExecutionSpec | None = None
    aggregated_reasons: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    reasons: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    timeouts: dict[str, TimeoutRule] = Field(default_factory=dict)

    @cached_property
    def _lookup(self) -> dict[str, str]:
        table = {s.casefold(): s for s in self.statuses}
        table.update({alias.casefold(): target for alias, target in self.aliases.items()})
        return table

    @cached_property
    def _documented_error_types(self) -> dict[str, str]:
        return {err.casefold(): status for status, errs in self.error_types.items() for err in errs}

    @property
    def writable(self) -> bool:
        return self.derived is None or bool(self.written)

    @property
    def writable_statuses(self) -> tuple[str, ...]:
        return self.written if self.written is not None else self.statuses

    def canonical(self, written: str) -> str | None:
        """Case-insensitive, alias-aware lookup; None when the name is unknown."""
        return self._lookup.get(written.casefold())

    @cached_property
    def exact_names(self) -> dict[str, str]:
        """Each status and alias spelled as the model spells it, to its canonical
        name: one dict lookup per event where a rebuild would otherwise casefold
        every status (`canonical` remains the full answer for other spellings)."""
        names = (*self.statuses, *self.aliases)
        return {name: found for name in names if (found := self.canonical(name)) is not None}

    def resolve(self, written: str, entity: str) -> str:
        status = self.canonical(written)
        if status is None:
            raise UnknownStatus(
                f"{entity}: unknown status {written!r}; known: {', '.join(self.writable_statuses)}",
                entity=entity,
                allowed=list(self.writable_statuses),
            )
        return status

    def is_final(self, status: str) -> bool:
        return status in self.final

    @cached_property
    def _successors(self) -> dict[str | None, tuple[str, ...]]:
        """allowed_after of every status, worked out once: the rules ask per event."""
        return {p: self._allowed_after(p) for p in (None, *self.statuses)}

    def allowed_after(self, previous: str | None) -> tuple[str, ...]:
        """The statuses that may follow `previous` (None: the first event)."""
        found = self._successors.get(previous)
        return found if found is not None else self._allowed_after(previous)

    def _allowed_after(self, previous: str | None) -> tuple[str, ...]:
        if previous is None:
            return self.initial
        allowed = list(self.transitions.get(previous, ()))
        allowed += [s for s in self.from_any if s not in allowed]
        if previous not in self.final:
            allowed += [s for s in self.from_any_unfinished if s not in allowed]
        return tuple(s for s in self.statuses if s in allowed)

    def documented_owner(self, reason: str | None) -> str | None:
        """The status that owns `reason` as a documented error type, if any."""
        if not reason or not self.error_types:
            return None
        return self._documented_error_types.get(reason.casefold())

    def aggregated(self, status: str, reason: str | None) -> bool:
        return reason is not None and reason in self.aggregated_reasons.get(status, ())

    def at_version(self, version: int) -> EntityType:
        """This type as an older model version saw it: later statuses removed."""
        dropped = {s for s, since in self.added_in.items() if since > version}
        if not dropped:
            return self

        def keep(items: Iterable[str]) -> tuple[str, ...]:
            return tuple(s for s in items if s not in dropped)

        older = self.model_copy(
            update={
                "statuses": keep(self.statuses),
                "initial": keep(self.initial),
                "final": keep(self.final),
                "from_any": keep(self.from_any),
                "from_any_unfinished": keep(self.from_any_unfinished),
                "transitions": {
                    k: keep(v) for k, v in self.transitions.items() if k not in dropped
                },
                "aliases": {k: v for k, v in self.aliases.items() if v not in dropped},
                "added_in": {},
            }
        )
        # model_copy copies the instance dict, cached lookups included; the older
        # type must work them out again from its own statuses.
        for cached in ("_lookup", "_documented_error_types", "_successors"):
            older.__dict__.pop(cached, None)
        return older


class LegacyType(_Spec):
    schema_version: int = Field(ge=1)
    upcast_to: str


class StatusModel(_Spec):
    """A named set of entity types, versioned so that replay can compare versions."""

    name: str
    version: int = Field(default=1, ge=1)
    title: str = ""
    source: str = ""
    types: dict[str, EntityType]
    legacy: dict[str, LegacyType] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _name_types(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("types"), dict):
            data = dict(data)
            data["types"] = {
                name: {**spec, "name": name} if isinstance(spec, dict) else spec
                for name, spec in data["types"].items()
            }
        return data

    @model_validator(mode="after")
    def _check_sense(self) -> StatusModel:
        problems = list(_problems(self))
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def at_version(self, version: int) -> StatusModel:
        return self.model_copy(
            update={
                "version": version,
                "types": {n: t.at_version(version) for n, t in self.types.items()},
            }
        )

    @classmethod
    def from_toml(cls, text: str, origin: str = "<toml>") -> StatusModel:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InvalidModel(f"{origin}: not valid TOML: {exc}") from None
        return cls.from_mapping(data, origin)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], origin: str = "<model>") -> StatusModel:
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            details = "; ".join(_describe(err["loc"], err["msg"]) for err in exc.errors())
            raise InvalidModel(f"{origin}: {details}") from None


def _describe(loc: tuple[int | str, ...], msg: str) -> str:
    """A validation error as a reader of the TOML file needs it: where, then what."""
    msg = msg.removeprefix("Value error, ")
    return f"{'.'.join(str(p) for p in loc)}: {msg}" if loc else msg


def _problems(model: StatusModel) -> Iterable[str]:
    if not NAME_PATTERN.match(model.name):
        yield f"model name {model.name!r} must match {NAME_PATTERN.pattern}"
    if not model.types:
        yield "a model needs at least one type"
    for type_name, et in model.types.items():
        yield from _type_problems(model, type_name, et)
    for legacy_name, legacy in model.legacy.items():
        if legacy.upcast_to not in model.types:
            yield f"legacy type {legacy_name!r} upcasts to unknown type {legacy.upcast_to!r}"


def _type_problems(model: StatusModel, name: str, et: EntityType) -> Iterable[str]:
    where = f"type {name!r}"
    if not NAME_PATTERN.match(name):
        yield f"{where}: name must match {NAME_PATTERN.pattern}"
    known = set(et.statuses)
    if et.derived:
        if et.child not in model.types:
            yield f"{where}: derived from unknown child type {et.child!r}"
        elif model.types[et.child].derived:
            # derived rows are built from their children's rows, after every
            # written row and in no order among themselves
            yield f"{where}: derived from {et.child!r}, itself derived; a child must be written"
        if et.derived == "aggregate_groups" and et.aggregation is None:
            yield f"{where}: aggregate_groups needs an [aggregation] table"
        if not et.written:
            return
    if not et.statuses:
        yield f"{where}: no statuses"
        return
    if len(known) != len(et.statuses) or len({s.casefold() for s in known}) != len(known):
        yield f"{where}: statuses repeat (names are case-insensitive)"
    for status in et.statuses:
        if not status or len(status) > 64 or not status.isprintable():
            yield f"{where}: status name {status!r} must be 1-64 printable characters"
    if not et.initial:
        yield f"{where}: no initial status"
    named: list[tuple[str, Iterable[str]]] = [
        ("initial", et.initial),
        ("final", et.final),
        ("from_any", et.from_any),
        ("from_any_unfinished", et.from_any_unfinished),
        ("success", et.success),
        ("written", et.written or ()),
        ("aliases", et.aliases.values()),
        ("error_types", et.error_types),
        ("transitions", et.transitions),
        ("added_in", et.added_in),
    ]
    for source, targets in et.transitions.items():
        named.append((f"transitions.{source}", targets))
    if et.creation:
        named.append(("creation", [et.creation]))
    if et.executions:
        named.append(("executions", [*et.executions.starts, *et.executions.ends]))
    for flag, members in et.flags.items():
        named.append((f"flags.{flag}", members))
    for status, rule in et.timeouts.items():
        named.append((f"timeouts.{status}", [status, rule.to]))
    for section, names in named:
        for status in names:
            if status not in known:
                yield f"{where}: {section} names unknown status {status!r}"
    for alias in et.aliases:
        if alias.casefold() in {s.casefold() for s in known}:
            yield f"{where}: alias {alias!r} shadows a status"
    if et.parent and et.parent.type not in model.types:
        yield f"{where}: parent type {et.parent.type!r} is not a type of this model"
    if et.initial:
        yield from _reachability(where, et)


def _reachability(where: str, et: EntityType) -> Iterable[str]:
    reached = set(et.initial)
    frontier = list(et.initial)
    while frontier:
        status = frontier.pop()
        for nxt in et.allowed_after(status):
            if nxt not in reached:
                reached.add(nxt)
                frontier.append(nxt)
    for status in et.writable_statuses:
        if status not in reached:
            yield f"{where}: status {status!r} is unreachable from the initial statuses"
    if et.final and not any(s in reached for s in et.final):
        yield f"{where}: no final status is reachable"
    elif et.final:
        finishing = _finishing(et)
        for status in et.writable_statuses:
            if status in reached and status not in finishing:
                yield f"{where}: status {status!r} is not final and can never reach a final status"


def _finishing(et: EntityType) -> set[str]:
    """The statuses from which some final status can still be reached."""
    finishing = set(et.final)
    grew = True
    while grew:
        grew = False
        for status in et.writable_statuses:
            if status not in finishing and any(n in finishing for n in et.allowed_after(status)):
                finishing.add(status)
                grew = True
    return finishing

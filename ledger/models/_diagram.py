"""Transition diagrams drawn from the model data itself (Mermaid or Graphviz dot),
so the picture in a review or a doc can never drift from the rules the ledger
enforces: every edge is `allowed_after`, the same call the validator makes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

from .._errors import UsageError
from ._statusmodel import EntityType, StatusModel

Kind = Literal["mermaid", "dot"]
KINDS: tuple[Kind, ...] = ("mermaid", "dot")
_PLAIN = re.compile(r"[^A-Za-z0-9_]")


def model_diagram(model: StatusModel, kind: str) -> str:
    """The model's transition diagram, one block per written entity type."""
    if kind == "mermaid":
        return "\n".join(_mermaid(model)) + "\n"
    if kind == "dot":
        return "\n".join(_dot(model)) + "\n"
    raise UsageError(
        f"unknown diagram kind {kind!r}; choose one of: {', '.join(KINDS)}", allowed=list(KINDS)
    )


def _edges(et: EntityType) -> Iterator[tuple[str | None, str]]:
    """(from, to) pairs; None is the start."""
    drawn = et.writable_statuses
    for status in et.allowed_after(None):
        yield None, status
    for source in drawn:
        for target in et.allowed_after(source):
            if target in drawn:
                yield source, target


def _derived_note(et: EntityType) -> str:
    return f"{et.name}: derived ({et.derived}) from {et.child}, not written"


def _mermaid(model: StatusModel) -> Iterator[str]:
    yield "stateDiagram-v2"
    yield f"    %% {model.name} v{model.version}: {model.title}"
    for et in model.types.values():
        if not et.writable:
            yield f"    %% {_derived_note(et)}"
            continue

        def node(status: str, et: EntityType = et) -> str:
            return f"{et.name}__{_PLAIN.sub('_', status)}"

        yield f"    state {et.name} {{"
        for status in et.writable_statuses:
            yield f'        state "{_mermaid_text(status)}" as {node(status)}'
        for source, target in _edges(et):
            yield f"        {'[*]' if source is None else node(source)} --> {node(target)}"
        for status in et.writable_statuses:
            if et.is_final(status):
                yield f"        {node(status)} --> [*]"
        yield "    }"


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;")


def _dot(model: StatusModel) -> Iterator[str]:
    yield f"digraph {_quote(model.name)} {{"
    yield f"  label={_quote(f'{model.name} v{model.version}: {model.title}')};"
    yield "  rankdir=LR;"
    yield "  node [shape=box, style=rounded];"
    for et in model.types.values():
        if not et.writable:
            yield f"  // {_derived_note(et)}"
            continue
        start = _quote(f"{et.name}/[start]")
        yield f"  subgraph {_quote(f'cluster_{et.name}')} {{"
        yield f"    label={_quote(et.name)};"
        yield f'    {start} [shape=point, label=""];'
        for status in et.writable_statuses:
            final = ", peripheries=2" if et.is_final(status) else ""
            yield f"    {_quote(f'{et.name}/{status}')} [label={_quote(status)}{final}];"
        for source, target in _edges(et):
            origin = start if source is None else _quote(f"{et.name}/{source}")
            yield f"    {origin} -> {_quote(f'{et.name}/{target}')};"
        yield "  }"
    yield "}"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

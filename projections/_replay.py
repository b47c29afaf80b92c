"""Replay: the views a candidate would produce from the full history, built in a
scratch store and compared row by row with the live views, plus the historic
events the candidate model would reject. The live store is only read.

Candidate projection code (`--projections MODULE`) is an importable module that
defines either

- `ViewProjector`: a subclass of `projections.ViewProjector`, used as is; or
- any of `project_entity`, `derive_last_child`, `derive_aggregate`: functions
  with the signatures of the `projections` functions of the same names, which
  replace them (the others stay as installed).
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol

from ledger import ModelRegistry, RejectedEvent, ReplayReport, RowDiff, UsageError, ViewSummary
from ledger.spi import EventStore, Scratch, rejected_events

from . import _table as table
from ._diff import diff_stored, diff_views
from ._table import TRACKING


class Candidate(Protocol):
    """A projector as replay uses it: built on a scratch store, rebuilt, dumped."""

    def __init__(self, store: EventStore, registry: ModelRegistry) -> None: ...

    def rebuild(self) -> int: ...

    def dump(self) -> list[tuple[Any, ...]]: ...


HOOKS = ("project_entity", "derive_last_child", "derive_aggregate")


def load_projections(name: str, base: type[Candidate]) -> type[Candidate]:
    """The projector class a candidate module stands for (see the module docstring);
    `base` is the installed `ViewProjector`."""
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        raise UsageError(f"--projections: cannot import module {name!r}: {exc}") from None
    custom = getattr(module, "ViewProjector", None)
    if custom is not None:
        if not (isinstance(custom, type) and issubclass(custom, base)):
            raise UsageError(
                f"--projections: {name}.ViewProjector must subclass projections.ViewProjector"
            )
        return custom
    found = {h: getattr(module, h, None) for h in HOOKS}
    hooks = {h: staticmethod(f) for h, f in found.items() if callable(f)}
    if not hooks:
        raise UsageError(
            f"--projections: module {name!r} defines neither ViewProjector nor any of "
            f"{', '.join(HOOKS)}"
        )
    return type("CandidateProjector", (base,), hooks)


def replay(
    store: EventStore,
    candidate: ModelRegistry,
    projections: str | None,
    scratch: Scratch,
    base: type[Candidate],
) -> ReplayReport:
    """Compare at the live views' own position: events they have not applied yet
    are left out on both sides (and counted as `unprojected`)."""
    factory = load_projections(projections, base) if projections else base
    upto, unprojected, live = _live(store)
    with scratch(upto) as copy:
        projector = factory(copy, candidate)
        events = projector.rebuild()
        built = projector.dump()
        rejected = _rejected(copy, candidate, events)
    views, differences = diff_views(live, built)
    return ReplayReport(
        identical=not differences and not rejected,
        projections=projections,
        events=events,
        unprojected=max(0, unprojected),
        views=views,
        differences=differences,
        rejected=rejected,
    )


def check_views(
    store: EventStore, registry: ModelRegistry, scratch: Scratch, base: type[Candidate]
) -> tuple[list[ViewSummary], list[RowDiff]]:
    """`verify --views`: the live views against the views the installed models and
    code build from the same events in a scratch store; the live views are only
    read. Events the live views have not applied yet are left out on both sides."""
    upto, _unprojected, live = _live(store)
    with scratch(upto) as copy:
        projector = base(copy, registry)
        projector.rebuild()
        built = projector.dump()
    return diff_stored(live, built)


def _live(store: EventStore) -> tuple[int, int, list[tuple[Any, ...]]]:
    """The live views' position, the events past it, and their rows, in one snapshot."""
    with store.read() as txn:
        upto = txn.max_tracking_id(TRACKING)
        return upto, txn.max_notification_id() - upto, table.dump(txn.cursor)


def _rejected(store: EventStore, candidate: ModelRegistry, upto: int) -> list[RejectedEvent]:
    found: list[RejectedEvent] = []
    with store.read() as txn:
        for stream in txn.scan_streams(upto):
            found += rejected_events(candidate, stream)
    found.sort(key=lambda r: r.seq)
    return found

"""Properties over random histories drawn from the model tables, with late
events, repeated statuses and resent duplicates: a rejected or duplicate input
changes nothing, and the views kept incrementally equal the views rebuilt from
scratch, one view rebuilt alone, and the views of a fresh store that imported
the export."""

from __future__ import annotations

import itertools
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ledger import Ledger, ModelRegistry, NotFound

pytestmark = pytest.mark.slow  # processes, crashes, concurrency or many generated cases

REGISTRY = ModelRegistry.builtin()
REASONS: dict[str, list[str | None]] = {
    "failed": ["timeout", "timeout", "user_exception", None],
    "Failed": ["JobError", "SyntaxError", "NewError", None],
    "Crashed": ["SyntaxError", None],
    "Killed": ["OomError", "JobError"],
    "stopped": ["sigterm_signal_handler", None],
}
ENTITIES: list[tuple[str, str, str, str | None]] = [
    ("openfn", "run", "r0", "wo0"),
    ("openfn", "run", "r1", "wo0"),
    ("openfn", "run", "r2", "wo1"),
    ("osmo", "task_group", "g0", "wf0"),
    ("osmo", "task_group", "g1", "wf0"),
    ("osmo", "task_group", "g0", "wf1"),
    ("osmo", "workflow", "wf0", None),
    ("uipath", "job", "j0", None),
    ("uipath", "job", "j1", None),
    ("lightning", "work", "w0", None),
    ("lightning", "work", "w1", None),
]
VIEWS = [
    "openfn/run",
    "openfn/work_order",
    "osmo/task_group",
    "osmo/workflow",
    "uipath/job",
    "lightning/work",
]
RUNS = itertools.count()


@dataclass
class Book:
    """What the test knows of each entity: latest occurred time and inputs sent."""

    prefix: str
    latest: dict[int, int] = field(default_factory=dict)
    sent: list[dict[str, Any]] = field(default_factory=list)


def _current(ledger: Ledger, model: str, type_: str, id_: str, parent: str | None) -> str | None:
    try:
        own = [e for e in ledger.history(model, type_, id_, parent=parent) if e.type == type_]
    except NotFound:
        return None
    return own[-1].status if own else None


def _draw_event(data: st.DataObject, ledger: Ledger, book: Book) -> dict[str, Any]:
    if book.sent and data.draw(st.integers(0, 9), label="resend?") == 0:
        return dict(data.draw(st.sampled_from(book.sent), label="resent"))
    index = data.draw(st.integers(0, len(ENTITIES) - 1), label="entity")
    model, type_, raw_id, raw_parent = ENTITIES[index]
    id_ = f"{book.prefix}{raw_id}"
    parent = f"{book.prefix}{raw_parent}" if raw_parent else None
    et = REGISTRY.entity_type(model, type_, for_writing=True)
    current = _current(ledger, model, type_, id_, parent)
    legal = list(et.allowed_after(current))
    anything = list(et.writable_statuses)
    mostly_legal = bool(legal) and data.draw(st.integers(0, 4), label="legal?") > 0
    status = data.draw(st.sampled_from(legal if mostly_legal else anything), label="status")
    latest = book.latest.get(index, 0)
    late = latest > 0 and data.draw(st.integers(0, 5), label="late?") == 0
    when = data.draw(
        st.integers(0, latest) if late else st.integers(latest, latest + 3), label="when"
    )
    book.latest[index] = max(latest, when)
    out: dict[str, Any] = {
        "model": model,
        "type": type_,
        "id": id_,
        "status": status,
        "occurred_at": 1_700_000_000 + when,
    }
    if parent:
        out["parent"] = parent
    if status in REASONS:
        reason = data.draw(st.sampled_from(REASONS[status]), label="reason")
        if reason:
            out["reason"] = reason
    if status == "PENDING" and type_ == "workflow":
        out["attributes"] = {"groups": [f"{book.prefix}g0", f"{book.prefix}g1", f"{book.prefix}g2"]}
    if model == "lightning" and data.draw(st.integers(0, 7), label="execution?") == 0:
        out["execution"] = data.draw(st.sampled_from(["x1", "x2"]), label="execution")
    return out


def _state(ledger: Ledger) -> tuple[Any, ...]:
    assert ledger.views is not None
    return ledger.store.head(), ledger.store.event_id_count(), ledger.views.dump()


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_histories_give_the_same_views_however_they_are_computed(
    ledger: Ledger, data: st.DataObject
) -> None:
    book = Book(prefix=f"p{next(RUNS)}-")
    steps = data.draw(st.integers(5, 25), label="steps")
    for _ in range(steps):
        raw = _draw_event(data, ledger, book)
        before = _state(ledger)
        (outcome,) = ledger.append([raw]).outcomes
        if outcome.kind == "accepted":
            book.sent.append(raw)
        else:
            assert _state(ledger) == before, outcome
        event(outcome.kind)
    assert ledger.views is not None
    incremental = ledger.views.dump()
    ledger.rebuild(data.draw(st.sampled_from(VIEWS), label="one view"))
    assert ledger.views.dump() == incremental
    ledger.rebuild()
    assert ledger.views.dump() == incremental
    with (
        tempfile.TemporaryDirectory() as scratch,
        Ledger.open(Path(scratch) / "replayed.db") as fresh,
    ):
        report = fresh.append(ledger.export())
        assert report.rejected == 0 and report.duplicates == 0
        assert fresh.views is not None
        assert fresh.views.dump() == incremental
        assert list(fresh.export()) == list(ledger.export())


@pytest.mark.parametrize("batch_size", [1, 7, 2000])
def test_batching_does_not_change_what_is_accepted(ledger_url: str, batch_size: int) -> None:
    """The same mixed input, appended in batches of any size, ends in the same store."""
    events: list[Any] = []
    for step in range(40):
        job = f"j{step % 5}"
        status = ["Pending", "Running", "Successful", "Running", "Faulted"][step // 5 % 5]
        events.append(
            {
                "model": "uipath",
                "type": "job",
                "id": job,
                "status": status,
                "occurred_at": 1_700_000_000 + step,
            }
        )
    events += ["not json", events[0], events[3]]
    with Ledger.open(ledger_url) as ledger:
        report = ledger.append(events, batch_size=batch_size)
        assert ledger.views is not None
        result = (
            report.counts(),
            [o.kind for o in report.outcomes],
            ledger.views.dump(),
            [(e["id"], e["status"]) for e in ledger.export()],
        )
    with tempfile.TemporaryDirectory() as scratch, Ledger.open(Path(scratch) / "one.db") as one:
        expected = one.append(events, batch_size=1)
        assert one.views is not None
        assert result == (
            expected.counts(),
            [o.kind for o in expected.outcomes],
            one.views.dump(),
            [(e["id"], e["status"]) for e in one.export()],
        )

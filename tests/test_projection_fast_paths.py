"""The rebuild's fast paths (plain-dict rows, the cached-date timestamp parse,
trails kept only where a derived view reads them) must give exactly what the
straightforward code gives."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import Ledger, ViewRow
from ledger._errors import BadTimestamp
from ledger._event import StatusChanged, decode_event
from ledger._timestamps import (
    _RFC3339,
    _UTC,
    EARLIEST,
    LATEST,
    _parse_checked,
    _parse_rfc3339,
    _utc_epoch,
    to_epoch,
)
from ledger.models._registry import ModelRegistry
from ledger.models._statusmodel import AggregationSpec, EntityType
from projections._derived import _aggregate, _twin
from projections._entity import Mark, marked

DIGITS = st.integers(0, 99).map(lambda n: f"{n:02d}")


@st.composite
def rfc3339_like(draw: st.DrawFn) -> str:
    """Well-formed and out-of-range dates, times and offsets alike."""
    year = draw(st.sampled_from(["0000", "0001", "1969", "1970", "2024", "2200", "9999"]))
    fraction = draw(st.sampled_from(["", ".0", ".5", ".863", ".999999", ".123456789"]))
    offset = draw(
        st.sampled_from(["Z", "z", "+00:00", "-00:00", "+05:30", "-23:59"])
        | DIGITS.map(lambda h: f"+{h}:00")
    )
    sep = draw(st.sampled_from("Tt "))
    month, day, hour, minute, second = (draw(DIGITS) for _ in range(5))
    return f"{year}-{month}-{day}{sep}{hour}:{minute}:{second}{fraction}{offset}"


def _outcome(parse: object, text: str) -> object:
    try:
        return repr(parse(text))  # type: ignore[operator]
    except BadTimestamp as error:
        return error.message


@pytest.mark.slow
@settings(max_examples=2000)
@given(rfc3339_like())
def test_the_cached_date_parse_gives_the_checked_parse_bit_for_bit(text: str) -> None:
    match = _RFC3339.match(text)
    assert match is not None
    assert _outcome(_parse_rfc3339, text) == _outcome(lambda t: _parse_checked(t, match), text)


@pytest.mark.slow
@settings(max_examples=2000)
@given(rfc3339_like())
def test_the_common_utc_shape_parses_as_the_general_path_bit_for_bit(text: str) -> None:
    utc = text.replace("t", "T").replace(" ", "T").replace("z", "Z")
    if not _UTC.fullmatch(utc):
        return
    fast = _utc_epoch(utc)
    if fast is not None:  # None hands the text to the general path
        assert repr(fast) == _outcome(_parse_rfc3339, utc)


@given(st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(2**70), 2**70))
def test_epoch_seconds_take_the_float_shortcut_with_the_general_outcome(value: float) -> None:
    if isinstance(value, float) and EARLIEST <= value < LATEST:
        assert to_epoch(value) is value
    else:
        try:
            seconds = to_epoch(value)
        except BadTimestamp:
            assert not EARLIEST <= float(value) < LATEST
        else:
            assert seconds == float(value)


WRITTEN_TYPES = [
    (model, et)
    for model in ModelRegistry.builtin().values()
    for et in model.types.values()
    if not et.derived
]


@st.composite
def streams(draw: st.DrawFn) -> tuple[EntityType, list[StatusChanged]]:
    """One type's events with statuses spelt in any case, aliases included, and
    times as floats, integers and UTC strings, ties included."""
    model, et = draw(st.sampled_from(WRITTEN_TYPES))
    names = [*et.statuses, *et.aliases]
    events = []
    for seq in draw(st.lists(st.integers(1, 10_000), min_size=1, max_size=12, unique=True)):
        name = draw(st.sampled_from(names))
        spelt = "".join(c.upper() if draw(st.booleans()) else c.lower() for c in name)
        at = draw(st.sampled_from([1_714_557_600, 1_714_557_600.5, "2024-05-01T10:00:00.5Z"]))
        state = {
            "model": model.name,
            "type": et.name,
            "id": "e",
            "status": spelt,
            "occurred_at": at,
            "seq": seq,
            "schema_version": 2,
        }
        events.append(decode_event("k", seq, state))
    return et, events


def _mark_of(et: EntityType, event: StatusChanged) -> Mark:
    """A mark as first written, one event at a time: the reference for `marked`."""
    return Mark(
        event.occurred_epoch,
        event.seq,
        et.canonical(event.status) or event.status,
        event.occurred_at,
        event.reason,
        event.message,
    )


@given(streams())
def test_the_flat_marks_are_the_marks_made_one_by_one_in_occurred_order(
    stream: tuple[EntityType, list[StatusChanged]],
) -> None:
    et, events = stream
    assert marked(et, events) == sorted((_mark_of(et, e), e) for e in events)


def test_the_cached_date_parse_agrees_with_fromisoformat_on_a_plain_time() -> None:
    text = "2024-02-29T23:59:59.25+01:00"
    assert _parse_rfc3339(text) == datetime.fromisoformat(text).timestamp()


def test_a_stored_row_is_exactly_the_json_form_of_its_view_row(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.db") as ledger:
        ledger.append(_mixed_history())
        assert ledger.views is not None
        rows = [orjson.loads(row) for *_, row, _trail in ledger.views.dump()]
    assert rows
    for row in rows:
        assert ViewRow.model_validate(row).model_dump(mode="json") == row


def test_trails_are_kept_only_for_types_a_derived_view_merges(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.db") as ledger:
        ledger.append(_mixed_history())
        assert ledger.views is not None
        trails = {
            (m, t): orjson.loads(trail) for m, t, _p, _i, _s, _f, _row, trail in ledger.views.dump()
        }
    assert trails[("openfn", "run")] and trails[("osmo", "task_group")]
    assert trails[("uipath", "job")] == [] and trails[("lightning", "work")] == []
    assert trails[("openfn", "work_order")] == [] and trails[("osmo", "workflow")] == []


def test_freed_pages_are_not_rewritten_with_zeros_by_any_connection(tmp_path: Path) -> None:
    """secure_delete FAST: a swap drops the old views without writing them again."""
    with Ledger.open(tmp_path / "l.db") as ledger:
        for transaction in (ledger.store.read, ledger.store.write):
            with transaction() as txn:
                txn.cursor.execute("PRAGMA secure_delete")
                assert txn.cursor.fetchone() == (2,)


def _mixed_history() -> list[dict[str, object]]:
    at = iter(range(1_700_000_000, 1_700_001_000))
    return [
        {
            "model": "openfn",
            "type": "run",
            "id": "r1",
            "parent": "wo1",
            "status": "available",
            "occurred_at": next(at),
        },
        {
            "model": "openfn",
            "type": "run",
            "id": "r1",
            "parent": "wo1",
            "status": "claimed",
            "occurred_at": next(at),
        },
        {
            "model": "osmo",
            "type": "workflow",
            "id": "wf1",
            "status": "PENDING",
            "occurred_at": next(at),
            "attributes": {"groups": ["g1"]},
        },
        {
            "model": "osmo",
            "type": "task_group",
            "id": "g1",
            "parent": "wf1",
            "status": "SUBMITTING",
            "occurred_at": next(at),
        },
        {
            "model": "uipath",
            "type": "job",
            "id": "j1",
            "status": "Pending",
            "occurred_at": next(at),
        },
        {
            "model": "uipath",
            "type": "job",
            "id": "j1",
            "status": "Running",
            "occurred_at": next(at),
        },
        {
            "model": "lightning",
            "type": "work",
            "id": "w1",
            "status": "not_started",
            "occurred_at": next(at),
        },
        {
            "model": "lightning",
            "type": "work",
            "id": "w1",
            "status": "running",
            "occurred_at": next(at),
        },
    ]


def _aggregate_by_lists(
    spec: AggregationSpec,
    et: EntityType,
    child_et: EntityType,
    written: str | None,
    declared: list[str] | None,
    groups: dict[str, str],
    started: bool,
) -> str:
    """The workflow aggregation as first written, group by group: the reference
    the set-based `_aggregate` must agree with."""
    if written is not None and et.is_final(written):
        return written
    names = set(groups) | set(declared or [])
    considered = [groups.get(n) for n in names if groups.get(n) not in spec.left_out]
    unfinished = [s for s in considered if s is None or not child_et.is_final(s)]
    if unfinished or not considered:
        if any(s in spec.running for s in unfinished):
            return spec.busy
        return spec.waiting if started else spec.idle
    finished = [s for s in considered if s is not None]
    if all(s == spec.success for s in finished):
        return spec.success
    causes = {s for s in finished if s != spec.success and s not in spec.consequence}
    for status in spec.precedence:
        if status in causes:
            return _twin(et, spec, status)
    if len(causes) == 1:
        return _twin(et, spec, causes.pop())
    return spec.mixed


OSMO = ModelRegistry.builtin().model("osmo")
WORKFLOW, TASK_GROUP = OSMO.types["workflow"], OSMO.types["task_group"]
GROUP_NAMES = st.sampled_from(["a", "b", "c", "d"])


@settings(max_examples=3000)
@given(
    written=st.none() | st.sampled_from(WORKFLOW.statuses),
    declared=st.none() | st.lists(GROUP_NAMES, max_size=4),
    groups=st.dictionaries(GROUP_NAMES, st.sampled_from(TASK_GROUP.statuses), max_size=4),
    started=st.booleans(),
)
@pytest.mark.slow
def test_the_set_based_workflow_aggregation_agrees_with_the_group_by_group_one(
    written: str | None, declared: list[str] | None, groups: dict[str, str], started: bool
) -> None:
    spec = WORKFLOW.aggregation
    assert spec is not None
    args = (spec, WORKFLOW, TASK_GROUP, written, declared, groups, started)
    assert _aggregate(*args) == _aggregate_by_lists(*args)

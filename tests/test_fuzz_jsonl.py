"""Fuzzing the JSONL reader: lines that are almost events (every field with every
JSON type, NaN and 400-digit numbers, truncations, flipped bytes, raw binary)
go through `parse_line`, validation and append. Whatever comes in, the only
exception is a LedgerError, a rejected line changes nothing, and an accepted
one leaves a chain that verifies. And hand-written JSON (repeated keys, escaped
colons, long integers, any spacing) checks `parse_json`'s cheap checks against a
parser that sees everything. Bounded by example count, so CI time is fixed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from _spec import cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import BadJson, Ledger, LedgerError, ModelRegistry, parse_json
from ledger.append._prepare import prepare

pytestmark = pytest.mark.slow  # processes, crashes, concurrency or many generated cases

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def _nested(depth: int) -> Any:
    """Deeper than orjson writes (255), shallower than it reads (1024)."""
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


deep = st.integers(min_value=200, max_value=400).map(_nested)
hostile = (
    json_values
    | deep
    | st.sampled_from(
        [
            "",
            "\x00",
            "a\nb",
            "\x1b[2J",
            "\u202e",
            "\x85",
            "' OR 1=1 --",
            "x" * 300,
            "NaN",
            "1e400",
            "2024-02-30T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "2200-01-01T00:00:00Z",
            "2024-05-01T10:00:00",
        ]
    )
)
KINDS = [
    ("uipath", "job", None, ["Pending", "running", "SUCCESSFUL", "Faulted", "Stopping", "bogus"]),
    ("openfn", "run", "wo-1", ["available", "claimed", "Success", "Failed", "Rejected", "Lost"]),
    ("openfn", "attempt", "wo-2", ["Pending", "Running", "Success", "Failed"]),
    ("openfn", "work_order", None, ["Pending"]),
    ("lightning", "work", None, ["not_started", "pending", "running", "failed", "succeeded"]),
    ("osmo", "task_group", "wf-1", ["SUBMITTING", "PROCESSING", "SCHEDULING", "FAILED_UPSTREAM"]),
    ("osmo", "workflow", None, ["PENDING", "FAILED_SUBMISSION", "RUNNING"]),
]
times = st.one_of(
    st.integers(min_value=1_700_000_000, max_value=1_700_000_100),
    st.floats(min_value=1_700_000_000, max_value=1_700_000_100),
    st.sampled_from(["2024-05-01T10:00:00Z", "2024-05-01T10:00:00.123456789+02:00"]),
)
OPTIONAL: dict[str, st.SearchStrategy[Any]] = {
    "reason": st.sampled_from(["JobError", "SyntaxError", "timeout", "OomError"]),
    "message": st.text(max_size=40),
    "actor": st.sampled_from(["alice", "system:cleanup"]),
    "execution": st.sampled_from(["e1", "e2"]),
    "event_id": st.sampled_from(["k1", "k2", "k3"]),
    "attributes": st.dictionaries(st.text(max_size=5), json_values, max_size=3)
    | st.just({"groups": ["train", "eval"]})
    | deep.map(lambda d: {"d": d}),
    "force": st.booleans(),
}


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    """A plausible event, then up to three fields broken, dropped or added."""
    model, type_, parent, statuses = draw(st.sampled_from(KINDS))
    event: dict[str, Any] = {
        "model": model,
        "type": type_,
        "id": draw(st.sampled_from(["a", "b", "c"])),
        "status": draw(st.sampled_from(statuses)),
        "occurred_at": draw(times),
    }
    if parent is not None:
        event["parent"] = parent
    for name in draw(st.lists(st.sampled_from(sorted(OPTIONAL)), max_size=3, unique=True)):
        event[name] = draw(OPTIONAL[name])
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        name = draw(st.sampled_from([*event, "parent", "surprise"]))
        if draw(st.booleans()) and name in event:
            del event[name]
        else:
            event[name] = draw(hostile)
    return event


def _encode(event: dict[str, Any], ascii_only: bool) -> bytes:
    """The stdlib writes what orjson would refuse: NaN, Infinity, 65-bit integers."""
    return json.dumps(event, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


@st.composite
def lines(draw: st.DrawFn) -> bytes:
    line = _encode(draw(events()), draw(st.booleans()))
    damage = draw(st.sampled_from(["none"] * 6 + ["truncate", "flip", "binary", "wrap"]))
    if damage == "truncate":
        return line[: draw(st.integers(min_value=0, max_value=len(line)))]
    if damage == "flip":
        at = draw(st.integers(min_value=0, max_value=len(line) - 1))
        return line[:at] + bytes([draw(st.integers(0, 255))]) + line[at + 1 :]
    if damage == "binary":
        return draw(st.binary(max_size=200))
    if damage == "wrap":
        return json.dumps([json.loads(line)]).encode()
    return line


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    with Ledger.open(tmp_path_factory.mktemp("fuzz") / "ledger.db") as ledger:
        yield ledger


def _state(ledger: Ledger) -> tuple[Any, ...]:
    assert ledger.views is not None
    return ledger.store.head(), ledger.store.event_id_count(), ledger.views.dump()


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(line=lines())
def test_any_line_is_accepted_or_rejected_with_a_code_and_nothing_else(
    fuzzed: Ledger, line: bytes
) -> None:
    try:
        prepare(line, ModelRegistry.builtin())
    except LedgerError as error:
        assert error.code and error.message
    before = _state(fuzzed)
    [outcome] = fuzzed.append([line]).outcomes
    if outcome.kind == "rejected":
        assert outcome.error is not None and outcome.error.code
        assert _state(fuzzed) == before
    else:
        assert fuzzed.verify().ok


@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(batch=st.lists(lines(), min_size=1, max_size=25))
def test_the_import_command_answers_every_fuzzed_file_without_a_traceback(
    tmp_path_factory: pytest.TempPathFactory, batch: list[bytes]
) -> None:
    folder = tmp_path_factory.mktemp("import")
    source = folder / "fuzz.jsonl"
    source.write_bytes(b"\n".join(line.replace(b"\n", b" ") for line in batch) + b"\n")
    rejects = folder / "rejects.jsonl"
    db = folder / "ledger.db"
    result = cli("import", str(source), "--json", "--rejects", str(rejects), "--db", str(db))
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    counts = orjson.loads(result.stdout)
    written = [line for line in source.read_bytes().split(b"\n") if line.strip()]
    assert sum(counts.values()) == len(written)
    assert len(rejects.read_bytes().splitlines()) == counts["rejected"]
    with Ledger.open(Path(db)) as ledger:
        assert ledger.verify().events == counts["accepted"]


class Pairs(list[tuple[str, Any]]):
    """A JSON object as written, in which a key may repeat."""


documents = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["x", ":", "a:b", "é", "\u2028"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.lists(st.tuples(st.sampled_from(["a", "b", ":", "a:b"]), inner), max_size=4).map(Pairs)
    ),
    max_leaves=12,
)


def _write(value: Any, space: str, colon: str) -> str:
    """JSON text by hand: the stdlib cannot repeat a key, nor spell a colon in a
    string as the escape `colon`."""
    if isinstance(value, Pairs):
        members = [
            f"{_write(k, space, colon)}{space}:{space}{_write(v, space, colon)}" for k, v in value
        ]
        return "{" + f",{space}".join(members) + "}"
    if isinstance(value, list):
        return "[" + f",{space}".join(_write(v, space, colon) for v in value) + "]"
    text = json.dumps(value)
    return text.replace(":", colon) if isinstance(value, str) else text


def _repeats_a_key(text: str) -> bool:
    found = []

    def check(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        found.append(len({k for k, _ in pairs}) < len(pairs))
        return dict(pairs)

    json.loads(text, object_pairs_hook=check)
    return any(found)


@settings(max_examples=500, deadline=None, derandomize=True)
@given(
    document=documents,
    space=st.sampled_from(["", " ", "\n\t "]),
    colon=st.sampled_from([":", "\\u003a", "\\u003A"]),
    as_bytes=st.booleans(),
)
def test_parse_json_refuses_every_repeated_key_and_keeps_every_integer_exactly(
    document: Any, space: str, colon: str, as_bytes: bool
) -> None:
    """The cheap checks that spare most documents the slow parser must never let a
    repeated key or a long integer through, however the document is spelled."""
    text = _write(document, space, colon)
    data = text.encode() if as_bytes else text
    if _repeats_a_key(text):
        with pytest.raises(BadJson, match="duplicate key"):
            parse_json(data)
    else:
        assert repr(parse_json(data)) == repr(json.loads(text))

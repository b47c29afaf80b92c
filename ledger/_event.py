"""The event as written (validated by pydantic) and the event as recorded (the
written fields plus the ledger's own), with the canonical JSON that hashes,
idempotency keys and exports all agree on."""

from __future__ import annotations

import hashlib
import json
import math
from typing import Annotated, Any, ClassVar

import orjson
from eventsourcing.persistence import Mapper, Transcoder
from eventsourcing.utils import register_topic
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
)
from pydantic import ValidationError as PydanticValidationError

from ._errors import (
    BadJson,
    BadTimestamp,
    ForceWithoutReason,
    InvalidField,
    MissingField,
    UnexpectedField,
)
from ._timestamps import to_epoch

SCHEMA_VERSION = 2
MAX_LINE_BYTES = 1 << 20

# C0 and C1 controls, line separators and bidirectional overrides: characters that
# would let an id or a name rewrite the line or the terminal it is printed on.
_UNPRINTABLE = r"\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
PrintableId = Annotated[
    StrictStr, Field(min_length=1, max_length=256, pattern=rf"^[^{_UNPRINTABLE}]+$")
]
ShortText = Annotated[StrictStr, Field(max_length=256, pattern=rf"^[^{_UNPRINTABLE}]*$")]
LongText = Annotated[StrictStr, Field(max_length=65536)]

WRITTEN_FIELDS = (
    "model",
    "type",
    "id",
    "status",
    "occurred_at",
    "parent",
    "execution",
    "reason",
    "message",
    "actor",
    "event_id",
    "attributes",
    "force",
)
LEDGER_FIELDS = ("seq", "version", "recorded_at", "schema_version", "prev_hash", "hash")


class EventInput(BaseModel):
    """One status change as a user writes it (spec section 4)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: ShortText
    type: ShortText
    id: PrintableId
    status: ShortText
    occurred_at: StrictInt | StrictFloat | StrictStr
    parent: PrintableId | None = None
    execution: PrintableId | None = None
    reason: ShortText | None = None
    message: LongText | None = None
    actor: ShortText | None = None
    event_id: PrintableId | None = None
    attributes: dict[str, Any] | None = None
    force: StrictBool | None = None

    @field_validator("attributes")
    @classmethod
    def _plain_json(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        """Attributes are hashed and exported as JSON, so they must survive the
        round trip unchanged: no NaN, no sets, no integers beyond 64 bits, no deep
        nesting."""
        if value is not None:
            try:
                # Past 2**53 (rare) orjson stops here, and only then is a walk needed
                # to find an integer outside the 64-bit range.
                dumped = orjson.dumps(value, option=orjson.OPT_STRICT_INTEGER)
            except orjson.JSONEncodeError:
                dumped = _written_if_plain(value)
            # orjson writes NaN and Infinity as null, so only then is the walk needed.
            if b"null" in dumped and not _finite(value):
                raise ValueError("not plain JSON: NaN and Infinity have no JSON form")
        return value

    def content(self) -> dict[str, Any]:
        """The fields as written, minus nulls and the idempotency key. Read straight
        off the validated fields: `model_dump` would copy them all again per event."""
        given = self.model_fields_set
        return {
            k: v
            for k in WRITTEN_FIELDS
            if k in given
            and (v := getattr(self, k)) is not None
            and k != "event_id"
            and not (k == "force" and v is False)
        }


INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


def _written_if_plain(value: Any) -> bytes:
    """`value` as orjson writes it, or the ValueError that says why it must not be."""
    try:
        written = orjson.dumps(value)
    except orjson.JSONEncodeError as exc:
        problem: str | None = f"not plain JSON: {exc}"
    else:
        problem = None
    try:
        wide = _wide_int(value)
    except RecursionError:  # deeper than orjson writes, so refused all the same
        wide = None
    if wide or problem:
        raise ValueError(wide or problem)
    return written


def _wide_int(value: Any, path: str = "") -> str | None:
    """Why `value` holds an integer outside the signed 64-bit range, if it does.
    Such integers are refused rather than kept: SQLite's JSON functions and
    orjson turn them into floats (JavaScript does so past 2**53), so a value kept
    exactly here would not stay exact once it leaves the ledger."""
    if isinstance(value, int) and not isinstance(value, bool):
        if INT64_MIN <= value <= INT64_MAX:
            return None
        digits = str(value)
        number = digits if len(digits) <= 40 else f"a {len(digits.lstrip('-'))}-digit number"
        where = f" at {path}" if path else ""
        return f"integer {number}{where} is outside the signed 64-bit range; send it as a string"
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _wide_int(item, f"{path}[{key!r}]" if path else repr(key))
        if found:
            return found
    return None


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list | tuple):
        return all(_finite(v) for v in value)
    return True


def canonical_json(obj: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the one byte form that hashes compare."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


def content_digest(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(content)).hexdigest()


def derived_event_id(digest: str, ordinal: int) -> str:
    """Identical events in one input stay distinct by their ordinal, while the same
    input imported again maps to the same ids and is recognised as duplicates."""
    return "sha256:" + hashlib.sha256(f"{digest}#{ordinal}".encode()).hexdigest()[:40]


def parse_json(data: bytes | str) -> Any:
    """One JSON document, refused as `bad_json` when it is not valid JSON or an
    object in it repeats a key; integers come back exact, however long.

    orjson alone would keep the last of repeated keys and turn integers beyond 64
    bits into floats, silently. Neither shows in its result, but both are ruled
    out cheaply (about a microsecond) by writing the result back: every
    key is followed by one colon, so a document whose colons all come back has no
    repeated key (unless a colon in a string was written as an escape, `\\u003a`);
    and an integer too long for orjson comes back as a float of at least 1e16,
    which orjson writes with an exponent (`e+`). Only the rare document that
    fails a check is read again, slowly, by a parser that sees every key and
    keeps every integer (tests/test_fuzz_jsonl.py holds one against the other)."""
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BadJson(f"not valid JSON: {exc}") from None
    raw = data.encode() if isinstance(data, str) else data
    if _surely_as_written(raw, obj):
        return obj
    try:
        return json.loads(raw, object_pairs_hook=_unique_keys)
    except RecursionError:  # over about 1000 levels deep: nothing the ledger takes
        raise BadJson("nested too deeply to be checked for repeated keys") from None
    except ValueError as exc:  # orjson read it, so this parser should too
        raise BadJson(f"not valid JSON: {exc}") from None


def _surely_as_written(raw: bytes, obj: Any) -> bool:
    """The checks `parse_json` explains; False sends the document to the slow parser."""
    try:
        written = orjson.dumps(obj)
    except orjson.JSONEncodeError:  # nested deeper than orjson writes (255)
        return False
    # One-byte searches first: they are a memchr, and most lines hold no + and no \\.
    return (
        raw.count(b":") == written.count(b":")
        and (b"+" not in written or b"e+" not in written)
        and (b"\\" not in raw or b"\\u003" not in raw)
    )


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) < len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise BadJson(f"duplicate key {key!r} in one JSON object", key=key)
            seen.add(key)
    return obj


def parse_line(line: bytes | str) -> dict[str, Any]:
    """One JSONL line as the event object it must be (`parse_json`'s checks)."""
    if len(line) > MAX_LINE_BYTES:
        raise BadJson(f"line is longer than {MAX_LINE_BYTES} bytes")
    obj = parse_json(line)
    if not isinstance(obj, dict):
        raise BadJson(f"an event must be a JSON object, got {type(obj).__name__}")
    return obj


def validate_input(obj: dict[str, Any]) -> EventInput:
    try:
        event = EventInput.model_validate(obj)
    except PydanticValidationError as exc:
        raise _input_error(exc) from None
    if event.force and not event.reason:
        raise ForceWithoutReason("a forced transition needs a reason")
    return event


def _input_error(exc: PydanticValidationError) -> Exception:
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"]) or "event"
    if err["type"] == "missing":
        return MissingField(f"missing required field {field!r}", field=field)
    if err["type"] == "extra_forbidden":
        return UnexpectedField(
            f"unknown field {field!r}; fields are: {', '.join(WRITTEN_FIELDS)}", field=field
        )
    if field.startswith("occurred_at"):
        return BadTimestamp("occurred_at must be RFC 3339 or epoch seconds", field="occurred_at")
    if err["type"] == "string_pattern_mismatch":
        return InvalidField(
            f"field {field!r}: control, line-separator and bidi-override characters are not "
            "allowed",
            field=field,
        )
    msg = err["msg"].removeprefix("Value error, ")
    return InvalidField(f"field {field!r}: {msg}", field=field)


class StatusChanged:
    """A recorded event, as eventsourcing's Mapper rebuilds it from a stored row.

    `class_version` 2 is the current schema; version-1 rows (OpenFn "attempt") are
    upcast on every read and never rewritten."""

    class_version: ClassVar[int] = SCHEMA_VERSION
    originator_id: str
    originator_version: int
    model: str
    type: str
    id: str
    status: str
    occurred_at: int | float | str
    seq: int
    version: int
    recorded_at: str
    schema_version: int
    event_id: str
    prev_hash: str
    hash: str
    parent: str | None = None
    execution: str | None = None
    reason: str | None = None
    message: str | None = None
    actor: str | None = None
    attributes: dict[str, Any] | None = None
    force: bool | None = None
    written_type: str | None = None
    notification_id: int = 0

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """Schema 1 (seed 000) called an OpenFn run an attempt."""
        if state.get("model") == "openfn" and state.get("type") == "attempt":
            state["written_type"] = "attempt"
            state["type"] = "run"

    @property
    def occurred_epoch(self) -> float:
        """`occurred_at` in epoch seconds, parsed once: rules and views order by it
        many times per event. (Not functools.cached_property: on Python 3.11 it takes
        a lock on every first access, which costs more than the parse.)"""
        found: float | None = self.__dict__.get("_occurred_epoch")
        if found is None:
            found = self.__dict__["_occurred_epoch"] = to_epoch(self.occurred_at)
        return found

    def written(self) -> dict[str, Any]:
        """The fields exactly as stored (before upcasting), ready to export."""
        out = {k: getattr(self, k) for k in WRITTEN_FIELDS if getattr(self, k) is not None}
        if self.written_type is not None:
            out["type"] = self.written_type
        if out.get("force") is False:
            del out["force"]
        return out

    def with_ledger_fields(self) -> dict[str, Any]:
        return {**self.written(), **{k: getattr(self, k) for k in LEDGER_FIELDS}}

    def __repr__(self) -> str:
        return f"StatusChanged(seq={self.seq}, {self.model} {self.type} {self.id} {self.status})"


TOPIC = "ledger._event:StatusChanged"
# Every stored row carries this topic. Registering it pins it to the class, so the
# rows written so far (schema 1 included) stay readable if the class ever moves
# to another module or is renamed: register the new home under the old topic.
register_topic(TOPIC, StatusChanged)


class LedgerTranscoder(Transcoder):
    """Plain JSON both ways, so that `sqlite3` and `psql` alone can read the
    ledger; the schema version travels as eventsourcing's `class_version`."""

    def encode(self, obj: Any) -> bytes:
        state = dict(obj)
        state.pop("class_version", None)
        return canonical_json(state)

    def decode(self, data: bytes) -> Any:
        state = orjson.loads(data)
        state["class_version"] = state.get("schema_version", 1)
        return state


MAPPER: Mapper[str] = Mapper(transcoder=LedgerTranscoder())


def decode_event(originator_id: str, version: int, state: bytes | dict[str, Any]) -> StatusChanged:
    """What `MAPPER.to_domain_event` returns for a stored row (same upcasts, same
    attributes), without its per-event topic resolution and id conversion, which
    cost more than the JSON decoding on the hot read paths (rebuild, appends).
    A dict `state` is taken over as the event's attributes, not copied."""
    data = state if isinstance(state, dict) else orjson.loads(state)
    data["originator_id"] = originator_id
    data["originator_version"] = version
    schema = data.get("schema_version", 1)
    while schema < SCHEMA_VERSION:
        getattr(StatusChanged, f"upcast_v{schema}_v{schema + 1}")(data)
        schema += 1
    event = object.__new__(StatusChanged)
    event.__dict__ = data
    return event


def chain_hash(prev_hash: str, body: dict[str, Any]) -> str:
    """sha256(prev_hash + canonical_json(event)), the event without its own hashes."""
    return hashlib.sha256(prev_hash.encode() + canonical_json(body)).hexdigest()


GENESIS_HASH = "0" * 64

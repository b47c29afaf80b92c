"""What every adapter needs: the payload read as JSON, fields taken with a coded
error naming what is missing, and event ids derived from the source's own ids so
that reading the same payload again yields the same ids (a duplicate)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

import orjson

from .._errors import BadJson, InvalidField, MissingField

MAX_ID = 256
MAX_MESSAGE = 65536
_NAIVE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$")


def load(payload: bytes, what: str) -> Any:
    """The payload as JSON; anything else is `bad_json`, naming the format."""
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise BadJson(f"{what}: the payload is not JSON: {exc}") from None


def obj(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidField(f"{what} must be a JSON object, not {type(value).__name__}")
    return value


def items(value: Any, what: str) -> list[Any]:
    """A JSON array; one object alone stands for an array of one (UiPath's docs
    show both shapes for `Jobs`)."""
    if isinstance(value, Mapping):
        return [value]
    if not isinstance(value, list):
        raise InvalidField(f"{what} must be a JSON array or object, not {type(value).__name__}")
    return value


def need(data: Mapping[str, Any], key: str, what: str) -> Any:
    value = data.get(key)
    if value is None or value == "":
        raise MissingField(f"{what} has no {key!r}", field=key)
    return value


def text(data: Mapping[str, Any], key: str, what: str) -> str:
    """A required id or name: JSON strings and integers both do (UiPath sends
    EventId as a string and job Id as a number)."""
    value = need(data, key, what)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidField(f"{what}: {key!r} must be a string or an integer", field=key)
    return str(value)


def optional_text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or value == "" or isinstance(value, bool):
        return None
    return value if isinstance(value, str) else str(value)


def message(value: str | None) -> str | None:
    """Human text is kept, cut to what one event may carry (a stack trace can be
    longer); the cut is deterministic, so a re-read is still a duplicate."""
    return None if value is None else value[:MAX_MESSAGE]


def utc(value: str) -> str:
    """A timestamp without an offset is taken as UTC (OSMO writes its UTC times
    that way); every other form is passed on for the ledger to judge."""
    return value + "Z" if _NAIVE.match(value) else value


def event_id(*parts: str) -> str:
    """`source:part:part`, from the source's own ids; too long for an event id,
    it becomes `source:sha256:...` of the same parts, which is just as stable."""
    joined = ":".join(parts)
    if len(joined) <= MAX_ID and joined.isprintable():
        return joined
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()
    return f"{parts[0]}:sha256:{digest}"


def compact(data: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes without the keys the source left empty."""
    return {k: v for k, v in data.items() if v is not None and v != ""}

"""Timestamps are kept exactly as written (an RFC 3339 string or a JSON number) and
turned into epoch seconds only to order events and compare them with `--as-of`."""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime
from functools import lru_cache

from ._errors import BadTimestamp

Timestamp = str | int | float

# Before 1970 or after 2200 is far more likely a unit mistake (ms, ns) than real data.
EARLIEST = 0.0
LATEST = 7258118400.0  # 2200-01-01T00:00:00Z

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)

_UTC = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{1,9}Z")
"""The shape nearly every producer writes (2024-05-01T10:00:00.123Z)."""
_EPOCH_DAY = datetime(1970, 1, 1).toordinal()


def to_epoch(value: object) -> float:
    """Epoch seconds of an `occurred_at`-style value, or BadTimestamp."""
    if type(value) is float and EARLIEST <= value < LATEST:
        return value  # epoch seconds already (NaN and infinities fail the range)
    if type(value) is str and _UTC.fullmatch(value):
        seconds = _utc_epoch(value)
        if seconds is not None and EARLIEST <= seconds < LATEST:
            return seconds
    if isinstance(value, bool):
        raise BadTimestamp(f"timestamp must be RFC 3339 or epoch seconds, got {value!r}")
    if isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:
            seconds = math.inf
        if not math.isfinite(seconds):
            raise BadTimestamp(f"timestamp must be a finite number, got {value!r}")
    elif isinstance(value, str):
        seconds = _parse_rfc3339(value)
    else:
        raise BadTimestamp(f"timestamp must be RFC 3339 or epoch seconds, got {value!r}")
    if not EARLIEST <= seconds < LATEST:
        raise BadTimestamp(
            f"timestamp {value!r} is outside 1970-01-01..2200-01-01 (seconds, not ms?)"
        )
    return seconds


def _parse_rfc3339(text: str) -> float:
    match = _RFC3339.match(text)
    if not match:
        raise BadTimestamp(
            f"timestamp {text!r} is not RFC 3339 with an offset (e.g. 2024-05-01T10:00:00Z)"
        )
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    h, m, s = int(hour), int(minute), int(second)
    shift = 0 if offset in ("Z", "z") else _offset_seconds(offset)
    midnight = _midnight(year, month, day)
    if h < 24 and m < 60 and s < 60 and shift is not None and midnight is not None:
        whole = midnight + h * 3600 + m * 60 + s - shift
        return whole + float(fraction) if fraction else float(whole)
    return _parse_checked(text, match)


def _utc_epoch(text: str) -> float | None:
    """`_parse_rfc3339` of the common shape, bit for bit, with the date and time
    read by `fromisoformat` (C) instead of regex groups and `int`: the parse is a
    rebuild's largest cost per event after decoding the JSON, and this path is
    under half of it. None where the slow path must decide (no such date, 24:00,
    a leap second)."""
    try:
        parsed = datetime.fromisoformat(text[:19])
    except ValueError:
        return None
    whole = (parsed.toordinal() - _EPOCH_DAY) * 86400
    return whole + parsed.hour * 3600 + parsed.minute * 60 + parsed.second + float(text[19:-1])


def _offset_seconds(offset: str) -> int | None:
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    if hours > 23 or minutes > 59:
        return None
    return (hours * 3600 + minutes * 60) * (-1 if offset[0] == "-" else 1)


@lru_cache(maxsize=4096)
def _midnight(year: str, month: str, day: str) -> int | None:
    """Epoch seconds of a UTC midnight, or None for a date that does not exist.
    Histories cluster on few days, so most events skip the date arithmetic: the
    parse is the largest per-event cost of a rebuild after decoding the JSON."""
    try:
        return int(datetime(int(year), int(month), int(day), tzinfo=UTC).timestamp())
    except ValueError:
        return None


def _parse_checked(text: str, match: re.Match[str]) -> float:
    """The slow path, kept for the exact error `fromisoformat` gives."""
    fraction = match.group(7) or ""
    base = text[: match.start(7)] if fraction else text[: match.start(8)]
    offset = match.group(8)
    offset = "+00:00" if offset in ("Z", "z") else offset
    try:
        parsed = datetime.fromisoformat(base.replace("t", "T").replace(" ", "T") + offset)
    except ValueError as exc:
        raise BadTimestamp(f"timestamp {text!r} is not a valid date: {exc}") from None
    return parsed.timestamp() + (float(fraction) if fraction else 0.0)


def now_iso() -> str:
    """The ledger clock, in UTC with microseconds, as `recorded_at` is written
    (e.g. 2024-05-01T10:00:00.123456Z). Appends read it once per event, so the
    date and time of day are formatted once per second, not per call."""
    seconds, nanos = divmod(time.time_ns(), 1_000_000_000)
    return f"{_second(seconds)}.{nanos // 1000:06d}Z"


@lru_cache(maxsize=4)
def _second(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def epoch_to_iso(seconds: float) -> str:
    return (
        datetime.fromtimestamp(seconds, UTC)
        .isoformat(timespec="microseconds")
        .replace("+00:00", "Z")
    )


TimeArg = Timestamp | None
"""A time a caller gives the API (`--as-of`, `--now`, `occurred_at` of `record`)."""

_NON_FINITE = ("nan", "inf", "-inf", "infinity", "+inf", "-infinity", "+infinity")


def written(value: Timestamp) -> Timestamp:
    """A caller's time as the ledger keeps it: text of epoch seconds becomes the
    number it reads as (an int when it is one), so `"1714558300"` and
    `1714558300` are the same time from the CLI, the API and the sweep; RFC 3339
    text, numbers and anything unreadable stay as they are, for the event's
    validation to judge."""
    if not isinstance(value, str):
        return value
    try:
        return int(value)
    except ValueError:
        pass
    try:
        number = float(value)
    except ValueError:
        return value
    return value if value.strip().lower() in _NON_FINITE else number


def parse_time(value: Timestamp) -> float:
    """Epoch seconds of a caller's time, in any form `occurred_at` takes plus
    epoch seconds written as text (the one parser of the CLI, the API and the
    sweep)."""
    if isinstance(value, str):
        try:
            return to_epoch(float(value))
        except ValueError:
            pass
    return to_epoch(value)

"""How people see times and digests: one form everywhere in human output (CLI
tables and lines, the web pages, error messages), so that a time typed as epoch
seconds and one typed in RFC 3339 read alike, and an event id and a chain hash
are cut to the same length wherever they are shown. Machine output (`--json`,
the HTTP API, `export`) keeps every value exactly as written."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from ._errors import BadTimestamp
from ._timestamps import to_epoch

DIGEST_CHARS = 12
"""Hex characters of a digest shown to a person: enough to tell events apart
in any one ledger and to search for with `history --json | grep`."""


def display_time(value: object) -> str:
    """RFC 3339 in UTC (`2024-05-01T10:00:00Z`), with milliseconds only when the
    time has them; a value that is no time at all is shown as written."""
    try:
        seconds = to_epoch(value)
    except BadTimestamp:  # a display never fails: the value is shown as written
        return "" if value is None else str(value)
    whole = math.floor(seconds)
    millis = round((seconds - whole) * 1000)
    if millis == 1000:
        whole, millis = whole + 1, 0
    text = datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{millis:03d}Z" if millis else f"{text}Z"


def short_digest(value: str) -> str:
    """A `sha256:` event id or a bare hex chain hash cut to DIGEST_CHARS hex
    characters (the `sha256:` prefix kept, so an event id never passes for a
    hash); any other value (an event id the producer chose) is shown whole."""
    prefix, _, digest = value.rpartition(":")
    if prefix not in ("", "sha256") or not _is_hex(digest) or len(digest) < 32:
        return value
    return f"{prefix}:{digest[:DIGEST_CHARS]}" if prefix else digest[:DIGEST_CHARS]


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)

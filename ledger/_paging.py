"""Keyset pagination of view rows: rows come in (parent, id) order and a page
ends with a cursor naming its last row, so the next page starts right after it
however many rows were added or removed before it meanwhile (an offset would
skip or repeat rows) and however deep it is (an offset scans every row before
it). The cursor is opaque text: the CLI's `--after` and the API's `after`."""

from __future__ import annotations

import base64
import binascii

import orjson

from ._errors import UsageError
from ._viewrow import ViewRow

RowKey = tuple[str, str]
"""(parent, id) of a view row; parent is "" for a type without parents."""


def row_key(row: ViewRow) -> RowKey:
    return (row.parent or "", row.id)


def page_cursor(row: ViewRow) -> str:
    """The cursor of the page that starts after `row`."""
    return base64.urlsafe_b64encode(orjson.dumps(list(row_key(row)))).decode().rstrip("=")


def parse_cursor(text: str) -> RowKey:
    """The row key a cursor names, or UsageError for text no page ever ended with."""
    try:
        key = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError):
        key = None
    if not (isinstance(key, list) and len(key) == 2 and all(isinstance(part, str) for part in key)):
        raise UsageError(f"{text!r} is not a page cursor (use the one the last page ended with)")
    return (key[0], key[1])

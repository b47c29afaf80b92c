"""Row-by-row comparison of two sets of views (live and candidate), keyed by
(model, type, parent, id). Rows are compared as their public JSON, so a
difference is one a reader of `status --json` could see."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from ledger import FieldChange, RowDiff, ViewSummary

Key = tuple[str, str, str, str]
Dump = Sequence[tuple[Any, ...]]


def _rows(dump: Dump) -> dict[Key, dict[str, Any]]:
    """The dump's public rows by key (columns: model, type, parent, id, status,
    final, row, trail)."""
    return {(r[0], r[1], r[2], r[3]): orjson.loads(r[6]) for r in dump}


def field_changes(live: Any, candidate: Any, prefix: str = "") -> list[FieldChange]:
    """Differing fields, recursing into objects; lists are compared whole."""
    if isinstance(live, dict) and isinstance(candidate, dict):
        changes: list[FieldChange] = []
        for name in sorted(set(live) | set(candidate), key=lambda k: (k not in live, k)):
            changes += field_changes(live.get(name), candidate.get(name), f"{prefix}{name}.")
        return changes
    if live == candidate and type(live) is type(candidate):
        return []
    return [FieldChange(field=prefix.rstrip("."), live=live, candidate=candidate)]


def diff_views(live_dump: Dump, candidate_dump: Dump) -> tuple[list[ViewSummary], list[RowDiff]]:
    """Per-view counts and every differing row, in view then key order."""
    live = _rows(live_dump)
    candidate = _rows(candidate_dump)
    summaries: dict[str, ViewSummary] = {}
    for key in sorted(set(live) | set(candidate)):
        name = f"{key[0]}/{key[1]}"
        summaries.setdefault(name, ViewSummary(view=name, live_rows=0, candidate_rows=0))
    differences: list[RowDiff] = []
    for key in sorted(set(live) | set(candidate)):
        summary = summaries[f"{key[0]}/{key[1]}"]
        old, new = live.get(key), candidate.get(key)
        summary.live_rows += int(old is not None)
        summary.candidate_rows += int(new is not None)
        base = {"view": summary.view, "id": key[3], "parent": key[2] or None}
        if old is None:
            summary.added += 1
            differences.append(RowDiff(**base, kind="added", candidate=new))
        elif new is None:
            summary.removed += 1
            differences.append(RowDiff(**base, kind="removed", live=old))
        else:
            changes = field_changes(old, new)
            if changes:
                summary.changed += 1
                differences.append(RowDiff(**base, kind="changed", changes=changes))
    return list(summaries.values()), differences

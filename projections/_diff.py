"""Row-by-row comparison of two sets of views (live and candidate), keyed by
(model, type, parent, id). Rows are compared as their public JSON, so a
difference is one a reader of `status --json` could see."""

from __future__ import annotations

from collections import Counter
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


STORED_COLUMNS = {"status": 4, "final": 5, "trail": 7}
"""Columns stored beside a view's public row: `list --status` filters on `status`,
derived views are merged from `trail`."""


def diff_stored(live_dump: Dump, candidate_dump: Dump) -> tuple[list[ViewSummary], list[RowDiff]]:
    """As `diff_views`, plus the stored columns a reader of the JSON does not see
    but queries use (named `[column]`): `verify --views` vouches for every column.
    Rows are first compared as stored, so only the few that differ are decoded
    (a rebuild's rows are byte-identical to incremental ones when all is well)."""
    live = {(r[0], r[1], r[2], r[3]): r for r in live_dump}
    candidate = {(r[0], r[1], r[2], r[3]): r for r in candidate_dump}
    differing = sorted(k for k in live.keys() | candidate.keys() if live.get(k) != candidate.get(k))
    found, differences = diff_views(
        [live[k] for k in differing if k in live],
        [candidate[k] for k in differing if k in candidate],
    )
    by_view = {s.view: s for s in found}
    live_rows = Counter(f"{k[0]}/{k[1]}" for k in live)
    candidate_rows = Counter(f"{k[0]}/{k[1]}" for k in candidate)
    summaries = []
    for name in sorted(live_rows.keys() | candidate_rows.keys()):
        summary = by_view.get(name) or ViewSummary(view=name, live_rows=0, candidate_rows=0)
        summary.live_rows, summary.candidate_rows = live_rows[name], candidate_rows[name]
        summaries.append(summary)
    by_view = {s.view: s for s in summaries}
    by_key = {(d.view, d.parent or "", d.id): d for d in differences}
    for key in differing:
        if key not in live or key not in candidate:
            continue
        changes = [
            FieldChange(field=f"[{name}]", live=live[key][i], candidate=candidate[key][i])
            for name, i in STORED_COLUMNS.items()
            if live[key][i] != candidate[key][i]
        ]
        if not changes:
            continue
        view = f"{key[0]}/{key[1]}"
        diff = by_key.get((view, key[2], key[3]))
        if diff is None:
            by_view[view].changed += 1
            diff = RowDiff(view=view, id=key[3], parent=key[2] or None, kind="changed")
            differences.append(diff)
        diff.changes += changes
    differences.sort(key=lambda d: (d.view, d.parent or "", d.id))
    return summaries, differences

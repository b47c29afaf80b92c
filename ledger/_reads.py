"""What the `Ledger` answers from its views and its streams: one entity's row,
a type's rows (filtered, paged, now or as of a past time), an entity's history
and the export. A mixin, so that the facade stays one class for its users."""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from typing import Any

from ._errors import NotFound, UsageError
from ._event import StatusChanged
from ._history import HistoryEntry, history_entry
from ._identity import stream_key
from ._paging import RowKey, parse_cursor
from ._timecut import TimeCut
from ._timestamps import TimeArg, parse_time, to_epoch
from ._viewrow import ViewRow
from ._views import ViewService
from .models._registry import ModelRegistry
from .models._statusmodel import EntityType
from .store._base import EventStore


class Reads:
    """The reading half of `Ledger`."""

    store: EventStore
    registry: ModelRegistry
    views: ViewService | None

    def _service(self) -> ViewService:
        if self.views is None:
            raise UsageError("this ledger was opened without views")
        return self.views

    def status(
        self,
        model: str,
        type: str,
        id: str,
        *,
        parent: str | None = None,
        as_of: TimeArg = None,
        known_at: TimeArg = None,
    ) -> ViewRow:
        """The view row of one entity, now or as of a past time."""
        et = self.registry.entity_type(model, type, for_writing=False)
        label = f"{model} {type} {id}"
        service = self._service()
        if as_of is not None or known_at is not None:
            row = service.row_at(
                model,
                type,
                id,
                parent or self._parent_of(model, type, id, parent),
                _cut(as_of, known_at),
            )
            if row is None:
                raise NotFound(f"{label} did not exist at that time", entity=label)
            return row
        rows = service.row(model, type, id, parent)
        if not rows:
            raise NotFound(f"no {label}" + (f" in {parent}" if parent else ""), entity=label)
        if len(rows) > 1:
            raise _ambiguous(et, label, rows)
        return ViewRow.model_validate(rows[0])

    def _parent_of(self, model: str, type: str, id: str, parent: str | None) -> str | None:
        if parent is not None:
            return parent
        rows = self._service().row(model, type, id, None)
        if len(rows) > 1:
            raise _ambiguous(self.registry[model].types[type], f"{model} {type} {id}", rows)
        return rows[0]["parent"] if rows else None

    def list(
        self,
        model: str,
        type: str,
        *,
        status: str | None = None,
        parent: str | None = None,
        as_of: TimeArg = None,
        known_at: TimeArg = None,
        limit: int | None = None,
        offset: int = 0,
        after: str | None = None,
    ) -> builtins.list[ViewRow]:
        """View rows of one type in (parent, id) order, filtered by status (any
        case, aliases allowed; an unknown one is UnknownStatus) and parent.
        `after` is the cursor of the previous page (`page_cursor` of its last row)."""
        wanted, start = self._filters(model, type, status, after)
        service = self._service()
        if as_of is None and known_at is None:
            rows = service.rows(
                model, type, status=wanted, parent=parent, limit=limit, offset=offset, after=start
            )
            return [ViewRow.model_validate(r) for r in rows]
        result = self._rows_at(model, type, wanted, parent, start, _cut(as_of, known_at))
        return result[offset : None if limit is None else offset + limit]

    def count(
        self,
        model: str,
        type: str,
        *,
        status: str | None = None,
        parent: str | None = None,
        as_of: TimeArg = None,
        known_at: TimeArg = None,
        after: str | None = None,
    ) -> int:
        """How many rows `list` would give without a limit: what a page that
        stops early says is left (`... 34900 more`)."""
        wanted, start = self._filters(model, type, status, after)
        if as_of is None and known_at is None:
            return self._service().count(model, type, status=wanted, parent=parent, after=start)
        return len(self._rows_at(model, type, wanted, parent, start, _cut(as_of, known_at)))

    def _filters(
        self, model: str, type: str, status: str | None, after: str | None
    ) -> tuple[str | None, RowKey | None]:
        self.registry.entity_type(model, type, for_writing=False)
        wanted = self.registry.view_status(model, type, status) if status is not None else None
        return wanted, parse_cursor(after) if after is not None else None

    def _rows_at(
        self,
        model: str,
        type: str,
        wanted: str | None,
        parent: str | None,
        start: RowKey | None,
        cut: TimeCut,
    ) -> builtins.list[ViewRow]:
        service = self._service()
        result = []
        for current in service.rows(model, type, parent=parent, after=start):
            past = service.row_at(model, type, current["id"], current.get("parent"), cut)
            if past is not None and (wanted is None or past.status.status == wanted):
                result.append(past)
        return result

    def history(
        self,
        model: str,
        type: str,
        id: str,
        *,
        parent: str | None = None,
        as_of: TimeArg = None,
        known_at: TimeArg = None,
    ) -> builtins.list[HistoryEntry]:
        """Every event of an entity (of its children, for derived types) in occurred order."""
        et = self.registry.entity_type(model, type, for_writing=False)
        found_parent = self._parent_of(model, type, id, parent) if not et.derived else None
        events: builtins.list[StatusChanged] = []
        if et.derived:
            assert et.child is not None
            child_et = self.registry.entity_type(model, et.child, for_writing=False)
            for child in self._service().rows(model, et.child, parent=id):
                events += self.store.stream(stream_key(model, child_et, child["id"], id))
        if not et.derived or et.written:
            events += self.store.stream(stream_key(model, et, id, found_parent))
        cut = _cut(as_of, known_at)
        events = [e for e in events if cut.keeps(e)]
        if not events:
            raise NotFound(f"no events for {model} {type} {id}", entity=f"{model} {type} {id}")
        events.sort(key=lambda e: (to_epoch(e.occurred_at), e.seq))
        return [history_entry(self.registry, e) for e in events]

    def export(self, *, with_ledger_fields: bool = False) -> Iterator[dict[str, Any]]:
        """Events in ledger order as written (importing them into an empty store
        reproduces it), optionally with the ledger's own fields."""
        for event in self.store.iter_events():
            yield event.with_ledger_fields() if with_ledger_fields else event.written()


def _ambiguous(et: EntityType, label: str, rows: builtins.list[dict[str, Any]]) -> UsageError:
    """A group name used in several workflows needs its workflow named."""
    parents = sorted(r["parent"] for r in rows)
    return UsageError(
        f"{label} exists in several {et.parent.type if et.parent else 'parent'}s "
        f"({', '.join(parents)}); give --parent",
        allowed=parents,
    )


def _cut(as_of: TimeArg, known_at: TimeArg) -> TimeCut:
    return TimeCut(
        None if as_of is None else parse_time(as_of),
        None if known_at is None else parse_time(known_at),
    )

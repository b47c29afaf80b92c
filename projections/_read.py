"""Reading the views: rows as the live table holds them, and rows as they were
(or as they were known) at a past time, recomputed from the events."""

from __future__ import annotations

from typing import Any

from ledger import ViewRow
from ledger.spi import TimeCut, stream_key

from . import _table as table
from ._derived import Child
from ._rows import Rows


class Read(Rows):
    """The read side of a projector."""

    def row(
        self, model: str, type_name: str, entity_id: str, parent: str | None
    ) -> list[dict[str, Any]]:
        with self.store.read() as txn:
            return table.find(txn.cursor, model, type_name, entity_id, parent)

    def rows(self, model: str, type_name: str, **filters: Any) -> list[dict[str, Any]]:
        with self.store.read() as txn:
            return table.select(txn.cursor, model, type_name, **filters)

    def count(self, model: str, type_name: str, **filters: Any) -> int:
        with self.store.read() as txn:
            return table.count(txn.cursor, model, type_name, **filters)

    def row_at(
        self, model: str, type_name: str, entity_id: str, parent: str | None, cut: TimeCut
    ) -> ViewRow | None:
        """A row as it was (or as it was known) at a past time, from the events."""
        et = self._type(model, type_name)
        if et is None:
            return None
        if et.derived:
            assert et.child is not None
            child_et = self._type(model, et.child)
            assert child_et is not None
            child_rows = self.rows(model, et.child, parent=entity_id)
            kids = []
            for child in child_rows:
                events = [
                    e
                    for e in self.store.stream(stream_key(model, child_et, child["id"], entity_id))
                    if cut.keeps(e)
                ]
                if events:
                    kid_row, trail = self.project_entity(model, child_et, events)
                    kids.append(Child(kid_row.id, trail, kid_row.last_actor, kid_row.forced))
            own = (
                [
                    e
                    for e in self.store.stream(stream_key(model, et, entity_id, None))
                    if cut.keeps(e)
                ]
                if et.written
                else []
            )
            return self._derive(model, et, child_et, entity_id, own, kids)
        events = [
            e for e in self.store.stream(stream_key(model, et, entity_id, parent)) if cut.keeps(e)
        ]
        if not events:
            return None
        return self.project_entity(model, et, events)[0]

    def dump(self) -> list[tuple[Any, ...]]:
        with self.store.read() as txn:
            return table.dump(txn.cursor)

"""How a projector turns events into table rows: the built-in functions go
straight to the stored JSON form, replaced hooks (candidate projection code in
`replay --projections`) return a `ViewRow` dumped to the same form. Applying,
rebuilding and reading (the other modules) all build their rows here."""

from __future__ import annotations

from collections.abc import Callable

from ledger import EntityType, ModelRegistry, ReadOnlyStore, ViewRow
from ledger.spi import EventStore, StatusChanged

from . import _table as table
from ._derived import (
    Child,
    aggregate_row,
    derive_aggregate,
    derive_last_child,
    last_child_row,
)
from ._entity import Mark, Row, entity_row, project_entity

ViewName = tuple[str, str]
Progress = Callable[[int, int], None]


class Rows:
    """The views of one store under one model registry: the row-building half.

    The three functions that turn events into rows are attributes, so that
    candidate projection code (`replay --projections MODULE`) can replace them."""

    project_entity = staticmethod(project_entity)
    derive_last_child = staticmethod(derive_last_child)
    derive_aggregate = staticmethod(derive_aggregate)

    def __init__(self, store: EventStore, registry: ModelRegistry) -> None:
        self.store = store
        self.registry = registry
        self.claim = ""
        self._merged = {
            (name, et.child)
            for name, model in registry.items()
            for et in model.types.values()
            if et.derived and et.child
        }
        try:
            with store.write() as txn:
                table.create_table(txn.cursor, table.LIVE, indexes=True)
        except ReadOnlyStore:
            pass  # a read-only store is read through the views it already has

    def runs_builtin_code(self) -> bool:
        """Whether spawned workers, which import the installed code, would build the
        same rows; `ViewProjector` answers for itself, anything else scans alone."""
        return False

    def _entity_row(
        self, model: str, et: EntityType, events: list[StatusChanged]
    ) -> tuple[Row, list[Mark]]:
        """The built-in projection goes straight to the stored JSON form; replaced
        hooks (candidate code) return a ViewRow, dumped to the same form."""
        if self.project_entity is project_entity:
            return entity_row(model, et, events)
        row, trail = self.project_entity(model, et, events)
        return row.model_dump(mode="json"), trail

    def _encoded(self, model: str, et: EntityType, events: list[StatusChanged]) -> table.Encoded:
        """A written entity's table row. Trails exist so that derived views can merge
        their children's marks: a type nothing derives from stores none, which is
        most of what a rebuild or an import would otherwise write."""
        row, trail = self._entity_row(model, et, events)
        return table.encode(row, trail if (model, et.name) in self._merged else ())

    def _type(self, model: str, type_name: str) -> EntityType | None:
        found = self.registry.get(model)
        return None if found is None else found.types.get(type_name)

    def _derived_of(self, model: str, child: str) -> list[EntityType]:
        found = self.registry.get(model)
        if found is None:
            return []
        return [t for t in found.types.values() if t.derived and t.child == child]

    def _derive(
        self,
        model: str,
        et: EntityType,
        child_et: EntityType,
        entity_id: str,
        own: list[StatusChanged],
        kids: list[Child],
    ) -> ViewRow | None:
        if et.derived == "last_child":
            return self.derive_last_child(model, et, child_et, entity_id, kids)
        return self.derive_aggregate(model, et, child_et, entity_id, own, kids)

    def _derived_row(
        self,
        model: str,
        et: EntityType,
        child_et: EntityType,
        entity_id: str,
        own: list[StatusChanged],
        kids: list[Child],
    ) -> Row | None:
        """As `_entity_row`, for derived views (a subclass may override `_derive`)."""
        if type(self)._derive is Rows._derive:
            if et.derived == "last_child" and self.derive_last_child is derive_last_child:
                return last_child_row(model, et, child_et, entity_id, kids)
            if et.derived != "last_child" and self.derive_aggregate is derive_aggregate:
                return aggregate_row(model, et, child_et, entity_id, own, kids)
        row = self._derive(model, et, child_et, entity_id, own, kids)
        return None if row is None else row.model_dump(mode="json")


def _includes(views: set[ViewName] | None, model: str, type_name: str) -> bool:
    """Whether a rebuild or an update of `views` (None: every view) covers a type."""
    return views is None or (model, type_name) in views

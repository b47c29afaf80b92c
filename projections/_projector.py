"""`ViewProjector`: the views of one store under one model registry, as the
ledger finds them (entry point `status_ledger.views`). It is the sum of its
parts, each in its own module: building rows (_rows.py), applying events
(_apply.py), rebuilding (_rebuild.py), reading (_read.py) and replaying
candidates (_replay.py); all view SQL is in _table.py."""

from __future__ import annotations

from ledger import ModelRegistry, ReplayReport, RowDiff, ViewSummary
from ledger.spi import Scratch

from ._derived import derive_aggregate, derive_last_child
from ._entity import project_entity
from ._read import Read
from ._rebuild import Rebuild
from ._replay import check_views, replay


class ViewProjector(Rebuild, Read):
    """Keeps the views current exactly once, rebuilds them beside the live ones,
    reads them (now or at a past time) and replays candidate models or code.

    The three functions that turn events into rows are attributes, so that
    candidate projection code (`replay --projections MODULE`) can replace them."""

    def runs_builtin_code(self) -> bool:
        """Whether rows come from the package's own functions: no subclass, no
        replaced hook. Only then can spawned workers share a rebuild."""
        return (
            type(self) is ViewProjector
            and self.project_entity is project_entity
            and self.derive_last_child is derive_last_child
            and self.derive_aggregate is derive_aggregate
        )

    def replay(
        self, candidate: ModelRegistry, projections: str | None, scratch: Scratch
    ) -> ReplayReport:
        """Build the views `candidate` models and `projections` code would give from
        the full history in a scratch store, and compare them with the live ones."""
        return replay(self.store, candidate, projections, scratch, ViewProjector)

    def check_views(self, scratch: Scratch) -> tuple[list[ViewSummary], list[RowDiff]]:
        """The live views against a rebuild into a scratch store (`verify --views`)."""
        return check_views(self.store, self.registry, scratch, ViewProjector)

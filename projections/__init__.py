"""Views of the ledger: current status rows computed from the events, kept
current exactly once, rebuilt on demand, and replayed for candidate changes."""

from ._derived import Child, derive_aggregate, derive_last_child
from ._entity import Mark, current_status, executions, project_entity
from ._projector import ViewProjector

__all__ = [
    "Child",
    "Mark",
    "ViewProjector",
    "current_status",
    "derive_aggregate",
    "derive_last_child",
    "executions",
    "project_entity",
]

"""Status Ledger: an event-sourced, hash-chained ledger of status changes.

Start with `Ledger.open(PATH_OR_URL)` (a context manager); docs/python-api.md
shows recording, bulk loading, reading views and handling errors. `__all__` is
what an application calls: the `Ledger`, its results, its errors and the status
models. What a views implementation builds on (stores, transactions, recorded
events, the worker transport) is `ledger.spi`.
"""

from ._errors import (
    BadJson,
    BadTimestamp,
    ConcurrencyConflict,
    ConnectionFailed,
    DerivedType,
    EntityRuleViolation,
    EventIdConflict,
    ForceWithoutReason,
    IllegalTransition,
    InvalidEvent,
    InvalidField,
    InvalidModel,
    LedgerError,
    MissingField,
    NewerSchema,
    NotALedger,
    NotFound,
    ParentMismatch,
    PermissionDenied,
    ReadOnlyStore,
    StoreError,
    StoreFull,
    UnexpectedField,
    UnknownModel,
    UnknownStatus,
    UnknownType,
    UsageError,
    WrongErrorType,
)
from ._event import EventInput
from ._history import HistoryEntry
from ._ledger import Ledger
from ._outcome import AppendReport, Outcome
from ._verify import VerifyReport
from ._viewrow import StatusRecord, ViewRow, statuses_repr
from .models._diagram import model_diagram
from .models._registry import ModelRegistry
from .models._statusmodel import AggregationSpec, EntityType, StatusModel
from .replay._report import FieldChange, RejectedEvent, ReplayReport, RowDiff, ViewSummary

__all__ = [
    "AggregationSpec",
    "AppendReport",
    "BadJson",
    "BadTimestamp",
    "ConcurrencyConflict",
    "ConnectionFailed",
    "DerivedType",
    "EntityRuleViolation",
    "EntityType",
    "EventIdConflict",
    "EventInput",
    "FieldChange",
    "ForceWithoutReason",
    "HistoryEntry",
    "IllegalTransition",
    "InvalidEvent",
    "InvalidField",
    "InvalidModel",
    "Ledger",
    "LedgerError",
    "MissingField",
    "ModelRegistry",
    "NewerSchema",
    "NotALedger",
    "NotFound",
    "Outcome",
    "ParentMismatch",
    "PermissionDenied",
    "ReadOnlyStore",
    "RejectedEvent",
    "ReplayReport",
    "RowDiff",
    "StatusModel",
    "StatusRecord",
    "StoreError",
    "StoreFull",
    "UnexpectedField",
    "UnknownModel",
    "UnknownStatus",
    "UnknownType",
    "UsageError",
    "VerifyReport",
    "ViewRow",
    "ViewSummary",
    "WrongErrorType",
    "model_diagram",
    "statuses_repr",
]

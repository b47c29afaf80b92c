"""Status Ledger: an event-sourced, hash-chained ledger of status changes.

Start with `Ledger.open(PATH_OR_URL)` (a context manager); docs/python-api.md
shows recording, bulk loading, reading views and handling errors.
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
from ._event import EventInput, StatusChanged, canonical_json
from ._history import HistoryEntry
from ._identity import stream_key
from ._ledger import Ledger
from ._outcome import AppendReport, Outcome
from ._timecut import TimeCut
from ._timestamps import to_epoch
from ._verify import VerifyReport
from ._viewrow import StatusRecord, ViewRow, statuses_repr
from ._views import ViewService, open_store
from .models._diagram import model_diagram
from .models._registry import ModelRegistry
from .models._statusmodel import AggregationSpec, EntityType, StatusModel
from .replay._report import FieldChange, RejectedEvent, ReplayReport, RowDiff, ViewSummary
from .replay._revalidate import rejected_events
from .store._base import Cursor, EventStore, Transaction

__all__ = [
    "AggregationSpec",
    "AppendReport",
    "BadJson",
    "BadTimestamp",
    "ConcurrencyConflict",
    "ConnectionFailed",
    "Cursor",
    "DerivedType",
    "EntityRuleViolation",
    "EntityType",
    "EventIdConflict",
    "EventInput",
    "EventStore",
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
    "StatusChanged",
    "StatusModel",
    "StatusRecord",
    "StoreError",
    "StoreFull",
    "TimeCut",
    "Transaction",
    "UnexpectedField",
    "UnknownModel",
    "UnknownStatus",
    "UnknownType",
    "UsageError",
    "VerifyReport",
    "ViewRow",
    "ViewService",
    "ViewSummary",
    "WrongErrorType",
    "canonical_json",
    "model_diagram",
    "open_store",
    "rejected_events",
    "statuses_repr",
    "stream_key",
    "to_epoch",
]

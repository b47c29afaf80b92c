"""Status Ledger: an event-sourced, hash-chained ledger of status changes.

Start with `Ledger.open(PATH_OR_URL)` (a context manager); docs/python-api.md
shows recording, bulk loading, reading views and handling errors.
"""

from ._demo import DemoResult, build_demo
from ._diagram import model_diagram
from ._errors import (
    BadJson,
    BadTimestamp,
    ConcurrencyConflict,
    ConnectionFailed,
    CorruptStore,
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
from ._ledger import Ledger, OpenMode, ViewService, open_store
from ._outcome import AppendReport, Outcome
from ._outputs import check_output_path
from ._pipe import write_whole
from ._registry import ModelRegistry
from ._replayreport import FieldChange, RejectedEvent, ReplayReport, RowDiff, ViewSummary
from ._revalidate import rejected_events
from ._statusmodel import AggregationSpec, EntityType, StatusModel
from ._store import Cursor, EventStore, Transaction
from ._timecut import TimeCut
from ._timestamps import parse_cli_time, to_epoch
from ._verify import VerifyReport
from ._viewrow import StatusRecord, ViewRow, statuses_repr

__all__ = [
    "AggregationSpec",
    "AppendReport",
    "BadJson",
    "BadTimestamp",
    "ConcurrencyConflict",
    "ConnectionFailed",
    "CorruptStore",
    "Cursor",
    "DemoResult",
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
    "OpenMode",
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
    "build_demo",
    "canonical_json",
    "check_output_path",
    "model_diagram",
    "open_store",
    "parse_cli_time",
    "rejected_events",
    "statuses_repr",
    "stream_key",
    "to_epoch",
    "write_whole",
]

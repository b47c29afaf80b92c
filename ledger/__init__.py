"""Status Ledger: an event-sourced, hash-chained ledger of status changes.

Start with `Ledger.open(PATH_OR_URL)` (a context manager); docs/python-api.md
shows recording, bulk loading, reading views and handling errors. `__all__` is
what an application calls: the `Ledger`, its results, its errors and the status
models. What a views implementation builds on (stores, transactions, recorded
events, the worker transport) is `ledger.spi`.
"""

from ._checkpoint import Checkpoint, generate_key
from ._display import display_time, short_digest
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
    InvalidCheckpoint,
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
    ReservedEventId,
    StoreError,
    StoreFull,
    UnexpectedField,
    UnknownModel,
    UnknownStatus,
    UnknownType,
    UsageError,
    WrongErrorType,
)
from ._event import EventInput, parse_json
from ._history import HistoryEntry
from ._ledger import Ledger
from ._outcome import AppendReport, Outcome
from ._outputs import check_output_path
from ._paging import page_cursor
from ._verify import VerifyReport
from ._viewrow import StatusRecord, ViewRow, statuses_repr
from ._views import OpenMode
from .ingest._nats import ConsumeReport, NatsSource, consume_nats
from .models._diagram import model_diagram
from .models._registry import ModelRegistry
from .models._statusmodel import AggregationSpec, EntityType, StatusModel
from .replay._report import FieldChange, RejectedEvent, ReplayReport, RowDiff, ViewSummary

__all__ = [
    "AggregationSpec",
    "AppendReport",
    "BadJson",
    "BadTimestamp",
    "Checkpoint",
    "ConcurrencyConflict",
    "ConnectionFailed",
    "ConsumeReport",
    "CorruptStore",
    "DerivedType",
    "EntityRuleViolation",
    "EntityType",
    "EventIdConflict",
    "EventInput",
    "FieldChange",
    "ForceWithoutReason",
    "HistoryEntry",
    "IllegalTransition",
    "InvalidCheckpoint",
    "InvalidEvent",
    "InvalidField",
    "InvalidModel",
    "Ledger",
    "LedgerError",
    "MissingField",
    "ModelRegistry",
    "NatsSource",
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
    "ReservedEventId",
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
    "check_output_path",
    "consume_nats",
    "display_time",
    "generate_key",
    "model_diagram",
    "page_cursor",
    "parse_json",
    "short_digest",
    "statuses_repr",
]

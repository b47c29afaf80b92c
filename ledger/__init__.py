"""Status Ledger: an event-sourced, hash-chained ledger of status changes.

Start with `Ledger.open(PATH_OR_URL)` (a context manager); docs/python-api.md
shows recording, bulk loading, reading views and handling errors.
"""

from ._checkpoint import Checkpoint, generate_key
from ._demo import DemoResult, build_demo
from ._diagram import model_diagram
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
from ._event import EventInput, StatusChanged, canonical_json, parse_json
from ._history import HistoryEntry
from ._identity import stream_key
from ._ledger import Ledger, OpenMode, ViewService, open_store
from ._outcome import AppendReport, Outcome
from ._outputs import check_output_path
from ._paging import page_cursor
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
from .ingest._nats import ConsumeReport, NatsSource, consume_nats

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
    "consume_nats",
    "display_time",
    "generate_key",
    "model_diagram",
    "open_store",
    "page_cursor",
    "parse_cli_time",
    "parse_json",
    "rejected_events",
    "short_digest",
    "statuses_repr",
    "stream_key",
    "to_epoch",
    "write_whole",
]

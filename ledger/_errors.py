"""One exception tree, each class carrying the stable code that the CLI, the HTTP
service and the rejects file all report, so callers can branch on the class and
scripts on the code."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class LedgerError(Exception):
    """Base of every error the ledger reports; `code` is stable across releases."""

    code: str = "ledger_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.details}

    def __reduce__(self) -> tuple[Any, ...]:
        """Errors cross between processes (rebuild and prepare workers); pickle's
        default calls the class with the message alone, which subclasses with
        required keywords refuse."""
        return (_restored, (type(self), self.message, self.__dict__))


def _restored(cls: type[LedgerError], message: str, state: dict[str, Any]) -> LedgerError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class InvalidEvent(LedgerError):
    """The input is not an acceptable event; nothing was stored."""

    code = "invalid_event"


class BadJson(InvalidEvent):
    code = "bad_json"


class MissingField(InvalidEvent):
    code = "missing_field"


class UnexpectedField(InvalidEvent):
    code = "unexpected_field"


class InvalidField(InvalidEvent):
    code = "invalid_field"


class ReservedEventId(InvalidField):
    """An event_id in the ledger's own namespace (`sha256:`, `sweep:`, `demo:`)
    that the ledger did not derive from this event (ledger/_reserved.py)."""

    code = "reserved_event_id"


class UnknownModel(InvalidEvent):
    code = "unknown_model"


class UnknownType(InvalidEvent):
    code = "unknown_type"


class DerivedType(InvalidEvent):
    code = "derived_type"


class UnknownStatus(InvalidEvent):
    code = "unknown_status"


class BadTimestamp(InvalidEvent):
    code = "bad_timestamp"


class EntityRuleViolation(InvalidEvent):
    """A rule about one entity's history was broken; names the entity, its current
    status and what it may move to next."""

    code = "entity_rule"

    def __init__(
        self,
        message: str,
        *,
        entity: str,
        current: str | None,
        allowed: Sequence[str],
        **details: Any,
    ) -> None:
        super().__init__(message, entity=entity, current=current, allowed=list(allowed), **details)
        self.entity = entity
        self.current = current
        self.allowed = list(allowed)


class IllegalTransition(EntityRuleViolation):
    code = "illegal_transition"


class ParentMismatch(EntityRuleViolation):
    code = "parent_mismatch"


class WrongErrorType(EntityRuleViolation):
    code = "wrong_error_type"


class EventIdConflict(InvalidEvent):
    code = "event_id_conflict"


class ForceWithoutReason(InvalidEvent):
    code = "force_without_reason"


class NotFound(LedgerError):
    code = "not_found"


class InvalidModel(LedgerError):
    """A status model definition (built-in or user TOML) makes no sense."""

    code = "invalid_model"


class UsageError(LedgerError):
    code = "usage_error"


class StoreError(LedgerError):
    """The database cannot be used: unreachable, read-only, corrupt, full, or foreign."""

    code = "store_error"


class NotALedger(StoreError):
    code = "not_a_ledger"


class CorruptStore(StoreError):
    """The database file fails SQLite's own integrity check: pages of it were
    damaged outside SQLite (a disk, a copy, a hand), whatever the chain says.
    Nothing is written to it; restore it from a backup or an export."""

    code = "corrupt_store"


class NewerSchema(StoreError):
    code = "newer_schema"


class ReadOnlyStore(StoreError):
    code = "read_only"


class StoreFull(StoreError):
    code = "disk_full"


class ConnectionFailed(StoreError):
    code = "connection_failed"


class ConcurrencyConflict(StoreError):
    code = "concurrency_conflict"


class InvalidCheckpoint(LedgerError):
    """A checkpoint file, line or key file cannot be read as one (not the same as a
    checkpoint that reads fine but that the ledger no longer extends: that is a
    `verify` finding)."""

    code = "invalid_checkpoint"


class PermissionDenied(LedgerError):
    code = "permission_denied"

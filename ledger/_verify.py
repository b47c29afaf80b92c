"""Tamper evidence: walk every stored event, its idempotency key and the chain
head, and name the first seq that does not hold, with a stable code per kind of
breakage (BREAKS). The walk reads a page at a time, each page in its own
snapshot with the keys of its events, so memory stays flat on any size of
store; the last page is read in the same snapshot as the head and the key
count, which must then agree with it exactly. Events appended while the walk
runs are walked too, so a store being written to never raises a false alarm."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel

from ._checkpoint import Checkpoint
from ._errors import LedgerError
from ._event import GENESIS_HASH, LEDGER_FIELDS, TOPIC, canonical_json, chain_hash, content_digest
from ._identity import stream_key
from .append._prepare import writable_type
from .models._registry import ModelRegistry
from .models._statusmodel import EntityType
from .replay._report import RowDiff, ViewSummary
from .store._base import EventStore, StoredRow, Transaction

PAGE = 5000

BREAKS = {
    "unreadable_event": "the stored state is not a JSON object",
    "noncanonical_state": "the stored state is not the canonical JSON of its own fields",
    "seq_mismatch": "the event's seq is not the next one: an event is missing or moved",
    "prev_hash_mismatch": "prev_hash is not the previous event's hash",
    "hash_mismatch": "the event's content does not match its hash: it was altered",
    "position_mismatch": "the stored notification id (SQLite rowid) does not match the seq",
    "version_mismatch": "the stored originator_version is not the hashed version",
    "topic_mismatch": "the stored topic is not the ledger's event topic",
    "stream_key_mismatch": "the stored originator_id is not the stream key of the event's entity",
    "key_missing": "the event's idempotency key is missing",
    "key_mismatch": "the event's idempotency key names another digest or seq",
    "key_orphan": "an idempotency key names no event",
    "head_mismatch": "the chain head is not the last event (seq, hash or recorded_at)",
    "tail_missing": "the chain head is past the last event: events were deleted from the end",
    "checkpoint_bad_signature": "a checkpoint's signature does not verify",
    "checkpoint_wrong_key": "a checkpoint was signed with another key than the one given",
    "checkpoint_truncated": "the ledger ends before a checkpoint's seq",
    "checkpoint_rewritten": "the event at a checkpoint's seq has another hash",
    "views_differ": "the views differ from a rebuild of the events",
}
"""Every code a failed verify reports, and what it means (docs/guarantees.md)."""


class VerifyReport(BaseModel):
    """`ok` only when every check held; otherwise `code` (a key of BREAKS) says what
    broke and `first_broken_seq` where (None when no seq is to blame: a checkpoint's
    own signature, or views that differ)."""

    CODES: ClassVar[dict[str, str]] = BREAKS

    ok: bool
    events: int
    head_hash: str
    first_broken_seq: int | None = None
    code: str | None = None
    problem: str | None = None
    checkpoints: int = 0
    views: list[ViewSummary] | None = None
    view_differences: list[RowDiff] = []


class Broken(Exception):
    """The first breakage found; the walk stops there."""

    def __init__(self, seq: int | None, code: str, detail: str) -> None:
        super().__init__(detail)
        self.seq = seq
        self.code = code
        self.detail = detail


def verify_chain(
    store: EventStore,
    registry: ModelRegistry | None = None,
    checkpoints: Sequence[Checkpoint] = (),
    trusted: Ed25519PublicKey | None = None,
) -> VerifyReport:
    """Check the database's own structures (CorruptStore is raised, not reported:
    nothing read from a damaged file can be trusted), the checkpoints' signatures
    (with `trusted`, that they were made with that key), then every event, key
    and the head, and that the ledger extends every checkpoint."""
    store.check_integrity()
    walk = _Walk(registry, checkpoints)
    try:
        for checkpoint in checkpoints:
            found = checkpoint.problem(trusted)
            if found is not None:
                raise Broken(None, *found)
        walk.run(store)
    except Broken as broken:
        return VerifyReport(
            ok=False,
            events=walk.count,
            head_hash=walk.prev,
            first_broken_seq=broken.seq,
            code=broken.code,
            problem=broken.detail,
            checkpoints=len(checkpoints),
        )
    return VerifyReport(
        ok=True, events=walk.count, head_hash=walk.prev, checkpoints=len(checkpoints)
    )


class _Walk:
    """The walk's position (last good seq, its hash and recorded_at, notification
    id) and the checkpoints still ahead of it."""

    def __init__(self, registry: ModelRegistry | None, checkpoints: Sequence[Checkpoint]) -> None:
        self.registry = registry
        self.count = 0
        self.prev = GENESIS_HASH
        self.recorded_at = ""
        self.position = 0
        self.types: dict[tuple[Any, Any], EntityType | None] = {}
        self.pending = sorted(checkpoints, key=lambda c: c.seq)
        self.held: Checkpoint | None = None  # the last checkpoint found to hold

    def run(self, store: EventStore) -> None:
        while self.pending and self.pending[0].seq < 1:  # taken of an empty ledger
            checkpoint = self.pending.pop(0)
            if (checkpoint.seq, checkpoint.hash) != (0, GENESIS_HASH):
                raise Broken(
                    None,
                    "checkpoint_rewritten",
                    f"checkpoint {checkpoint.origin} names seq "
                    f"{checkpoint.seq} with hash {checkpoint.hash[:16]}, which no ledger has",
                )
        while True:
            with store.read() as txn:
                rows = txn.stored_rows(self.position, PAGE)
                self._page(txn, rows)
                if len(rows) < PAGE:
                    self._end(txn)
                    return

    def _page(self, txn: Transaction, rows: list[StoredRow]) -> None:
        """Check the rows in order; the keys of those before the first broken row are
        checked too, so that whichever breaks first in seq order is reported."""
        keys: list[tuple[int, str, str]] = []
        broken: Broken | None = None
        for row in rows:
            try:
                keys.append(self._event(txn, row))
            except Broken as first:
                broken = first
                break
        stored = txn.lookup_event_ids([event_id for _, event_id, _ in keys])
        for seq, event_id, digest in keys:
            found = stored.get(event_id)
            if found is None:
                raise Broken(
                    seq,
                    "key_missing",
                    f"seq {seq}: idempotency key {event_id!r} is "
                    "missing: the same event would be accepted again",
                )
            if found != (digest, seq):
                raise Broken(
                    seq,
                    "key_mismatch",
                    f"seq {seq}: idempotency key {event_id!r} says digest {found[0][:16]} at "
                    f"seq {found[1]}, the event is {digest[:16]} at seq {seq}",
                )
        if broken is not None:
            raise broken

    def _event(self, txn: Transaction, row: StoredRow) -> tuple[int, str, str]:
        """Check one row against the chain so far; returns (seq, event_id, digest) for
        the key check."""
        seq = self.count + 1
        try:
            data: dict[str, Any] = orjson.loads(row.state)
        except orjson.JSONDecodeError:
            data = {}
        if not data or not isinstance(data, dict):
            raise Broken(seq, "unreadable_event", f"seq {seq}: the stored state is not JSON")
        if data.get("seq") != seq:
            raise Broken(
                seq,
                "seq_mismatch",
                f"expected seq {seq}, found seq {data.get('seq')}: an event is missing or moved",
            )
        prev_hash, hash_ = data.pop("prev_hash", None), data.pop("hash", None)
        if prev_hash != self.prev:
            raise Broken(
                seq,
                "prev_hash_mismatch",
                f"seq {seq}: prev_hash does not match the previous "
                "event's hash: an event was removed or altered",
            )
        if chain_hash(self.prev, data) != hash_:  # `data` without its hashes is the body
            raise Broken(
                seq,
                "hash_mismatch",
                f"seq {seq}: the event's content does not match its hash: it was altered",
            )
        data["prev_hash"], data["hash"] = prev_hash, hash_
        if canonical_json(data) != row.state:
            raise Broken(
                seq,
                "noncanonical_state",
                f"seq {seq}: the stored bytes are not the "
                "canonical JSON of the event: they were rewritten",
            )
        self._columns(txn, row, seq, data)
        self._checkpoint(seq, hash_)
        self.count = seq
        self.prev = hash_
        self.recorded_at = str(data.get("recorded_at"))
        self.position = row.notification_id
        event_id = str(data.pop("event_id", None))
        for name in LEDGER_FIELDS:  # what is left is the content, as the key's digest saw it
            data.pop(name, None)
        return seq, event_id, content_digest(data)

    def _columns(self, txn: Transaction, row: StoredRow, seq: int, data: dict[str, Any]) -> None:
        """The columns beside the hashed state: where the event is filed must be
        where its hashed fields say, or reads and rules would miss it."""
        placed = (
            row.notification_id == seq
            if txn.NOTIFICATION_IDS_ARE_SEQS
            else (row.notification_id >= seq)
        )
        if not placed:
            raise Broken(
                seq,
                "position_mismatch",
                f"seq {seq} is stored at notification id {row.notification_id}: it was moved",
            )
        if data.get("version") != row.originator_version:
            raise Broken(
                seq,
                "version_mismatch",
                f"seq {seq}: stored as version "
                f"{row.originator_version} of its stream, hashed as {data.get('version')}",
            )
        if row.topic != TOPIC:
            raise Broken(seq, "topic_mismatch", f"seq {seq}: topic {row.topic!r}, not {TOPIC!r}")
        if row.originator_id not in self._keys(data):
            raise Broken(
                seq,
                "stream_key_mismatch",
                f"seq {seq}: filed under stream "
                f"{row.originator_id}, which is not its entity's: reads and rules miss it",
            )

    def _keys(self, data: dict[str, Any]) -> tuple[str, ...]:
        """The stream key the appender gives the event's entity; for a model or type
        this ledger does not know, either key shape its fields allow."""
        model: Any = data.get("model")
        written: Any = data.get("type")
        entity, parent = data.get("id"), data.get("parent")
        et = self.types.get((model, written), _UNSET)
        if et is _UNSET:
            known = isinstance(model, str) and isinstance(written, str)
            et = _entity_type(self.registry, model, written) if known else None
            self.types[model, written] = et
        if et is not None and isinstance(entity, str):
            return (stream_key(model, et, entity, parent),)
        shapes = [[model, written, entity]] + ([[model, written, parent, entity]] if parent else [])
        return tuple(orjson.dumps(shape).decode() for shape in shapes)

    def _checkpoint(self, seq: int, hash_: str) -> None:
        while self.pending and self.pending[0].seq == seq:
            checkpoint = self.pending.pop(0)
            if checkpoint.hash != hash_:
                held = self.held.seq if self.held else 0
                raise Broken(
                    seq,
                    "checkpoint_rewritten",
                    f"checkpoint {checkpoint.origin} says seq {seq} has hash "
                    f"{checkpoint.hash[:16]}, the ledger has {hash_[:16]}: events after seq "
                    f"{held} were rewritten",
                )
            self.held = checkpoint

    def _end(self, txn: Transaction) -> None:
        """In the snapshot of the last page: the head, the checkpoints past the end
        and the key count must all agree with the events walked."""
        head = txn.head()
        end = self.count
        if head.seq > end:
            raise Broken(
                end + 1,
                "tail_missing",
                f"the chain head says seq {head.seq} but the events "
                f"end at seq {end}: events were deleted from the end",
            )
        if head.seq < end:
            raise Broken(
                head.seq + 1,
                "head_mismatch",
                f"the chain head says seq {head.seq} but the "
                f"events go on to seq {end}: the head was rewound, and the next write "
                "would collide with a stored event",
            )
        if self.pending:
            checkpoint = self.pending[0]
            raise Broken(
                end + 1,
                "checkpoint_truncated",
                f"checkpoint {checkpoint.origin} says the "
                f"ledger reached seq {checkpoint.seq}, it now ends at seq {end}: events were "
                "deleted from the end" + (" and the head moved back" if end else ""),
            )
        txn.cursor.execute("SELECT COUNT(*) FROM ledger_event_ids")
        row = txn.cursor.fetchone()
        keys = int(row[0]) if row else 0
        if keys != end:
            orphans = txn.orphan_event_ids(end)
            seq = min((s for _, s in orphans), default=end + 1)
            named = ", ".join(f"{e!r} (seq {s})" for e, s in orphans[:3])
            raise Broken(
                min(max(seq, 1), end + 1),
                "key_orphan",
                f"{keys} idempotency keys for {end} "
                f"events; no event owns {named or 'some of them'}: an event with that id "
                "would be taken for a duplicate and dropped",
            )
        if end and (head.hash, head.recorded_at) != (self.prev, self.recorded_at):
            raise Broken(
                end,
                "head_mismatch",
                f"the chain head at seq {end} does not match that "
                "event's hash and recorded_at: the head was altered",
            )


_UNSET: Any = object()


def _entity_type(registry: ModelRegistry | None, model: str, written: str) -> EntityType | None:
    if registry is None:
        return None
    try:
        return writable_type(registry, model, written)[0]
    except LedgerError:
        return None

"""External anchoring. The hash chain proves that stored events agree with each
other, not that they are the events once written: whoever can write the database
can rewrite the tail and recompute every hash after it, or cut the tail and move
the head back, and the chain still holds. A checkpoint is a statement, signed
with an Ed25519 key kept away from the database, that the ledger had reached
seq N with head hash H at time T. Kept somewhere the database's writers cannot
change (a file elsewhere, another store, a ticket, a mail), it lets `verify`
prove later that the ledger still extends it: the event at seq N still has hash
H. The statement is one line of canonical JSON; the signature covers every
other field of it."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ._errors import InvalidCheckpoint, StoreError, UsageError
from ._event import canonical_json
from ._timestamps import now_iso
from .store._base import ChainHead

if TYPE_CHECKING:
    from .store._base import EventStore

FORMAT = 1
SQLITE_MAGIC = b"SQLite format 3\x00"
CHECKPOINTS_TABLE = (
    "CREATE TABLE IF NOT EXISTS ledger_checkpoints (statement TEXT PRIMARY KEY, "
    "seq BIGINT NOT NULL, hash TEXT NOT NULL, time TEXT NOT NULL)"
)


class Checkpoint(BaseModel):
    """A signed {seq, hash, time}. `public_key` travels with it so that a damaged
    statement is caught without any key at hand; only a key the verifier already
    trusts (`public_key=` / `--public-key`) proves who made it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    checkpoint: int = FORMAT
    seq: int = Field(ge=0)
    hash: str = Field(pattern="^[0-9a-f]{64}$")
    time: str
    key_id: str
    public_key: str
    signature: str
    origin: str = Field(default="", exclude=True)
    """Where it was read from (FILE:LINE or the store), for messages."""

    def statement(self) -> bytes:
        """The signed bytes: every field but the signature."""
        return canonical_json(self.model_dump(exclude={"signature"}))

    def line(self) -> str:
        return canonical_json(self.model_dump()).decode()

    def problem(self, trusted: Ed25519PublicKey | None) -> tuple[str, str] | None:
        """(code, message) when the statement is not what its signer signed, or was
        not signed with the trusted key; None when it holds."""
        try:
            raw = base64.b64decode(self.public_key, validate=True)
            signer = Ed25519PublicKey.from_public_bytes(raw)
            signer.verify(base64.b64decode(self.signature, validate=True), self.statement())
        except (ValueError, InvalidSignature):
            return "checkpoint_bad_signature", (
                f"checkpoint {self.origin} (seq {self.seq}): the signature does not verify: "
                "the statement was altered or forged"
            )
        if key_id(signer) != self.key_id:
            return "checkpoint_bad_signature", (
                f"checkpoint {self.origin} (seq {self.seq}): key id {self.key_id} is not its key's"
            )
        if trusted is not None and key_id(trusted) != self.key_id:
            return "checkpoint_wrong_key", (
                f"checkpoint {self.origin} (seq {self.seq}) was signed with key "
                f"{self.key_id}, not the given key {key_id(trusted)}"
            )
        return None


def key_id(key: Ed25519PublicKey) -> str:
    """A short name for a key: the first 16 hex digits of sha256 of its raw bytes."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def generate_key(path: str | os.PathLike[str]) -> str:
    """Write a new private key to `path` (PEM, mode 0600) and its public key to
    `path`.pub; returns the key id. An existing file is never overwritten: losing
    a key would leave its checkpoints unverifiable by key."""
    target = Path(path)
    public = target.with_name(target.name + ".pub")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for file, data, mode in ((target, private_pem, 0o600), (public, public_pem, 0o644)):
        try:
            fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        except FileExistsError:
            raise UsageError(f"{file} already exists; nothing was overwritten") from None
        except OSError as exc:
            raise UsageError(f"cannot write key file {str(file)!r}: {exc.strerror}") from None
        with os.fdopen(fd, "wb") as out:
            out.write(data)
    return key_id(key.public_key())


def _read(path: str | os.PathLike[str], what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {what} {str(path)!r}: {exc.strerror}") from None


def load_private_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """The signing key; refused when others may read it, as ssh refuses."""
    data = _read(path, "key file")
    if os.stat(path).st_mode & 0o077:
        raise InvalidCheckpoint(
            f"key file {str(path)!r} can be read by others; `chmod 600` it first"
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidCheckpoint(f"{str(path)!r} is not an unencrypted Ed25519 private key (PEM)")
    return key


def load_public_key(path: str | os.PathLike[str]) -> Ed25519PublicKey:
    """A public key file (`KEYFILE.pub`), or the private key file itself."""
    data = _read(path, "key file")
    with contextlib.suppress(ValueError, TypeError):
        public = serialization.load_pem_public_key(data)
        if isinstance(public, Ed25519PublicKey):
            return public
    with contextlib.suppress(ValueError, TypeError):
        private = serialization.load_pem_private_key(data, password=None)
        if isinstance(private, Ed25519PrivateKey):
            return private.public_key()
    raise InvalidCheckpoint(f"{str(path)!r} is not an Ed25519 key (PEM)")


def make_checkpoint(head: ChainHead, key: Ed25519PrivateKey) -> Checkpoint:
    public = key.public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    unsigned = Checkpoint(
        seq=head.seq,
        hash=head.hash,
        time=now_iso(),
        key_id=key_id(public),
        public_key=base64.b64encode(raw).decode(),
        signature="",
    )
    signature = base64.b64encode(key.sign(unsigned.statement())).decode()
    return unsigned.model_copy(update={"signature": signature})


def append_checkpoint(path: str | os.PathLike[str], checkpoint: Checkpoint) -> None:
    """Add the statement as one line, synced before returning: a checkpoint that
    was reported written must survive a crash."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as exc:
        raise UsageError(f"cannot append to {str(path)!r}: {exc.strerror}") from None
    try:
        os.write(fd, checkpoint.line().encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)


def store_checkpoint(store: EventStore, checkpoint: Checkpoint) -> None:
    with store.write() as txn:
        txn.cursor.execute(CHECKPOINTS_TABLE)
        txn.cursor.execute(
            "INSERT INTO ledger_checkpoints (statement, seq, hash, time) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (statement) DO NOTHING",
            (checkpoint.line(), checkpoint.seq, checkpoint.hash, checkpoint.time),
        )


def is_store(source: str) -> bool:
    """Whether `--against SOURCE` names a store (a URL or an SQLite file) rather
    than a file of checkpoint lines."""
    if source.startswith(("postgresql://", "postgres://")):
        return True
    try:
        with open(source, "rb") as file:
            return file.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def parse_checkpoints(lines: list[tuple[str, str]], source: str) -> list[Checkpoint]:
    """(where, text) pairs; blank lines are skipped. A source without any is an
    error, not a pass: an emptied file must not vouch for the ledger."""
    found = []
    for where, text in lines:
        if not text.strip():
            continue
        try:
            found.append(Checkpoint.model_validate({**orjson.loads(text), "origin": where}))
        except (orjson.JSONDecodeError, TypeError, ValidationError):
            raise InvalidCheckpoint(f"{where}: not a checkpoint statement") from None
    if not found:
        raise InvalidCheckpoint(f"{source} holds no checkpoints")
    return found


def read_checkpoint_file(path: str) -> list[Checkpoint]:
    data = _read(path, "checkpoint file")
    try:
        text = data.decode()
    except UnicodeDecodeError:
        raise InvalidCheckpoint(f"{path}: not a checkpoint file (not UTF-8 text)") from None
    return parse_checkpoints([(f"{path}:{n}", t) for n, t in enumerate(text.splitlines(), 1)], path)


def stored_checkpoints(store: EventStore) -> list[Checkpoint]:
    try:
        with store.read() as txn:
            txn.cursor.execute("SELECT statement FROM ledger_checkpoints ORDER BY seq, time")
            lines = [str(row[0]) for row in txn.cursor.fetchall()]
    except StoreError:
        raise InvalidCheckpoint(f"{store.url} holds no checkpoints") from None
    return parse_checkpoints([(f"{store.url}#{n}", t) for n, t in enumerate(lines, 1)], store.url)

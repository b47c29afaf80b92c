"""API tokens, kept in the ledger's own database so that one backup holds the
events and who may write them. Only a SHA-256 digest of each token is stored: a
token is 256 random bits, so a fast hash is enough and a leaked table grants
nothing. Names are never reused, so `token:NAME` in an event's actor always means
one token, even after it was revoked."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, get_args

from pydantic import BaseModel

from ledger import InvalidField, NotFound, ReadOnlyStore, UsageError
from ledger.spi import TOKENS_TABLE, EventStore

Role = Literal["reader", "writer", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
TOKEN_PREFIX = "slt_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")

TABLE = TOKENS_TABLE


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a token's name and role."""

    name: str
    role: Role

    @property
    def actor(self) -> str:
        return f"token:{self.name}"

    def has(self, role: Role) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


class TokenInfo(BaseModel):
    name: str
    role: Role
    created_at: str
    revoked_at: str | None = None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def check_role(role: str) -> Role:
    for known in ROLES:
        if role == known:
            return known
    raise UsageError(f"unknown role {role!r}; roles are: {', '.join(ROLES)}", allowed=list(ROLES))


class Tokens:
    """The token table of one store."""

    def __init__(self, store: EventStore) -> None:
        """Makes the table where it is missing; a read-only store (a 0444 file, a
        read-only mount) is still served and listed: without the table it has
        no tokens."""
        self.store = store
        self.empty = False
        """A read-only store without the table: no token exists, none can be made."""
        try:
            with store.write() as txn:
                txn.cursor.execute(TABLE)
        except ReadOnlyStore:
            with store.read() as txn:
                self.empty = not txn.has_table("ledger_tokens")

    def create(self, name: str, role: str) -> str:
        """Store a new token and return it; this is the only time it is seen."""
        checked = check_role(role)
        if not _NAME.match(name):
            raise InvalidField(
                f"token name {name!r} must be 1-64 letters, digits, '.', '_', '@' or '-'",
                field="name",
            )
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.store.write() as txn:
            txn.cursor.execute("SELECT revoked_at FROM ledger_tokens WHERE name = ?", (name,))
            if txn.cursor.fetchone() is not None:
                raise UsageError(
                    f"a token named {name!r} exists or existed; names are never reused, "
                    "so that token:NAME in the ledger always means one token"
                )
            txn.cursor.execute(
                "INSERT INTO ledger_tokens (name, role, digest, created_at) VALUES (?, ?, ?, ?)",
                (name, checked, digest(token), _now()),
            )
        return token

    def list(self) -> list[TokenInfo]:
        if self.empty:
            return []
        with self.store.read() as txn:
            txn.cursor.execute(
                "SELECT name, role, created_at, revoked_at FROM ledger_tokens ORDER BY name"
            )
            rows = txn.cursor.fetchall()
        return [
            TokenInfo(name=n, role=check_role(r), created_at=c, revoked_at=v) for n, r, c, v in rows
        ]

    def revoke(self, name: str) -> TokenInfo:
        with self.store.write() as txn:
            txn.cursor.execute(
                "SELECT role, created_at, revoked_at FROM ledger_tokens WHERE name = ?", (name,)
            )
            row = txn.cursor.fetchone()
            if row is None:
                raise NotFound(f"no token named {name!r}")
            role, created_at, revoked_at = row
            if revoked_at is None:
                revoked_at = _now()
                txn.cursor.execute(
                    "UPDATE ledger_tokens SET revoked_at = ? WHERE name = ?", (revoked_at, name)
                )
        return TokenInfo(
            name=name, role=check_role(role), created_at=created_at, revoked_at=revoked_at
        )

    def authenticate(self, token: str) -> Principal | None:
        """The principal of a live token, or None for an unknown or revoked one."""
        if self.empty or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        with self.store.read() as txn:
            txn.cursor.execute(
                "SELECT name, role FROM ledger_tokens WHERE digest = ? AND revoked_at IS NULL",
                (digest(token),),
            )
            row = txn.cursor.fetchone()
        return None if row is None else Principal(row[0], check_role(row[1]))

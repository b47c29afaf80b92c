"""The embedded store: one SQLite file in WAL mode holding eventsourcing's
`stored_events` and `tracking` tables, the ledger's small bookkeeping tables and
the views. Writers take `BEGIN IMMEDIATE` so that a second process waits on the
busy timeout instead of failing a lock upgrade."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteDatastore,
    SQLiteTrackingRecorder,
)

from .._errors import (
    CorruptStore,
    NewerSchema,
    NotALedger,
    NotFound,
    ReadOnlyStore,
    StoreError,
    StoreFull,
)
from .._event import StatusChanged, decode_event
from .._timestamps import now_iso
from ._base import (
    STORE_FORMAT,
    EventStore,
    Transaction,
)
from ._schema import SQLITE_LEDGER_TABLES
from ._sqlite_readonly import read_only_uri
from ._sqlite_txn import SQLiteTransaction

BUSY_TIMEOUT_SECONDS = 60
BULK_CACHE = "PRAGMA cache_size = -65536"
"""The page cache of a bulk write, 64 MB: one append batch inserts into two indexes
keyed by random strings, so it touches thousands of pages, which SQLite's default
2 MB cache read again and again within the transaction (docs/performance.md,
"Numbers behind the code"). The cache fills only with pages actually touched."""
DEFAULT_CACHE = "PRAGMA cache_size = -2000"  # SQLite's own default
SECURE_DELETE = "PRAGMA secure_delete = FAST"
"""Debian builds SQLite with SECURE_DELETE on, which overwrites every freed page
with zeros, so a rebuild's swap wrote its dropped views again as zeros. FAST
zeroes deleted content only where that costs no extra I/O; wiping freed view
pages protects nothing, as every view row is derived from events that stay in
the same file."""


def translate(exc: sqlite3.Error, path: str) -> StoreError:
    text = str(exc)
    if "full" in text:
        return StoreFull(f"{path}: the disk is full; this transaction was rolled back ({text})")
    if "readonly" in text or "read-only" in text:
        return ReadOnlyStore(f"{path}: the database is read-only; nothing was written")
    if "not a database" in text or "malformed" in text:
        return NotALedger(f"{path}: not a readable SQLite database ({text})")
    return StoreError(f"{path}: {text}")


class _ConnectionPool(SQLiteConnectionPool):
    def _create_connection(self) -> SQLiteConnection:
        connection = super()._create_connection()
        connection._sqlite_conn.execute(SECURE_DELETE)
        return connection


class _Datastore(SQLiteDatastore):
    """eventsourcing's datastore over connections set up as the ledger wants them
    (the pool's other options keep eventsourcing's defaults)."""

    def __init__(self, db_name: str, *, lock_timeout: int) -> None:
        super().__init__(
            db_name, lock_timeout=lock_timeout, originator_id_type="text", single_row_tracking=True
        )
        self.pool = _ConnectionPool(db_name=db_name, lock_timeout=lock_timeout)


class SQLiteEventStore(EventStore):
    backend = "sqlite"
    recorder: SQLiteApplicationRecorder

    def __init__(
        self, path: str | os.PathLike[str], *, create: bool = True, check: bool = True
    ) -> None:
        """`create` makes the store when the file is missing or empty; without it
        only an existing ledger opens (`NotFound` otherwise) and nothing is made
        on disk. `check` refuses a damaged file (`_check_integrity`): a writer
        must not add to it, while a reader may still read what is left."""
        self.path = str(Path(path))
        self.url = self.path
        self.address = os.path.abspath(self.path)
        self.read_only = _inspect(self.path, create=create, check=check)
        db_name = read_only_uri(self.path) if self.read_only else self.path
        self.datastore = _Datastore(db_name, lock_timeout=BUSY_TIMEOUT_SECONDS)
        self.recorder = SQLiteApplicationRecorder(self.datastore)
        self.tracking_recorder = SQLiteTrackingRecorder(self.datastore)
        if not self.read_only:
            self._create()

    def wrap(self, raw: sqlite3.Cursor) -> Any:
        from eventsourcing.sqlite import SQLiteCursor

        return SQLiteCursor(raw)

    def _create(self) -> None:
        """Every table, eventsourcing's tracking table included, is made under the
        writer lock: processes creating one new file at once wait for each other
        instead of failing a deferred transaction's lock upgrade."""
        try:
            with self._connection(writer=True) as conn:
                raw = conn._sqlite_conn.cursor()
                raw.execute("BEGIN IMMEDIATE")
                try:
                    cur = self.wrap(raw)
                    self.recorder._create_table(cur)
                    raw.execute(
                        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tracking'"
                    )
                    if raw.fetchone() is None:
                        self.tracking_recorder._create_table(cur)
                    for statement in SQLITE_LEDGER_TABLES:
                        raw.execute(statement)
                    raw.execute(
                        "INSERT OR IGNORE INTO ledger_meta VALUES ('store_format', ?)",
                        (str(STORE_FORMAT),),
                    )
                    raw.execute(
                        "INSERT OR IGNORE INTO ledger_meta VALUES ('created_at', ?)", (now_iso(),)
                    )
                    conn.commit()
                except BaseException:
                    conn.rollback()
                    raise
        except sqlite3.Error as exc:
            raise translate(exc, self.path) from None

    @contextmanager
    def _connection(self, *, writer: bool) -> Iterator[SQLiteConnection]:
        with self.datastore.get_connection(commit=writer) as conn:
            yield conn

    @contextmanager
    def write(self, *, bulk: bool = False) -> Iterator[Transaction]:
        if self.read_only:
            raise ReadOnlyStore(f"{self.path}: the database is read-only; nothing was written")
        try:
            with self._connection(writer=True) as conn:
                raw = conn._sqlite_conn.cursor()
                if bulk:
                    raw.execute(BULK_CACHE)
                raw.execute("BEGIN IMMEDIATE")
                try:
                    yield SQLiteTransaction(self.tracking_recorder, raw)
                    conn.commit()
                except BaseException:
                    conn.rollback()
                    raise
                finally:
                    if bulk:  # the pooled connection outlives this transaction
                        raw.execute(DEFAULT_CACHE)
        except sqlite3.Error as exc:
            raise translate(exc, self.path) from None

    @contextmanager
    def read(self) -> Iterator[Transaction]:
        try:
            with self._connection(writer=False) as conn:
                raw = conn._sqlite_conn.cursor()
                raw.execute("BEGIN")
                try:
                    yield SQLiteTransaction(self.tracking_recorder, raw)
                finally:
                    conn.rollback()
        except sqlite3.Error as exc:
            raise translate(exc, self.path) from None

    @contextmanager
    def reading_events(self) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            raise StoreError(f"{self.path}: cannot read events: {exc}") from None

    def check_integrity(self) -> None:
        """SQLite's `quick_check`: every page of every table and index is read and
        its structure checked (not whether each index agrees with its table, which
        `integrity_check` adds at several times the cost). Damage in a page that no
        query happens to read, an index or a view, is found only this way."""
        try:
            with self._connection(writer=False) as conn:
                found = [str(row[0]) for row in conn._sqlite_conn.execute("PRAGMA quick_check")]
        except sqlite3.DatabaseError as exc:
            found = [str(exc)]
        if found != ["ok"]:
            more = f"; and {len(found) - 3} more" if len(found) > 3 else ""
            shown = "; ".join(found[:3]) + more
            raise CorruptStore(
                f"{self.path}: the database file is damaged (SQLite quick_check: {shown}); "
                "restore it from a backup"
            )

    def streams_with_prefix(self, prefix: str) -> Iterator[StatusChanged]:
        with self.read() as txn:
            txn.cursor.execute(
                "SELECT originator_id, originator_version, state FROM stored_events "
                "WHERE originator_id >= ? AND originator_id < ? "
                "ORDER BY originator_id, originator_version",
                (prefix, prefix + "\U0010ffff"),
            )
            rows = txn.cursor.fetchall()
        for o, v, s in rows:
            yield decode_event(o, v, s)

    def close(self) -> None:
        self.datastore.close()


def _inspect(path: str, *, create: bool, check: bool) -> bool:
    """Refuse files that are not ledgers before eventsourcing touches them; return
    whether the file can only be read. Without `create`, a missing file, an
    empty one and an SQLite database with no tables are `NotFound`: a read
    command given a mistyped path must say so, not report on a new empty ledger."""
    target = Path(path)
    if not target.exists():
        if not create:
            raise NotFound(f"{path}: no ledger here (no such file)", store=path)
        if not target.absolute().parent.is_dir():
            raise StoreError(f"{path}: cannot create the database: no directory {target.parent}")
        if not os.access(target.parent if str(target.parent) else ".", os.W_OK):
            raise ReadOnlyStore(f"{path}: cannot create the database here (directory is read-only)")
        return False
    if target.is_dir():
        raise NotALedger(f"{path}: is a directory, not a ledger database")
    read_only = not os.access(target, os.W_OK)
    if target.stat().st_size == 0:
        if not create:
            raise NotFound(f"{path}: no ledger here (an empty file)", store=path)
        return read_only
    try:
        conn = sqlite3.connect(read_only_uri(path), uri=True)
        try:
            tables = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            if tables and "ledger_meta" not in tables:
                raise NotALedger(
                    f"{path}: is an SQLite database but not a status ledger "
                    f"(tables: {', '.join(sorted(tables)[:5])})"
                )
            if not tables and not create:
                raise NotFound(
                    f"{path}: no ledger here (an SQLite database with no tables)", store=path
                )
            if "ledger_meta" in tables:
                row = conn.execute(
                    "SELECT value FROM ledger_meta WHERE key = 'store_format'"
                ).fetchone()
                if row and not str(row[0]).isdigit():
                    raise NotALedger(f"{path}: unreadable store format {row[0]!r} in ledger_meta")
                if row and int(row[0]) > STORE_FORMAT:
                    raise NewerSchema(
                        f"{path}: written by a newer status-ledger (store format {row[0]}, "
                        f"this version reads {STORE_FORMAT}); upgrade status-ledger"
                    )
            if check and not read_only:
                _check_integrity(conn, path)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise translate(exc, path) from None
    return read_only


QUICK_CHECK_MAX_BYTES = 16 << 20
WHOLE_CHECK = "PRAGMA quick_check(1)"
SMALL_TABLE_CHECKS = tuple(
    f"PRAGMA quick_check('{name}')"
    for name in ("sqlite_schema", "ledger_meta", "ledger_head", "ledger_models", "tracking")
)


def _check_integrity(conn: sqlite3.Connection, path: str) -> None:
    """Refuse to write into a damaged file, checked at a writer's open where that
    is affordable. SQLite's `quick_check` reads every page of the file: on a
    200,000-event store with its views (212 MB, `tests/_attack.history(12500)`
    imported) it took 280 ms with the file in the page cache, more from disk,
    added to every `record`; `quick_check(1)` is no faster (the 1 caps the
    errors reported, not the pages read). At about 1.3 ms per MB, files up to
    QUICK_CHECK_MAX_BYTES (16 MB, some 15,000 events: about 20 ms) get the
    whole check; larger ones get it for the schema and the small bookkeeping
    tables only (0.1 ms each there), and their event and view pages are left
    to `verify`."""
    size = Path(path).stat().st_size
    statements = (WHOLE_CHECK,) if size <= QUICK_CHECK_MAX_BYTES else SMALL_TABLE_CHECKS
    try:
        for statement in statements:
            rows = conn.execute(statement).fetchall()
            if rows != [("ok",)]:
                found = "; ".join(str(r[0]) for r in rows[:3])
                raise CorruptStore(
                    f"{path}: the database file is damaged ({found}); nothing was written. "
                    "Restore it from a backup or an export"
                )
    except sqlite3.DatabaseError as exc:
        raise CorruptStore(
            f"{path}: the database file is damaged ({exc}); nothing was written. "
            "Restore it from a backup or an export"
        ) from None

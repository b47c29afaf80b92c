"""The server store: one PostgreSQL database holding eventsourcing's
`stored_events` and `tracking` tables, the ledger's bookkeeping tables and the
views, written through eventsourcing's `PostgresApplicationRecorder` (psycopg 3).

Several writer processes may share it. Every write transaction first takes one
transaction-level advisory lock: the hash chain is one sequence, so writers queue
for the head exactly as SQLite's `BEGIN IMMEDIATE` makes them, and, as with
eventsourcing's own table lock, insert order equals commit order, so a reader
never passes a notification id that a slower transaction fills in later. The
advisory lock needs no privilege, where eventsourcing's `LOCK TABLE ... EXCLUSIVE`
needs UPDATE or DELETE on `stored_events`: writers of an audit ledger can be
left with INSERT and SELECT. Readers never wait for it. Notification ids come
from a sequence and may skip numbers when a writer rolls back; `seq`, in the
event itself, never does."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any
from urllib.parse import quote

import psycopg
import psycopg.errors
from eventsourcing.persistence import (
    IntegrityError,
    PersistenceError,
)
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresTrackingRecorder,
)
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow

from .._errors import (
    ConnectionFailed,
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
    Follower,
    Transaction,
)
from ._follower import PostgresFollower
from ._postgres_txn import PostgresTransaction
from ._schema import POSTGRES_LEDGER_TABLES

LOCK_TIMEOUT_SECONDS = 60
CONNECT_TIMEOUT_SECONDS = 10


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock, per purpose."""
    digest = hashlib.sha256(f"status-ledger:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


WRITER_LOCK = advisory_key("writer")


class PostgresEventStore(EventStore):
    backend = "postgresql"
    recorder: PostgresApplicationRecorder

    def __init__(self, url: str, *, create: bool = True) -> None:
        """`create`: make the ledger's tables when the database has none; without
        it a database holding no ledger is `NotFound` and is left untouched."""
        params = {k: v for k, v in conninfo_to_dict(url).items() if v is not None}
        params.setdefault("connect_timeout", CONNECT_TIMEOUT_SECONDS)
        self.params: dict[str, Any] = params
        self.address = url
        self.host = str(params.get("host") or "localhost")
        self.port = str(params.get("port") or "5432")
        self.dbname = str(params.get("dbname") or params.get("user") or "")
        user = str(params.get("user") or "")
        self.url = (
            f"postgresql://{quote(user) + '@' if user else ''}{self.host}:{self.port}/"
            f"{quote(self.dbname)}"
        )
        with self.errors(), self.connect() as probe:
            initialised = self._inspect(probe)
            if not initialised and not create:
                raise NotFound(
                    f"{self.url}: no ledger here (the database has no ledger tables)",
                    store=self.url,
                )
            self.datastore = PostgresDatastore(
                dbname=self.dbname,
                host=self.host,
                port=self.port,
                user=user,
                password="",
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
                pool_size=2,
                max_overflow=6,
                pre_ping=True,
                originator_id_type="text",
                single_row_tracking=True,
            )
            # The pool connects with exactly what the URL says (a Unix socket when it
            # names no host, sslmode and the like), not with the datastore's defaults.
            pool_kwargs = self.datastore.pool.kwargs
            assert isinstance(pool_kwargs, dict)
            for key in ("host", "port", "user", "password"):
                pool_kwargs.pop(key, None)
            pool_kwargs.update(params)
            try:
                self.recorder = PostgresApplicationRecorder(self.datastore)
                self.tracking_recorder = PostgresTrackingRecorder(
                    self.datastore, tracking_table_name="tracking"
                )
                if not initialised:
                    self._create(probe)
                self.datastore.register_type_adapters()
            except BaseException:
                self.datastore.close()
                raise

    # -- connections and errors -------------------------------------------------

    def connect(self) -> psycopg.Connection[TupleRow]:
        """A connection of its own (outside the pool), for probing and for workers."""
        try:
            return psycopg.connect(**self.params, autocommit=True)
        except psycopg.Error as exc:
            raise self._translate(exc) from None

    @contextmanager
    def errors(self) -> Iterator[None]:
        """psycopg's and eventsourcing's exceptions as the ledger's, with the server
        named. eventsourcing's IntegrityError passes through: the appender retries it."""
        try:
            yield
        except IntegrityError:
            raise
        except (psycopg.Error, PersistenceError) as exc:
            raise self._translate(exc) from None

    def _translate(self, exc: BaseException) -> StoreError:
        cause = exc.__cause__ if isinstance(exc, PersistenceError) and exc.__cause__ else exc
        text = " ".join(str(cause).split()) or type(cause).__name__
        where = f"PostgreSQL database {self.dbname!r} on {self.host}:{self.port}"
        if isinstance(cause, psycopg.errors.DiskFull):
            return StoreFull(f"{where}: the disk is full; the transaction was rolled back ({text})")
        denied = psycopg.errors.InsufficientPrivilege | psycopg.errors.ReadOnlySqlTransaction
        if isinstance(cause, denied):
            return ReadOnlyStore(f"{where}: not allowed to write ({text}); nothing was written")
        if isinstance(cause, psycopg.errors.LockNotAvailable):
            return StoreError(
                f"{where}: another writer held the ledger for {LOCK_TIMEOUT_SECONDS}s; "
                "nothing was written, try again"
            )
        if isinstance(cause, psycopg.OperationalError | psycopg.InterfaceError):
            return ConnectionFailed(
                f"cannot use {where}: {text}", host=self.host, database=self.dbname
            )
        return StoreError(f"{where}: {text}")

    # -- schema -----------------------------------------------------------------

    def _inspect(self, conn: psycopg.Connection[TupleRow], *, creating: bool = False) -> bool:
        """Whether the database already holds a ledger this version can use. An
        `stored_events` table without `ledger_meta` is another process creating the
        store, or one that died doing so, unless it holds events or another id type:
        then it belongs to some other application and is left alone."""
        row = conn.execute(
            "SELECT to_regclass('ledger_meta') IS NOT NULL, "
            "to_regclass('stored_events') IS NOT NULL"
        ).fetchone()
        assert row is not None
        has_meta, has_events = row
        if not has_meta:
            if has_events and creating and self._foreign(conn):
                raise NotALedger(
                    f"{self.url}: holds another application's stored_events table; "
                    "not a status ledger"
                )
            return False
        found = conn.execute("SELECT value FROM ledger_meta WHERE key = 'store_format'").fetchone()
        if found is None:
            return False
        if not str(found[0]).isdigit():
            raise NotALedger(f"{self.url}: unreadable store format {found[0]!r} in ledger_meta")
        if int(found[0]) > STORE_FORMAT:
            raise NewerSchema(
                f"{self.url}: written by a newer status-ledger (store format {found[0]}, "
                f"this version reads {STORE_FORMAT}); upgrade status-ledger"
            )
        return True

    @staticmethod
    def _foreign(conn: psycopg.Connection[TupleRow]) -> bool:
        row = conn.execute(
            "SELECT EXISTS (SELECT FROM stored_events) "
            "OR format_type(atttypid, atttypmod) <> 'text' FROM pg_attribute "
            "WHERE attrelid = 'stored_events'::regclass AND attname = 'originator_id'"
        ).fetchone()
        return row is None or bool(row[0])

    def _create(self, probe: psycopg.Connection[TupleRow]) -> None:
        """eventsourcing's own create_table for its tables, then the ledger's, under
        an advisory lock so that processes opening a new store at once do not race
        on the catalog. `ledger_meta` is written last: its row means 'complete'."""
        key = advisory_key("create")
        probe.execute("SELECT pg_advisory_lock(%s)", (key,))
        try:
            if self._inspect(probe, creating=True):
                return
            self.recorder.create_table()
            self.tracking_recorder.create_table()
            with probe.transaction():
                for statement in POSTGRES_LEDGER_TABLES:
                    probe.execute(statement)
                probe.execute(
                    "INSERT INTO ledger_meta VALUES ('store_format', %s) ON CONFLICT DO NOTHING",
                    (str(STORE_FORMAT),),
                )
                probe.execute(
                    "INSERT INTO ledger_meta VALUES ('created_at', %s) ON CONFLICT DO NOTHING",
                    (now_iso(),),
                )
        finally:
            probe.execute("SELECT pg_advisory_unlock(%s)", (key,))

    # -- transactions -----------------------------------------------------------

    @contextmanager
    def write(self, *, bulk: bool = False) -> Iterator[Transaction]:
        with self.errors(), self.datastore.get_connection() as conn, conn.transaction():
            conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_SECONDS}s'")
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK,))
            yield PostgresTransaction(self.recorder, self.tracking_recorder, conn)

    @contextmanager
    def read(self) -> Iterator[Transaction]:
        """One snapshot for every statement, as SQLite's read transaction gives."""
        with (
            self.errors(),
            self.datastore.get_connection() as conn,
            conn.transaction(force_rollback=True),
        ):
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield PostgresTransaction(self.recorder, self.tracking_recorder, conn)

    # -- reads outside a transaction -------------------------------------------------

    def reading_events(self) -> AbstractContextManager[None]:
        return self.errors()

    def streams_with_prefix(self, prefix: str) -> Iterator[StatusChanged]:
        with self.read() as txn:
            txn.cursor.execute(
                "SELECT originator_id, originator_version, state FROM stored_events "
                "WHERE starts_with(originator_id, ?) ORDER BY originator_id, originator_version",
                (prefix,),
            )
            rows = txn.cursor.fetchall()
        for o, v, s in rows:
            yield decode_event(o, v, s)

    @contextmanager
    def follower(self, name: str) -> Iterator[Follower]:
        line = PostgresFollower(
            self.connect(), self.errors, self.recorder.channel_name, advisory_key(f"worker:{name}")
        )
        try:
            yield line
        finally:
            line.close()

    def close(self) -> None:
        self.datastore.close()

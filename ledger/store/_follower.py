"""The PostgreSQL follower: how the long-lived projection worker
(`status-ledger project --follow`) holds its lease and wakes up on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import psycopg
from psycopg.sql import SQL, Identifier

from ._base import Follower


class PostgresFollower(Follower):
    """A dedicated session: LISTEN on eventsourcing's channel (every insert NOTIFYs
    it at commit) and a session-level advisory lock as the lease. The server
    drops both the moment the worker's connection goes, killed or not."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        errors: Callable[[], AbstractContextManager[None]],
        channel: str,
        key: int,
    ) -> None:
        self.errors = errors
        self.key = key
        self.leading = False
        self.conn = conn
        self.conn.execute(SQL("LISTEN {0}").format(Identifier(channel)))

    def lead(self) -> bool:
        if not self.leading:
            with self.errors():
                row = self.conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
            self.leading = bool(row and row[0])
        return self.leading

    def wait(self, timeout: float) -> None:
        with self.errors():
            for _ in self.conn.notifies(timeout=timeout, stop_after=1):
                pass

    def close(self) -> None:
        self.conn.close()

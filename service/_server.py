"""How the service is run: uvicorn with limits that keep it answering under a
flood of slow or idle connections, and a log that says so in a few lines.

uvicorn on its own waits for ever for a request head that never ends, so
20,000 half-sent connections used up the process's file descriptors: `/health`
stopped answering and every failed accept logged a traceback. Here every
request must arrive whole within `request_timeout`, open connections are capped
below the descriptor limit, and a connection over the cap closes the oldest
one still sending its request, so a new client always gets through."""

from __future__ import annotations

import copy
import logging
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import h11
import uvicorn
from uvicorn.config import LOGGING_CONFIG
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("status_ledger.service")

RESERVED_DESCRIPTORS = 64
"""File descriptors kept back from connections: the database, its journal,
the listening socket, log files and what the libraries open."""
BACKLOG = 64
"""Connections the kernel queues before they are accepted. asyncio accepts up to
this many per turn of its loop, and a burst is open for about three turns before
the cap below has closed as many, so three bursts' descriptors are kept back too."""


@dataclass(frozen=True, slots=True)
class Limits:
    """What one client may hold of the server."""

    max_connections: int = 1000
    """Open connections at most (lowered to fit the file-descriptor limit)."""
    request_timeout: float = 20.0
    """Seconds a request's head and body may take to arrive, from the connection
    (or the previous response) on; slow senders are closed, not waited for."""
    keep_alive: float = 5.0
    """Seconds an idle kept-alive connection stays open."""
    requests_per_connection: int = 1000
    """Requests one kept-alive connection may make before it is closed."""
    max_head_bytes: int = 16 * 1024
    """Largest request line plus headers (400 above)."""

    def fitted(self) -> Limits:
        """These limits with `max_connections` below the soft descriptor limit."""
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY:
            return self
        room = max(1, soft - RESERVED_DESCRIPTORS - 3 * BACKLOG)
        if self.max_connections <= room:
            return self
        return Limits(
            room,
            self.request_timeout,
            self.keep_alive,
            self.requests_per_connection,
            self.max_head_bytes,
        )


def server_config(
    app: Any, *, host: str, port: int, limits: Limits | None = None, log_level: str = "info"
) -> uvicorn.Config:
    """The uvicorn configuration `status-ledger serve` runs `app` with."""
    fitted = (limits or Limits()).fitted()
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=guarded_protocol(fitted),
        timeout_keep_alive=int(max(1, fitted.keep_alive)),
        # The cap on connections holds first; this bounds requests in flight, with
        # room for connections closed by the cap but not yet gone (see BACKLOG).
        limit_concurrency=fitted.max_connections + 3 * BACKLOG,
        h11_max_incomplete_event_size=fitted.max_head_bytes,
        backlog=BACKLOG,
        server_header=False,
        log_config=log_config(),
        log_level=log_level,
    )


def guarded_protocol(limits: Limits) -> type[H11Protocol]:
    """uvicorn's h11 protocol with a deadline for each request, a cap on open
    connections and on requests per connection. One class per server: the
    connections still sending a request, oldest first, are its eviction order."""
    receiving: dict[Guarded, None] = {}

    class Guarded(H11Protocol):
        _deadline: Any = None
        _served = 0

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            if len(self.connections) > limits.max_connections:
                oldest = next(iter(receiving), None)
                if oldest is None:
                    log.warning(
                        "connection limit (%d) reached and every connection is busy; "
                        "refused a new one",
                        limits.max_connections,
                    )
                    self.transport.close()
                    return
                log.warning(
                    "connection limit (%d) reached; closed the oldest connection still "
                    "sending its request",
                    limits.max_connections,
                )
                oldest._close()
            self._await_request()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self._deadline is not None and self.conn.their_state not in (
                h11.IDLE,
                h11.SEND_BODY,
            ):
                self._request_in()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if self.transport.is_closing():
                return
            self._served += 1
            if self._served >= limits.requests_per_connection:
                self._close()
            elif self.conn.their_state in (h11.IDLE, h11.SEND_BODY):
                self._await_request()

        def connection_lost(self, exc: Exception | None) -> None:
            self._request_in()
            super().connection_lost(exc)

        def _await_request(self) -> None:
            self._request_in()
            receiving[self] = None
            self._deadline = self.loop.call_later(limits.request_timeout, self._too_slow)

        def _request_in(self) -> None:
            receiving.pop(self, None)
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            log.info(
                "closed a connection whose request did not arrive within %g s",
                limits.request_timeout,
            )
            self._close()

        def _close(self) -> None:
            """Close without an answer: the client is sending nothing useful, and a
            request cut short this way reaches the app as a disconnect."""
            self._request_in()
            if not self.transport.is_closing():
                self.transport.close()

    return Guarded


class RepeatFilter(logging.Filter):
    """Lets `burst` lines with the same first line through per `window` seconds
    and counts the rest; the first one let through after that says how many were
    left out. A flood of one failure is then a few lines, not megabytes. (The
    first line, not the whole message: asyncio's repeat the failure and differ
    only in a timer's time on the next line.)"""

    def __init__(
        self, burst: int = 5, window: float = 10.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.burst = burst
        self.window = window
        self.clock = clock
        self._seen: dict[tuple[str, int, str], list[float]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, record.getMessage().split("\n", 1)[0])
        now = self.clock()
        seen = self._seen.get(key)
        if seen is None or now - seen[0] >= self.window:
            left_out = int(seen[2]) if seen is not None else 0
            self._forget_before(now)
            self._seen[key] = [now, 1, 0]
            if left_out:
                headline, newline, rest = record.getMessage().partition("\n")
                record.msg = f"{headline} (and {left_out} more like it left out){newline}{rest}"
                record.args = None
            return True
        seen[1] += 1
        if seen[1] <= self.burst:
            return True
        seen[2] += 1
        return False

    def _forget_before(self, now: float) -> None:
        """Distinct lines (access lines name each client) must not pile up."""
        if len(self._seen) > 1000:
            for key in [k for k, v in self._seen.items() if now - v[0] >= self.window]:
                del self._seen[key]


def log_config() -> dict[str, Any]:
    """uvicorn's logging with the repeat filter on every handler, and the
    service's and asyncio's loggers sent through the same handler."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"repeats": {"()": RepeatFilter}}
    for handler in config["handlers"].values():
        handler["filters"] = ["repeats"]
    for name in ("status_ledger", "asyncio"):
        config["loggers"][name] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config

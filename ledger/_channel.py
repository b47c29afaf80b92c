"""The one worker transport: the prepare worker (append/_worker.py) and the
rebuild workers (projections/_parallel.py) are started and talked to here.

A worker is a fresh interpreter, not a fork: a fork would copy SQLite
connections, their locks and this process's threads. Nor is it
multiprocessing's spawn, which re-imports the caller's main module and so
breaks a script that appends or rebuilds without an `if __name__ ==
"__main__"` guard. It imports what this process imports, wherever its
directory is.

Messages travel over the worker's stdin and stdout as
`multiprocessing.connection` frames (a length, then a pickle): a message is
pickled whole before its first byte is written, so one that cannot be pickled
writes nothing, and it is written until its last byte even when a signal cuts
a write into a full pipe short (stopping and continuing a process, Ctrl-Z and
fg; see docs/performance.md). A reader sees a whole message or EOFError."""

from __future__ import annotations

import os
import subprocess
import sys
from multiprocessing.connection import Connection
from typing import Any


class Worker:
    """A worker process running `entry` (a statement such as
    `from m import main; main()`) and the two ends of its channel here."""

    def __init__(self, entry: str) -> None:
        path = os.pathsep.join(os.path.abspath(p or os.curdir) for p in sys.path)
        self.process = subprocess.Popen(
            [sys.executable, "-c", entry],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": path},
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.outbox = Connection(os.dup(self.process.stdin.fileno()), readable=False)
        self.inbox = Connection(os.dup(self.process.stdout.fileno()), writable=False)
        self.process.stdin.close()
        self.process.stdout.close()

    def send(self, message: object) -> None:
        self.outbox.send(message)

    def send_bytes(self, pickled: bytes) -> None:
        """A message pickled by the caller (who wants to know first whether it can be)."""
        self.outbox.send_bytes(pickled)

    def receive(self) -> Any:
        return self.inbox.recv()

    def exits_within(self, seconds: float | None) -> int | None:
        """The exit code, if the process ends within `seconds` (None: waits)."""
        try:
            return self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def close_outbox(self) -> None:
        self.outbox.close()

    def close_inbox(self) -> None:
        self.inbox.close()


def worker_channel() -> tuple[Connection, Connection]:
    """In a worker: the messages it reads and the replies it writes. The channel
    owns stdout, so anything else the worker prints goes to stderr."""
    messages = Connection(os.dup(0), writable=False)
    replies = Connection(os.dup(1), readable=False)
    sys.stdout = sys.stderr
    return messages, replies

"""Pickled messages between a process and a worker it started (the import's
prepare worker, _prepare_worker.py), and `write_whole`, which every writer into
a pipe uses: these messages, the rebuild's (projections/_parallel.py) and the
command line's JSON output (cli/_output.py).

A worker is a fresh interpreter, not a fork: a fork would copy SQLite
connections, their locks and this process's threads. It imports what this
process imports, wherever its directory is.

Bytes are written with `os.write` until every one is in the pipe. A signal
that interrupts a write into a full pipe part-way, as stopping and continuing
a process does (Ctrl-Z, then fg), makes the write return the bytes it wrote;
through CPython 3.11's buffered writer the stream then lost bytes (4 to 12 KB
of 53 MB, in each of two runs stopped 80 times; none written this way): the
reader found no pickle where the next one should begin, and an import hung or
failed; `list --json | slow-reader` ended short with exit code 0. Reading
through the buffered reader was not affected."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from typing import IO, Any


def spawn(entry: str) -> subprocess.Popen[bytes]:
    """A worker running `entry`, a statement such as `from m import main; main()`,
    that reads its messages from its stdin and writes its replies to its stdout."""
    path = os.pathsep.join(os.path.abspath(p or os.curdir) for p in sys.path)
    return subprocess.Popen(
        [sys.executable, "-c", entry],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": path},
    )


def send(pipe: IO[bytes], message: object) -> None:
    """Pickled whole before its first byte is written, so that a message that
    cannot be pickled writes nothing."""
    write_whole(pipe, pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))


def write_whole(stream: IO[Any], data: bytes | bytearray) -> None:
    """Every byte of `data` into the file under `stream`, however many `os.write`
    calls it takes. The stream's own buffer is flushed first (it is empty unless
    something wrote through it), so the output keeps its order. A stream with no
    file under it raises io.UnsupportedOperation before anything is written."""
    stream.flush()
    fd = stream.fileno()
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def receive(pipe: IO[bytes]) -> Any:
    return pickle.load(pipe)


def worker_pipes() -> tuple[IO[bytes], IO[bytes]]:
    """A worker's messages and replies. The protocol owns stdout, so anything
    else the worker prints goes to stderr."""
    messages, replies = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr
    return messages, replies

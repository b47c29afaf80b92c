"""Preparing a long append's inputs in a second process.

Parsing and validating an input, and working out its digest and event id
(_prepare.py), take a third of an import's CPU time and need no store, while the
rest (the rules, the chain, the inserts and the views) must run in order in the
writing process. So a long append hands its inputs to a worker in chunks and
places what comes back while the worker prepares the next chunk.

The worker is started and talked to through the one worker transport
(_channel.py), as the rebuild's workers are: it reads chunks and writes one
reply per chunk. One thread of the appending process feeds it and another reads its
replies as they come: one thread doing both could block on a full pipe while the
worker blocks on the other, and replies left in the pipe while the appender
commits a batch stall the worker (docs/performance.md). The pipe's small buffer
keeps the feeder a chunk or two ahead, the reply queue's bound the worker. The
worker holds no state that matters: if it dies, the append stops with a
StoreError, and every batch committed before stays committed, as with any
interrupted append."""

from __future__ import annotations

import contextlib
import gc
import pickle
import queue
import threading
from collections.abc import Iterator
from itertools import islice
from multiprocessing.connection import Connection
from typing import NamedTuple

from .._channel import Worker, worker_channel
from .._errors import LedgerError, StoreError
from ..models._registry import ModelRegistry
from ._prepare import Prepared, Preparer, RawInput, Wire

CHUNK = 1000
"""Inputs per message: large enough that pickling overhead per chunk is noise,
small enough that the two processes overlap from the first chunks."""

AHEAD = 16
"""Replies read and not yet taken, at most: a few batches' worth of inputs."""

Result = Prepared | tuple[int, LedgerError]
"""An input prepared, or its index and why it was rejected."""
Reply = list[Wire | tuple[int, LedgerError | None]]
Handover = tuple[Iterator[RawInput], int, dict[str, int]]


class Setup(NamedTuple):
    """The worker's first message: the models, and the derived event ids' ordinals
    counted so far (sent once the appender hands the inputs over)."""

    registry: ModelRegistry


class Chunk(NamedTuple):
    """Inputs numbered from `first`; None marks one kept by the appending process."""

    first: int
    inputs: list[RawInput | None]


class PrepareWorker:
    """The worker process and the two threads of this process that talk to it.
    The worker starts at once and says when it is ready (its imports take about
    half a second); until then the appender goes on preparing inputs itself, and
    then hands the rest over with `prepared`, which yields their results in
    input order."""

    def __init__(self, registry: ModelRegistry) -> None:
        self.preparer = Preparer(registry)
        self.ready = threading.Event()
        self.handover: queue.Queue[Handover | None] = queue.Queue(1)
        self.feed_error: BaseException | None = None
        self.received: queue.Queue[Reply | StoreError | None] = queue.Queue(AHEAD)
        self.unsent: dict[int, RawInput] = {}
        self.writing = threading.Lock()
        self.worker = Worker("from ledger.append._worker import main; main()")
        self.feeder = threading.Thread(target=self._feed, args=(registry,), daemon=True)
        self.receiver = threading.Thread(target=self._receive, daemon=True)
        self.feeder.start()
        self.receiver.start()

    def prepared(
        self, inputs: Iterator[RawInput], first: int, ordinals: dict[str, int]
    ) -> Iterator[Result]:
        """Results for `inputs`, numbered from `first`, derived event ids counting
        on from `ordinals`. An error raised by `inputs` itself is raised here after
        the results of the inputs before it."""
        self.handover.put((inputs, first, ordinals))
        while (reply := self.received.get()) is not None:
            if isinstance(reply, StoreError):
                raise reply
            for item in reply:
                if item[1] is None:
                    yield self._here(item[0])
                elif isinstance(item[1], LedgerError):
                    yield item[0], item[1]
                else:
                    yield self.preparer.unwire(item)
        self.feeder.join()
        if self.feed_error is not None:
            raise self.feed_error

    def _feed(self, registry: ModelRegistry) -> None:
        try:
            self._put(Setup(registry))
            handover = self.handover.get()
            if handover is None:  # closed before the worker was needed
                return
            inputs, first, ordinals = handover
            self._put(ordinals)
            for chunk in self._pulled(inputs):
                self._send(first, chunk)
                first += len(chunk)
            self._put(None)
        except (OSError, ValueError):  # ValueError: the pipe closed by `close`
            return  # the worker is gone: the receiver reports it

    def _send(self, first: int, chunk: list[RawInput]) -> None:
        """An input that cannot be pickled (a dict holding a local class's object,
        say) stays here, and the worker sends back its index for this process to
        prepare it, as it would alone."""
        try:
            message = pickle.dumps(Chunk(first, list(chunk)), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:
            sendable: list[RawInput | None] = []
            for index, raw in enumerate(chunk, first):
                try:
                    pickle.dumps(raw)
                except Exception:
                    self.unsent[index] = raw
                    sendable.append(None)
                else:
                    sendable.append(raw)
            message = pickle.dumps(Chunk(first, sendable), protocol=pickle.HIGHEST_PROTOCOL)
        self._write(message)

    def _put(self, message: object) -> None:
        self._write(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))

    def _write(self, message: bytes) -> None:
        """Under the lock that `close` takes to close the channel: the feeder writes
        to its file descriptor, whose number the system may give to another file
        once it is closed."""
        with self.writing:
            self.worker.send_bytes(message)

    def _here(self, index: int) -> Result:
        try:
            return self.preparer(index, self.unsent.pop(index))
        except LedgerError as error:
            return index, error

    def _pulled(self, inputs: Iterator[RawInput]) -> Iterator[list[RawInput]]:
        """The inputs in chunks. An error the inputs raise ends them after the
        inputs before it, and is kept for `prepared` to raise."""
        while True:
            chunk: list[RawInput] = []
            try:
                for raw in islice(inputs, CHUNK):
                    chunk.append(raw)
            except BaseException as exc:
                self.feed_error = exc
            if chunk:
                yield chunk
            if self.feed_error is not None or len(chunk) < CHUNK:
                return

    def _receive(self) -> None:
        """Replies are read as soon as they come, not when the appender asks: while
        it commits a batch, the worker would otherwise fill the pipe and stall."""
        try:
            self.worker.receive()  # the worker is ready
            self.ready.set()
            while (reply := self.worker.receive()) is not None:
                self.received.put(reply)
            self.received.put(None)
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            self.received.put(self._stopped(exc))

    def _stopped(self, cause: BaseException) -> StoreError:
        """A reply cut short by the worker's death is unreadable too, so only a
        worker still running a moment later sent a bad one."""
        code = self.worker.exits_within(None if isinstance(cause, EOFError) else 2)
        if code is None:
            return StoreError(f"the prepare worker sent an unreadable reply: {cause!r}")
        return StoreError(
            f"the prepare worker stopped (exit code {code}); the batches "
            "committed before it stopped stay committed, and importing the same input "
            "again skips them as duplicates"
        )

    def close(self) -> None:
        self.worker.kill()
        with contextlib.suppress(queue.Full):
            self.handover.put_nowait(None)
        # the worker is gone, so a feeder blocked writing into a full pipe has
        # failed with EPIPE and let go of the lock
        with self.writing:
            self.worker.close_outbox()
        while self.receiver.is_alive():  # it may wait for room in the queue
            with contextlib.suppress(queue.Empty):
                self.received.get_nowait()
            self.receiver.join(0.01)
        self.worker.close_inbox()
        # the feeder is left to end on its own: it may be waiting on the caller's
        # inputs (a pipe, a socket), and it is a daemon thread


def _serve(chunks: Connection, replies: Connection) -> None:
    setup: Setup = chunks.recv()
    replies.send("ready")
    preparer = Preparer(setup.registry, chunks.recv())
    while (message := chunks.recv()) is not None:
        first, inputs = message
        reply: Reply = []
        for index, raw in enumerate(inputs, first):
            if raw is None:  # kept by the appending process: it prepares this one
                reply.append((index, None))
                continue
            try:
                reply.append(Preparer.wire(preparer(index, raw)))
            except LedgerError as error:
                reply.append((index, error))
        replies.send(reply)
    replies.send(None)


def main() -> None:
    """The worker's entry point. It owns its process, so it collects garbage as
    seldom as the import command does (cli/_write.py)."""
    gc.freeze()
    gc.set_threshold(200_000, 50, 100)
    chunks, replies = worker_channel()
    with contextlib.suppress(EOFError, BrokenPipeError):  # the appender is gone: nothing to do
        _serve(chunks, replies)

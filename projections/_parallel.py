"""A rebuild's scan shared between processes.

Projecting is CPU-bound Python (decoding events, building rows), so a rebuild in
one process leaves every other core idle. The stream key space is cut into ranges
of about equal event counts (`Transaction.stream_bounds`); the rebuilding process
and its workers take ranges from one dispenser until none are left, each writing
its rows into `views_next` in its own short transactions. Derived views and the
swap stay in the rebuilding process, after every range is written.

A worker is a fresh interpreter running `_rebuild_worker.main()`, not a fork: an SQLite
connection, and SQLite's per-process lock bookkeeping, must not cross a fork, so
each worker opens the store itself. It is started and talked to through the
ledger's one worker transport (`ledger.spi.Worker`): a job, then the typed
requests below (ranges, progress, derived pieces, its result or error), served
here by one thread per worker. A worker needs about half a second to start; the dispenser
hands ranges to whoever is free, so that start-up delays only the worker."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, Literal, NamedTuple, Protocol, TypeVar

from ledger import ModelRegistry, StoreError
from ledger.spi import EventStore, StatusChanged, Transaction, Worker

from ._rows import ViewName

MIN_EVENTS = 50_000
"""Below this, a rebuild takes about as long as starting a worker, so it scans alone."""
RANGES_PER_PROCESS = 8
"""Ranges of 1/8 of a process's share: a worker that starts late, or a range that
turns out slow, still finds work left to take."""
TAIL_SPLIT = 8
"""The last ranges shrink down to about 1/8 of the others, so that when one process
takes the last range the others are never left waiting long for it (with equal
ranges a process sat idle for about half a range)."""
MAX_WORKERS = 32
DEFAULT_WORKERS = 2
"""Processes an automatic rebuild uses at most: two already halve the scan; more
would mostly contend for the single writer lock that every flush takes."""

Own = dict[tuple[str, str, str], list[StatusChanged]]
Range = tuple[str, str | None]
T = TypeVar("T")


class Builder(Protocol):
    """The projector's side of a shared rebuild (see _rebuild.py)."""

    store: EventStore
    registry: ModelRegistry
    claim: str

    def runs_builtin_code(self) -> bool: ...

    def holds_claim(self, txn: Transaction) -> bool: ...

    def build_ranges(
        self, upto: int, selected: set[ViewName] | None, ranges: Iterable[Range], tally: Tally
    ) -> Own: ...

    def derived_jobs(
        self, selected: set[ViewName] | None, own: Own, pieces: int = ...
    ) -> list[DerivedJob]: ...

    def build_derived(self, job: DerivedJob) -> None: ...


def worker_count(projector: Builder, requested: int | None, events: int) -> int:
    """How many processes scan. Replaced projection code (`replay --projections`)
    always scans in this process alone: a worker could not import it."""
    if not projector.runs_builtin_code():
        return 1
    if requested is not None:
        return max(1, min(requested, MAX_WORKERS))
    if events < MIN_EVENTS:
        return 1
    return max(1, min(DEFAULT_WORKERS, os.cpu_count() or 1))


class Tally:
    """Events scanned so far by every process; reports progress through the
    rebuilding process's callback, and only from its own thread."""

    def __init__(self, report: Callable[[int], None] | None = None) -> None:
        self.report = report
        self.done = 0
        self._lock = threading.Lock()

    def count(self, events: int) -> int:
        with self._lock:
            self.done += events
            return self.done

    def add(self, events: int) -> None:
        done = self.count(events)
        if self.report:
            self.report(done)


def range_cuts(processes: int) -> list[float]:
    """Where to cut the events into ranges, as fractions: ranges of the full size
    while much is left, then each at most 1/(2 * processes) of what is left (the
    guided self-scheduling of loop iterations), down to the smallest size; the
    last takes what is left, between half and one and a half of that size."""
    largest = 1 / (RANGES_PER_PROCESS * processes)
    smallest = largest / TAIL_SPLIT
    cuts: list[float] = []
    done = 0.0
    while True:
        done += min(largest, max(smallest, (1 - done) / (2 * processes)))
        if done > 1 - smallest / 2:
            return cuts
        cuts.append(done)


def key_ranges(bounds: list[str]) -> list[Range]:
    """[start, stop) ranges between the bounds, the first from "" and the last open."""
    return list(zip(["", *bounds], [*bounds, None], strict=True))


class Dispenser(Generic[T]):
    """Work (key ranges, derived jobs) handed out one piece at a time to whichever
    process asks first. Made without its pieces, it is closed: a taker waits until
    `open`, as derived jobs must until every written row is in `views_next`
    (derived rows read their children back from it)."""

    def __init__(self, pieces: list[T] | None = None) -> None:
        self.pieces: list[T] = []
        self._next = 0
        self._lock = threading.Lock()
        self._open = threading.Event()
        if pieces is not None:
            self.open(pieces)

    def open(self, pieces: list[T]) -> None:
        with self._lock:
            self.pieces = pieces
        self._open.set()

    def take(self) -> T | None:
        self._open.wait()
        with self._lock:
            if self._next >= len(self.pieces):
                return None
            self._next += 1
            return self.pieces[self._next - 1]

    def __iter__(self) -> Iterator[T]:
        while (piece := self.take()) is not None:
            yield piece


@dataclass(frozen=True, slots=True)
class DerivedJob:
    """One share of a derived type's rows to build: `parents`, a run of the parents
    of its children's rows that is contiguous in the database's order (so one
    range query reads their children), and `own`, the own streams (a workflow's
    declarations) of these parents and of the share's parents that have no
    children."""

    model: str
    type: str
    children_rebuilt: bool
    parents: list[str]
    own: Own


@dataclass(frozen=True, slots=True)
class Job:
    """What a worker needs to scan exactly as the rebuilding process would."""

    url: str
    registry: ModelRegistry
    claim: str
    upto: int
    selected: set[ViewName] | None


class Ask(NamedTuple):
    """A worker asks for its next key range or derived piece (None: no more)."""

    what: Literal["range", "derived"]


class Scanned(NamedTuple):
    """Events a worker has scanned so far, for the progress report."""

    events: int


class Written(NamedTuple):
    """A worker's ranges are written; the derived types' own streams it met."""

    own: Own


class Done(NamedTuple):
    """A worker's last message: None, or the error for the rebuild to raise."""

    error: BaseException | None


Request = Ask | Scanned | Written | Done


def build_in_parallel(
    projector: Builder,
    upto: int,
    ranges: list[Range],
    selected: set[ViewName] | None,
    workers: int,
    tally: Tally,
) -> None:
    """Both phases with `workers - 1` worker processes beside this one: written
    entities by key range, then, once all are written, each derived type split
    into `workers` pieces, taken by whichever process is free (one type per
    process left the one given the cheaper type waiting, and a store with a
    single derived type left one process idle for the whole phase)."""
    dispenser = Dispenser(ranges)
    derived: Dispenser[DerivedJob] = Dispenser()
    job = Job(projector.store.address, projector.registry, projector.claim, upto, selected)
    started: list[_Worker] = []
    try:
        for _ in range(workers - 1):
            started.append(_Worker(dispenser, derived, tally))
            started[-1].start(job)
        own = projector.build_ranges(upto, selected, dispenser, tally)
        for worker in started:
            own.update(worker.written())
        derived.open(projector.derived_jobs(selected, own, pieces=workers))
        for one in derived:
            projector.build_derived(one)
        for worker in started:
            worker.finished()
    finally:
        derived.open([])
        for worker in started:
            worker.stop()


class _Worker:
    """One worker process and the thread in this process that serves it."""

    def __init__(
        self, dispenser: Dispenser[Range], derived: Dispenser[DerivedJob], tally: Tally
    ) -> None:
        self.dispenser = dispenser
        self.derived = derived
        self.tally = tally
        self.scanned = 0
        self.own: Own | None = None
        self.error: BaseException | None = None
        self.done = False
        self.reported = threading.Event()
        self.thread: threading.Thread | None = None
        self.worker = Worker("from projections._rebuild_worker import main; main()")

    def start(self, job: Job) -> None:
        try:
            self.worker.send(job)
        except Exception as exc:  # OSError, or a job that cannot be pickled
            raise StoreError(f"cannot hand the rebuild to a worker: {exc}") from None
        self.thread = threading.Thread(target=self._serve, name="rebuild worker", daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            while True:
                request: Request = self.worker.receive()
                if isinstance(request, Ask) and request.what == "range":
                    self.worker.send(self.dispenser.take())
                elif isinstance(request, Ask):
                    self.worker.send(self.derived.take())
                elif isinstance(request, Scanned):
                    self.tally.count(request.events - self.scanned)
                    self.scanned = request.events
                elif isinstance(request, Written):
                    self.own = request.own
                    self.reported.set()
                else:
                    self.error = request.error
                    self.done = True
                    return
        except (EOFError, OSError):
            return  # the worker is gone: result() and written() say so
        except Exception as exc:  # a message that does not unpickle here
            if self.worker.exits_within(2.0) is None:  # else the worker died writing it
                self.error = StoreError(f"a rebuild worker sent an unreadable message: {exc!r}")
        finally:
            self.reported.set()

    def _check(self) -> None:
        if self.error is not None:
            raise self.error

    def written(self) -> Own:
        """The derived types' own streams the worker met, once its ranges are
        written; its error raised here if it failed instead."""
        self.reported.wait()
        self._check()
        if self.own is None:
            raise self._stopped()
        return self.own

    def finished(self) -> None:
        assert self.thread is not None
        self.thread.join()
        self._check()
        if not self.done:
            raise self._stopped()

    def _stopped(self) -> StoreError:
        return StoreError(
            f"a rebuild worker stopped (exit code {self.worker.exits_within(None)}) before it "
            "finished; the live views are unchanged"
        )

    def stop(self) -> None:
        self.worker.kill()
        if self.thread is not None:
            self.thread.join()
        self.worker.close_outbox()
        self.worker.close_inbox()

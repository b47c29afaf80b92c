"""A rebuild worker process (see _parallel.py): it opens the store itself, scans
the key ranges and builds the derived pieces the rebuilding process hands it,
exactly as that process would, and reports back over the worker channel."""

from __future__ import annotations

from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any, Literal

from ledger import StoreError
from ledger.spi import open_store, worker_channel

from ._parallel import Ask, Done, Job, Range, Request, Scanned, Tally, Written
from ._projector import ViewProjector


def _work(job: Job, incoming: Connection, outgoing: Connection) -> None:
    """A worker's life: scan ranges until none are left, report the own streams it
    met, build derived types until none are left, then report done (or the error,
    for the rebuilding process to raise)."""

    def send(request: Request) -> None:
        outgoing.send(request)

    def ask(what: Literal["range", "derived"]) -> Any:
        send(Ask(what))
        return incoming.recv()

    def ranges() -> Iterator[Range]:
        while (piece := ask("range")) is not None:
            yield piece

    try:
        store = open_store(job.url, mode="write")  # moved away: fail, never recreate
        try:
            projector = ViewProjector(store, job.registry)
            projector.claim = job.claim
            with store.read() as txn:
                if not projector.holds_claim(txn):
                    raise StoreError(
                        "a rebuild worker opened a store this rebuild has not claimed "
                        "(moved or replaced meanwhile, or another rebuild started)"
                    )
            tally = Tally(lambda done: send(Scanned(done)))  # running totals
            own = projector.build_ranges(job.upto, job.selected, ranges(), tally)
            send(Written(own))
            while (derived := ask("derived")) is not None:
                projector.build_derived(derived)
        finally:
            store.close()
        send(Done(None))
    except BaseException as exc:  # every failure goes to the rebuilding process
        try:
            send(Done(exc))
        except Exception:  # an error that cannot be pickled
            send(Done(StoreError(f"a rebuild worker failed: {exc!r}")))


def main() -> None:
    """A worker process's entry point."""
    incoming, outgoing = worker_channel()
    _work(incoming.recv(), incoming, outgoing)

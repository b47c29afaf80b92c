"""A rebuild worker process (see _parallel.py): it opens the store itself, scans
the key ranges and builds the derived pieces the rebuilding process hands it,
exactly as that process would, and reports back over its stdin and stdout."""

from __future__ import annotations

import pickle
import sys
from collections.abc import Iterator
from typing import IO, Any

from ledger import StoreError
from ledger.spi import open_store

from ._parallel import Job, Range, Tally, _put
from ._projector import ViewProjector


def _work(job: Job, requests: IO[bytes], replies: IO[bytes]) -> None:
    """A worker's life: scan ranges until none are left, report the own streams it
    met, build derived types until none are left, then report done (or the error,
    for the rebuilding process to raise)."""

    def send(kind: str, value: Any) -> None:
        _put(replies, (kind, value))

    def ask(kind: str) -> Any:
        send(kind, None)
        return pickle.load(requests)

    def ranges() -> Iterator[Range]:
        while (piece := ask("next")) is not None:
            yield piece

    try:
        store = open_store(job.url)
        try:
            projector = ViewProjector(store, job.registry)
            projector.claim = job.claim
            with store.read() as txn:
                if not projector.holds_claim(txn):
                    raise StoreError(
                        "a rebuild worker opened a store this rebuild has not claimed "
                        "(moved or replaced meanwhile, or another rebuild started)"
                    )
            tally = Tally(lambda done: send("scanned", done))  # running totals
            own = projector.build_ranges(job.upto, job.selected, ranges(), tally)
            send("written", own)
            while (derived := ask("derive")) is not None:
                projector.build_derived(derived)
        finally:
            store.close()
        send("done", None)
    except BaseException as exc:  # every failure goes to the rebuilding process
        try:
            send("done", exc)
        except Exception:  # an error that cannot be pickled
            send("done", StoreError(f"a rebuild worker failed: {exc!r}"))


def main() -> None:
    """A worker process's entry point: the protocol owns stdout, so anything else
    the worker prints goes to stderr."""
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr
    _work(pickle.load(requests), requests, replies)

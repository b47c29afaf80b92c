"""What a long `import` shows while it runs: on a terminal a live line of events
per second, accepted and rejected (nothing at all when stderr is piped, so logs
and scripts see only the summary), and the counts it keeps whether the import
finishes or stops early (a full disk): accepted and duplicate outcomes arrive
only once their transaction has committed, so they are what is in the ledger."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType

from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from ledger import Outcome

from ._output import console

REDRAW_EVERY = 1000
"""Outcomes between updates of the line: a bulk import runs at tens of
thousands of events a second, and the line redraws ten times a second anyway."""


class ImportProgress:
    """Counts every outcome and passes it on; shows the live line on a terminal."""

    def __init__(self, then: Callable[[Outcome], None], *, show: bool) -> None:
        self.then = then
        self.accepted = 0
        self.duplicates = 0
        self.rejected = 0
        self._started = time.perf_counter()
        self._bar = (
            Progress(
                SpinnerColumn(),
                TextColumn("importing: {task.completed} events, {task.fields[rate]} events/s,"),
                TextColumn("accepted {task.fields[accepted]}, rejected {task.fields[rejected]}"),
                TimeElapsedColumn(),
                console=console(stderr=True),
                transient=True,
            )
            if show and sys.stderr.isatty()
            else None
        )
        self._task = (
            self._bar.add_task("import", total=None, rate=0, accepted=0, rejected=0)
            if self._bar is not None
            else None
        )

    @property
    def committed(self) -> int:
        """Events in the ledger from this import: new ones and duplicates skipped."""
        return self.accepted + self.duplicates

    def counts(self) -> dict[str, int]:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected}

    def __call__(self, outcome: Outcome) -> None:
        if outcome.kind == "accepted":
            self.accepted += 1
        elif outcome.kind == "duplicate":
            self.duplicates += 1
        else:
            self.rejected += 1
        if self._bar is not None and (self.committed + self.rejected) % REDRAW_EVERY == 0:
            self._redraw()
        self.then(outcome)

    def _redraw(self) -> None:
        assert self._bar is not None and self._task is not None
        done = self.committed + self.rejected
        seconds = max(time.perf_counter() - self._started, 1e-9)
        self._bar.update(
            self._task,
            completed=done,
            rate=round(done / seconds),
            accepted=self.accepted,
            rejected=self.rejected,
        )

    def __enter__(self) -> ImportProgress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

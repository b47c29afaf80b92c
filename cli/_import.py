"""`status-ledger import`: a JSONL file of events, or one payload of a system
(`--from`), streamed through the append with its rejects written aside."""

from __future__ import annotations

import gc
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Annotated, Any, BinaryIO

import orjson
import typer

from ledger import LedgerError, Outcome, UsageError, check_output_path, ingest

from ._app import DbOption, JsonOption, ModelsDirOption, app, fail, opened, reported
from ._output import console, print_json, shown
from ._progress import ImportProgress


@app.command("import")
def import_(
    file: Annotated[str, typer.Argument(help="JSONL file, or - for standard input.")],
    rejects: Annotated[
        str | None,
        typer.Option(
            help="Write rejected lines here as JSONL (never the ledger's own files or the input)."
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Events per transaction.")] = 5000,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=2,
            help="Processes: 2 has a second one parse and validate lines while this "
            "one writes (default: 2 on long files when there are 2 cores, else 1).",
        ),
    ] = None,
    from_: Annotated[
        str,
        typer.Option(
            "--from",
            help="Format of FILE: ledger (JSONL events) or one payload of a system: "
            + ", ".join(sorted(set(ingest.ADAPTERS) - {"ledger"}))
            + " (docs/ingest.md).",
        ),
    ] = "ledger",
    db: DbOption = None,
    models: ModelsDirOption = None,
    json: JsonOption = False,
) -> None:
    """Import a JSONL file of events, or a system's own payload with --from.

    Exit 0 when every event was accepted or a duplicate, 1 when any was rejected.

    Example: status-ledger import events.jsonl --rejects rejected.jsonl
    """
    with reported():
        convert = ingest.adapter(from_)
    if file != "-" and not Path(file).is_file():
        raise fail(UsageError(f"no such file: {file}"))
    with RejectsFile(rejects, db, [] if file == "-" else [file]) as out:
        if from_ == "ledger":
            _import_lines(file, out, batch_size, workers, db, models, json)
        else:
            _import_payload(file, convert, out, batch_size, db, models, json)


def _import_lines(
    file: str,
    out: RejectsFile,
    batch_size: int,
    workers: int | None,
    db: str | None,
    models: str | None,
    json: bool,
) -> None:
    """A JSONL file streamed through the append; rejects name their line."""
    stream: BinaryIO = sys.stdin.buffer if file == "-" else open(file, "rb")  # noqa: SIM115
    in_flight: dict[int, tuple[int, bytes]] = {}

    def numbered() -> Iterator[bytes]:
        """Non-blank lines; each is remembered only until its outcome arrives."""
        index = 0
        for number, raw in enumerate(stream, start=1):
            line = raw.rstrip(b"\r\n")
            if line.strip():
                in_flight[index] = (number, line)
                index += 1
                yield line

    failures: list[dict[str, Any]] = []

    def keep(outcome: Outcome) -> None:
        number, line = in_flight.pop(outcome.index)
        if outcome.error is not None:
            failures.append(
                {
                    "line": number,
                    "code": outcome.error.code,
                    "message": outcome.error.message,
                    "input": line.decode("utf-8", errors="replace"),
                }
            )

    _fewer_collections()
    progress = ImportProgress(keep, show=not json)
    stopped: LedgerError | None = None
    try:
        with opened(db, models, mode="create") as ledger, progress:
            try:
                ledger.append(
                    numbered(),
                    batch_size=batch_size,
                    on_outcome=progress,
                    keep_outcomes=False,
                    workers=workers,
                )
            except LedgerError as error:
                stopped = error
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    failures.sort(key=lambda f: f["line"])
    out.write(failures)
    _report_import(progress.counts(), failures, "line", out.path, json, stopped, progress.committed)
    if stopped is not None:
        raise fail(stopped)
    if progress.rejected:
        raise typer.Exit(1)


def _import_payload(
    file: str,
    convert: ingest.Adapter,
    out: RejectsFile,
    batch_size: int,
    db: str | None,
    models: str | None,
    json: bool,
) -> None:
    """One payload of a system, read whole, turned into events by its adapter and
    appended; rejects name the event's place in the payload (`event`, from 1)."""
    payload = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    with opened(db, models, mode="create") as ledger, reported():
        events = convert(payload)
        report = ledger.append(events, batch_size=batch_size)
    failures = [
        {
            "event": outcome.index + 1,
            "code": outcome.error.code,
            "message": outcome.error.message,
            "input": _as_text(events[outcome.index]),
        }
        for outcome in report.outcomes
        if outcome.error is not None
    ]
    out.write(failures)
    _report_import(report.counts(), failures, "event", out.path, json)
    if report.rejected:
        raise typer.Exit(1)


def _as_text(event: dict[str, Any] | str) -> str:
    return event if isinstance(event, str) else orjson.dumps(event).decode("utf-8")


def _report_import(
    counts: dict[str, int],
    failures: list[dict[str, Any]],
    where: str,
    rejects: str | None,
    json: bool,
    stopped: LedgerError | None = None,
    committed: int = 0,
) -> None:
    """The totals on stdout and the first rejects on stderr, as `import` prints them;
    an import that stopped early says how many events were committed before it did."""
    if json:
        print_json({**counts, "stopped": stopped.to_dict()} if stopped is not None else counts)
        return
    counted = (
        f"accepted {counts['accepted']}, duplicates {counts['duplicates']}, "
        f"rejected {counts['rejected']}"
    )
    console().print(
        counted
        if stopped is None
        else f"stopped early: {counted}; {committed} events were committed "
        "(importing the same file again skips them as duplicates)",
        markup=False,
    )
    err = console(stderr=True)
    for item in failures[:10]:
        err.print(shown(f"{where} {item[where]}: {item['code']}: {item['message']}"))
    if len(failures) > 10:
        err.print(
            f"... and {len(failures) - 10} more" + ("" if rejects else " (use --rejects FILE)")
        )


class RejectsFile:
    """The rejects file, opened before anything is imported: a path that cannot
    be written (a missing directory, a directory, no permission) is an error
    while nothing is committed yet, and a path that is the ledger's own file or
    the input is refused before either is touched (`ledger.check_output_path`).
    It is emptied only once the import has run, and one the import made is
    removed again if the import never ran."""

    def __init__(self, path: str | None, db: str | None, inputs: list[str]) -> None:
        self.path = path or None
        self.file: BinaryIO | None = None
        self.made = False
        self.written = False
        if self.path is None:
            return
        self.made = not os.path.lexists(self.path)
        try:
            check_output_path(self.path, store=db, inputs=inputs, label="--rejects")
            descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o666)
        except LedgerError as error:
            raise fail(error) from None
        except OSError as error:
            raise fail(
                UsageError(
                    f"cannot write --rejects {self.path}: {error.strerror}; nothing was imported"
                )
            ) from None
        self.file = os.fdopen(descriptor, "wb")

    def write(self, failures: list[dict[str, Any]]) -> None:
        self.written = True
        if self.file is None:
            return
        if stat.S_ISREG(os.fstat(self.file.fileno()).st_mode):
            self.file.truncate(0)  # opened without truncating, in case the import never ran
        for item in failures:
            self.file.write(orjson.dumps(item) + b"\n")

    def __enter__(self) -> RejectsFile:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.file is None:
            return
        self.file.close()
        if self.made and not self.written and self.path:
            os.unlink(self.path)


def _fewer_collections() -> None:
    """A bulk import allocates millions of short-lived objects and no cycles worth
    chasing; the default GC thresholds spent about a sixth of its CPU time
    collecting (docs/performance.md). This process exits after the import, so the
    setting is ours to change; the library leaves the host's GC alone."""
    gc.freeze()
    gc.set_threshold(200_000, 50, 100)

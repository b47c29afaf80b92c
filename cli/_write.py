"""Commands that append: init, record, import, sweep."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import orjson
import typer

from ledger import Outcome, UsageError

from ._app import DbOption, JsonOption, ModelsDirOption, app, fail, opened, reported
from ._output import console, print_json, table


@app.command()
def init(db: DbOption = None, json: JsonOption = False) -> None:
    """Create the store (and its views) if it does not exist; safe to run again.

    Example: status-ledger init --db ledger.db
    """
    with opened(db) as ledger:
        head = ledger.store.head()
        if json:
            print_json(
                {"db": ledger.store.url, "backend": ledger.store.backend, "events": head.seq}
            )
        else:
            console().print(
                f"ledger ready at {ledger.store.url} ({ledger.store.backend}, {head.seq} events)"
            )


@app.command()
def record(
    model: Annotated[str, typer.Option(help="Status model, e.g. openfn.")],
    type: Annotated[str, typer.Option("--type", help="Entity type, e.g. run.")],
    id: Annotated[str, typer.Option("--id", help="Entity id.")],
    status: Annotated[str, typer.Option(help="Status name (case-insensitive, aliases allowed).")],
    occurred_at: Annotated[str, typer.Option(help="RFC 3339 time or epoch seconds.")],
    parent: Annotated[str | None, typer.Option(help="Work order / workflow id.")] = None,
    execution: Annotated[str | None, typer.Option(help="Lightning execution id.")] = None,
    reason: Annotated[str | None, typer.Option(help="Short machine reason.")] = None,
    message: Annotated[str | None, typer.Option(help="Human message.")] = None,
    actor: Annotated[
        str | None, typer.Option(help="Who caused it (user or system:<component>).")
    ] = None,
    event_id: Annotated[str | None, typer.Option(help="Idempotency key.")] = None,
    attributes: Annotated[str | None, typer.Option(help="JSON object kept verbatim.")] = None,
    force: Annotated[
        bool, typer.Option(help="Record a transition the model forbids (needs --reason).")
    ] = False,
    db: DbOption = None,
    models: ModelsDirOption = None,
    json: JsonOption = False,
) -> None:
    """Append one status change.

    Example: status-ledger record --model uipath --type job --id j-1 --status Pending --occurred-at 2024-05-01T10:00:00Z
    """  # noqa: E501 - the example is one runnable command
    event: dict[str, Any] = {
        "model": model,
        "type": type,
        "id": id,
        "status": status,
        "occurred_at": occurred_at,
        "parent": parent,
        "execution": execution,
        "reason": reason,
        "message": message,
        "actor": actor,
        "event_id": event_id,
        "force": True if force else None,
    }
    if attributes is not None:
        try:
            event["attributes"] = orjson.loads(attributes)
        except orjson.JSONDecodeError:
            raise fail(UsageError("--attributes must be a JSON object")) from None
    with opened(db, models) as ledger, reported():
        outcome = ledger.record(**event)
    if json:
        print_json(outcome.to_dict())
    else:
        word = "recorded" if outcome.kind == "accepted" else "duplicate of"
        console().print(f"{word} seq {outcome.seq} ({outcome.event_id})")


@app.command("import")
def import_(
    file: Annotated[str, typer.Argument(help="JSONL file, or - for standard input.")],
    rejects: Annotated[str | None, typer.Option(help="Write rejected lines here as JSONL.")] = None,
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
    db: DbOption = None,
    models: ModelsDirOption = None,
    json: JsonOption = False,
) -> None:
    """Import a JSONL file of events.

    Exit 0 when every line was accepted or a duplicate, 1 when any was rejected.

    Example: status-ledger import events.jsonl --rejects rejected.jsonl
    """
    if file != "-" and not Path(file).is_file():
        raise fail(UsageError(f"no such file: {file}"))
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
    try:
        with opened(db, models) as ledger, reported():
            report = ledger.append(
                numbered(),
                batch_size=batch_size,
                on_outcome=keep,
                keep_outcomes=False,
                workers=workers,
            )
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    failures.sort(key=lambda f: f["line"])
    if rejects:
        with open(rejects, "wb") as out:
            for item in failures:
                out.write(orjson.dumps(item) + b"\n")
    if json:
        print_json(report.counts())
    else:
        console().print(
            f"accepted {report.accepted}, duplicates {report.duplicates}, "
            f"rejected {report.rejected}"
        )
        err = console(stderr=True)
        for item in failures[:10]:
            err.print(f"line {item['line']}: {item['code']}: {item['message']}", markup=False)
        if len(failures) > 10:
            err.print(
                f"... and {len(failures) - 10} more" + ("" if rejects else " (use --rejects FILE)")
            )
    if report.rejected:
        raise typer.Exit(1)


def _fewer_collections() -> None:
    """A bulk import allocates millions of short-lived objects and no cycles worth
    chasing; the default GC thresholds spent about a sixth of its CPU time
    collecting (docs/performance.md). This process exits after the import, so the
    setting is ours to change; the library leaves the host's GC alone."""
    gc.freeze()
    gc.set_threshold(200_000, 50, 100)


@app.command()
def sweep(
    now: Annotated[str | None, typer.Option(help="The sweep's clock (default: now).")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be appended.")
    ] = False,
    db: DbOption = None,
    models: ModelsDirOption = None,
    json: JsonOption = False,
) -> None:
    """Append the timeout events the models define; safe to run repeatedly.

    UiPath: a job Terminating for 24 hours becomes Faulted (actor system:cleanup).

    Example: status-ledger sweep --now 2024-05-03T00:00:00Z --dry-run
    """
    with opened(db, models) as ledger, reported():
        actions = ledger.sweep(now, dry_run=dry_run)
    if json:
        print_json(actions)
        return
    if not actions:
        console().print("nothing to sweep")
        return
    table(
        "would append" if dry_run else "appended",
        ["model", "type", "id", "status", "reason", "occurred_at"],
        [
            [a["model"], a["type"], a["id"], a["status"], a["reason"], a["occurred_at"]]
            for a in actions
        ],
    )

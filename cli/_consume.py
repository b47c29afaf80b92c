"""`status-ledger consume`: a JetStream stream into the ledger (ledger.consume_nats)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Annotated, Any

import typer

from ledger import NatsSource, consume_nats

from ._app import DbOption, JsonOption, ModelsDirOption, app, opened, reported
from ._output import console, print_json


@app.command()
def consume(
    url: Annotated[str, typer.Argument(help="NATS server, e.g. nats://127.0.0.1:4222.")],
    stream: Annotated[str, typer.Option(help="JetStream stream to read (it must exist).")],
    subject: Annotated[
        str, typer.Option(help="Subject to consume, within the stream's subjects (wildcards ok).")
    ],
    format: Annotated[
        str, typer.Option("--format", help="Payload format: an ingest adapter, e.g. ledger.")
    ],
    durable: Annotated[
        str,
        typer.Option(help="Durable consumer name; it keeps the position between runs."),
    ] = "status-ledger",
    rejects_subject: Annotated[
        str | None,
        typer.Option(help="Publish each reject here as JSON (code, message, payload)."),
    ] = None,
    batch: Annotated[int, typer.Option(min=1, help="Messages fetched per transaction.")] = 100,
    max_messages: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many messages.")
    ] = None,
    idle_exit: Annotated[
        float | None,
        typer.Option(min=0.01, help="Stop when no message came for this many seconds."),
    ] = None,
    ack_wait: Annotated[
        float,
        typer.Option(
            min=0.5,
            help="Seconds before an unacknowledged message is delivered again "
            "(set when the durable consumer is created).",
        ),
    ] = 30.0,
    db: DbOption = None,
    models: ModelsDirOption = None,
    json: JsonOption = False,
) -> None:
    """Consume a JetStream stream into the ledger, exactly once.

    A durable pull consumer: the messages of each fetched batch are
    acknowledged only after their append commits, so a crash redelivers them
    and their events are then duplicates. Rejects are printed on stderr and, with
    --rejects-subject, published there; they never stop the stream. Runs until
    interrupted (Ctrl-C or SIGTERM finish the batch in hand), --max-messages or
    --idle-exit. Exit 0 when it stopped so, 1 on an error, 2 on a usage error.

    Example: status-ledger consume nats://127.0.0.1:4222 --stream ORDERS --subject orders.status
    --format ledger --rejects-subject orders.rejects
    """
    err = console(stderr=True)

    def show(reject: dict[str, Any]) -> None:
        where = f"seq {reject['seq']}"
        if "index" in reject:
            where += f", event {reject['index'] + 1}"
        err.print(f"{where}: {reject['code']}: {reject['message']}", markup=False)

    source = NatsSource(url, stream, subject, durable, rejects_subject, ack_wait)
    stop = threading.Event()
    with opened(db, models, mode="create") as ledger, reported(), _stopped_by_signals(stop):
        report = consume_nats(
            ledger,
            source,
            format,
            batch=batch,
            max_messages=max_messages,
            idle_exit=idle_exit,
            stop=stop,
            on_reject=show,
        )
    if json:
        print_json(report.counts())
    else:
        console().print(
            f"consumed {report.messages} messages: accepted {report.accepted}, "
            f"duplicates {report.duplicates}, rejected {report.rejected}, "
            f"malformed {report.malformed}"
        )


@contextmanager
def _stopped_by_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT and SIGTERM ask the consumer to stop after the batch in hand, so
    that what it appended is also acknowledged; a second signal acts as usual.
    Handlers can only be set in the main thread (not in an in-process runner's)."""
    previous: dict[int, Any] = {}

    def handle(signum: int, _frame: FrameType | None) -> None:
        stop.set()
        signal.signal(signum, previous[signum])

    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, handle)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)

"""Commands that maintain views: rebuild and project."""

from __future__ import annotations

import signal
import sys
import threading
import time
from typing import Annotated

import typer
from rich.progress import Progress

from ._app import DbOption, JsonOption, ModelsDirOption, app, opened, reported
from ._output import console, print_json, shown


@app.command()
def rebuild(
    view: Annotated[
        str | None, typer.Option("--view", help="Only this view, e.g. openfn/run.")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=32,
            help="Processes that share the scan (default: 2 on a large store "
            "when there are 2 cores, else 1).",
        ),
    ] = None,
    db: DbOption = None,
    models: ModelsDirOption = None,
    json: JsonOption = False,
) -> None:
    """Rebuild views from the events beside the live ones, then swap them in.

    Example: status-ledger rebuild --view osmo/workflow
    """
    started = time.perf_counter()
    with opened(db, models, mode="write") as ledger, reported():
        if sys.stderr.isatty() and not json:
            with Progress(console=console(stderr=True), transient=True) as bar:
                task = bar.add_task("rebuilding", total=None)
                upto = ledger.rebuild(
                    view,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                    workers=workers,
                )
        else:

            def plain(done: int, total: int) -> None:
                if not json:
                    print(f"rebuilt {done}/{total} events", file=sys.stderr)

            upto = ledger.rebuild(view, progress=plain, workers=workers)
    seconds = time.perf_counter() - started
    if json:
        print_json({"view": view, "events": upto, "seconds": round(seconds, 3)})
    else:
        console().print(
            shown(f"rebuilt {view or 'all views'} from {upto} events in {seconds:.2f}s")
        )


@app.command()
def project(
    follow: Annotated[bool, typer.Option("--follow", help="Keep following new events.")] = False,
    interval: Annotated[
        float,
        typer.Option(help="Longest wait between looks for new events when following."),
    ] = 0.5,
    db: DbOption = None,
    models: ModelsDirOption = None,
    json: JsonOption = False,
) -> None:
    """Apply events the views have not seen yet, exactly once.

    With --follow, run as a worker until SIGTERM or SIGINT.

    Example: status-ledger project --follow
    """
    stop = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stop.set()

    if follow:
        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
    with opened(db, models, mode="write") as ledger, reported():
        if follow:
            print(shown(f"following {ledger.store.url} until SIGTERM or Ctrl-C"), file=sys.stderr)
            total = ledger.follow(stop, interval=interval)
        else:
            total = ledger.catch_up()
    if json:
        print_json({"applied": total})
    else:
        console().print(f"applied {total} events")

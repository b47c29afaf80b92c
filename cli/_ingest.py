"""`pull`: read a system's API and append what it reports. The reading is
`ledger.ingest`'s, the events are the adapters', the rules the ledger's; this
command only wires them together and prints the totals."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger import AppendReport, ingest

from ._app import DbOption, JsonOption, ModelsDirOption, opened, reported
from ._output import console, print_json

pull_app = typer.Typer(
    help="Read a system's API and append its status changes; safe to repeat.",
    no_args_is_help=True,
)


@pull_app.command("openfn")
def pull_openfn(
    url: Annotated[
        str, typer.Option(help="Base URL of the Lightning instance, e.g. https://app.openfn.org.")
    ],
    since: Annotated[
        str | None,
        typer.Option(help="Only runs updated after this ISO 8601 time (default: all)."),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="OPENFN_API_TOKEN", help="Lightning API token (personal access token)."
        ),
    ] = None,
    page_size: Annotated[int, typer.Option(min=1, max=1000, help="Runs per page.")] = 100,
    db: DbOption = None,
    models: ModelsDirOption = None,
    json: JsonOption = False,
) -> None:
    """Pull OpenFn runs from Lightning's REST API (GET /api/runs), every page.

    Each run becomes the steps its timestamps prove, with ids derived from the
    run, so pulling the same window again adds only what changed.
    Exit 0 when every event was accepted or a duplicate, 1 when any was rejected.

    Example: status-ledger pull openfn --url https://app.openfn.org --since 2024-05-01T00:00:00Z
    """
    total = AppendReport()
    pages = 0
    failures: list[str] = []
    convert = ingest.adapter("openfn")
    with opened(db, models, mode="create") as ledger, reported():
        for page in ingest.openfn_pages(url, since, token, page_size):
            pages += 1
            report = ledger.append(convert(page))
            total.accepted += report.accepted
            total.duplicates += report.duplicates
            total.rejected += report.rejected
            failures.extend(
                f"page {pages}: {o.error.code}: {o.error.message}"
                for o in report.outcomes
                if o.error is not None
            )
    if json:
        print_json({"pages": pages, **total.counts()})
    else:
        console().print(
            f"pages {pages}: accepted {total.accepted}, duplicates {total.duplicates}, "
            f"rejected {total.rejected}"
        )
        err = console(stderr=True)
        for line in failures[:10]:
            err.print(line, markup=False)
        if len(failures) > 10:
            err.print(f"... and {len(failures) - 10} more", markup=False)
    if total.rejected:
        raise typer.Exit(1)

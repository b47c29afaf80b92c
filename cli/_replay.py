"""`status-ledger replay`: try candidate models or projection code against the full
history before shipping them. Plain fixed-width text, so that the output reads
the same in a terminal, a CI log and docs/migrations.md."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ledger import ReplayReport, RowDiff, display_time

from ._app import DbOption, JsonOption, app, opened, reported
from ._output import print_json, shown

WIDTH = 100


@app.command()
def replay(
    models: Annotated[
        str | None,
        typer.Option("--models", help="Directory of candidate model TOML files."),
    ] = None,
    projections: Annotated[
        str | None,
        typer.Option("--projections", help="Importable module with candidate projection code."),
    ] = None,
    limit: Annotated[int, typer.Option(min=0, help="Differences shown in detail.")] = 10,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Compare the views a candidate model or projection code would build with the live ones.

    The candidate views are built from the full history in a scratch store; the
    live store is only read. Exit 0 when identical, 1 when any row differs or any
    historic event would be rejected. With no candidate it checks that a replay
    of the installed models and projections is deterministic.

    Example: status-ledger replay --models ./candidate-models
    """
    with opened(db) as ledger, reported():
        report = ledger.replay(models_dir=models, projections=projections)
    if json:
        print_json(report.model_dump(mode="json"))
    else:
        _print(report, limit)
    if not report.identical:
        raise typer.Exit(1)


def _print(report: ReplayReport, limit: int) -> None:
    candidate = (
        " and ".join(
            part
            for part in (
                f"models from {report.models}" if report.models else "",
                f"projections from {report.projections}" if report.projections else "",
            )
            if part
        )
        or "the installed models and projections"
    )
    _say(f"replayed {report.events} events with {candidate}")
    if report.unprojected:
        _say(f"({report.unprojected} newer events are not in the live views yet; left out)")
    _say(f"{'view':<24} {'live':>6} {'candidate':>9} {'added':>6} {'removed':>7} {'changed':>7}")
    for v in report.views:
        _say(
            f"{v.view:<24} {v.live_rows:>6} {v.candidate_rows:>9} {v.added:>6} {v.removed:>7} "
            f"{v.changed:>7}"
        )
    if report.identical:
        _say("identical: no view row differs and no event would be rejected")
        return
    differing = sum(1 for v in report.views if v.differs)
    rows = len(report.differences)
    _say(
        f"{_count(rows, 'row')} {'differs' if rows == 1 else 'differ'} in "
        f"{_count(differing, 'view')}; "
        f"{_count(len(report.rejected), 'event')} would be rejected"
    )
    if report.differences:
        _say("first differences:" if len(report.differences) > limit else "differences:")
        for diff in report.differences[:limit]:
            _print_diff(diff)
    if report.rejected:
        _say("first rejected events:" if len(report.rejected) > limit else "rejected events:")
        for r in report.rejected[:limit]:
            _say(f"  seq {r.seq} {r.entity}: {r.status} at {display_time(r.occurred_at)}")
            _say(f"    {r.code}: {r.message.removeprefix(r.entity + ': ')}")


def _say(line: str) -> None:
    print(shown(line))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _print_diff(diff: RowDiff) -> None:
    where = f"{diff.view} {diff.id}" + (f" (parent {diff.parent})" if diff.parent else "")
    if diff.kind == "changed":
        _say(f"  changed {where}")
        for change in diff.changes:
            _say(_cut(f"    {change.field}: {_show(change.live)} -> {_show(change.candidate)}"))
        return
    row = diff.candidate if diff.kind == "added" else diff.live
    status = (row or {}).get("status", {}).get("status")
    _say(f"  {diff.kind} {where}: {status}")


def _show(value: Any) -> str:
    return "(none)" if value is None else repr(value)


def _cut(line: str) -> str:
    return line if len(line) <= WIDTH else line[: WIDTH - 3] + "..."

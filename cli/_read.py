"""Commands that read: status, list, history, export, verify."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from ledger import ViewRow, statuses_repr

from ._app import (
    AsOfOption,
    DbOption,
    JsonOption,
    KnownAtOption,
    ModelsDirOption,
    ParentOption,
    app,
    opened,
    reported,
)
from ._output import console, print_json, print_jsonl, shown, status_text, table, when

ModelArg = Annotated[str, typer.Argument(help="Status model, e.g. openfn.")]
TypeArg = Annotated[str, typer.Argument(help="Entity type, e.g. run or work_order.")]
IdArg = Annotated[str, typer.Argument(help="Entity id.")]


@app.command()
def status(
    model: ModelArg,
    type: TypeArg,
    id: IdArg,
    parent: ParentOption = None,
    as_of: AsOfOption = None,
    known_at: KnownAtOption = None,
    statuses: Annotated[bool, typer.Option("--statuses", help="Show the statuses list.")] = False,
    format: Annotated[
        str, typer.Option("--format", help="table, or repr for Lightning's WorkStatus(...) form.")
    ] = "table",
    db: DbOption = None,
    models: ModelsDirOption = None,
    json: JsonOption = False,
) -> None:
    """Current status of one entity (its view row).

    Example: status-ledger status lightning work w-1 --format repr
    """
    with opened(db, models) as ledger, reported():
        row = ledger.status(model, type, id, parent=parent, as_of=as_of, known_at=known_at)
        registry = ledger.registry
    if json:
        data = row.model_dump(mode="json")
        print_json(data["statuses"] if statuses else data)
    elif format == "repr":
        print(shown(statuses_repr(row.statuses) if statuses else row.status.work_status_repr()))
    else:
        _show_row(row, statuses, status_text(registry, model, type, row.status.status))


def _show_row(row: ViewRow, with_statuses: bool, coloured: Text) -> None:
    out = console()
    head = Text(
        shown(
            f"{row.model} {row.type} {row.id}"
            + (f" (parent {row.parent})" if row.parent else "")
            + ": "
        )
    )
    head.append_text(coloured)
    if row.status.count > 1:
        head.append(f" x{row.status.count}")
    if row.final:
        head.append(" [final]")
    if row.forced:
        head.append(" [forced]")
    out.print(head)
    details = {
        "since": row.status.timestamp,
        "reason": row.status.reason,
        "message": row.status.message,
        "first seen": row.first_seen,
        "transitions": row.transitions,
        "last actor": row.last_actor,
    }
    extras = dict(sorted((row.model_extra or {}).items()))
    for key, value in {**details, **extras}.items():
        if value is not None:
            out.print(shown(f"  {key}: {_plain(value)}"))
    if with_statuses:
        table(
            None,
            ["status", "timestamp", "reason", "message", "count"],
            [[s.status, s.timestamp, s.reason, s.message, s.count] for s in row.statuses],
        )


def _plain(value: object) -> str:
    """Lists and maps as people write them, not as Python reprs."""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    return str(value)


@app.command("list")
def list_(
    model: ModelArg,
    type: TypeArg,
    status: Annotated[
        str | None, typer.Option("--status", help="Only rows in this status.")
    ] = None,
    parent: ParentOption = None,
    as_of: AsOfOption = None,
    known_at: KnownAtOption = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many rows.")] = None,
    db: DbOption = None,
    models: ModelsDirOption = None,
    json: JsonOption = False,
) -> None:
    """View rows of one entity type.

    Example: status-ledger list openfn run --status Failed
    """
    with opened(db, models) as ledger, reported():
        rows = ledger.list(
            model, type, status=status, parent=parent, as_of=as_of, known_at=known_at, limit=limit
        )
        registry = ledger.registry
    if json:
        print_json([r.model_dump(mode="json") for r in rows])
        return
    table(
        f"{model} {type} ({len(rows)})",
        ["id", "parent", "status", "since", "reason", "count", "final", "forced"],
        [
            [
                r.id,
                r.parent,
                status_text(registry, model, type, r.status.status),
                when(r.status.timestamp),
                r.status.reason,
                r.status.count,
                "yes" if r.final else "",
                "forced" if r.forced else "",
            ]
            for r in rows
        ],
    )


@app.command()
def history(
    model: ModelArg,
    type: TypeArg,
    id: IdArg,
    parent: ParentOption = None,
    as_of: AsOfOption = None,
    known_at: KnownAtOption = None,
    db: DbOption = None,
    models: ModelsDirOption = None,
    json: JsonOption = False,
) -> None:
    """Every transition of an entity: occurred and recorded time, actor, reason, seq, hash.

    For work orders and workflows, the transitions of their runs or groups.
    Forced transitions are flagged.

    Example: status-ledger history openfn work_order wo-1
    """
    with opened(db, models) as ledger, reported():
        entries = ledger.history(model, type, id, parent=parent, as_of=as_of, known_at=known_at)
        registry = ledger.registry
    if json:
        print_json([e.model_dump(mode="json") for e in entries])
        return
    table(
        f"history of {model} {type} {id}",
        [
            "seq",
            "entity",
            "status",
            "occurred_at",
            "recorded_at",
            "actor",
            "reason",
            "forced",
            "hash",
        ],
        [
            [
                e.seq,
                f"{e.type} {e.id}" + (f" (as {e.written_type})" if e.written_type else ""),
                _written(status_text(registry, e.model, e.type, e.status), e.written_status),
                e.occurred_at,
                e.recorded_at,
                e.actor,
                e.reason,
                "FORCED" if e.forced else "",
                e.hash[:12],
            ]
            for e in entries
        ],
    )


def _written(text: Text, written: str | None) -> Text:
    if written is not None:
        text.append(f" (as {written!r})")
    return text


@app.command()
def export(
    with_ledger_fields: Annotated[
        bool, typer.Option("--with-ledger-fields", help="Add seq, version, recorded_at, hashes.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Write every event as JSONL, in ledger order.

    Importing the output into an empty store reproduces this one.

    Example: status-ledger export > backup.jsonl
    """
    with opened(db) as ledger, reported():
        print_jsonl(ledger.export(with_ledger_fields=with_ledger_fields))


@app.command()
def verify(db: DbOption = None, json: JsonOption = False) -> None:
    """Check the whole hash chain; exit 1 and name the first broken seq.

    Any event edited or deleted behind the ledger's back breaks the chain.

    Example: status-ledger verify
    """
    with opened(db) as ledger, reported():
        report = ledger.verify()
    if json:
        print_json(report.model_dump())
    elif report.ok:
        console().print(f"chain intact: {report.events} events, head {report.head_hash[:16]}")
    else:
        console().print(shown(f"chain BROKEN at seq {report.first_broken_seq}: {report.problem}"))
    if not report.ok:
        raise typer.Exit(1)

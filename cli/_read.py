"""Commands that read: status, list, history, export, verify."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.text import Text

from ledger import ViewRow, page_cursor, short_digest, statuses_repr

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
from ._complete import complete_model, complete_type, complete_view_status
from ._output import Column, console, print_json, print_jsonl, shown, status_text, table, when

ModelArg = Annotated[
    str, typer.Argument(help="Status model, e.g. openfn.", autocompletion=complete_model)
]
TypeArg = Annotated[
    str,
    typer.Argument(help="Entity type, e.g. run or work_order.", autocompletion=complete_type),
]
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
        "since": when(row.status.timestamp),
        "reason": row.status.reason,
        "message": row.status.message,
        "first seen": when(row.first_seen),
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
            [
                "status",
                "timestamp",
                Column("reason", drop=2, wrap=True),
                Column("message", drop=3, wrap=True),
                Column("count", drop=1),
            ],
            [[s.status, when(s.timestamp), s.reason, s.message, s.count] for s in row.statuses],
        )


def _plain(value: object) -> str:
    """Lists and maps as people write them, not as Python reprs."""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    return str(value)


DEFAULT_LIMIT = 100


@app.command("list")
def list_(
    model: ModelArg,
    type: TypeArg,
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            help="Only rows in this status (any case, aliases allowed).",
            autocompletion=complete_view_status,
        ),
    ] = None,
    parent: ParentOption = None,
    as_of: AsOfOption = None,
    known_at: KnownAtOption = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="At most this many rows.")
    ] = DEFAULT_LIMIT,
    all_rows: Annotated[
        bool, typer.Option("--all", help="Every row, however many (overrides --limit).")
    ] = False,
    after: Annotated[
        str | None,
        typer.Option(
            "--after", help="Start after this cursor, printed with the page before (keyset)."
        ),
    ] = None,
    db: DbOption = None,
    models: ModelsDirOption = None,
    json: JsonOption = False,
) -> None:
    """View rows of one entity type, in (parent, id) order, 100 at a time.

    When rows are left over, stderr says how many and gives the cursor for the
    next page (--after); stdout, table or --json, holds only the rows.

    Example: status-ledger list openfn run --status Failed
    """
    with opened(db, models) as ledger, reported():
        rows = ledger.list(
            model,
            type,
            status=status,
            parent=parent,
            as_of=as_of,
            known_at=known_at,
            limit=None if all_rows else limit,
            after=after,
        )
        left = 0
        if not all_rows and len(rows) == limit:
            left = ledger.count(
                model,
                type,
                status=status,
                parent=parent,
                as_of=as_of,
                known_at=known_at,
                after=page_cursor(rows[-1]),
            )
        registry = ledger.registry
    if json:
        print_json([r.model_dump(mode="json") for r in rows])
    else:
        table(
            f"{model} {type} ({len(rows)})",
            [
                "id",
                Column("parent", drop=2),
                "status",
                "since",
                Column("reason", drop=3, wrap=True),
                Column("count", drop=4),
                Column("final", drop=5),
                Column("forced", drop=1),
            ],
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
    if left:
        print(
            f"... {left} more: --after {page_cursor(rows[-1])} for the next page, "
            "--limit N or --all for more at once",
            file=sys.stderr,
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
            Column("entity", drop=1),
            "status",
            "occurred_at",
            Column("recorded_at", drop=3),
            Column("actor", drop=2, wrap=True),
            Column("reason", drop=4, wrap=True),
            "forced",
            Column("hash", drop=5),
        ],
        [
            [
                e.seq,
                f"{e.type} {e.id}" + (f" (as {e.written_type})" if e.written_type else ""),
                _written(status_text(registry, e.model, e.type, e.status), e.written_status),
                when(e.occurred_at),
                when(e.recorded_at),
                e.actor,
                e.reason,
                "FORCED" if e.forced else "",
                short_digest(e.hash),
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
def verify(
    views: Annotated[
        bool,
        typer.Option(
            "--views",
            help="Also compare the views with a rebuild (in a scratch store) and list "
            "the differing rows.",
        ),
    ] = False,
    against: Annotated[
        list[str] | None,
        typer.Option(
            "--against",
            help="A checkpoint file, or a store holding checkpoints (`checkpoint "
            "--to-store`), that the ledger must still extend. Repeatable.",
        ),
    ] = None,
    public_key: Annotated[
        str | None,
        typer.Option(
            "--public-key",
            help="The key the checkpoints must be signed with (KEYFILE.pub or KEYFILE).",
        ),
    ] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Check every event, idempotency key and the chain head; exit 1 and name the
    first broken seq and a code.

    Any event edited or deleted behind the ledger's back breaks the chain; a
    consistent rewrite of the tail is caught only against a checkpoint (--against).
    On SQLite the file's own structure is checked too (corrupt_store).

    Example: status-ledger verify --against checkpoints.jsonl --public-key ledger.key.pub
    """
    with opened(db) as ledger, reported():
        report = ledger.verify(views=views, against=against or (), public_key=public_key)
    if json:
        print_json(report.model_dump())
    else:
        out = console()
        if report.ok:
            plural = "s" if report.checkpoints != 1 else ""
            extra = (
                f", {report.checkpoints} checkpoint{plural} extended" if report.checkpoints else ""
            )
            extra += ", views match a rebuild" if report.views is not None else ""
            out.print(
                f"chain intact: {report.events} events, "
                f"head hash {short_digest(report.head_hash)}{extra}"
            )
        else:
            where = "" if report.first_broken_seq is None else f" at seq {report.first_broken_seq}"
            out.print(shown(f"chain BROKEN{where}: {report.code}: {report.problem}"))
        for diff in report.view_differences:
            fields = ", ".join(c.field for c in diff.changes)
            parent = f" in {diff.parent}" if diff.parent else ""
            fields = f" ({fields})" if fields else ""
            out.print(shown(f"  {diff.view} {diff.id}{parent}: {diff.kind}{fields}"))
    if not report.ok:
        raise typer.Exit(1)

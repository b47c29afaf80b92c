"""Commands that append: init, record, import, sweep."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ledger import (
    BadJson,
    ForceWithoutReason,
    parse_json,
    short_digest,
)

from ._app import DbOption, JsonOption, ModelsDirOption, app, fail, opened, reported
from ._complete import complete_model, complete_type, complete_written_status
from ._output import console, print_json, shown, table, when


@app.command()
def init(db: DbOption = None, json: JsonOption = False) -> None:
    """Create the store (and its views) if it does not exist; safe to run again.

    Example: status-ledger init --db ledger.db
    """
    with opened(db, mode="create") as ledger:
        head = ledger.store.head()
        if json:
            print_json(
                {"db": ledger.store.url, "backend": ledger.store.backend, "events": head.seq}
            )
        else:
            console().print(
                shown(
                    f"ledger ready at {ledger.store.url} ({ledger.store.backend}, "
                    f"{head.seq} events)"
                )
            )


@app.command()
def record(
    model: Annotated[
        str, typer.Option(help="Status model, e.g. openfn.", autocompletion=complete_model)
    ],
    type: Annotated[
        str, typer.Option("--type", help="Entity type, e.g. run.", autocompletion=complete_type)
    ],
    id: Annotated[str, typer.Option("--id", help="Entity id.")],
    status: Annotated[
        str,
        typer.Option(
            help="Status name (case-insensitive, aliases allowed).",
            autocompletion=complete_written_status,
        ),
    ],
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
        bool,
        typer.Option("--force", help="Record a transition the model forbids (needs --reason)."),
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
            event["attributes"] = parse_json(attributes)
        except BadJson as error:
            raise fail(BadJson(f"--attributes: {error.message}", **error.details)) from None
    with opened(db, models, mode="create") as ledger, reported():
        try:
            outcome = ledger.record(**event)
        except ForceWithoutReason:
            raise fail(
                ForceWithoutReason("--force needs --reason: say why the model is overridden")
            ) from None
    if json:
        print_json(outcome.to_dict())
    else:
        word = "recorded" if outcome.kind == "accepted" else "duplicate of"
        console().print(
            shown(f"{word} seq {outcome.seq}, event id {short_digest(outcome.event_id or '')}")
        )


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
    with opened(db, models, mode="read" if dry_run else "write") as ledger, reported():
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
            [a["model"], a["type"], a["id"], a["status"], a["reason"], when(a["occurred_at"])]
            for a in actions
        ],
    )

"""`serve` and `tokens`: the HTTP service and the API tokens it accepts. The
service stack is imported inside the commands, so that every other command
starts without loading a web framework."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ._app import DbOption, JsonOption, ModelsDirOption, app, opened, reported
from ._output import console, print_json, shown, table, when

tokens_app = typer.Typer(
    help="API tokens for the HTTP service (stored hashed in the ledger database).",
    no_args_is_help=True,
)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8080,
    max_body_bytes: Annotated[
        int, typer.Option(min=1024, help="Largest request body accepted (413 above).")
    ] = 1 << 20,
    max_connections: Annotated[
        int,
        typer.Option(
            min=1,
            help="Open connections at most (lowered to fit the file-descriptor limit); "
            "a new one closes the oldest still sending its request.",
        ),
    ] = 1000,
    request_timeout: Annotated[
        float,
        typer.Option(
            min=0.1, help="Seconds a request may take to arrive whole; slower ones are closed."
        ),
    ] = 20.0,
    db: DbOption = None,
    models: ModelsDirOption = None,
) -> None:
    """Serve the JSON API (reference at /docs, OpenAPI at /openapi.json) and the
    audit pages (/ui). Every endpoint but /health needs a token from `tokens create`.

    Example: status-ledger serve --port 8080
    """
    import uvicorn

    from service import Limits, create_app, server_config

    limits = Limits(max_connections=max_connections, request_timeout=request_timeout)
    with opened(db, models, mode="write") as ledger, reported():
        service = create_app(ledger, max_body_bytes=max_body_bytes)
        uvicorn.Server(server_config(service, host=host, port=port, limits=limits)).run()


@tokens_app.command("create")
def tokens_create(
    name: Annotated[str, typer.Argument(help="Who uses the token; events record token:NAME.")],
    role: Annotated[str, typer.Option(help="reader, writer or admin.")],
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Create a token and print it; it is shown only this once (only its hash is kept).

    Example: status-ledger tokens create ci-writer --role writer
    """
    from service import Tokens

    with opened(db, mode="write") as ledger, reported():
        token = Tokens(ledger.store).create(name, role)
    if json:
        print_json({"name": name, "role": role, "token": token})
    else:
        print(token)
        print(
            "Store this token now (in a secret store or password manager): it is shown only "
            "once and cannot be recovered.\n"
            "Send it with every request as the header 'Authorization: Bearer TOKEN'.",
            file=sys.stderr,
        )


@tokens_app.command("list")
def tokens_list(db: DbOption = None, json: JsonOption = False) -> None:
    """Tokens by name, role and dates (never the tokens themselves).

    Example: status-ledger tokens list
    """
    from service import Tokens

    with opened(db) as ledger, reported():
        found = Tokens(ledger.store).list()
    if json:
        print_json([t.model_dump() for t in found])
        return
    table(
        "tokens",
        ["name", "role", "created", "revoked"],
        [[t.name, t.role, when(t.created_at), when(t.revoked_at)] for t in found],
    )


@tokens_app.command("revoke")
def tokens_revoke(
    name: Annotated[str, typer.Argument(help="Token name.")],
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Revoke a token at once; its name stays taken so that token:NAME stays unambiguous.

    Example: status-ledger tokens revoke ci-writer
    """
    from service import Tokens

    with opened(db, mode="write") as ledger, reported():
        info = Tokens(ledger.store).revoke(name)
    if json:
        print_json(info.model_dump())
    else:
        console().print(shown(f"token {info.name} revoked at {when(info.revoked_at)}"))

"""`checkpoint`: sign the chain head so that `verify --against` can later prove
the ledger still extends it (ledger/_checkpoint.py says what that catches)."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger import UsageError, generate_key

from ._app import DbOption, JsonOption, fail, opened, reported
from ._output import console, print_json

checkpoint_app = typer.Typer(invoke_without_command=True, no_args_is_help=False)


@checkpoint_app.callback()
def checkpoint(
    ctx: typer.Context,
    key: Annotated[
        str | None, typer.Option("--key", help="Ed25519 private key file (from keygen).")
    ] = None,
    append_to: Annotated[
        str | None, typer.Option("--append-to", help="Append the statement to this file.")
    ] = None,
    to_store: Annotated[
        str | None,
        typer.Option("--to-store", help="Record the statement in this other store (path or URL)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Print a signed checkpoint of the chain head; `keygen` makes the key.

    The statement holds the head's seq and hash, the time and the key id. Keep
    it where this database's writers cannot change it; `verify --against` then
    proves the ledger still extends it. Run `verify` first: the head is signed
    as it is.

    Example: status-ledger checkpoint --key ledger.key --append-to checkpoints.jsonl
    """
    if ctx.invoked_subcommand is not None:
        return
    if key is None:
        raise fail(UsageError("--key KEYFILE is required (make one with `checkpoint keygen`)"))
    with opened(db) as ledger, reported():
        made = ledger.checkpoint(key, append_to=append_to, to_store=to_store)
    console().print(made.line(), markup=False, soft_wrap=True)


@checkpoint_app.command()
def keygen(
    keyfile: Annotated[str, typer.Argument(help="Where to write the private key.")],
    json: JsonOption = False,
) -> None:
    """Make an Ed25519 key pair: KEYFILE (private, mode 0600) and KEYFILE.pub.

    Existing files are never overwritten. Keep KEYFILE away from the ledger's host.

    Example: status-ledger checkpoint keygen ledger.key
    """
    with reported():
        key_id = generate_key(keyfile)
    if json:
        print_json({"key_id": key_id, "private": keyfile, "public": f"{keyfile}.pub"})
    else:
        console().print(f"key {key_id}: {keyfile} (private), {keyfile}.pub (public)", markup=False)

"""Commands about status models: list and show."""

from __future__ import annotations

from typing import Annotated

import typer

from ._app import DbOption, JsonOption, ModelsDirOption, opened, reported
from ._output import console, print_json, table

models_app = typer.Typer(help="Status models: list, show.", no_args_is_help=True)


@models_app.command("list")
def list_models(db: DbOption = None, models: ModelsDirOption = None, json: JsonOption = False) -> None:
    """List the status models this ledger knows.

    Example: status-ledger models list
    """
    with opened(db, models) as ledger:
        found = list(ledger.registry.values())
    if json:
        print_json([{"name": m.name, "version": m.version, "title": m.title, "types": list(m.types)} for m in found])
        return
    table("models", ["name", "version", "types", "title"],
          [[m.name, m.version, ", ".join(m.types), m.title] for m in found])


@models_app.command("show")
def show_model(
    name: Annotated[str, typer.Argument(help="Model name.")],
    db: DbOption = None,
    models: ModelsDirOption = None,
    json: JsonOption = False,
) -> None:
    """Show a model's types, statuses and transition table.

    Example: status-ledger models show uipath
    """
    with opened(db, models) as ledger, reported():
        model = ledger.registry.model(name)
    if json:
        print_json(model.model_dump(mode="json"))
        return
    out = console()
    out.print(f"{model.name} v{model.version}: {model.title} ({model.source})", markup=False)
    for et in model.types.values():
        if et.derived and not et.written:
            out.print(f"\n{et.name}: derived ({et.derived}) from {et.child}", markup=False)
            continue
        rows = [[s if s not in et.initial else f"{s} (initial)", "final" if et.is_final(s) else "",
                 ", ".join(et.allowed_after(s)) or "-"] for s in et.writable_statuses]
        table(f"{model.name} {et.name}", ["status", "", "may move to"], rows)

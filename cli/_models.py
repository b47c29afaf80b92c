"""Commands about status models: list, show (as a table or a diagram), add."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger import model_diagram

from ._app import DbOption, JsonOption, ModelsDirOption, opened, reported
from ._complete import complete_model
from ._output import Column, console, print_json, shown, table

models_app = typer.Typer(help="Status models: list, show, add.", no_args_is_help=True)


@models_app.command("list")
def list_models(
    db: DbOption = None, models: ModelsDirOption = None, json: JsonOption = False
) -> None:
    """List the status models this ledger knows.

    Example: status-ledger models list
    """
    with opened(db, models) as ledger:
        found = list(ledger.registry.values())
    if json:
        print_json(
            [
                {"name": m.name, "version": m.version, "title": m.title, "types": list(m.types)}
                for m in found
            ]
        )
        return
    table(
        "models",
        ["name", "version", "types", "title"],
        [[m.name, m.version, ", ".join(m.types), m.title] for m in found],
    )


@models_app.command("show")
def show_model(
    name: Annotated[str, typer.Argument(help="Model name.", autocompletion=complete_model)],
    diagram: Annotated[
        str | None,
        typer.Option("--diagram", help="Print the transition diagram instead: mermaid or dot."),
    ] = None,
    db: DbOption = None,
    models: ModelsDirOption = None,
    json: JsonOption = False,
) -> None:
    """Show a model's types, statuses and transition table, or its diagram.

    Example: status-ledger models show uipath --diagram mermaid
    """
    with opened(db, models) as ledger, reported():
        model = ledger.registry.model(name)
        text = model_diagram(model, diagram) if diagram is not None else None
    if text is not None:
        print("\n".join(shown(line) for line in text.split("\n")), end="")
        return
    if json:
        print_json(model.model_dump(mode="json"))
        return
    out = console()
    out.print(shown(f"{model.name} v{model.version}: {model.title}"))
    for et in model.types.values():
        if et.derived and not et.written:
            out.print()
            out.print(shown(f"{et.name}: derived ({et.derived}) from {et.child}"))
            continue
        aliases: dict[str, list[str]] = {}
        for alias, target in et.aliases.items():
            aliases.setdefault(target, []).append(alias)
        rows = [
            [
                s,
                ", ".join(
                    kind
                    for kind, applies in (("initial", s in et.initial), ("final", et.is_final(s)))
                    if applies
                ),
                ", ".join(aliases.get(s, [])),
                ", ".join(et.allowed_after(s)) or "-",
            ]
            for s in et.writable_statuses
        ]
        table(
            f"{model.name} {et.name}",
            ["status", Column("kind", drop=1), Column("aliases", wrap=True), "may move to"],
            rows,
        )


@models_app.command("add")
def add_model(
    file: Annotated[str, typer.Argument(help="A model TOML file.")],
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Check a model TOML file and store it in the ledger.

    Every later command finds it there; a model of the same name is replaced.

    Example: status-ledger models add deploy.toml
    """
    with opened(db, mode="write") as ledger, reported():
        model = ledger.add_model(file)
    if json:
        print_json({"name": model.name, "version": model.version, "types": list(model.types)})
        return
    console().print(shown(f"added model {model.name} v{model.version} ({', '.join(model.types)})"))

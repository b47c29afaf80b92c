"""Shell completion: `status-ledger completion bash|zsh|fish` prints the script
for the shell it is told (never a guess from the parent process), and model,
type and status arguments complete from the model registry: the built-in
models, the user models stored in the ledger named by --db (or
STATUS_LEDGER_DB) when it already exists, and a --models directory."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from typer.completion import (  # type: ignore[attr-defined]  # public module, not in its __all__
    completion_init,
    get_completion_script,
)

from ledger import Ledger, LedgerError, ModelRegistry

# Typer registers its bash, zsh and fish completion classes here only when
# the app offers --install-completion; completing a Tab press needs them too.
completion_init()

PROG = "status-ledger"
COMPLETE_VAR = "_STATUS_LEDGER_COMPLETE"


class Shell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def completion(
    shell: Annotated[Shell, typer.Argument(help="The shell to complete in.")],
) -> None:
    """Print the completion script for a shell; load it from the shell's startup file.

    bash: eval "$(status-ledger completion bash)" in ~/.bashrc;
    zsh: eval "$(status-ledger completion zsh)" in ~/.zshrc;
    fish: status-ledger completion fish > ~/.config/fish/completions/status-ledger.fish

    Example: status-ledger completion bash
    """
    print(get_completion_script(prog_name=PROG, complete_var=COMPLETE_VAR, shell=shell.value))


def _registry(ctx: typer.Context) -> ModelRegistry:
    """The models this invocation would know, without creating a ledger file
    or failing: completion runs on every Tab press and must print only names."""
    params = ctx.find_root().params | ctx.params
    target = params.get("db") or os.environ.get("STATUS_LEDGER_DB") or "status-ledger.db"
    models_dir = params.get("models")
    is_url = str(target).startswith(("postgresql://", "postgres://"))
    try:
        if is_url or Path(target).is_file():
            with Ledger.open(target, models_dir=models_dir, views=False, mode="read") as ledger:
                return ledger.registry
        if models_dir:
            return ModelRegistry.builtin().with_model_dir(models_dir)
    except (LedgerError, OSError):
        pass
    return ModelRegistry.builtin()


def _matching(names: list[str] | tuple[str, ...], incomplete: str) -> list[str]:
    return [n for n in names if n.startswith(incomplete)]


def complete_model(ctx: typer.Context, incomplete: str) -> list[str]:
    return _matching(sorted(_registry(ctx)), incomplete)


def _given(ctx: typer.Context, name: str) -> str:
    """A value typed before the word being completed. Completing an option's
    value (`list openfn run --status <Tab>`) stops the parse at that option
    before the arguments are assigned; they wait in `ctx.args`, in order."""
    value = ctx.params.get(name)
    if isinstance(value, str):
        return value
    arguments = [p.name for p in ctx.command.params if p.param_type_name == "argument"]
    if name in arguments and arguments.index(name) < len(ctx.args):
        return ctx.args[arguments.index(name)]
    return ""


def complete_type(ctx: typer.Context, incomplete: str) -> list[str]:
    model = _registry(ctx).get(_given(ctx, "model"))
    return _matching(list(model.types) if model else [], incomplete)


def complete_view_status(ctx: typer.Context, incomplete: str) -> list[str]:
    """Statuses a view row can be in (what `list --status` filters on)."""
    try:
        names = _registry(ctx).view_statuses(_given(ctx, "model"), _given(ctx, "type"))
    except LedgerError:
        return []
    return _matching(names, incomplete)


def complete_written_status(ctx: typer.Context, incomplete: str) -> list[str]:
    """Statuses an event may be written with (what `record --status` takes)."""
    try:
        et = _registry(ctx).entity_type(_given(ctx, "model"), _given(ctx, "type"), for_writing=True)
    except LedgerError:
        return []
    return _matching(et.writable_statuses, incomplete)

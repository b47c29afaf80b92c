"""The Typer application and the options every command shares. No rule lives
here: commands parse, call the `ledger` API, and print."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.metadata import version
from typing import Annotated, Any

import typer

from ledger import Ledger, LedgerError, OpenMode, UsageError

from ._output import shown

# Click's exception base, wherever this Typer version takes Click from.
_ClickException: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"
)


class PlainFlags(typer.core.TyperGroup):
    """Help lists a flag (`--json`, `--force`) without a `<bool>` type, as if it
    took a value: every command and group under this one is shown that way."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            _plain_flags(command.get_params(ctx))
        return command

    def get_params(self, ctx: Any) -> Any:
        return _plain_flags(super().get_params(ctx))


def _plain_flags(params: list[Any]) -> list[Any]:
    """An empty metavar is what Typer's help prints for the type of a flag."""
    for param in params:
        if getattr(param, "is_flag", False):
            param.metavar = ""
    return params


class OneLineErrors(PlainFlags):
    """Usage errors (missing argument, bad option value, unknown command) are one
    line on stderr like every other error, `Error: usage_error: ...`, exit 2."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except _ClickException as error:
            code = _usage_error(error)
        except typer.Abort:
            print("Error: aborted", file=sys.stderr)
            code = 1
        code = code if isinstance(code, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


def _usage_error(error: Exception) -> int:
    """Prints the one line; a bare group (`status-ledger models`) has already
    printed its help when Typer raises NoArgsIsHelpError."""
    if type(error).__name__ != "NoArgsIsHelpError":
        ctx = getattr(error, "ctx", None)
        message = " ".join(getattr(error, "format_message", error.__str__)().split())
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        print(shown(f"Error: usage_error: {message}{hint}"), file=sys.stderr)
    return int(getattr(error, "exit_code", 2))


app = typer.Typer(
    cls=OneLineErrors,
    name="status-ledger",
    help="An event-sourced, hash-chained ledger of status changes for runs, work orders, "
    "task groups, workflows and jobs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="STATUS_LEDGER_DB",
        help="SQLite file path or postgresql:// URL [default: ./status-ledger.db]",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine output, no decoration.")]
AsOfOption = Annotated[
    str | None, typer.Option("--as-of", help="Only events that occurred by this time.")
]
KnownAtOption = Annotated[
    str | None, typer.Option("--known-at", help="Only events the ledger had recorded by this time.")
]
ParentOption = Annotated[
    str | None, typer.Option("--parent", help="Parent id (work order, workflow).")
]
ModelsDirOption = Annotated[
    str | None, typer.Option("--models", help="Directory of extra model TOML files.")
]

_state = {"debug": False}


def _show_version(value: bool) -> None:
    if value:
        print(f"status-ledger {version('status-ledger')}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", callback=_show_version, is_eager=True
        ),
    ] = False,
) -> None:
    _state["debug"] = debug or bool(os.environ.get("STATUS_LEDGER_DEBUG"))


def fail(error: LedgerError) -> typer.Exit:
    """One line on stderr with the stable code; exit 2 for usage errors, else 1."""
    if _state["debug"]:
        trace = "".join(traceback.format_exception(error))
        print("\n".join(shown(line) for line in trace.splitlines()), file=sys.stderr)
    message = " ".join(error.message.split())
    print(shown(f"Error: {error.code}: {message}"), file=sys.stderr)
    return typer.Exit(2 if isinstance(error, UsageError) else 1)


@contextmanager
def opened(db: str | None, models: str | None = None, mode: OpenMode = "read") -> Iterator[Ledger]:
    """The ledger a command works on, opened for what it does (`Ledger.open`):
    only the commands that record (`init`, `record`, `import`) may create one;
    every other one on a missing store fails with `not_found` instead of
    reporting on a new, empty ledger."""
    try:
        with Ledger.open(db, models_dir=models, mode=mode) as ledger:
            yield ledger
    except LedgerError as error:
        raise fail(error) from None


@contextmanager
def reported() -> Iterator[None]:
    try:
        yield
    except LedgerError as error:
        raise fail(error) from None

"""Printing: JSON for machines, Rich tables for people (colours follow each
system's own status colours; none when not a terminal or with NO_COLOR)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ledger import ModelRegistry

# Piped output is read by tools and people alike: never cut or squash a column to
# an imagined 80-column screen, let each table take the width its content needs.
PIPED_WIDTH = 10_000


def console(stderr: bool = False) -> Console:
    terminal = (sys.stderr if stderr else sys.stdout).isatty()
    return Console(
        stderr=stderr,
        no_color=bool(os.environ.get("NO_COLOR")),
        highlight=False,
        soft_wrap=not terminal,
        width=None if terminal else PIPED_WIDTH,
    )


def print_json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def print_jsonl(rows: Iterable[Any]) -> None:
    out = sys.stdout
    for row in rows:
        out.write(orjson.dumps(row).decode() + "\n")


def status_text(registry: ModelRegistry, model: str, type_name: str, status: str) -> Text:
    found = registry.get(model)
    et = found.types.get(type_name) if found else None
    if et is not None and et.derived and et.child:
        et = found.types.get(et.child) if found else None
    colour = et.colors.get(status) if et else None
    return Text(status, style=colour or "")


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    grid = Table(title=title, title_justify="left", show_lines=False)
    for name in columns:
        grid.add_column(name)
    for row in rows:
        grid.add_row(*[cell if isinstance(cell, Text) else Text("" if cell is None else str(cell))
                       for cell in row])
    console().print(grid)


def when(value: Any) -> str:
    return "" if value is None else str(value)

"""Printing: JSON for machines, Rich tables for people (colours follow each
system's own status colours; none when not a terminal or with NO_COLOR)."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ledger import ModelRegistry, display_time, write_whole

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


JSONL_BLOCK = 1 << 16
"""Bytes of JSONL gathered before they are written: an export streams in blocks
instead of one write per line."""


def print_json(data: Any) -> None:
    _emit(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")


def print_jsonl(rows: Iterable[Any]) -> None:
    block = bytearray()
    for row in rows:
        block += orjson.dumps(row)
        block += b"\n"
        if len(block) >= JSONL_BLOCK:
            _emit(block)
            block.clear()
    if block:
        _emit(block)


def _emit(data: bytes | bytearray) -> None:
    """Every byte, even when the command is stopped and continued (Ctrl-Z, then
    fg) while a pipe is full: through `sys.stdout`, `list --json | slow-reader`
    ended short with exit code 0 (`ledger.write_whole`). Where stdout is no file
    (a test's captured output) it is written as text."""
    try:
        write_whole(sys.stdout, data)
    except io.UnsupportedOperation:
        sys.stdout.write(data.decode())


def status_text(registry: ModelRegistry, model: str, type_name: str, status: str) -> Text:
    found = registry.get(model)
    et = found.types.get(type_name) if found else None
    if et is not None and et.derived and et.child:
        et = found.types.get(et.child) if found else None
    colour = et.colors.get(status) if et else None
    return Text(status, style=colour or "")


@dataclass(frozen=True, slots=True)
class Column:
    """A table column. `drop` ranks the columns a narrow terminal leaves out,
    highest first (0: always shown); `wrap` lets free text (reasons, actors)
    fold over lines where statuses, times, counts and digests never do."""

    name: str
    drop: int = 0
    wrap: bool = False


# On a narrow terminal nothing is cut off with an ellipsis (an audit must show
# every character) and no status or time is split over lines: columns are left
# out, least useful first (a line under the table names them), before any short
# value wraps. What still does not fit folds: free text first (`wrap`), then
# the widest values; text longer than KEEP_WHOLE (a long id, a message) always
# may. A cell may hold lines of its own ("--as-of\n2024-...").
KEEP_WHOLE = 32
MIN_FOLDED = 8


def table(
    title: str | None, columns: Sequence[Column | str], rows: Iterable[Sequence[Any]]
) -> None:
    specs = [c if isinstance(c, Column) else Column(c) for c in columns]
    cells = [
        [
            cell if isinstance(cell, Text) else Text("" if cell is None else str(cell))
            for cell in row
        ]
        for row in rows
    ]
    widest = [
        max([len(c.name), *(_widest_line(row[i]) for row in cells)]) for i, c in enumerate(specs)
    ]
    out = console()
    shown = _fitting(specs, widest, out.width)
    whole = _kept_whole(specs, widest, shown, out.width)
    hidden = [c.name for i, c in enumerate(specs) if i not in shown]
    grid = Table(title=title, title_justify="left")
    for i in shown:
        if i in whole:
            grid.add_column(specs[i].name, no_wrap=True, min_width=widest[i])
        else:
            grid.add_column(specs[i].name, overflow="fold")
    for row in cells:
        grid.add_row(*(row[i] for i in shown))
    out.print(grid)
    if hidden:
        out.print(
            f"hidden to fit {out.width} columns: {', '.join(hidden)} "
            "(a wider terminal, or piped output, shows every column)"
        )


def _widest_line(cell: Text) -> int:
    return max(cell_len(line) for line in cell.plain.split("\n"))


def _fitting(specs: Sequence[Column], widest: Sequence[int], width: int) -> list[int]:
    """The columns that fit `width` whole (free text at up to KEEP_WHOLE): those
    never dropped, then each other one that still fits, lowest `drop` first."""
    shown = [i for i, c in enumerate(specs) if not c.drop]
    for i in sorted((i for i, c in enumerate(specs) if c.drop), key=lambda i: specs[i].drop):
        if 1 + sum(3 + min(widest[j], KEEP_WHOLE) for j in [*shown, i]) <= width:
            shown.append(i)
    return sorted(shown)


def _kept_whole(
    specs: Sequence[Column], widest: Sequence[int], shown: Sequence[int], width: int
) -> set[int]:
    """The shown columns that never wrap: short values (statuses, times, counts,
    digests) before free text, narrowest first, as many as the width allows
    with every other column folded to MIN_FOLDED."""
    available = width - 1 - 3 * len(shown)
    need = sum(min(widest[i], MIN_FOLDED) for i in shown)
    whole: set[int] = set()
    for i in sorted(shown, key=lambda i: (specs[i].wrap, widest[i])):
        extra = widest[i] - min(widest[i], MIN_FOLDED)
        if widest[i] > KEEP_WHOLE or need + extra > available:
            break
        need += extra
        whole.add(i)
    return whole


def when(value: Any) -> str:
    """Every time a person reads, in one form (`ledger.display_time`)."""
    return "" if value is None else display_time(value)

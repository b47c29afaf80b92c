"""Printing: JSON for machines, Rich tables for people (colours follow each
system's own status colours; none when not a terminal or with NO_COLOR)."""

from __future__ import annotations

import io
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
    ended short with exit code 0. Where stdout is no file (a test's captured
    output) it is written as text."""
    try:
        _write_whole(sys.stdout, data)
    except io.UnsupportedOperation:
        sys.stdout.write(data.decode())


def _write_whole(stream: Any, data: bytes | bytearray) -> None:
    """Every byte of `data` into the file under `stream`, however many `os.write`
    calls it takes (a signal makes a write into a full pipe return part-way).
    The stream's own buffer is flushed first, so the output keeps its order; a
    stream with no file under it raises io.UnsupportedOperation first."""
    stream.flush()
    fd = stream.fileno()
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def status_text(registry: ModelRegistry, model: str, type_name: str, status: str) -> Text:
    found = registry.get(model)
    et = found.types.get(type_name) if found else None
    if et is not None and et.derived and et.child:
        et = found.types.get(et.child) if found else None
    colour = et.colors.get(status) if et else None
    return Text(status, style=colour or "")


# On a narrow terminal nothing is cut off with an ellipsis (an audit must show
# every character): as many short columns (ids, statuses, timestamps) as fit are
# kept whole, narrowest first, and the other columns wrap.
KEEP_WHOLE = 32
MIN_WRAPPED = 8


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    cells = [
        [
            cell if isinstance(cell, Text) else Text("" if cell is None else str(cell))
            for cell in row
        ]
        for row in rows
    ]
    widest = [
        max([len(name), *(row[i].cell_len for row in cells)]) for i, name in enumerate(columns)
    ]
    out = console()
    available = out.width - 1 - 3 * len(columns)
    need = sum(min(w, MIN_WRAPPED) for w in widest)
    whole: set[int] = set()
    for i in sorted(range(len(columns)), key=lambda i: widest[i]):
        extra = widest[i] - min(widest[i], MIN_WRAPPED)
        if widest[i] > KEEP_WHOLE or need + extra > available:
            break
        need += extra
        whole.add(i)
    grid = Table(title=title, title_justify="left", show_lines=False)
    for i, name in enumerate(columns):
        if i in whole:
            grid.add_column(name, no_wrap=True, min_width=widest[i])
        else:
            grid.add_column(name, overflow="fold")
    for row in cells:
        grid.add_row(*row)
    out.print(grid)


def when(value: Any) -> str:
    return "" if value is None else str(value)

"""Printing: JSON for machines, Rich tables for people (colours follow each
system's own status colours; none when not a terminal or with NO_COLOR)."""

from __future__ import annotations

import io
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from rich.cells import cell_len
from rich.console import Console
from rich.errors import StyleSyntaxError
from rich.style import Style
from rich.table import Table
from rich.text import Text

from ledger import ModelRegistry, display_time

# Piped output is read by tools and people alike: never cut or squash a column to
# an imagined 80-column screen, let each table take the width its content needs.
PIPED_WIDTH = 10_000


_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def shown(value: object) -> str:
    """`value` as text that is safe to print to a terminal: each control character,
    line separator and bidi override becomes a visible escape (`\\x1b`, `\\n`,
    `\\u202e`). Text the CLI prints for people comes from the store (ids,
    messages, attributes, model names, written by anyone who could write) or from
    the command line; raw, an ESC in it could recolour, retitle or clear the
    terminal, forge a hyperlink (OSC 8) or a line, or reorder what is shown."""
    return _UNSAFE.sub(_escape, str(value))


def _escape(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def console(stderr: bool = False) -> Console:
    """Rich's console for people. Markup and emoji codes are off: the text printed
    holds user data, in which `[link=...]` or `:smile:` must stay as written."""
    terminal = (sys.stderr if stderr else sys.stdout).isatty()
    return Console(
        stderr=stderr,
        no_color=bool(os.environ.get("NO_COLOR")),
        highlight=False,
        markup=False,
        emoji=False,
        soft_wrap=not terminal,
        width=None if terminal else PIPED_WIDTH,
    )


JSONL_BLOCK = 1 << 16
"""Bytes of JSONL gathered before they are written: an export streams in blocks
instead of one write per line."""


_RAW_IN_JSON = re.compile(rb"\x7f|\xc2[\x80-\x9f]|\xe2\x80[\xa8-\xae]|\xe2\x81[\xa6-\xa9]")
"""What JSON encoding leaves raw that a terminal may act on: DEL, the C1 controls
(U+009B is CSI to some terminals), line separators and bidi overrides, in UTF-8.
orjson escapes the C0 controls itself."""


def print_json(data: Any) -> None:
    """Indented JSON for `--json`, with the characters `_RAW_IN_JSON` names written
    as `\\u` escapes: the same JSON values, safe on a terminal."""
    encoded = orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"
    _emit(_RAW_IN_JSON.sub(_json_escape, encoded))


def _json_escape(found: re.Match[bytes]) -> bytes:
    return b"\\u%04x" % ord(found.group().decode())


def print_jsonl(rows: Iterable[Any]) -> None:
    """JSONL byte for byte as orjson writes it (`export`: the data, not a display)."""
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
    return Text(shown(status), style=_look(colour))


def _look(spec: str | None) -> Style:
    """A model's colour for a status, as a Rich style without a hyperlink: the
    model file is user text, and `link URL` in it would print an OSC 8 link."""
    try:
        return Style.parse(spec or "").update_link(None)
    except StyleSyntaxError:
        return Style()


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
    """Cells that are `Text` are taken as they are (their text already `shown`);
    everything else is `shown` here."""
    specs = [c if isinstance(c, Column) else Column(c) for c in columns]
    cells = [
        [
            cell if isinstance(cell, Text) else Text("" if cell is None else shown(cell))
            for cell in row
        ]
        for row in rows
    ]
    widest = [
        max([len(c.name), *(_widest_line(row[i]) for row in cells)]) for i, c in enumerate(specs)
    ]
    out = console()
    visible = _fitting(specs, widest, out.width)
    whole = _kept_whole(specs, widest, visible, out.width)
    hidden = [c.name for i, c in enumerate(specs) if i not in visible]
    heading = None if title is None else Text(shown(title))
    grid = Table(title=heading, title_justify="left")
    for i in visible:
        if i in whole:
            grid.add_column(specs[i].name, no_wrap=True, min_width=widest[i])
        else:
            grid.add_column(specs[i].name, overflow="fold")
    for row in cells:
        grid.add_row(*(row[i] for i in visible))
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


def heading(out: Console, title: str, note: str | None = None) -> None:
    """A section of a long human report (the demo's tour): a blank line, the
    title in bold, then what it shows."""
    out.print()
    out.print(Text(shown(title), style="bold"))
    if note:
        out.print(shown(note))


def when(value: Any) -> str:
    """Every time a person reads, in one form (`ledger.display_time`)."""
    return "" if value is None else display_time(value)

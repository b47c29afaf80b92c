"""What the web pages show beside the raw rows: status chips in each system's own
colours (the same names the CLI gives Rich) and which events
arrived late (recorded after an event that occurred later than they did)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from rich.color import Color, ColorParseError

from ledger import HistoryEntry, ModelRegistry

NEUTRAL = "#d0d4da"


@dataclass(frozen=True, slots=True)
class Chip:
    status: str
    background: str
    foreground: str


def chip(registry: ModelRegistry, model: str, type_name: str, status: str) -> Chip:
    """A status with its colour: the type's own, else its child type's (a work
    order shows the colours of its runs)."""
    found = registry.get(model)
    name = None
    if found is not None:
        et = found.types.get(type_name)
        if et is not None:
            name = et.colors.get(status)
            if name is None and et.child and et.child in found.types:
                name = found.types[et.child].colors.get(status)
    background = _hex(name) if name else NEUTRAL
    return Chip(status, background, _readable_on(background))


def _hex(name: str) -> str:
    try:
        return Color.parse(name).get_truecolor().hex
    except ColorParseError:
        return NEUTRAL


def _readable_on(background: str) -> str:
    red, green, blue = (int(background[i : i + 2], 16) for i in (1, 3, 5))
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return "#111111" if luminance > 140 else "#ffffff"


def late_seqs(entries: list[HistoryEntry]) -> set[int]:
    """Seqs of events recorded after an event of the same entity that occurred later."""
    late: set[int] = set()
    lowest_after: dict[tuple[str, str, str | None], int] = {}
    for entry in reversed(entries):
        key = (entry.type, entry.id, entry.parent)
        lowest = lowest_after.get(key)
        if lowest is not None and lowest < entry.seq:
            late.add(entry.seq)
        lowest_after[key] = entry.seq if lowest is None else min(lowest, entry.seq)
    return late


def entity_url(model: str, type_name: str, id_: str, parent: str | None = None) -> str:
    path = "/ui/" + "/".join(quote(part, safe="") for part in (model, type_name, id_))
    return path + ("?" + urlencode({"parent": parent}) if parent else "")

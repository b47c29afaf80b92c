"""Ingest: the orchestrators' own payloads turned into the ledger's event inputs.

An adapter is a pure function from one delivered payload (the bytes of a
webhook body, a message, an API response) to the event inputs it stands for,
in the ledger's own event format. It decides nothing the ledger decides: the
inputs go through `Ledger.append` like any other, so rules, idempotency and
rejects are the same whatever the source. A payload an adapter cannot read at
all raises a `LedgerError` with a code (`bad_json`, `missing_field`, ...).

The HTTP service (`POST /ingest/{format}`), `import --from FORMAT`, `pull` and
`consume` all find adapters here by name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._errors import UsageError

Adapter = Callable[[bytes], list[dict[str, Any] | str]]


def _ledger_lines(payload: bytes) -> list[dict[str, Any] | str]:
    """The ledger's own format: one event per line, validated by the append."""
    text = payload.decode("utf-8", errors="replace")
    return [line for line in text.splitlines() if line.strip()]


ADAPTERS: dict[str, Adapter] = {"ledger": _ledger_lines}


def adapter(name: str) -> Adapter:
    """The adapter registered under `name`; unknown names list the known ones."""
    try:
        return ADAPTERS[name]
    except KeyError:
        known = ", ".join(sorted(ADAPTERS))
        raise UsageError(f"unknown ingest format {name!r}; known formats: {known}") from None


__all__ = ["ADAPTERS", "Adapter", "adapter"]

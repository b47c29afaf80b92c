"""Small builders shared by the specification tests: events written the way a
user writes them, the real command line, and a fingerprint of everything a
rejected input must leave untouched."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner, Result

from cli import app
from ledger import Ledger

BASE = 1_700_000_000
"""Epoch seconds the tests count from, so timestamps read as small offsets."""


def at(offset: float) -> int | float:
    """An `occurred_at` `offset` seconds after BASE, as a JSON number."""
    return BASE + offset


def event(
    model: str, type_: str, id_: str, status: str, when: float, **fields: Any
) -> dict[str, Any]:
    """One event as a user writes it; `when` is an offset from BASE."""
    return {
        "model": model,
        "type": type_,
        "id": id_,
        "status": status,
        "occurred_at": at(when),
        **fields,
    }


def cli(*args: str, input: str | None = None) -> Result:
    """Run `status-ledger ARGS` in-process, exactly as the console script does."""
    return CliRunner().invoke(app, list(args), input=input)


def fingerprint(ledger: Ledger) -> tuple[Any, ...]:
    """Everything an append could change: events, chain, idempotency keys, views."""
    assert ledger.views is not None
    return (
        list(ledger.export(with_ledger_fields=True)),
        ledger.verify().model_dump(),
        ledger.store.head(),
        ledger.store.event_id_count(),
        ledger.views.dump(),
    )

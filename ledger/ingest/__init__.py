"""Ingest: the orchestrators' own payloads turned into the ledger's event inputs.

An adapter is a pure function from one delivered payload (the bytes of a
webhook body, a message, an API response) to the event inputs it stands for,
in the ledger's own event format. It decides nothing the ledger decides: the
inputs go through `Ledger.append` like any other, so rules, idempotency and
rejects are the same whatever the source; a status the model lacks is the
ledger's own `unknown_status` reject. A payload an adapter cannot read at all
raises a `LedgerError` with a code (`bad_json`, `missing_field`,
`invalid_field`) and yields nothing. Every event an adapter makes carries an
`event_id` derived from the source's own ids (UiPath's `EventId`, run ids and
step names, ...), so a redelivered or re-read payload is a duplicate.

The HTTP service (`POST /ingest/{format}`), `import --from FORMAT`, `pull` and
`consume` all find adapters here by name; docs/ingest.md has each format's
field mapping. Systems that sign their deliveries have an entry in
`SIGNATURES`: the header to read and the check to make with a shared secret.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._errors import UsageError
from . import _lightning, _openfn, _openlineage, _osmo, _uipath
from ._pull import SourceUnavailable, openfn_pages

Adapter = Callable[[bytes], list[dict[str, Any] | str]]


def _ledger_lines(payload: bytes) -> list[dict[str, Any] | str]:
    """The ledger's own format: one event per line, validated by the append."""
    text = payload.decode("utf-8", errors="replace")
    return [line for line in text.splitlines() if line.strip()]


ADAPTERS: dict[str, Adapter] = {
    "ledger": _ledger_lines,
    "uipath": _uipath.adapt,
    "openfn": _openfn.adapt,
    "osmo": _osmo.adapt,
    "lightning": _lightning.adapt,
    "openlineage": _openlineage.adapt,
}


@dataclass(frozen=True, slots=True)
class Signature:
    """How a system signs its deliveries: the header it sends, how to compute it
    for a body and a secret, and the constant-time check of a received one."""

    header: str
    sign: Callable[[bytes, str], str]
    valid: Callable[[bytes, str, str], bool]


SIGNATURES: dict[str, Signature] = {
    "uipath": Signature(_uipath.HEADER, _uipath.sign, _uipath.signature_valid),
}


def adapter(name: str) -> Adapter:
    """The adapter registered under `name`; unknown names list the known ones."""
    try:
        return ADAPTERS[name]
    except KeyError:
        known = ", ".join(sorted(ADAPTERS))
        raise UsageError(f"unknown ingest format {name!r}; known formats: {known}") from None


def secret_variable(name: str) -> str:
    """The environment variable holding the shared secret of format `name`'s
    signed deliveries (`STATUS_LEDGER_UIPATH_SECRET`)."""
    return f"STATUS_LEDGER_{name.upper()}_SECRET"


__all__ = [
    "ADAPTERS",
    "SIGNATURES",
    "Adapter",
    "Signature",
    "SourceUnavailable",
    "adapter",
    "openfn_pages",
    "secret_variable",
]

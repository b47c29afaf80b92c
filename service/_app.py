"""The ASGI application: the JSON API and the audit pages over one opened
`Ledger`, with one token table beside its events."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI

from ledger import Ledger

from . import _api, _errors, _ingest, _web
from ._auth import Context
from ._security import SecurityHeaders
from ._tokens import Tokens


def create_app(
    ledger: Ledger,
    *,
    max_body_bytes: int = _api.MAX_BODY_BYTES,
    max_events: int = _api.MAX_EVENTS,
    webhook_secrets: Mapping[str, str] | None = None,
) -> FastAPI:
    """An app serving `ledger`; the caller keeps it open for the app's lifetime.
    `webhook_secrets` maps a signing system (uipath) to its shared secret; by
    default each is read from `STATUS_LEDGER_<SYSTEM>_SECRET`."""
    app = FastAPI(
        title="Status Ledger",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        version="1",
        summary="Record status changes and audit their history over HTTP.",
        description=(
            "Every endpoint but `/health` needs `Authorization: Bearer <token>` "
            "(`status-ledger tokens create NAME --role reader|writer|admin`). "
            "Roles: reader (views, history, verify) < writer (append) < admin "
            "(forced transitions, actor, sweep, rebuild). Errors are "
            "`{code, message, ...}` with the CLI's stable codes. The audit pages are at `/ui`."
        ),
    )
    app.state.context = Context(
        ledger=ledger,
        tokens=Tokens(ledger.store),
        max_body_bytes=max_body_bytes,
        max_events=max_events,
    )
    app.state.webhook_secrets = dict(
        _ingest.secrets_from_environment() if webhook_secrets is None else webhook_secrets
    )
    _errors.install(app)
    app.add_middleware(SecurityHeaders)
    app.include_router(_api.router)
    app.include_router(_ingest.router)
    app.include_router(_web.router)
    return app

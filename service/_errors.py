"""Every answer that is not a success is JSON `{code, message, ...}` with the same
stable codes as the CLI, and never a stack trace: the traceback of an unexpected
failure goes to the server log, the client gets `internal_error`."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from ledger import (
    BadJson,
    ConcurrencyConflict,
    InvalidEvent,
    LedgerError,
    NotFound,
    PermissionDenied,
    StoreError,
    UnknownModel,
    UnknownType,
    UsageError,
)

log = logging.getLogger("status_ledger.service")


class Unauthenticated(LedgerError):
    """No bearer token, or one that is unknown or revoked."""

    code = "unauthenticated"


class BodyTooLarge(LedgerError):
    code = "body_too_large"


class ErrorBody(BaseModel):
    """The shape of every error answer; rule violations add entity, current, allowed."""

    model_config = ConfigDict(extra="allow")

    code: str
    message: str


_STATUS: tuple[tuple[type[LedgerError], int], ...] = (
    (Unauthenticated, 401),
    (PermissionDenied, 403),
    (NotFound, 404),
    (UnknownModel, 404),
    (UnknownType, 404),
    (BodyTooLarge, 413),
    (BadJson, 400),
    (InvalidEvent, 422),
    (UsageError, 400),
    (ConcurrencyConflict, 409),
    (StoreError, 503),
)

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (400, "Malformed request (bad_json, usage_error)"),
        (401, "No token, or an unknown or revoked one (unauthenticated)"),
        (403, "The token's role is too low (permission_denied)"),
        (404, "No such entity, model or type (not_found, unknown_model, unknown_type)"),
        (422, "A parameter or event is invalid (invalid_field, bad_timestamp, ...)"),
        (503, "The database cannot be used (store_error and its subcodes)"),
    )
}


def http_status(error: LedgerError) -> int:
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 400


def error_response(error: LedgerError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, Unauthenticated) else None
    return JSONResponse(error.to_dict(), status_code=http_status(error), headers=headers)


async def _ledger_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LedgerError)
    return error_response(exc)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    where = [str(p) for p in first.get("loc", ())]
    field = where[-1] if where else "request"
    message = f"{' '.join(where) or 'request'}: {first.get('msg', 'invalid')}"
    return JSONResponse({"code": "invalid_field", "message": message, "field": field}, 422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(
        {"code": code, "message": str(exc.detail)}, exc.status_code, headers=exc.headers
    )


async def _disconnected(request: Request, exc: Exception) -> JSONResponse:
    """A client that hangs up before its body is all in is a bad request, not a
    server failure: one line in the log, no traceback (the answer reaches no one)."""
    client = request.client.host if request.client else "a client"
    log.info(
        "%s disconnected before sending the whole request body of %s %s (400)",
        client,
        request.method,
        request.url.path,
    )
    return JSONResponse(
        {"code": "client_disconnected", "message": "the client closed the connection mid-body"},
        400,
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # %r: the path may hold C1 controls and bidi overrides; the log is often a terminal
    log.exception("unexpected error on %s %r", request.method, request.url.path)
    return JSONResponse(
        {"code": "internal_error", "message": "internal error; the server log has the details"},
        500,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(LedgerError, _ledger_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(ClientDisconnect, _disconnected)
    app.add_exception_handler(Exception, _unexpected)

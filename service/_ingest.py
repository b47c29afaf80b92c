"""`POST /ingest/{format}`: a system's own payload (a UiPath webhook delivery, an
OpenFn API page, an OSMO workflow query, ...) turned into events by its adapter
in `ledger.ingest` and appended, answered per event like `POST /events`.

Who may post: a writer token, as for `/events`; or, for a system that signs its
deliveries (UiPath), no token at all but a valid signature made with the secret
the service was given (`STATUS_LEDGER_UIPATH_SECRET`). A signature that does not
match is refused with 401 `bad_signature`, token or not, and nothing is
stored. The events' actor is the system (`system:uipath`), whoever delivered
them, so the same delivery posted twice, by any route, is a duplicate."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ledger import AppendReport, ingest

from ._api import AppendAnswer, read_body, stamp
from ._auth import Context, Ctx, allowed, bearer
from ._errors import ERROR_RESPONSES, BodyTooLarge, ErrorBody, Unauthenticated
from ._tokens import Principal

router = APIRouter()

Format = Annotated[
    str,
    Path(
        description="Payload format: " + ", ".join(sorted(ingest.ADAPTERS)) + ".",
        pattern=r"^[a-z]+$",
        max_length=32,
    ),
]


class BadSignature(Unauthenticated):
    """The delivery's signature does not match its body and the shared secret."""

    code = "bad_signature"


def secrets_from_environment() -> dict[str, str]:
    """The shared secret of each signing system that has one in the environment."""
    found = {name: os.environ.get(ingest.secret_variable(name), "") for name in ingest.SIGNATURES}
    return {name: secret for name, secret in found.items() if secret}


async def _caller(request: Request, ctx: Context, name: str, body: bytes) -> Principal | None:
    """The writer behind the request, or None for a delivery whose signature was
    checked; raises 401/403 otherwise."""
    secrets: Mapping[str, str] = request.app.state.webhook_secrets
    scheme = ingest.SIGNATURES.get(name)
    signature = request.headers.get(scheme.header) if scheme is not None else None
    if scheme is not None and signature is not None and name in secrets:
        if not scheme.valid(body, signature, secrets[name]):
            raise BadSignature(
                f"{scheme.header} does not match the body and the {name} webhook secret"
            )
        return None
    credentials = await bearer(request)
    if credentials is None:
        how = (
            f" or a valid {scheme.header} (the service has "
            + ("a" if name in secrets else f"no {name} secret: set {ingest.secret_variable(name)}")
            + ")"
            if scheme is not None
            else ""
        )
        raise Unauthenticated(f"this endpoint needs 'Authorization: Bearer <token>'{how}")
    principal = ctx.tokens.authenticate(credentials.credentials)
    if principal is None:
        raise Unauthenticated("the token is unknown or revoked")
    return allowed(principal, "writer")


@router.post(
    "/ingest/{format}",
    response_model=AppendAnswer,
    tags=["write"],
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "One payload as the system sends it (a JSON document).",
            "content": {"application/json": {"schema": {}}},
        }
    },
    responses={
        **ERROR_RESPONSES,
        401: {
            "model": ErrorBody,
            "description": "No token and no valid signature (unauthenticated, bad_signature)",
        },
        413: {"model": ErrorBody, "description": "Body or event count over the limit"},
        422: {
            "model": AppendAnswer | ErrorBody,
            "description": "At least one event was rejected; the others were stored (see "
            "outcomes); or the payload or the format name is not valid (a code)",
        },
    },
)
async def post_ingest(request: Request, ctx: Ctx, format: Format) -> JSONResponse:
    """Append the events of one payload in a system's own format (docs/ingest.md).
    Answers like `POST /events`: one outcome per event the payload stands for,
    200 when all were accepted or duplicates, 422 when any was rejected."""
    body = await read_body(request, ctx.max_body_bytes)
    principal = await _caller(request, ctx, format, body)
    events = ingest.adapter(format)(body)
    if len(events) > ctx.max_events:
        raise BodyTooLarge(
            f"the payload stands for {len(events)} events; the limit is {ctx.max_events}",
            limit=ctx.max_events,
        )
    inputs: list[dict[str, Any] | str | bytes] = list(events)
    if format == "ledger" and principal is not None:
        # The ledger's own format carries its own actor and force: the rules of /events.
        inputs = [stamp(_parsed(line), principal, index) for index, line in enumerate(events)]
    report: AppendReport = await run_in_threadpool(ctx.ledger.append, inputs)
    answer = {**report.counts(), "outcomes": [o.to_dict() for o in report.outcomes]}
    return JSONResponse(answer, status_code=422 if report.rejected else 200)


def _parsed(line: dict[str, Any] | str) -> Any:
    if isinstance(line, str):
        try:
            return orjson.loads(line)
        except orjson.JSONDecodeError:
            return line
    return line

"""The JSON API: the same operations as the CLI, over HTTP, each a call to
`ledger.Ledger`. Appending answers per event, exactly as `import` does."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from ledger import (
    AppendReport,
    BadJson,
    EventInput,
    HistoryEntry,
    PermissionDenied,
    VerifyReport,
    ViewRow,
    page_cursor,
    parse_json,
)

from ._auth import Admin, Ctx, Reader, Writer
from ._errors import ERROR_RESPONSES, BodyTooLarge, ErrorBody
from ._tokens import Principal

router = APIRouter()

MAX_BODY_BYTES = 1 << 20
MAX_EVENTS = 1000

NAME = r"^[^\x00-\x1f\x7f]+$"
Model = Annotated[str, Path(description="Status model, e.g. openfn.", pattern=NAME, max_length=256)]
Type = Annotated[
    str, Path(description="Entity type, e.g. run or work_order.", pattern=NAME, max_length=256)
]
Id = Annotated[str, Path(description="Entity id.", pattern=NAME, max_length=256)]
ParentQ = Annotated[
    str | None,
    Query(description="Parent id (work order, workflow).", pattern=NAME, max_length=256),
]
AsOf = Annotated[
    str | None,
    Query(
        description="Only events that occurred by this time (RFC 3339 or epoch seconds).",
        max_length=64,
    ),
]
KnownAt = Annotated[
    str | None,
    Query(description="Only events the ledger had recorded by this time.", max_length=64),
]


def _event_body_schema(max_events: int) -> dict[str, Any]:
    one = EventInput.model_json_schema()
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"anyOf": [one, {"type": "array", "items": one, "maxItems": max_events}]}
            }
        },
    }


class AppendAnswer(BaseModel):
    """Totals plus one outcome per event, in the order sent (like `import --json`)."""

    accepted: int
    duplicates: int
    rejected: int
    outcomes: list[dict[str, Any]]


class RowPage(BaseModel):
    items: list[ViewRow]
    limit: int
    offset: int
    next_offset: int | None
    next_after: str | None


class SweepAnswer(BaseModel):
    dry_run: bool
    actions: list[dict[str, Any]]


class RebuildAnswer(BaseModel):
    view: str | None
    events: int


class Health(BaseModel):
    status: str


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it is longer than `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"request body is {declared} bytes; the limit is {limit}", limit=limit)
    size = 0
    chunks: list[bytes] = []
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"request body is over the limit of {limit} bytes", limit=limit)
        chunks.append(chunk)
    return b"".join(chunks)


def stamp(item: Any, principal: Principal, index: int) -> dict[str, Any] | bytes:
    """Fill in the caller as actor; only an admin may force or speak for someone else.
    Anything that is not an object goes on as JSON text, for the ledger's own bad_json."""
    if not isinstance(item, dict):
        try:
            return orjson.dumps(item)
        except orjson.JSONEncodeError:  # nested too deep or an integer too long to write:
            return orjson.dumps(type(item)())  # an empty value of its kind is as wrong
    if principal.role != "admin":
        if item.get("force") not in (None, False):
            raise PermissionDenied(
                f"event {index}: only an admin token may force a transition", index=index
            )
        if item.get("actor") not in (None, principal.actor):
            raise PermissionDenied(
                f"event {index}: only an admin token may set actor; events sent with this "
                f"token are recorded as {principal.actor}",
                index=index,
            )
    if item.get("actor") is None:
        return {**item, "actor": principal.actor}
    return item


@router.get("/health", response_model=Health, tags=["service"])
def health() -> Health:
    """Liveness; the only endpoint that needs no token."""
    return Health(status="ok")


@router.post(
    "/events",
    response_model=AppendAnswer,
    tags=["write"],
    openapi_extra={"requestBody": _event_body_schema(MAX_EVENTS)},
    responses={
        **ERROR_RESPONSES,
        413: {"model": ErrorBody, "description": "Body or event count over the limit"},
        422: {
            "model": AppendAnswer,
            "description": "At least one event was rejected; the others were stored (see outcomes)",
        },
    },
)
async def post_events(request: Request, principal: Writer, ctx: Ctx) -> JSONResponse:
    """Append one event (a JSON object) or many (a JSON array). Every event is
    answered on its own with the codes of `status-ledger import`: 200 when all were
    accepted or duplicates, 422 when any was rejected (the rest are stored).
    Forcing a transition or setting `actor` needs an admin token; otherwise the
    actor is `token:NAME`."""
    body = await read_body(request, ctx.max_body_bytes)
    try:
        data = parse_json(body)
    except BadJson as error:
        raise BadJson(f"request body: {error.message}", **error.details) from None
    items = data if isinstance(data, list) else [data]
    if len(items) > ctx.max_events:
        raise BodyTooLarge(
            f"{len(items)} events in one request; the limit is {ctx.max_events}",
            limit=ctx.max_events,
        )
    inputs = [stamp(item, principal, index) for index, item in enumerate(items)]
    report: AppendReport = await run_in_threadpool(ctx.ledger.append, inputs)
    answer = {**report.counts(), "outcomes": [o.to_dict() for o in report.outcomes]}
    return JSONResponse(answer, status_code=422 if report.rejected else 200)


@router.get(
    "/views/{model}/{type}/{id:path}",
    response_model=ViewRow,
    tags=["read"],
    responses=ERROR_RESPONSES,
)
def get_view(
    principal: Reader,
    ctx: Ctx,
    model: Model,
    type: Type,
    id: Id,
    parent: ParentQ = None,
    as_of: AsOf = None,
    known_at: KnownAt = None,
) -> JSONResponse:
    """The view row of one entity (as `status --json`), now or as of a past time."""
    row = ctx.ledger.status(model, type, id, parent=parent, as_of=as_of, known_at=known_at)
    return JSONResponse(row.model_dump(mode="json"))


@router.get(
    "/views/{model}/{type}",
    response_model=RowPage,
    tags=["read"],
    responses=ERROR_RESPONSES,
)
def list_views(
    principal: Reader,
    ctx: Ctx,
    model: Model,
    type: Type,
    status: Annotated[
        str | None, Query(description="Only rows in this status.", pattern=NAME, max_length=256)
    ] = None,
    parent: ParentQ = None,
    as_of: AsOf = None,
    known_at: KnownAt = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    after: Annotated[
        str | None,
        Query(
            description="Cursor of the page before (its `next_after`): keyset paging, "
            "which neither skips nor repeats rows while the views change.",
            max_length=1024,
        ),
    ] = None,
) -> JSONResponse:
    """View rows of one type (as `list --json`) in (parent, id) order, a page at a
    time; an unknown `status` is `unknown_status` with the allowed names."""
    rows = ctx.ledger.list(
        model,
        type,
        status=status,
        parent=parent,
        as_of=as_of,
        known_at=known_at,
        limit=limit,
        offset=offset,
        after=after,
    )
    full = len(rows) == limit
    return JSONResponse(
        {
            "items": [r.model_dump(mode="json") for r in rows],
            "limit": limit,
            "offset": offset,
            "next_offset": offset + limit if full else None,
            "next_after": page_cursor(rows[-1]) if full else None,
        }
    )


@router.get(
    "/history/{model}/{type}/{id:path}",
    response_model=list[HistoryEntry],
    tags=["read"],
    responses=ERROR_RESPONSES,
)
def get_history(
    principal: Reader,
    ctx: Ctx,
    model: Model,
    type: Type,
    id: Id,
    parent: ParentQ = None,
    as_of: AsOf = None,
    known_at: KnownAt = None,
) -> JSONResponse:
    """Every transition of an entity (of its runs or groups, for work orders and
    workflows) in occurred order, with the ledger's fields (as `history --json`)."""
    entries = ctx.ledger.history(model, type, id, parent=parent, as_of=as_of, known_at=known_at)
    return JSONResponse([e.model_dump(mode="json") for e in entries])


@router.get("/verify", response_model=VerifyReport, tags=["read"], responses=ERROR_RESPONSES)
def verify(principal: Reader, ctx: Ctx) -> VerifyReport:
    """Walk the whole hash chain; `ok` is false and `first_broken_seq` names the
    first bad event when anything was changed behind the ledger's back."""
    return ctx.ledger.verify()


@router.post("/sweep", response_model=SweepAnswer, tags=["admin"], responses=ERROR_RESPONSES)
def sweep(
    principal: Admin,
    ctx: Ctx,
    now: Annotated[
        str | None, Query(description="The sweep's clock (default: now).", max_length=64)
    ] = None,
    dry_run: bool = False,
) -> SweepAnswer:
    """Append the timeout events the models define (UiPath: Terminating for 24 h
    becomes Faulted); safe to repeat."""
    actions = ctx.ledger.sweep(now, dry_run=dry_run)
    return SweepAnswer(dry_run=dry_run, actions=actions)


@router.post("/rebuild", response_model=RebuildAnswer, tags=["admin"], responses=ERROR_RESPONSES)
def rebuild(
    principal: Admin,
    ctx: Ctx,
    view: Annotated[
        str | None,
        Query(description="Only this view, e.g. openfn/run.", pattern=NAME, max_length=256),
    ] = None,
) -> RebuildAnswer:
    """Rebuild the views from the events beside the live ones, then swap them in."""
    return RebuildAnswer(view=view, events=ctx.ledger.rebuild(view))

"""The audit pages: search an entity, see its status and every transition, and a
work order or workflow with its runs or groups. Server-rendered HTML, no script.

A browser logs in by pasting a token into a form; the server answers with an
HttpOnly, SameSite=Strict cookie. A `?token=` link was the alternative, but it
would leave the secret in access logs, browser history and Referer headers."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from ledger import (
    LedgerError,
    ModelRegistry,
    NotFound,
    UsageError,
    ViewRow,
    display_time,
    short_digest,
)

from ._api import read_body
from ._auth import COOKIE, Context, Ctx, browser_principal
from ._display import chip, entity_url, late_seqs
from ._errors import Unauthenticated, error_response, http_status
from ._openapi_page import operations
from ._security import CSRF_FIELD, csrf_ok, csrf_token, remember_csrf
from ._tokens import Principal

router = APIRouter(include_in_schema=False)
_PRINTABLE = re.compile(r"^[^\x00-\x1f\x7f]+$")
PAGE_SIZE = 50
LOGIN_BODY_LIMIT = 4096

templates = Environment(
    loader=PackageLoader("service", "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.globals.update(
    entity_url=entity_url, display_time=display_time, short_digest=short_digest
)


def _page(request: Request, name: str, http: int = 200, **values: Any) -> HTMLResponse:
    """A page; its forms that post carry the browser's CSRF token (_security.py)."""
    token = csrf_token(request)
    html = templates.get_template(name).render(csrf_field=CSRF_FIELD, csrf=token, **values)
    answer = HTMLResponse(html, status_code=http)
    remember_csrf(request, answer, token)
    return answer


def _login(request: Request, problem: str | None = None) -> HTMLResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return _page(request, "login.html", 401, next=target, problem=problem, principal=None)


def _error(request: Request, error: LedgerError, principal: Principal) -> HTMLResponse:
    return _page(request, "error.html", http_status(error), error=error, principal=principal)


@router.get("/")
def root(request: Request, ctx: Ctx) -> Response:
    if browser_principal(request, ctx) is None:
        return _login(request)
    return RedirectResponse("/ui", status_code=303)


@router.get("/openapi.json")
def openapi(request: Request, ctx: Ctx) -> JSONResponse:
    """The API's description is for token holders too (a bearer header, or the
    login cookie so that /docs works in a browser)."""
    if browser_principal(request, ctx) is None:
        return error_response(Unauthenticated("the API description needs a token"))
    return JSONResponse(request.app.openapi())


@router.get("/docs")
def docs(request: Request, ctx: Ctx) -> Response:
    """The API reference, rendered here from the OpenAPI description: no script
    and nothing fetched from a CDN, so it works offline and under the CSP."""
    principal = browser_principal(request, ctx)
    if principal is None:
        return _login(request)
    schema = request.app.openapi()
    return _page(
        request,
        "docs.html",
        principal=principal,
        info=schema["info"],
        operations=operations(schema),
    )


@router.get("/ui/login")
def login_form(request: Request, ctx: Ctx) -> Response:
    if browser_principal(request, ctx) is not None:
        return RedirectResponse("/ui", status_code=303)
    return _page(request, "login.html", 401, next="/ui", problem=None, principal=None)


@router.post("/ui/login")
async def login(request: Request, ctx: Ctx) -> Response:
    form = parse_qs((await read_body(request, LOGIN_BODY_LIMIT)).decode("utf-8", "replace"))
    token = (form.get("token") or [""])[0].strip()
    target = (form.get("next") or ["/ui"])[0]
    if not target.startswith(("/ui", "/docs")) or target.startswith("/ui/login"):
        target = "/ui"
    if not csrf_ok(request, form):
        return _page(
            request,
            "login.html",
            403,
            next=target,
            problem="This form is not this site's own or has expired; log in again.",
            principal=None,
        )
    principal = ctx.tokens.authenticate(token) if token else None
    if principal is None:
        return _page(
            request,
            "login.html",
            401,
            next=target,
            problem="That token is unknown or revoked.",
            principal=None,
        )
    answer = RedirectResponse(target, status_code=303)
    answer.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return answer


@router.post("/ui/logout")
async def logout(request: Request) -> Response:
    form = parse_qs((await read_body(request, LOGIN_BODY_LIMIT)).decode("utf-8", "replace"))
    if not csrf_ok(request, form):
        return RedirectResponse("/ui", status_code=303)
    answer = RedirectResponse("/ui", status_code=303)
    answer.delete_cookie(COOKIE, path="/")
    return answer


@router.get("/ui")
def search(
    request: Request,
    ctx: Ctx,
    q: Annotated[str | None, Query(max_length=256)] = None,
) -> Response:
    principal = browser_principal(request, ctx)
    if principal is None:
        return _login(request)
    registry = ctx.ledger.registry
    query = (q or "").strip()
    try:
        found = _find(ctx, query) if _PRINTABLE.match(query) else []
    except LedgerError as error:
        return _error(request, error, principal)
    if len(found) == 1:
        only = found[0]
        return RedirectResponse(entity_url(only.model, only.type, only.id, only.parent), 303)
    types = [
        (m.name, t.name, t.derived is not None) for m in registry.values() for t in m.types.values()
    ]
    return _page(
        request,
        "search.html",
        principal=principal,
        q=query,
        found=found,
        types=types,
        chips=_chips(registry, found),
    )


def _find(ctx: Context, query: str) -> list[ViewRow]:
    """Every entity of any type whose id is exactly `query` (group names repeat
    across workflows, so one id can name several)."""
    rows: list[ViewRow] = []
    for model in ctx.ledger.registry.values():
        for et in model.types.values():
            try:
                rows.append(ctx.ledger.status(model.name, et.name, query))
            except NotFound:
                continue
            except UsageError as ambiguous:
                for parent in ambiguous.details.get("allowed", []):
                    rows.append(ctx.ledger.status(model.name, et.name, query, parent=parent))
    return rows


def _chips(registry: ModelRegistry, rows: list[ViewRow]) -> dict[tuple[str, str, str], Any]:
    return {
        (r.model, r.type, r.status.status): chip(registry, r.model, r.type, r.status.status)
        for r in rows
    }


@router.get("/ui/{model}/{type}")
def browse(
    request: Request,
    ctx: Ctx,
    model: str,
    type: str,
    status: Annotated[str | None, Query(max_length=256)] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> Response:
    principal = browser_principal(request, ctx)
    if principal is None:
        return _login(request)
    try:
        rows = ctx.ledger.list(model, type, status=status or None, limit=PAGE_SIZE, offset=offset)
        statuses = ctx.ledger.registry.view_statuses(model, type)
    except LedgerError as error:
        return _error(request, error, principal)
    return _page(
        request,
        "browse.html",
        principal=principal,
        model=model,
        type=type,
        status=status or "",
        rows=rows,
        offset=offset,
        page=PAGE_SIZE,
        statuses=statuses,
        chips=_chips(ctx.ledger.registry, rows),
    )


@router.get("/ui/{model}/{type}/{id:path}")
def entity(
    request: Request,
    ctx: Ctx,
    model: str,
    type: str,
    id: str,
    parent: Annotated[str | None, Query(max_length=256)] = None,
    as_of: Annotated[str | None, Query(max_length=64)] = None,
    known_at: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    principal = browser_principal(request, ctx)
    if principal is None:
        return _login(request)
    ledger = ctx.ledger
    as_of, known_at = as_of or None, known_at or None
    if not _PRINTABLE.match(id):
        return _error(request, NotFound(f"no {model} {type} {id!r}"), principal)
    try:
        row = ledger.status(model, type, id, parent=parent or None, as_of=as_of, known_at=known_at)
        entries = ledger.history(model, type, id, parent=row.parent, as_of=as_of, known_at=known_at)
        et = ledger.registry.entity_type(model, type, for_writing=False)
        children = (
            ledger.list(model, et.child, parent=id, as_of=as_of, known_at=known_at)
            if et.derived and et.child
            else []
        )
    except LedgerError as error:
        return _error(request, error, principal)
    registry = ledger.registry
    parent_type = et.parent.type if et.parent else None
    extras = {k: v for k, v in (row.model_extra or {}).items() if v not in (None, [], {})}
    return _page(
        request,
        "entity.html",
        principal=principal,
        row=row,
        et=et,
        extras=extras,
        entries=entries,
        children=children,
        parent_type=parent_type,
        late=late_seqs(entries),
        as_of=as_of or "",
        known_at=known_at or "",
        chip=lambda t, s: chip(registry, model, t, s),
    )

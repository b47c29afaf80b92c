"""Who may do what. The API takes `Authorization: Bearer <token>` only, never the
browser cookie, so that a page on another site cannot make a logged-in browser
append events (no CSRF surface). The web pages only read, and take either."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ledger import Ledger, PermissionDenied

from ._errors import Unauthenticated
from ._tokens import Principal, Role, Tokens

COOKIE = "status_ledger_token"


@dataclass(frozen=True, slots=True)
class Context:
    """What every request needs, set once when the app is made."""

    ledger: Ledger
    tokens: Tokens
    max_body_bytes: int
    max_events: int


def context(request: Request) -> Context:
    found: Context = request.app.state.context
    return found


bearer = HTTPBearer(auto_error=False, description="A token from `status-ledger tokens create`.")
Ctx = Annotated[Context, Depends(context)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def require(role: Role) -> Callable[..., Principal]:
    """A dependency that answers 401 without a live token and 403 below `role`."""

    def dependency(credentials: Credentials, ctx: Ctx) -> Principal:
        if credentials is None:
            raise Unauthenticated("this endpoint needs 'Authorization: Bearer <token>'")
        principal = ctx.tokens.authenticate(credentials.credentials)
        if principal is None:
            raise Unauthenticated("the token is unknown or revoked")
        return allowed(principal, role)

    return dependency


def allowed(principal: Principal, role: Role) -> Principal:
    if not principal.has(role):
        raise PermissionDenied(
            f"token {principal.name!r} has role {principal.role}; this needs {role}",
            role=principal.role,
            required=role,
        )
    return principal


def browser_principal(request: Request, ctx: Context) -> Principal | None:
    """The reader behind a web page request: the login cookie, else a bearer header."""
    token = request.cookies.get(COOKIE)
    header = request.headers.get("authorization", "")
    if token is None and header.lower().startswith("bearer "):
        token = header[7:].strip()
    if not token:
        return None
    principal = ctx.tokens.authenticate(token)
    return principal if principal is not None and principal.has("reader") else None


Reader = Annotated[Principal, Depends(require("reader"))]
Writer = Annotated[Principal, Depends(require("writer"))]
Admin = Annotated[Principal, Depends(require("admin"))]

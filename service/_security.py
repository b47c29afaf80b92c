"""What every answer tells the browser, and the login form's CSRF token.

The pages run no script and load nothing from elsewhere, so the policy allows
no script at all, no frames (no clickjacking of the log-out button) and forms
that post back here only. Status chips are coloured with inline styles, so
styles may be inline; escaping keeps user text out of them.

A page on another site could post the login form with the attacker's own token
and so log a browser in as the attacker (login CSRF). Every form that posts
carries a random token that is also set as a SameSite=Strict cookie; a post is
taken only when the two match, which a cross-site post cannot arrange."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)
CSRF_COOKIE = "status_ledger_csrf"
CSRF_FIELD = "csrf"


class SecurityHeaders:
    """ASGI middleware adding HEADERS to every answer (JSON too: it costs nothing
    and no answer is ever meant to be framed or sniffed)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


def csrf_token(request: Request) -> str:
    """The browser's CSRF token, or a new one (`remember_csrf` sets it)."""
    known = request.cookies.get(CSRF_COOKIE, "")
    return known if _well_formed(known) else secrets.token_urlsafe(32)


def remember_csrf(request: Request, response: Response, token: str) -> None:
    if request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(
            CSRF_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",  # one token for the forms of /, /docs and /ui alike
        )


def csrf_ok(request: Request, form: dict[str, Any]) -> bool:
    """A posted form is the site's own when its token matches the cookie."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = (form.get(CSRF_FIELD) or [""])[0]
    return _well_formed(cookie) and hmac.compare_digest(cookie.encode(), sent.encode())


def _well_formed(token: str) -> bool:
    return 32 <= len(token) <= 64 and token.isascii()

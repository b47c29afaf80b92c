"""Reading OpenFn Lightning's REST API page by page (`GET /api/runs`), for
`status-ledger pull openfn`. Only the reading is here; the pages go through the
`openfn` adapter and `Ledger.append` like any other payload, so a second pull
over the same window adds nothing (the event ids are derived from run ids)."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

import orjson

from .._errors import BadJson, LedgerError, UsageError

TIMEOUT_SECONDS = 30.0
MAX_PAGE_BYTES = 64 << 20


class SourceUnavailable(LedgerError):
    """The system to read from did not answer, or answered with an error."""

    code = "source_unavailable"


def openfn_pages(
    url: str, since: str | None, token: str | None = None, page_size: int = 100
) -> Iterator[bytes]:
    """Each page of runs updated after `since`, following the API's `links.next`
    until there is none. A next link seen before ends the walk, so a server that
    links in a loop cannot keep the pull going."""
    base = urllib.parse.urlsplit(url)
    if base.scheme not in ("http", "https") or not base.netloc:
        raise UsageError(f"--url must be an http(s) URL of a Lightning instance, not {url!r}")
    query = {"page": "1", "page_size": str(page_size)}
    if since is not None:
        query["updated_after"] = since
    next_url: str | None = f"{url.rstrip('/')}/api/runs?{urllib.parse.urlencode(query)}"
    seen: set[str] = set()
    while next_url is not None and next_url not in seen:
        seen.add(next_url)
        body = _get(next_url, token)
        yield body
        next_url = _next_link(body, next_url)


def _get(url: str, token: str | None) -> bytes:
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
            body: bytes = answer.read(MAX_PAGE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise SourceUnavailable(
            f"GET {url} answered {exc.code} {exc.reason}", status=exc.code
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SourceUnavailable(f"GET {url} failed: {reason}") from None
    if len(body) > MAX_PAGE_BYTES:
        raise SourceUnavailable(f"GET {url}: the page is over {MAX_PAGE_BYTES} bytes")
    return body


def _next_link(body: bytes, current: str) -> str | None:
    try:
        page = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadJson(f"GET {current}: the page is not JSON: {exc}") from None
    links = page.get("links") if isinstance(page, dict) else None
    target = links.get("next") if isinstance(links, dict) else None
    if not isinstance(target, str) or not target:
        return None
    return urllib.parse.urljoin(current, target)

"""The audit pages: a person logs in with a token, finds a work order, and reads
its runs and every transition with occurred and recorded time, actor, reason and
the forced and late flags. The browser test drives Debian's chromium and takes a
screenshot: into the test's temporary directory, so that running the tests
never changes the checkout, and into docs/images only when
`python -m cli.docgen --screenshots` asks for it (SCREENSHOTS_ENV)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from _server import serving

from ledger import Ledger
from service import Tokens, create_app

SCREENSHOTS_ENV = "STATUS_LEDGER_SCREENSHOTS"
DOCS_SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "images" / "timeline.png"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _run(run: str, status: str, at: str, actor: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": "openfn",
        "type": "run",
        "id": run,
        "parent": "wo-demo",
        "status": status,
        "occurred_at": at,
        "actor": actor,
        **extra,
    }


DEMO = [
    _run("run-1", "Pending", "2024-05-01T10:00:00Z", "system:lightning"),
    _run("run-1", "claimed", "2024-05-01T10:00:02Z", "system:worker-1"),
    _run(
        "run-1",
        "Failed",
        "2024-05-01T10:00:09Z",
        "system:worker-1",
        reason="JobError",
        message="TypeError: cannot read properties of undefined",
    ),
    _run("run-2", "Pending", "2024-05-01T10:05:00Z", "system:lightning"),
    _run("run-2", "started", "2024-05-01T10:05:01Z", "system:worker-2"),
    _run("run-2", "Lost", "2024-05-01T10:20:00Z", "system:janitor", reason="heartbeat_timeout"),
    _run(
        "run-2",
        "Success",
        "2024-05-01T10:30:00Z",
        "alice",
        force=True,
        reason="output verified by hand",
        message="worker died after writing its result",
    ),
    _run("run-3", "Pending", "2024-05-01T10:40:00Z", "system:lightning"),
    _run("run-3", "started", "2024-05-01T10:40:10Z", "system:worker-1"),
    _run("run-3", "claimed", "2024-05-01T10:40:02Z", "system:worker-1"),
    _run("run-3", "Success", "2024-05-01T10:41:30Z", "system:worker-1"),
]


@dataclass
class Site:
    url: str
    token: str
    ledger: Ledger


@contextmanager
def _site(ledger: Ledger) -> Iterator[Site]:
    report = ledger.append(DEMO)
    assert report.rejected == 0, [o.to_dict() for o in report.outcomes if o.error]
    token = Tokens(ledger.store).create("auditor", "reader")
    with serving(create_app(ledger)) as url:
        yield Site(url, token, ledger)


@pytest.fixture
def site(sqlite_url: str) -> Iterator[Site]:
    """The demo work order served from SQLite, for what does not depend on the backend."""
    with Ledger.open(sqlite_url) as ledger, _site(ledger) as served:
        yield served


@pytest.fixture
def stored_site(ledger: Ledger) -> Iterator[Site]:
    """The same on every backend, for the pages that read the store."""
    with _site(ledger) as served:
        yield served


def post_login(client: httpx.Client, token: str, next: str = "/ui") -> httpx.Response:
    """Post the login form as a browser does: the form first, with its CSRF token."""
    form = client.get("/ui/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None, form.text
    return client.post("/ui/login", data={"token": token, "next": next, "csrf": csrf[1]})


@contextmanager
def _login(site: Site) -> Iterator[httpx.Client]:
    """A client logged in the way a browser is: through the form, then the cookie."""
    with httpx.Client(base_url=site.url, timeout=30, follow_redirects=True) as client:
        answer = post_login(client, site.token)
        assert answer.status_code == 200
        yield client


@pytest.fixture
def browser(site: Site) -> Iterator[httpx.Client]:
    with _login(site) as client:
        yield client


@pytest.fixture
def stored_browser(stored_site: Site) -> Iterator[httpx.Client]:
    with _login(stored_site) as client:
        yield client


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_a_page_without_a_login_asks_for_a_token_with_401(site: Site) -> None:
    answer = httpx.get(f"{site.url}/ui/openfn/work_order/wo-demo")
    assert answer.status_code == 401
    assert 'name="token"' in answer.text
    assert "wo-demo" not in _text(answer.text).replace("/ui/openfn/work_order/wo-demo", "")


def test_a_wrong_token_is_refused_and_sets_no_cookie(site: Site) -> None:
    with httpx.Client(base_url=site.url) as client:
        answer = post_login(client, "slt_guess")
    assert answer.status_code == 401
    assert "unknown or revoked" in answer.text
    assert "status_ledger_token" not in answer.headers.get("set-cookie", "")


def test_logging_in_sets_an_httponly_strict_cookie_and_returns_to_the_page(site: Site) -> None:
    with httpx.Client(base_url=site.url) as client:
        answer = post_login(client, site.token, "/ui/openfn/work_order/wo-demo")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/openfn/work_order/wo-demo"
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


def test_login_never_redirects_off_the_site(site: Site) -> None:
    with httpx.Client(base_url=site.url) as client:
        answer = post_login(client, site.token, "https://evil.example/")
    assert answer.headers["location"] == "/ui"


def test_the_cookie_does_not_authorise_the_api(browser: httpx.Client) -> None:
    assert browser.get("/views/openfn/work_order/wo-demo").status_code == 401


def test_searching_a_run_id_opens_its_page(stored_browser: httpx.Client) -> None:
    answer = stored_browser.get("/ui", params={"q": "run-2"})
    assert str(answer.url).endswith("/ui/openfn/run/run-2?parent=wo-demo")
    text = _text(answer.text)
    assert "openfn run run-2 Success FINAL FORCED" in text
    assert "output verified by hand" in text


def test_searching_an_unknown_id_says_so(browser: httpx.Client) -> None:
    assert "No entity has the id “nope”" in _text(browser.get("/ui", params={"q": "nope"}).text)


def test_the_work_order_page_shows_its_runs_and_every_transition(
    stored_browser: httpx.Client,
) -> None:
    html = stored_browser.get("/ui/openfn/work_order/wo-demo").text
    text = _text(html)
    assert "openfn work_order wo-demo Success" in text
    assert "runs (3)" in text
    assert "Timeline (11 events, in occurred order)" in text
    rows = re.findall(r'<tr class="([^"]*)" data-seq="(\d+)">', html)
    assert [int(seq) for _, seq in rows] == [1, 2, 3, 4, 5, 6, 7, 8, 10, 9, 11]
    assert [seq for cls, seq in rows if cls == "forced"] == ["7"]
    assert "as “claimed”" in text and "as “started”" in text
    assert text.count("LATE") == 1
    assert "system:janitor" in text and "heartbeat_timeout" in text


def test_as_of_shows_the_work_order_before_its_last_run(stored_browser: httpx.Client) -> None:
    text = _text(
        stored_browser.get(
            "/ui/openfn/work_order/wo-demo", params={"as_of": "2024-05-01T10:21:00Z"}
        ).text
    )
    assert "openfn work_order wo-demo Lost" in text
    assert "runs (2)" in text
    assert "as of 2024-05-01T10:21:00Z" in text


def test_entity_text_is_escaped(site: Site, browser: httpx.Client) -> None:
    site.ledger.record(
        model="uipath",
        type="job",
        id="<script>alert(1)</script>",
        status="Pending",
        occurred_at="2024-05-01T10:00:00Z",
    )
    html = browser.get("/ui", params={"q": "<script>alert(1)</script>"}).text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_an_unknown_entity_page_is_404_with_its_code(browser: httpx.Client) -> None:
    answer = browser.get("/ui/openfn/run/missing")
    assert answer.status_code == 404
    assert "not_found" in answer.text


def test_a_mistyped_status_filter_on_the_browse_page_names_the_known_statuses(
    browser: httpx.Client,
) -> None:
    """`?status=Sucess` showed an empty page, read as "no such runs" (issue 23)."""
    answer = browser.get("/ui/openfn/run", params={"status": "Sucess"})
    assert answer.status_code == 422
    assert "unknown_status" in answer.text and "Success" in answer.text
    aliased = browser.get("/ui/openfn/run", params={"status": "claimed"})
    assert aliased.status_code == 200


def test_the_work_order_browse_page_offers_its_runs_statuses(browser: httpx.Client) -> None:
    html = browser.get("/ui/openfn/work_order").text
    assert "<option>Success</option>" in html and "<option>Failed</option>" in html


def test_the_pages_show_every_time_in_rfc3339_utc_and_short_hashes(
    site: Site, browser: httpx.Client
) -> None:
    """An epoch `occurred_at` was shown raw next to RFC 3339 times (issue 23)."""
    site.ledger.record(
        model="uipath", type="job", id="j-epoch", status="Pending", occurred_at=1740823200
    )
    html = browser.get("/ui/uipath/job/j-epoch").text
    assert ">2025-03-01T10:00:00Z<" in html
    assert ">1740823200<" not in html
    entry = site.ledger.history("uipath", "job", "j-epoch")[0]
    assert f">{entry.hash[:12]}<" in html
    assert re.search(r">\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z<", html)
    assert entry.recorded_at not in _text(html)  # microseconds are for --json
    listed = browser.get("/ui/uipath/job").text
    assert ">2025-03-01T10:00:00Z<" in listed


def test_control_characters_find_nothing_rather_than_fail(stored_browser: httpx.Client) -> None:
    search = stored_browser.get("/ui", params={"q": "run-2\x00"})
    assert search.status_code == 200 and "No entity has the id" in search.text
    assert stored_browser.get("/ui/openfn/run/run%00-2").status_code == 404


def _chromium_or_skip() -> None:
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        if os.environ.get("CI"):
            pytest.fail("CI must have chromium (.ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install -y chromium); CI installs it")


def screenshot_path(tmp_path: Path) -> Path:
    """Where the timeline screenshot goes: the directory SCREENSHOTS_ENV names
    (docs/images, for the docs command), else the test's own temporary one."""
    return Path(os.environ.get(SCREENSHOTS_ENV) or tmp_path) / "timeline.png"


def test_the_screenshot_goes_to_a_temporary_directory_unless_the_docs_ask_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Running the tests rewrote the tracked docs/images/timeline.png (issue 23)."""
    monkeypatch.delenv(SCREENSHOTS_ENV, raising=False)
    assert screenshot_path(tmp_path) == tmp_path / "timeline.png"
    monkeypatch.setenv(SCREENSHOTS_ENV, "docs/images")
    assert screenshot_path(tmp_path) == Path("docs/images/timeline.png")


@pytest.mark.slow
def test_a_browser_shows_the_timeline_of_a_work_order(site: Site, tmp_path: Path) -> None:
    _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = chromium.new_page(viewport={"width": 1360, "height": 900})
            page.goto(f"{site.url}/ui/openfn/work_order/wo-demo")
            page.fill("input[name=token]", site.token)
            page.click("button[type=submit] >> text=Log in")
            page.wait_for_selector("table.timeline")
            assert page.url == f"{site.url}/ui/openfn/work_order/wo-demo"
            assert "wo-demo" in page.inner_text("h1")
            assert "Success" in page.inner_text("h1 .chip")
            green = page.eval_on_selector("h1 .chip", "e => getComputedStyle(e).backgroundColor")
            assert green == "rgb(0, 128, 0)"
            assert page.locator("table.children tr").count() == 1 + 3
            assert page.locator("table.timeline tr").count() == 1 + 11
            forced = page.locator("table.timeline tr.forced")
            assert forced.count() == 1
            assert "alice" in forced.inner_text()
            assert "output verified by hand" in forced.inner_text()
            assert page.locator("table.timeline .badge.late").count() == 1
            screenshot = screenshot_path(tmp_path)
            tracked = DOCS_SCREENSHOT.read_bytes()
            page.screenshot(path=str(screenshot), full_page=True)
            assert screenshot.stat().st_size > 10_000
            if screenshot != DOCS_SCREENSHOT:
                assert DOCS_SCREENSHOT.read_bytes() == tracked
            page.click("a >> text=run-2")
            page.wait_for_selector("table.timeline")
            assert "run-2" in page.inner_text("h1") and "FORCED" in page.inner_text("h1")
        finally:
            chromium.close()

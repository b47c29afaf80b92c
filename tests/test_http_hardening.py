"""The service under abuse: a flood of half-sent connections, clients that hang
up mid-body, requests that never finish, pages framed or posted from another
site, and a docs page that must not reach the internet. `status-ledger serve`
itself is run where the limits it sets matter (file descriptors, its log)."""

from __future__ import annotations

import logging
import re
import resource
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from _attack import CLI
from _server import serving

from ledger import Ledger
from service import Limits, RepeatFilter, Tokens, create_app

DESCRIPTORS = 384
"""The `serve` process's file-descriptor limit in the flood test: far fewer
than the connections thrown at it, as 20,000 are to the default limit."""


@dataclass
class Served:
    url: str
    port: int
    log: Path
    token: str


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _few_descriptors() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (DESCRIPTORS, DESCRIPTORS))


@contextmanager
def _serve(tmp_path: Path, *args: str) -> Iterator[Served]:
    """`status-ledger serve` in its own process with few descriptors, its log in a file."""
    db = tmp_path / "ledger.db"
    with Ledger.open(db) as ledger:
        token = Tokens(ledger.store).create("feed", "writer")
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [CLI, "serve", "--db", str(db), "--port", str(port), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_few_descriptors,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "serve did not start"
            time.sleep(0.1)
        yield Served(url, port, log, token)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _half_sent(port: int, count: int) -> list[socket.socket]:
    """`count` connections that each send part of a request head and then nothing,
    opened from 8 threads (as a flood comes from many clients: a connection the
    server's full queue drops is retried by the kernel a second later)."""

    def one(_: int) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        return sock

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(count)))


def test_a_flood_of_half_sent_connections_leaves_health_answering_and_the_log_short(
    tmp_path: Path,
) -> None:
    with _serve(tmp_path) as served, ExitStack() as held:
        for sock in _half_sent(served.port, 800):
            held.callback(sock.close)
        started = time.monotonic()
        answer = httpx.get(f"{served.url}/health", timeout=5)
        assert answer.status_code == 200
        assert time.monotonic() - started < 5
        time.sleep(0.5)  # let the server log whatever the flood makes it log
    log = served.log.read_text(errors="replace")
    assert "Traceback" not in log
    assert len(log) < 20_000, log[-2000:]
    assert "connection limit" in log


def test_a_client_that_hangs_up_mid_body_is_one_quiet_log_line(tmp_path: Path) -> None:
    with _serve(tmp_path) as served:
        for head in (
            f"POST /events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {served.token}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n",
            "POST /ui/login HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n",
        ):
            with socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock:
                sock.sendall(head.encode() + b'{"model": "uipath", ')
                time.sleep(0.2)
        assert httpx.get(f"{served.url}/health", timeout=5).status_code == 200
        time.sleep(0.5)
    log = served.log.read_text(errors="replace")
    assert "Traceback" not in log and "internal_error" not in log and "ERROR" not in log, log
    lines = [line for line in log.splitlines() if "disconnected before sending" in line]
    assert len(lines) == 2, log
    assert "POST /events (400)" in lines[0] and "POST /ui/login (400)" in lines[1]


def test_a_request_that_never_finishes_is_closed_after_the_request_timeout(
    tmp_path: Path,
) -> None:
    with (
        Ledger.open(tmp_path / "l.db") as ledger,
        serving(create_app(ledger), Limits(request_timeout=0.5)) as url,
    ):
        port = int(url.rsplit(":", 1)[1])
        (slow,) = _half_sent(port, 1)
        with slow:
            started = time.monotonic()
            slow.sendall(b"still")  # trickling bytes does not extend the deadline
            assert slow.recv(1024) == b""
            assert time.monotonic() - started < 3


def test_a_kept_alive_connection_is_closed_after_its_request_limit(tmp_path: Path) -> None:
    with (
        Ledger.open(tmp_path / "l.db") as ledger,
        serving(create_app(ledger), Limits(requests_per_connection=2)) as url,
        socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=5) as sock,
    ):
        answers = b""
        for sent in (1, 2):
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            while answers.count(b'{"status":"ok"}') < sent:
                answers += sock.recv(4096)
        assert sock.recv(4096) == b""


def test_identical_log_lines_are_collapsed_with_a_count() -> None:
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    now = [0.0]
    logger = logging.getLogger("status_ledger.test_repeats")
    logger.propagate = False
    handler = Keep()
    collapse = RepeatFilter(burst=3, window=10, clock=lambda: now[0])
    handler.addFilter(collapse)
    logger.addHandler(handler)
    try:
        for _ in range(10_000):
            logger.warning("accept failed: %s", "too many open files")
        logger.warning("something else")
        now[0] = 10.0
        logger.warning("accept failed: %s", "too many open files")
    finally:
        logger.removeHandler(handler)
    assert lines == [
        *["accept failed: too many open files"] * 3,
        "something else",
        "accept failed: too many open files (and 9997 more like it left out)",
    ]


# -- the pages ---------------------------------------------------------------


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, str]]:
    with Ledger.open(tmp_path / "l.db") as ledger:
        token = Tokens(ledger.store).create("auditor", "reader")
        with serving(create_app(ledger)) as url:
            yield url, token


def _csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None, page.text
    return found[1]


@pytest.mark.parametrize("path", ["/ui", "/ui/login", "/docs", "/ui/openfn/run", "/health"])
def test_every_answer_forbids_framing_sniffing_and_script(site: tuple[str, str], path: str) -> None:
    url, token = site
    answer = httpx.get(url + path, headers={"Authorization": f"Bearer {token}"})
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"
    policy = answer.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "script-src" not in policy


def test_a_login_post_without_the_forms_csrf_token_is_refused(site: tuple[str, str]) -> None:
    url, token = site
    cross_site = httpx.post(f"{url}/ui/login", data={"token": token, "next": "/ui"})
    assert cross_site.status_code == 403
    assert "status_ledger_token" not in cross_site.headers.get("set-cookie", "")
    with httpx.Client(base_url=url) as browser:
        form = browser.get("/ui/login")
        forged = browser.post("/ui/login", data={"token": token, "csrf": "x" * 43})
        assert forged.status_code == 403
        taken = browser.post("/ui/login", data={"token": token, "csrf": _csrf(form)})
        assert taken.status_code == 303
        assert "status_ledger_token" in taken.headers["set-cookie"]


def test_logging_out_needs_the_pages_csrf_token(site: tuple[str, str]) -> None:
    url, token = site
    with httpx.Client(base_url=url) as browser:
        browser.post("/ui/login", data={"token": token, "csrf": _csrf(browser.get("/ui/login"))})
        page = browser.get("/ui")
        assert browser.post("/ui/logout").headers.get("set-cookie") is None
        assert browser.get("/ui").status_code == 200
        browser.post("/ui/logout", data={"csrf": _csrf(page)})
        assert browser.get("/ui").status_code == 401


def test_the_docs_page_needs_no_other_host(site: tuple[str, str]) -> None:
    url, token = site
    page = httpx.get(f"{url}/docs", headers={"Authorization": f"Bearer {token}"})
    assert page.status_code == 200
    assert "POST /events" in page.text and "EventInput" in page.text
    assert "<script" not in page.text.lower()
    assert re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page.text) == []
    assert "cdn" not in page.text.lower()

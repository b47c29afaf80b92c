"""`import --from FORMAT` and `pull openfn` from the command line: totals and
rejects like `import`, a second run that adds nothing, one-line coded errors;
the poller reads a real (local) HTTP server page by page."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner, Result

from cli import app
from ledger import Ledger

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ingest"
MODELS = str(Path(__file__).resolve().parent.parent / "docs" / "models")
PLAIN = {"NO_COLOR": "1", "STATUS_LEDGER_DB": None, "OPENFN_API_TOKEN": None}
TOKEN = "lightning-test-token"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env=PLAIN, prog_name="status-ledger")


def fixture(name: str) -> str:
    return str(FIXTURES / f"{name}.json")


def test_import_from_uipath_counts_and_a_second_import_is_all_duplicates(tmp_path: Path) -> None:
    db = str(tmp_path / "l.db")
    first = invoke("import", "--from", "uipath", fixture("uipath_job_created"), "--db", db)
    assert first.exit_code == 0, first.output
    assert first.stdout == "accepted 2, duplicates 0, rejected 0\n"
    again = invoke(
        "import", "--from", "uipath", fixture("uipath_job_created"), "--db", db, "--json"
    )
    assert orjson.loads(again.stdout) == {"accepted": 0, "duplicates": 2, "rejected": 0}


def test_import_from_writes_rejects_with_the_event_position(tmp_path: Path) -> None:
    db, rejects = str(tmp_path / "l.db"), tmp_path / "rejects.jsonl"
    result = invoke(
        "import", "--from", "uipath", fixture("uipath_unknown_state"), "--db", db,
        "--rejects", str(rejects),
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.stdout == "accepted 0, duplicates 0, rejected 1\n"
    assert result.stderr.startswith("event 1: unknown_status: uipath job 38967650")
    (line,) = rejects.read_bytes().splitlines()
    reject = orjson.loads(line)
    assert (reject["event"], reject["code"]) == (1, "unknown_status")
    assert orjson.loads(reject["input"])["event_id"] == "uipath:307350001:38967650"


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("osmo_workflow_query", []),
        ("lightning_app_state", []),
        ("openfn_runs_page1", []),
        ("openlineage_events", ["--models", MODELS]),
    ],
)
def test_import_from_each_system_is_accepted(name: str, extra: list[str], tmp_path: Path) -> None:
    db = str(tmp_path / "l.db")
    fmt = name.split("_")[0]
    result = invoke("import", "--from", fmt, fixture(name), "--db", db, "--json", *extra)
    assert result.exit_code == 0, result.output
    counts = orjson.loads(result.stdout)
    assert counts["accepted"] > 0 and counts["rejected"] == 0


def test_import_from_an_unreadable_payload_is_one_coded_line_and_stores_nothing(
    tmp_path: Path,
) -> None:
    db = tmp_path / "l.db"
    bad = tmp_path / "bad.json"
    bad.write_text('{"Type": "job.started", "Timestamp": "2025-05-07T09:13:45Z"}')
    result = invoke("import", "--from", "uipath", str(bad), "--db", str(db))
    assert result.exit_code == 1
    assert result.stderr == "Error: missing_field: uipath job.started has no 'EventId'\n"
    with Ledger.open(db) as ledger:
        assert ledger.store.head().seq == 0


def test_import_from_an_unknown_format_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke("import", "--from", "jenkins", fixture("uipath_job_created"))
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: usage_error: unknown ingest format 'jenkins'")


class _Lightning(http.server.BaseHTTPRequestHandler):
    """Lightning's `/api/runs`: fixture pages by `page`, behind a bearer token."""

    pages: dict[str, bytes]
    seen: list[str]

    def do_GET(self) -> None:
        type(self).seen.append(self.path)
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._answer(401, b'{"error": "Unauthorized"}')
            return
        page = self.path.split("page=")[1].split("&")[0] if "page=" in self.path else "1"
        body = self.pages.get(page)
        self._answer(404, b"{}") if body is None else self._answer(200, body)

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads `seen` instead."""


@contextmanager
def lightning(pages: dict[str, str], seen: list[str] | None = None) -> Iterator[str]:
    """A Lightning stand-in on a free loopback port; `seen` collects request paths."""
    handler = type(
        "Handler",
        (_Lightning,),
        {"pages": {k: (FIXTURES / f"{v}.json").read_bytes() for k, v in pages.items()},
         "seen": [] if seen is None else seen},
    )  # fmt: skip
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def pull(url: str, db: str, *extra: str) -> Result:
    return invoke(
        "pull", "openfn", "--url", url, "--since", "2024-05-01T00:00:00Z", "--token", TOKEN,
        "--page-size", "2", "--db", db, *extra,
    )  # fmt: skip


def test_pull_openfn_follows_every_page_and_is_safe_to_repeat(tmp_path: Path) -> None:
    db = str(tmp_path / "l.db")
    seen: list[str] = []
    with lightning({"1": "openfn_runs_page1", "2": "openfn_runs_page2"}, seen) as url:
        first = pull(url, db)
        again = pull(url, db, "--json")
    assert first.exit_code == 0, first.output
    assert first.stdout == "pages 2: accepted 13, duplicates 0, rejected 0\n"
    assert orjson.loads(again.stdout) == {
        "pages": 2,
        "accepted": 0,
        "duplicates": 13,
        "rejected": 0,
    }
    assert len(seen) == 4
    assert seen[0] == "/api/runs?page=1&page_size=2&updated_after=2024-05-01T00%3A00%3A00Z"
    assert seen[1] == "/api/runs?page=2&page_size=2"
    with Ledger.open(db) as ledger:
        runs = ledger.list("openfn", "run")
    assert len(runs) == 4


def test_pull_openfn_later_adds_only_what_changed(tmp_path: Path) -> None:
    db = str(tmp_path / "l.db")
    with lightning({"1": "openfn_runs_page1", "2": "openfn_runs_page2"}) as url:
        assert pull(url, db).exit_code == 0
    with lightning({"1": "openfn_runs_page1", "2": "openfn_runs_page2_later"}) as url:
        later = pull(url, db, "--json")
    assert orjson.loads(later.stdout) == {
        "pages": 2,
        "accepted": 1,
        "duplicates": 13,
        "rejected": 0,
    }
    with Ledger.open(db) as ledger:
        row = ledger.status("openfn", "run", "b5a49382-7160-4f5e-8d3c-2b1a09f8e7d6")
    assert row.status.status == "Success"


def test_pull_openfn_with_a_wrong_token_is_a_coded_error(tmp_path: Path) -> None:
    with lightning({"1": "openfn_runs_page1"}) as url:
        result = invoke(
            "pull", "openfn", "--url", url, "--token", "wrong", "--db", str(tmp_path / "l.db")
        )
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: source_unavailable: GET ")
    assert "answered 401" in result.stderr


def test_pull_openfn_from_nowhere_is_a_coded_error(tmp_path: Path) -> None:
    with lightning({}) as url:
        pass  # the server is gone: its port refuses connections
    result = invoke("pull", "openfn", "--url", url, "--db", str(tmp_path / "l.db"))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: source_unavailable: GET ")


def test_pull_openfn_needs_an_http_url(tmp_path: Path) -> None:
    result = invoke("pull", "openfn", "--url", "file:///etc/passwd", "--db", str(tmp_path / "l"))
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: usage_error: --url must be an http(s) URL")

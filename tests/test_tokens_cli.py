"""`status-ledger tokens` and `serve` through the real command: a token is shown
once, stored only as a hash, revoked at once, and the served API accepts it."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import pytest
from typer.testing import CliRunner

from cli import app
from ledger import Ledger
from service import Tokens

runner = CliRunner()


def tokens(*args: str, db: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["tokens", *args, "--db", db])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def store(ledger_url: str) -> str:
    """An existing, empty ledger: tokens commands never create one."""
    Ledger.open(ledger_url).close()
    return ledger_url


@pytest.fixture
def sqlite_store(sqlite_url: str) -> str:
    Ledger.open(sqlite_url).close()
    return sqlite_url


def test_create_prints_the_token_once_and_keeps_only_its_hash(store: str) -> None:
    code, out, _ = tokens("create", "ci-writer", "--role", "writer", db=store)
    assert code == 0
    token = out.strip()
    assert token.startswith("slt_") and len(out.splitlines()) == 1
    with Ledger.open(store) as ledger:
        principal = Tokens(ledger.store).authenticate(token)
        with ledger.store.read() as txn:
            txn.cursor.execute("SELECT * FROM ledger_tokens")
            stored = repr(txn.cursor.fetchall())
    assert principal is not None and (principal.name, principal.role) == ("ci-writer", "writer")
    assert token not in stored
    code, out, _ = tokens("list", "--json", db=store)
    assert code == 0
    listed = orjson.loads(out)
    assert [(t["name"], t["role"], t["revoked_at"]) for t in listed] == [
        ("ci-writer", "writer", None)
    ]
    assert token not in out


def test_create_json_names_the_token(sqlite_store: str) -> None:
    code, out, _ = tokens("create", "auditor", "--role", "reader", "--json", db=sqlite_store)
    assert code == 0
    assert {k: v for k, v in orjson.loads(out).items() if k != "token"} == {
        "name": "auditor",
        "role": "reader",
    }


def test_a_revoked_token_no_longer_authenticates_and_its_name_stays_taken(store: str) -> None:
    token = tokens("create", "temp", "--role", "admin", db=store)[1].strip()
    code, out, _ = tokens("revoke", "temp", db=store)
    assert code == 0 and "token temp revoked at" in out
    with Ledger.open(store) as ledger:
        assert Tokens(ledger.store).authenticate(token) is None
    code, _, err = tokens("create", "temp", "--role", "admin", db=store)
    assert code == 2
    assert err.startswith("Error: usage_error: a token named 'temp' exists or existed")


@pytest.mark.parametrize(
    ("args", "exit_code", "error"),
    [
        (["create", "x", "--role", "boss"], 2, "Error: usage_error: unknown role 'boss'"),
        (["create", "no spaces", "--role", "reader"], 1, "Error: invalid_field: token name"),
        (["revoke", "nobody"], 1, "Error: not_found: no token named 'nobody'"),
    ],
)
def test_bad_token_commands_fail_with_one_line_and_a_code(
    sqlite_store: str, args: list[str], exit_code: int, error: str
) -> None:
    code, out, err = tokens(*args, db=sqlite_store)
    assert (code, out) == (exit_code, "")
    assert err.startswith(error) and len(err.splitlines()) == 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.slow
def test_serve_answers_over_http_with_a_created_token(tmp_path: Path) -> None:
    db = str(tmp_path / "served.db")
    Ledger.open(db).close()
    token = tokens("create", "ops", "--role", "reader", db=db)[1].strip()
    port = _free_port()
    command = [
        str(Path(sys.executable).parent / "status-ledger"),
        "serve",
        "--port",
        str(port),
        "--db",
        db,
    ]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                assert server.poll() is None, server.communicate()[0].decode()
                time.sleep(0.1)
        else:
            pytest.fail("serve did not come up")
        assert httpx.get(f"{base}/verify").status_code == 401
        answer = httpx.get(f"{base}/verify", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200 and answer.json()["ok"] is True
    finally:
        server.send_signal(signal.SIGINT)
        output = server.communicate(timeout=30)[0].decode()
    assert "Uvicorn running on http://127.0.0.1" in output
    assert token not in output

"""`POST /ingest/{format}` through a real server: a UiPath webhook signed with
the configured secret needs no token, a replayed delivery is all duplicates, a
bad signature is 401 `bad_signature` and stores nothing; other formats take a
writer token; answers are per event like `POST /events`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from _server import serving

from ledger import Ledger, ingest
from service import ROLES, Role, Tokens, create_app

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ingest"
SECRET = "uipath-webhook-secret"
EVENT_LIMIT = 10


def payload(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {
        "X-UiPath-Signature": ingest.SIGNATURES["uipath"].sign(body, secret),
        "Content-Type": "application/json",
    }


@dataclass
class Hook:
    client: httpx.Client
    tokens: dict[Role, str]
    ledger: Ledger

    def post(
        self, fmt: str, body: bytes, role: Role | None = None, **headers: str
    ) -> httpx.Response:
        auth = {} if role is None else {"Authorization": f"Bearer {self.tokens[role]}"}
        return self.client.post(f"/ingest/{fmt}", content=body, headers={**auth, **headers})

    def events(self) -> int:
        return self.ledger.store.head().seq


def _hook(tmp_path: Path, secrets: dict[str, str] | None) -> Iterator[Hook]:
    with Ledger.open(tmp_path / "hook.db") as ledger:
        tokens = Tokens(ledger.store)
        keys = {role: tokens.create(f"{role}-1", role) for role in ROLES}
        app = create_app(ledger, max_events=EVENT_LIMIT, webhook_secrets=secrets)
        with serving(app) as url, httpx.Client(base_url=url, timeout=30) as client:
            yield Hook(client, keys, ledger)


@pytest.fixture
def hook(tmp_path: Path) -> Iterator[Hook]:
    yield from _hook(tmp_path, {"uipath": SECRET})


def test_signed_uipath_delivery_is_stored_without_a_token(hook: Hook) -> None:
    body = payload("uipath_job_created")
    response = hook.post("uipath", body, **signed(body))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert {k: answer[k] for k in ("accepted", "duplicates", "rejected")} == {
        "accepted": 2,
        "duplicates": 0,
        "rejected": 0,
    }
    assert [o["event_id"] for o in answer["outcomes"]] == [
        "uipath:307348658:38967597",
        "uipath:307348658:38967598",
    ]
    row = hook.ledger.status("uipath", "job", "38967597")
    assert (row.status.status, row.last_actor) == ("Pending", "system:uipath")


def test_replayed_uipath_delivery_is_all_duplicates(hook: Hook) -> None:
    body = payload("uipath_job_created")
    assert hook.post("uipath", body, **signed(body)).status_code == 200
    replay = hook.post("uipath", body, **signed(body))
    assert replay.status_code == 200
    assert [o["kind"] for o in replay.json()["outcomes"]] == ["duplicate", "duplicate"]
    # The same delivery through a writer token is the same events: duplicates too.
    by_token = hook.post("uipath", body, role="writer")
    assert by_token.json()["duplicates"] == 2
    assert hook.events() == 2


@pytest.mark.parametrize(
    "headers",
    [
        {"X-UiPath-Signature": "AAAA"},
        {"X-UiPath-Signature": ""},
        signed(payload("uipath_job_started")),  # another body's signature
        signed(payload("uipath_job_created"), "another secret"),
    ],
    ids=["garbage", "empty", "other-body", "other-secret"],
)
def test_bad_uipath_signature_is_401_and_stores_nothing(
    hook: Hook, headers: dict[str, str]
) -> None:
    response = hook.post("uipath", payload("uipath_job_created"), **headers)
    assert response.status_code == 401
    assert response.json()["code"] == "bad_signature"
    assert hook.events() == 0


def test_bad_signature_is_refused_even_with_a_writer_token(hook: Hook) -> None:
    response = hook.post(
        "uipath", payload("uipath_job_created"), role="writer", **{"X-UiPath-Signature": "AAAA"}
    )
    assert response.status_code == 401
    assert response.json()["code"] == "bad_signature"
    assert hook.events() == 0


def test_no_token_and_no_signature_is_401(hook: Hook) -> None:
    response = hook.post("uipath", payload("uipath_job_created"))
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
    assert "X-UiPath-Signature" in response.json()["message"]


def test_signature_without_a_configured_secret_needs_a_token(tmp_path: Path) -> None:
    for hook in _hook(tmp_path, {}):
        body = payload("uipath_job_created")
        response = hook.post("uipath", body, **signed(body))
        assert response.status_code == 401
        assert "STATUS_LEDGER_UIPATH_SECRET" in response.json()["message"]
        assert hook.post("uipath", body, role="writer").status_code == 200


def test_secret_is_read_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATUS_LEDGER_UIPATH_SECRET", SECRET)
    for hook in _hook(tmp_path, None):
        body = payload("uipath_job_created")
        assert hook.post("uipath", body, **signed(body)).status_code == 200


def test_reader_token_is_403(hook: Hook) -> None:
    response = hook.post("osmo", payload("osmo_workflow_query"), role="reader")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_writer_token_ingests_an_osmo_query_and_answers_per_event(hook: Hook) -> None:
    response = hook.post("osmo", payload("osmo_workflow_query"), role="writer")
    assert response.status_code == 413  # 17 events, the limit here is 10
    assert response.json()["code"] == "body_too_large"
    assert hook.events() == 0
    response = hook.post("lightning", payload("lightning_statuses"), role="writer")
    assert response.status_code == 200
    assert [o["kind"] for o in response.json()["outcomes"]] == ["accepted"] * 4


def test_a_rejected_event_is_422_with_its_code_and_the_rest_are_stored(hook: Hook) -> None:
    events: list[Any] = orjson.loads(payload("uipath_job_created"))["Jobs"]
    events[1]["State"] = "Queued"
    body = orjson.dumps({**orjson.loads(payload("uipath_job_created")), "Jobs": events})
    response = hook.post("uipath", body, **signed(body))
    assert response.status_code == 422
    outcomes = response.json()["outcomes"]
    assert [o["kind"] for o in outcomes] == ["accepted", "rejected"]
    assert outcomes[1]["error"]["code"] == "unknown_status"
    assert hook.events() == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"not json", 400, "bad_json"),
        (b'{"Type": "job.started"}', 422, "missing_field"),
    ],
)
def test_unreadable_payload_is_a_coded_error(
    hook: Hook, body: bytes, status: int, code: str
) -> None:
    response = hook.post("uipath", body, **signed(body))
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert hook.events() == 0


def test_unknown_format_is_401_without_a_token_and_400_with_one(hook: Hook) -> None:
    assert hook.post("jenkins", b"{}").status_code == 401
    response = hook.post("jenkins", b"{}", role="writer")
    assert response.status_code == 400
    assert response.json()["code"] == "usage_error"


def test_ledger_format_follows_the_rules_of_post_events(hook: Hook) -> None:
    line = {
        "model": "uipath",
        "type": "job",
        "id": "j-1",
        "status": "Pending",
        "occurred_at": "2024-05-01T10:00:00Z",
    }
    ok = hook.post("ledger", orjson.dumps(line), role="writer")
    assert ok.status_code == 200
    assert hook.ledger.status("uipath", "job", "j-1").last_actor == "token:writer-1"
    forged = hook.post("ledger", orjson.dumps({**line, "actor": "boss"}), role="writer")
    assert forged.status_code == 403

"""The HTTP API through a real client and a real server: who may do what, the same
answers as `import` per event, views and history over the network, and bad
requests that get a stable code and never a stack trace."""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from _server import serving

from ledger import Ledger
from service import ROLES, Role, Tokens, create_app

BODY_LIMIT = 64 * 1024
EVENT_LIMIT = 50


def run_event(run: str, status: str, at: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": "openfn",
        "type": "run",
        "id": run,
        "parent": "wo-1",
        "status": status,
        "occurred_at": at,
        **extra,
    }


WORK_ORDER = [
    run_event("run-1", "Pending", "2024-05-01T10:00:00Z"),
    run_event("run-1", "claimed", "2024-05-01T10:00:02Z"),
    run_event("run-1", "Failed", "2024-05-01T10:00:09Z", reason="JobError"),
    run_event("run-2", "Pending", "2024-05-01T10:05:00Z"),
    run_event("run-2", "Running", "2024-05-01T10:05:01Z"),
    run_event("run-2", "Success", "2024-05-01T10:05:30Z"),
]


@dataclass
class Api:
    client: httpx.Client
    tokens: dict[Role, str]
    ledger: Ledger

    def headers(self, role: Role | None) -> dict[str, str]:
        return {} if role is None else {"Authorization": f"Bearer {self.tokens[role]}"}

    def get(self, path: str, role: Role | None = "reader", **kw: Any) -> httpx.Response:
        return self.client.get(path, headers=self.headers(role), **kw)

    def post(self, path: str, role: Role | None = "writer", **kw: Any) -> httpx.Response:
        headers = {**self.headers(role), **kw.pop("headers", {})}
        return self.client.post(path, headers=headers, **kw)

    def seed(self) -> None:
        response = self.post("/events", json=WORK_ORDER)
        assert response.status_code == 200, response.text


@contextmanager
def _api(ledger: Ledger) -> Iterator[Api]:
    tokens = Tokens(ledger.store)
    keys = {role: tokens.create(f"{role}-1", role) for role in ROLES}
    app = create_app(ledger, max_body_bytes=BODY_LIMIT, max_events=EVENT_LIMIT)
    with serving(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield Api(client, keys, ledger)


@pytest.fixture
def api(sqlite_url: str) -> Iterator[Api]:
    """The service over SQLite, for what does not depend on the backend."""
    with Ledger.open(sqlite_url) as ledger, _api(ledger) as served:
        yield served


@pytest.fixture
def stored(ledger: Ledger) -> Iterator[Api]:
    """The service over every backend, for what reads or writes the store."""
    with _api(ledger) as served:
        yield served


READS = ["/views/openfn/run/run-1", "/views/openfn/run", "/history/openfn/run/run-1", "/verify"]
ADMIN_POSTS = ["/sweep", "/rebuild"]


# -- access control ----------------------------------------------------------


def test_health_answers_without_a_token(api: Api) -> None:
    response = api.get("/health", role=None)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_every_endpoint_but_health_answers_401_without_a_token(api: Api) -> None:
    api.seed()
    schema = api.get("/openapi.json").json()
    answers = {}
    for path, operations in schema["paths"].items():
        concrete = (
            path.replace("{model}", "openfn")
            .replace("{type}", "run")
            .replace("{id}", "x")
            .replace("{format}", "uipath")
        )
        for method in operations:
            answers[f"{method} {path}"] = api.client.request(method, concrete).status_code
    for page in [
        "/",
        "/openapi.json",
        "/docs",
        "/ui",
        "/ui/login",
        "/ui/openfn/run",
        "/ui/openfn/work_order/wo-1",
    ]:
        answers[f"get {page}"] = api.client.get(page).status_code
    assert answers.pop("get /health") == 200
    assert answers == dict.fromkeys(answers, 401)
    assert len(answers) == 15


@pytest.mark.parametrize("path", READS)
def test_an_unknown_token_gets_401_with_a_bearer_challenge(api: Api, path: str) -> None:
    response = api.client.get(path, headers={"Authorization": "Bearer slt_not-a-real-token"})
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "slt_abc", "Bearer  x y"])
def test_a_malformed_authorization_header_gets_401(api: Api, header: str) -> None:
    assert api.client.get("/verify", headers={"Authorization": header}).status_code == 401


def test_a_revoked_token_gets_401(stored: Api) -> None:
    assert stored.get("/verify", role="reader").status_code == 200
    Tokens(stored.ledger.store).revoke("reader-1")
    response = stored.get("/verify", role="reader")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


def test_every_role_can_read(api: Api) -> None:
    api.seed()
    answers = {
        (role, path): api.get(path, role=role).status_code for role in ROLES for path in READS
    }
    assert answers == dict.fromkeys(answers, 200)


def test_a_reader_cannot_append(api: Api) -> None:
    response = api.post("/events", role="reader", json=WORK_ORDER[0])
    assert response.status_code == 403
    assert response.json() == {
        "code": "permission_denied",
        "message": "token 'reader-1' has role reader; this needs writer",
        "role": "reader",
        "required": "writer",
    }
    assert api.ledger.store.head().seq == 0


def test_only_an_admin_may_sweep_or_rebuild(stored: Api) -> None:
    for path in ADMIN_POSTS:
        for role in ("reader", "writer"):
            response = stored.post(path, role=role)
            assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
        assert stored.post(path, role="admin").status_code == 200


def test_a_writer_cannot_force_and_nothing_of_the_request_is_stored(api: Api) -> None:
    api.seed()
    forced = run_event("run-2", "Failed", "2024-05-01T10:06:00Z", force=True, reason="manual fix")
    response = api.post(
        "/events", json=[run_event("run-3", "Pending", "2024-05-01T11:00:00Z"), forced]
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert response.json()["index"] == 1
    assert api.ledger.store.head().seq == len(WORK_ORDER)


def test_an_admin_can_force_a_transition(stored: Api) -> None:
    stored.seed()
    forced = run_event("run-2", "Failed", "2024-05-01T10:06:00Z", force=True, reason="manual fix")
    response = stored.post("/events", role="admin", json=forced)
    assert response.status_code == 200
    assert response.json()["accepted"] == 1
    row = stored.get("/views/openfn/run/run-2").json()
    assert (row["status"]["status"], row["forced"], row["last_actor"]) == (
        "Failed",
        True,
        "token:admin-1",
    )


def test_the_actor_of_an_appended_event_is_the_tokens_principal(stored: Api) -> None:
    stored.seed()
    actors = {entry["actor"] for entry in stored.get("/history/openfn/work_order/wo-1").json()}
    assert actors == {"token:writer-1"}


def test_a_writer_may_not_speak_for_someone_else_but_may_name_itself(api: Api) -> None:
    other = run_event("run-1", "Pending", "2024-05-01T10:00:00Z", actor="alice")
    refused = api.post("/events", json=other)
    assert refused.status_code == 403
    assert "token:writer-1" in refused.json()["message"]
    itself = run_event("run-1", "Pending", "2024-05-01T10:00:00Z", actor="token:writer-1")
    assert api.post("/events", json=itself).json()["accepted"] == 1


def test_an_admin_sets_the_actor(api: Api) -> None:
    event = run_event("run-1", "Pending", "2024-05-01T10:00:00Z", actor="system:worker-3")
    assert api.post("/events", role="admin", json=event).status_code == 200
    assert api.get("/views/openfn/run/run-1").json()["last_actor"] == "system:worker-3"


def test_tokens_are_stored_hashed(stored: Api) -> None:
    with stored.ledger.store.read() as txn:
        txn.cursor.execute("SELECT name, role, digest FROM ledger_tokens ORDER BY name")
        rows = txn.cursor.fetchall()
    table = repr(rows)
    assert all(token not in table for token in stored.tokens.values())
    assert rows == sorted(
        (f"{role}-1", role, hashlib.sha256(stored.tokens[role].encode()).hexdigest())
        for role in ROLES
    )


# -- appending ---------------------------------------------------------------


def test_events_are_answered_one_by_one_with_the_codes_of_import(stored: Api) -> None:
    batch = [
        WORK_ORDER[0],
        run_event("run-1", "Success", "2024-05-01T10:00:01Z"),
        run_event("run-1", "Bogus", "2024-05-01T10:00:01Z"),
        {"model": "openfn", "type": "run"},
        run_event("run-1", "Pending", "yesterday"),
        "not an object",
        WORK_ORDER[1],
    ]
    response = stored.post("/events", json=batch)
    assert response.status_code == 422
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (2, 0, 5)
    codes = [o.get("error", {}).get("code", o["kind"]) for o in body["outcomes"]]
    assert codes == [
        "accepted",
        "illegal_transition",
        "unknown_status",
        "missing_field",
        "bad_timestamp",
        "bad_json",
        "accepted",
    ]
    rule = body["outcomes"][1]["error"]
    assert (rule["entity"], rule["current"], rule["allowed"]) == (
        "openfn run run-1",
        "Pending",
        ["Running", "Cancelled", "Rejected"],
    )
    assert stored.ledger.store.head().seq == 2


def test_sending_the_same_events_again_adds_nothing(stored: Api) -> None:
    stored.seed()
    again = stored.post("/events", json=WORK_ORDER)
    assert again.status_code == 200
    assert {k: again.json()[k] for k in ("accepted", "duplicates", "rejected")} == {
        "accepted": 0,
        "duplicates": len(WORK_ORDER),
        "rejected": 0,
    }
    assert [o["seq"] for o in again.json()["outcomes"]] == list(range(1, len(WORK_ORDER) + 1))
    assert stored.ledger.store.head().seq == len(WORK_ORDER)


def test_an_event_id_reused_with_other_content_is_a_conflict(stored: Api) -> None:
    first = run_event("run-1", "Pending", "2024-05-01T10:00:00Z", event_id="e-1")
    assert stored.post("/events", json=first).status_code == 200
    other = {**first, "occurred_at": "2024-05-01T10:00:01Z"}
    response = stored.post("/events", json=other)
    assert response.status_code == 422
    assert response.json()["outcomes"][0]["error"]["code"] == "event_id_conflict"


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"", b"[1, 2", b"\xff\xfe", b'{"model": NaN}'],
    ids=["broken", "empty", "unterminated", "not-utf8", "nan"],
)
def test_a_body_that_is_not_json_is_400_bad_json(api: Api, body: bytes) -> None:
    response = api.post("/events", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["code"] == "bad_json"
    assert api.ledger.store.head().seq == 0


@pytest.mark.parametrize(
    ("body", "key"),
    [
        (b'{"model": "openfn", "model": "osmo"}', "model"),
        (b'[{"model": "openfn", "attributes": {"a": [{"b": 1, "b": 1}]}}]', "b"),
    ],
    ids=["top-level", "deep-in-an-array"],
)
def test_a_body_with_a_repeated_key_is_400_bad_json_naming_the_key(
    api: Api, body: bytes, key: str
) -> None:
    response = api.post("/events", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["code"] == "bad_json"
    assert response.json()["key"] == key
    assert api.ledger.store.head().seq == 0


def test_integers_beyond_64_bits_are_refused_and_up_to_64_bits_kept_exactly(stored: Api) -> None:
    exact = run_event("run-1", "Pending", "2024-05-01T10:00:00Z", attributes={"n": 2**63 - 1})
    wide = [
        run_event("run-2", "Pending", "2024-05-01T10:00:00Z", attributes={"n": 0}),
        run_event("run-3", "Pending", "2024-05-01T10:00:00Z", attributes={"n": [0]}),
    ]
    body = orjson.dumps([exact, *wide])
    body = body.replace(b'"n":0', b'"n":18446744073709551616', 1)
    body = body.replace(b'"n":[0]', b'"n":[-123456789012345678901234567890]', 1)
    response = stored.post("/events", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    codes = [o.get("error", {}).get("code", o["kind"]) for o in response.json()["outcomes"]]
    assert codes == ["accepted", "invalid_field", "invalid_field"]
    [kept] = [e["attributes"] for e in stored.ledger.export()]
    assert kept == {"n": 2**63 - 1}


def test_a_non_object_too_deep_to_write_back_is_still_bad_json(api: Api) -> None:
    deep = b"[" + b"[" * 300 + b"]" * 300 + b"]"
    response = api.post("/events", content=deep, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["outcomes"][0]["error"]["code"] == "bad_json"


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("id", 7, "invalid_field"),
        ("force", "yes", "invalid_field"),
        ("attributes", [1], "invalid_field"),
        ("occurred_at", None, "missing_field"),
        ("occurred_at", True, "bad_timestamp"),
        ("colour", "red", "unexpected_field"),
    ],
)
def test_a_field_of_the_wrong_type_is_rejected_with_its_code(
    api: Api, field: str, value: Any, code: str
) -> None:
    event = {**run_event("run-1", "Pending", "2024-05-01T10:00:00Z"), field: value}
    if value is None:
        del event[field]
    response = api.post("/events", role="admin", json=event)
    assert response.status_code == 422
    assert response.json()["outcomes"][0]["error"]["code"] == code


def test_an_oversize_body_is_413_and_stores_nothing(api: Api) -> None:
    event = run_event("run-1", "Pending", "2024-05-01T10:00:00Z", message="x" * BODY_LIMIT)
    response = api.post("/events", json=event)
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"
    assert api.ledger.store.head().seq == 0


def test_an_oversize_body_without_a_length_is_cut_off_at_the_limit(api: Api) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'[{"model": "openfn", "message": "'
        for _ in range(BODY_LIMIT // 1024 + 2):
            yield b"x" * 1024
        yield b'"}]'

    response = api.post("/events", content=chunks())
    assert response.status_code == 413
    assert api.ledger.store.head().seq == 0


def test_too_many_events_in_one_request_is_413(api: Api) -> None:
    events = [
        run_event(f"run-{n}", "Pending", "2024-05-01T10:00:00Z") for n in range(EVENT_LIMIT + 1)
    ]
    response = api.post("/events", json=events)
    assert response.status_code == 413
    assert api.ledger.store.head().seq == 0


# -- reading -----------------------------------------------------------------


def test_a_view_row_is_the_one_status_json_shows(stored: Api) -> None:
    stored.seed()
    row = stored.get("/views/openfn/work_order/wo-1").json()
    assert row == stored.ledger.status("openfn", "work_order", "wo-1").model_dump(mode="json")
    assert (row["status"]["status"], row["runs"], row["last_run"]) == (
        "Success",
        ["run-1", "run-2"],
        "run-2",
    )


def test_list_filters_by_status_and_parent_and_pages(stored: Api) -> None:
    stored.seed()
    failed = stored.get("/views/openfn/run", params={"status": "failed"}).json()
    assert [r["id"] for r in failed["items"]] == ["run-1"]
    first = stored.get("/views/openfn/run", params={"parent": "wo-1", "limit": 1}).json()
    second = stored.get(
        "/views/openfn/run", params={"parent": "wo-1", "limit": 1, "offset": first["next_offset"]}
    ).json()
    assert [r["id"] for r in first["items"] + second["items"]] == ["run-1", "run-2"]
    assert stored.get("/views/openfn/run", params={"parent": "wo-9"}).json()["items"] == []


def test_as_of_shows_the_past(stored: Api) -> None:
    stored.seed()
    then = stored.get("/views/openfn/work_order/wo-1", params={"as_of": "2024-05-01T10:00:05Z"})
    assert then.json()["status"]["status"] == "Running"
    rows = stored.get("/views/openfn/run", params={"as_of": "2024-05-01T10:00:05Z"}).json()["items"]
    assert [r["id"] for r in rows] == ["run-1"]
    history = stored.get("/history/openfn/run/run-1", params={"as_of": "2024-05-01T10:00:05Z"})
    assert [e["status"] for e in history.json()] == ["Pending", "Running"]


def test_known_at_before_anything_was_recorded_finds_nothing(stored: Api) -> None:
    stored.seed()
    response = stored.get("/views/openfn/run/run-1", params={"known_at": "2000-01-01T00:00:00Z"})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_history_of_a_work_order_lists_every_run_transition(stored: Api) -> None:
    stored.seed()
    entries = stored.get("/history/openfn/work_order/wo-1").json()
    assert [(e["id"], e["status"], e["written_status"]) for e in entries] == [
        ("run-1", "Pending", None),
        ("run-1", "Running", "claimed"),
        ("run-1", "Failed", None),
        ("run-2", "Pending", None),
        ("run-2", "Running", None),
        ("run-2", "Success", None),
    ]
    assert {"recorded_at", "seq", "hash", "prev_hash", "forced", "actor"} <= set(entries[0])


def test_verify_reports_an_intact_chain(stored: Api) -> None:
    stored.seed()
    report = stored.get("/verify").json()
    assert (report["ok"], report["events"]) == (True, len(WORK_ORDER))


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/views/openfn/run/nope", {}, 404, "not_found"),
        ("/views/nope/run/x", {}, 404, "unknown_model"),
        ("/views/openfn/attempt-ish", {}, 404, "unknown_type"),
        ("/views/openfn/run", {"limit": "many"}, 422, "invalid_field"),
        ("/views/openfn/run", {"limit": 0}, 422, "invalid_field"),
        ("/views/openfn/run", {"as_of": "last tuesday"}, 422, "bad_timestamp"),
        ("/history/openfn/run/run-1", {"known_at": "1e400"}, 422, "bad_timestamp"),
        ("/nowhere", {}, 404, "not_found"),
    ],
)
def test_bad_reads_get_a_stable_code(
    api: Api, path: str, params: dict[str, Any], status: int, code: str
) -> None:
    api.seed()
    response = api.get(path, params=params)
    assert (response.status_code, response.json()["code"]) == (status, code)


def test_an_unexpected_failure_is_500_without_a_stack_trace(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise RuntimeError("secret internals at /srv/ledger.py line 42")

    monkeypatch.setattr(api.ledger, "verify", broken)
    response = api.get("/verify")
    assert response.status_code == 500
    assert response.json() == {
        "code": "internal_error",
        "message": "internal error; the server log has the details",
    }
    assert "secret" not in response.text and "Traceback" not in response.text


def test_the_server_log_line_of_a_failure_escapes_the_path(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A path may hold C1 controls and bidi overrides (the id pattern lets them
    through to a lookup), which the server log, often a terminal, must not get
    raw: U+009B is CSI to some terminals."""

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(api.ledger, "status", broken)
    with caplog.at_level("ERROR", logger="status_ledger.service"):
        response = api.get("/views/openfn/run/run%C2%9B2J%E2%80%AEexe")
    assert response.status_code == 500
    [line] = [r.getMessage() for r in caplog.records if r.name == "status_ledger.service"]
    assert "\x9b" not in line and "\u202e" not in line
    assert "run\\x9b2J\\u202eexe" in line


def test_the_openapi_document_describes_the_event_body_and_the_bearer_scheme(api: Api) -> None:
    schema = orjson.loads(api.get("/openapi.json").content)
    body = schema["paths"]["/events"]["post"]["requestBody"]["content"]["application/json"]
    assert [s.get("type") for s in body["schema"]["anyOf"]] == ["object", "array"]
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_the_service_uses_only_the_public_ledger_api() -> None:
    """`ledger`, plus `ledger.spi` for the store its tokens table lives in."""
    root = Path(__file__).resolve().parent.parent / "service"
    imported = {
        node.module
        for path in root.glob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
    }
    assert {m for m in imported if m.split(".")[0] in ("ledger", "projections", "cli")} == {
        "ledger",
        "ledger.spi",
    }


def test_a_writer_cannot_pre_claim_the_id_of_a_future_sweep(stored: Api) -> None:
    job = {"model": "uipath", "type": "job", "id": "j-1"}
    steps = [("Pending", "10:00"), ("Running", "10:01"), ("Terminating", "10:02")]
    stored.post(
        "/events",
        json=[{**job, "status": s, "occurred_at": f"2024-05-01T{t}:00Z"} for s, t in steps],
    )
    now = {"now": "2024-05-02T11:00:00Z"}
    planned = stored.post("/sweep", role="admin", params={**now, "dry_run": "true"}).json()
    sweep_id = planned["actions"][0]["event_id"]
    squat = {**job, "id": "j-2", "status": "Pending", "occurred_at": 0, "event_id": sweep_id}
    response = stored.post("/events", json=squat)
    assert response.status_code == 422
    assert response.json()["outcomes"][0]["error"]["code"] == "reserved_event_id"
    done = stored.post("/sweep", role="admin", params=now).json()["actions"]
    assert [(a["event_id"], a["result"]) for a in done] == [(sweep_id, "accepted")]


# -- filters and pages (issue 23) ----------------------------------------------


def test_a_mistyped_status_filter_is_unknown_status_with_the_allowed_names(api: Api) -> None:
    """`?status=Sucess` answered 200 with no items, read as "no such runs"."""
    api.seed()
    answer = api.get("/views/openfn/run", params={"status": "Sucess"})
    assert answer.status_code == 422
    body = answer.json()
    assert body["code"] == "unknown_status"
    assert "Success" in body["allowed"] and "Sucess" in body["message"]


def test_an_alias_is_accepted_in_a_status_filter(api: Api) -> None:
    api.seed()
    aliased = api.get("/views/openfn/run", params={"status": "claimed"}).json()["items"]
    named = api.get("/views/openfn/run", params={"status": "Running"}).json()["items"]
    assert aliased == named


def test_keyset_pages_walk_every_row_once(api: Api) -> None:
    api.seed()
    first = api.get("/views/openfn/run", params={"limit": 1}).json()
    assert [r["id"] for r in first["items"]] == ["run-1"]
    rest = api.get("/views/openfn/run", params={"limit": 1, "after": first["next_after"]}).json()
    assert [r["id"] for r in rest["items"]] == ["run-2"]
    last = api.get("/views/openfn/run", params={"limit": 1, "after": rest["next_after"]}).json()
    assert last["items"] == [] and last["next_after"] is None
    bad = api.get("/views/openfn/run", params={"after": "nonsense"})
    assert bad.status_code == 400 and bad.json()["code"] == "usage_error"

"""Each system's payload, in the shape the system really sends, becomes the
events the golden files hold; the same payload read again gives the same ids
(a duplicate); what the model lacks is the ledger's coded reject; and a payload
an adapter cannot read is a coded error that stores nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from ledger import BadJson, InvalidField, Ledger, LedgerError, MissingField, ingest

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ingest"
MODELS = Path(__file__).resolve().parent.parent / "docs" / "models"
PAYLOADS = sorted(FIXTURES.glob("*.json"))


def payload(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def adapt(name: str) -> list[dict[str, Any] | str]:
    return ingest.adapter(name.split("_")[0])(payload(name))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger.open(tmp_path / "ingest.db", models_dir=MODELS) as ledger:
        yield ledger


def feed(ledger: Ledger, *names: str) -> list[dict[str, int]]:
    return [ledger.append(adapt(name)).counts() for name in names]


@pytest.mark.parametrize("path", PAYLOADS, ids=[p.stem for p in PAYLOADS])
def test_adapter_output_matches_its_golden_file(path: Path) -> None:
    golden = (FIXTURES / "golden" / f"{path.stem}.jsonl").read_bytes()
    expected = [orjson.loads(line) for line in golden.splitlines()]
    assert adapt(path.stem) == expected


@pytest.mark.parametrize("path", PAYLOADS, ids=[p.stem for p in PAYLOADS])
def test_every_adapted_event_has_an_id_derived_from_the_source(path: Path) -> None:
    events = adapt(path.stem)
    ids = [e["event_id"] for e in events if isinstance(e, dict)]
    assert len(ids) == len(events) == len(set(ids))
    assert all(i.startswith(path.stem.split("_")[0] + ":") for i in ids)


def test_uipath_redelivery_is_a_duplicate_and_the_job_follows_its_states(store: Ledger) -> None:
    names = [
        "uipath_job_created",
        "uipath_job_started",
        "uipath_job_faulted",
        "uipath_job_started_second",
        "uipath_job_completed",
    ]
    assert feed(store, *names) == [
        {"accepted": 2, "duplicates": 0, "rejected": 0},
        *[{"accepted": 1, "duplicates": 0, "rejected": 0}] * 4,
    ]
    assert feed(store, *names)[0] == {"accepted": 0, "duplicates": 2, "rejected": 0}
    faulted = store.status("uipath", "job", "38967597")
    assert faulted.status.status == "Faulted"
    assert faulted.last_actor == "system:uipath"
    assert "FileNotFoundException" in (faulted.status.message or "")
    assert store.status("uipath", "job", "38967598").status.status == "Successful"


def test_uipath_job_state_the_model_lacks_is_an_unknown_status_reject(store: Ledger) -> None:
    report = store.append(adapt("uipath_unknown_state"))
    assert report.rejected == 1
    error = report.outcomes[0].error
    assert error is not None and error.code == "unknown_status"
    assert "Queued" in error.message
    assert store.store.head().seq == 0


def test_uipath_events_about_robots_and_queues_record_nothing() -> None:
    assert adapt("uipath_robot_connected") == []


def test_uipath_job_object_and_jobs_array_and_missing_state_are_read_alike() -> None:
    delivery = orjson.loads(payload("uipath_job_started"))
    as_array = {**delivery, "Jobs": [delivery.pop("Job")]}
    assert ingest.adapter("uipath")(orjson.dumps(as_array)) == adapt("uipath_job_started")
    del as_array["Jobs"][0]["State"]
    assert ingest.adapter("uipath")(orjson.dumps(as_array)) == adapt("uipath_job_started")


def test_uipath_signature_is_base64_hmac_sha256_of_the_raw_body() -> None:
    scheme = ingest.SIGNATURES["uipath"]
    body = payload("uipath_job_created")
    # Computed independently: printf body | openssl dgst -sha256 -hmac s3cret -binary | base64
    assert scheme.sign(b'{"Type":"job.created"}', "s3cret") == (
        "m09S0cGAoJgLo7ITgXarVYT4vUANaS9el0829RjK0zY="
    )
    good = scheme.sign(body, "s3cret")
    assert scheme.header == "X-UiPath-Signature"
    assert scheme.valid(body, good, "s3cret")
    assert not scheme.valid(body, good, "other secret")
    assert not scheme.valid(body + b" ", good, "s3cret")
    assert not scheme.valid(body, "not base64 at all", "s3cret")


def test_openfn_pages_unfold_runs_and_a_later_read_adds_only_the_new_step(store: Ledger) -> None:
    assert feed(store, "openfn_runs_page1", "openfn_runs_page2", "openfn_runs_page2_later") == [
        {"accepted": 8, "duplicates": 0, "rejected": 0},
        {"accepted": 5, "duplicates": 0, "rejected": 0},
        {"accepted": 1, "duplicates": 5, "rejected": 0},
    ]
    failed = store.status("openfn", "run", "0e6c4b2a-9f8d-4e7c-b6a5-d4c3b2a19080")
    assert (failed.status.status, failed.status.reason) == ("Failed", "JobError")
    order = store.status("openfn", "work_order", "8e7d6c5b-4a39-4281-9706-f5e4d3c2b1a0")
    assert order.status.status == "Success"
    history = store.history("openfn", "run", "b5a49382-7160-4f5e-8d3c-2b1a09f8e7d6")
    assert [e.written_status or e.status for e in history] == [
        "available",
        "claimed",
        "started",
        "success",
    ]
    rejected = store.status("openfn", "run", "c3d2e1f0-a9b8-4c7d-9e6f-5a4b3c2d1e0f")
    assert rejected.status.status == "Rejected"


def test_openfn_older_attempts_are_stored_as_attempts_and_read_as_runs(store: Ledger) -> None:
    assert feed(store, "openfn_attempt") == [{"accepted": 4, "duplicates": 0, "rejected": 0}]
    row = store.status("openfn", "run", "a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d")
    assert (row.status.status, row.status.reason) == ("Crashed", "SyntaxError")
    assert {e["type"] for e in adapt("openfn_attempt") if isinstance(e, dict)} == {"attempt"}


def test_openfn_work_order_records_write_their_runs(store: Ledger) -> None:
    assert feed(store, "openfn_work_order") == [{"accepted": 4, "duplicates": 0, "rejected": 0}]
    row = store.status("openfn", "work_order", "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a")
    assert row.status.status == "Success"


def test_osmo_query_becomes_groups_under_their_workflow(store: Ledger) -> None:
    assert feed(store, "osmo_workflow_query", "osmo_workflow_query") == [
        {"accepted": 17, "duplicates": 0, "rejected": 0},
        {"accepted": 0, "duplicates": 17, "rejected": 0},
    ]
    groups = {r.id: r.status.status for r in store.list("osmo", "task_group")}
    assert groups == {
        "prepare": "COMPLETED",
        "train": "FAILED_EVICTED",
        "evaluate": "FAILED_UPSTREAM",
    }
    assert store.status("osmo", "workflow", "train-eval-17").status.status == "FAILED_EVICTED"
    waited = store.history("osmo", "task_group", "evaluate", parent="train-eval-17")
    assert [e.status for e in waited] == ["SUBMITTING", "WAITING", "FAILED_UPSTREAM"]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("SUBMITTING", ["SUBMITTING"]),
        ("WAITING", ["SUBMITTING", "WAITING"]),
        ("FAILED_UPSTREAM", ["SUBMITTING", "WAITING", "FAILED_UPSTREAM"]),
    ],
)
def test_osmo_group_waits_only_once_it_has_left_submitting(
    status: str, expected: list[str]
) -> None:
    query = orjson.loads(payload("osmo_workflow_query"))
    query["groups"][2]["status"] = status
    events = ingest.adapter("osmo")(orjson.dumps(query))
    evaluate = [e for e in events if isinstance(e, dict) and e["id"] == "evaluate"]
    assert [e["status"] for e in evaluate] == expected


def test_lightning_app_state_reproduces_the_seed_004_statuses(store: Ledger) -> None:
    assert feed(store, "lightning_app_state") == [{"accepted": 7, "duplicates": 0, "rejected": 0}]
    row = store.status("lightning", "work", "root.work")
    assert row.status.status == "failed"
    assert [(s.status, s.timestamp) for s in row.statuses] == [
        ("pending", 1653498627.204636),
        ("running", 1653498627.205509),
        ("running", 1653498627.205509),
        ("failed", 1653498628.210164),
    ]


def test_lightning_bare_statuses_keep_the_repeated_running(store: Ledger) -> None:
    assert feed(store, "lightning_statuses", "lightning_statuses") == [
        {"accepted": 4, "duplicates": 0, "rejected": 0},
        {"accepted": 0, "duplicates": 4, "rejected": 0},
    ]


def test_openlineage_maps_to_the_user_model_and_skips_other(store: Ledger) -> None:
    assert [e["status"] for e in adapt("openlineage_events") if isinstance(e, dict)] == [
        "START",
        "RUNNING",
        "FAIL",
    ]
    assert feed(store, "openlineage_events") == [{"accepted": 3, "duplicates": 0, "rejected": 0}]
    job = store.status("openlineage", "job", "airflow://etl-prod/daily_orders.load")
    assert job.status.status == "FAIL"
    assert 'relation "shop.orders_stage"' in (job.status.message or "")


def test_openlineage_without_its_user_model_is_an_unknown_model_reject(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "plain.db") as plain:
        report = plain.append(adapt("openlineage_events"))
    assert report.rejected == 3
    assert {o.error.code for o in report.outcomes if o.error} == {"unknown_model"}


@pytest.mark.parametrize(
    ("name", "body", "error", "field"),
    [
        ("uipath", b"<html>", BadJson, None),
        ("uipath", b"[]", InvalidField, None),
        (
            "uipath",
            b'{"Type": "job.started", "Timestamp": "2025-05-07T09:13:45Z"}',
            MissingField,
            "EventId",
        ),
        (
            "uipath",
            b'{"Type": "job.started", "EventId": "1", "Timestamp": "2025-05-07T09:13:45Z"}',
            MissingField,
            "Jobs",
        ),
        (
            "uipath",
            b'{"Type": "job.started", "EventId": "1", "Timestamp": "t", "Job": {"State": "x"}}',
            MissingField,
            "Id",
        ),
        (
            "uipath",
            b'{"Type": "job.started", "EventId": "1", "Timestamp": "t", "Jobs": 3}',
            InvalidField,
            None,
        ),
        (
            "openfn",
            b'{"data": [{"type": "runs", "id": "r", "attributes": {"state": "failed"}}]}',
            MissingField,
            "work_order_id",
        ),
        (
            "openfn",
            b'{"data": [{"type": "runs", "id": "r", "attributes": '
            b'{"state": "started", "work_order_id": "w"}}]}',
            MissingField,
            "started_at",
        ),
        ("openfn", b'{"data": [{"type": "projects", "id": "p"}]}', InvalidField, "type"),
        ("osmo", b'{"name": "wf"}', MissingField, "submit_time"),
        (
            "osmo",
            b'{"name": "wf", "submit_time": "2025-01-01T00:00:00", "groups": [{"name": "g"}]}',
            MissingField,
            "status",
        ),
        ("lightning", b'{"statuses": []}', MissingField, "name"),
        (
            "lightning",
            b'{"name": "w", "statuses": [{"stage": "pending", "timestamp": "soon"}]}',
            InvalidField,
            "timestamp",
        ),
        (
            "openlineage",
            b'{"eventType": "START", "eventTime": "2024-01-01T00:00:00Z"}',
            MissingField,
            "runId",
        ),
    ],
)
def test_unreadable_payload_is_a_coded_error(
    name: str, body: bytes, error: type[LedgerError], field: str | None
) -> None:
    with pytest.raises(error) as raised:
        ingest.adapter(name)(body)
    if field is not None:
        assert raised.value.details.get("field") == field


def test_unknown_format_lists_the_known_ones() -> None:
    with pytest.raises(LedgerError) as raised:
        ingest.adapter("jenkins")
    assert raised.value.code == "usage_error"
    assert "ledger, lightning, openfn, openlineage, osmo, uipath" in raised.value.message


def test_an_id_too_long_for_an_event_id_is_hashed_stably() -> None:
    long_run = "r" * 300
    body = orjson.dumps(
        {
            "eventType": "START",
            "eventTime": "2024-01-01T00:00:00Z",
            "run": {"runId": long_run},
            "job": {"namespace": "n", "name": "j"},
        }
    )
    first = ingest.adapter("openlineage")(body)
    assert first == ingest.adapter("openlineage")(body)
    event = first[0]
    assert isinstance(event, dict)
    assert event["event_id"].startswith("openlineage:sha256:")
    assert len(event["event_id"]) < 256


def test_the_openlineage_model_shown_in_the_docs_is_the_shipped_file() -> None:
    page = (MODELS.parent / "ingest.md").read_text(encoding="utf-8")
    shipped = (MODELS / "openlineage.toml").read_text(encoding="utf-8")
    assert f"<!-- docs-test: file openlineage.toml -->\n```toml\n{shipped}```\n" in page

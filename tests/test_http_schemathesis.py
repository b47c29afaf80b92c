"""Generated requests against the OpenAPI document, valid and invalid alike: the
service may refuse them with any documented code and body, but never answers 500.
Bounded to a couple of dozen examples per operation and mode, so it stays fast;
the OpenAPI listing is checked first so that a new endpoint cannot go unprobed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from _server import serving
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from ledger import Ledger
from service import Tokens, create_app

pytestmark = pytest.mark.slow  # processes, crashes, concurrency or many generated cases

EXAMPLES = 20
OPERATIONS = [
    ("POST", "/events"),
    ("POST", "/ingest/{format}"),
    ("GET", "/views/{model}/{type}/{id}"),
    ("GET", "/views/{model}/{type}"),
    ("GET", "/history/{model}/{type}/{id}"),
    ("GET", "/verify"),
    ("POST", "/sweep"),
    ("POST", "/rebuild"),
    ("GET", "/health"),
]
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


@dataclass
class Served:
    url: str
    headers: dict[str, str]
    schema: Any


@pytest.fixture
def served(ledger: Ledger) -> Iterator[Served]:
    token = Tokens(ledger.store).create("fuzz", "admin")
    ledger.record(
        model="openfn",
        type="run",
        id="run-1",
        parent="wo-1",
        status="Pending",
        occurred_at="2024-05-01T10:00:00Z",
    )
    with serving(create_app(ledger)) as url:
        headers = {"Authorization": f"Bearer {token}"}
        yield Served(
            url, headers, schemathesis.openapi.from_url(f"{url}/openapi.json", headers=headers)
        )


def test_the_document_lists_exactly_these_operations(served: Served) -> None:
    found = [
        (op.method.upper(), op.path)
        for op in (result.ok() for result in served.schema.get_all_operations())
    ]
    assert sorted(found) == sorted(OPERATIONS)


def test_generated_requests_never_get_a_server_error(served: Served) -> None:
    """One server and store per backend for every operation and mode (a fresh
    PostgreSQL database per case would cost more than the requests)."""
    for method, path in OPERATIONS:
        for mode in GenerationMode:
            if path == "/health" and mode is GenerationMode.NEGATIVE:
                continue  # /health takes nothing that could be spoilt
            operation = served.schema[path][method]

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def probe(case: Any) -> None:
                case.call_and_validate(
                    base_url=served.url, headers=served.headers, checks=CHECKS, timeout=30
                )

            probe()

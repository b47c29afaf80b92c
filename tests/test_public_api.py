"""The public surface: one import path, layers that only look down, typed, and
safe to share between threads."""

from __future__ import annotations

import ast
import threading
from pathlib import Path

import pytest

import ledger
import ledger.spi
import projections
from ledger import IllegalTransition, Ledger, LedgerError

ROOT = Path(__file__).resolve().parent.parent


def _imports(package: str) -> list[tuple[str, str, list[str]]]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.append((path.name, node.module, [a.name for a in node.names]))
            elif isinstance(node, ast.Import):
                found.extend((path.name, a.name, []) for a in node.names)
    return found


def test_cli_imports_only_the_public_api() -> None:
    offending = [
        (file, module, names)
        for file, module, names in _imports("cli")
        if module.split(".")[0] in ("ledger", "projections")
        and (module != "ledger" or any(n.startswith("_") for n in names))
    ]
    assert offending == []


def test_projections_never_imports_cli_or_private_ledger_modules() -> None:
    assert [
        i
        for i in _imports("projections")
        if i[1].split(".")[0] == "cli" or (i[1].startswith("ledger.") and i[1] != "ledger.spi")
    ] == []


@pytest.mark.parametrize("package", [ledger, ledger.spi, projections])
def test_every_public_name_resolves(package: object) -> None:
    names = package.__all__  # type: ignore[attr-defined]
    assert names == sorted(names, key=lambda n: (not n.isupper(), n))  # ruff's RUF022 order
    assert all(hasattr(package, name) for name in names)


def test_the_user_api_leaves_what_only_a_views_implementation_needs_to_the_spi() -> None:
    spi_only = {"Cursor", "EventStore", "StatusChanged", "Transaction", "Worker", "open_store"}
    gone = {"write_whole", "parse_cli_time", "build_demo", "DemoResult"}
    assert spi_only <= set(ledger.spi.__all__)
    assert not (spi_only | gone) & set(ledger.__all__)
    assert not set(ledger.__all__) & set(ledger.spi.__all__)


@pytest.mark.parametrize("package", ["ledger", "projections"])
def test_package_ships_py_typed(package: str) -> None:
    assert (ROOT / package / "py.typed").is_file()


def test_errors_carry_codes_and_the_allowed_next_statuses(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as opened:
        opened.record(model="uipath", type="job", id="j", status="Pending", occurred_at=10)
        with pytest.raises(IllegalTransition) as caught:
            opened.record(model="uipath", type="job", id="j", status="Successful", occurred_at=20)
    assert isinstance(caught.value, LedgerError)
    assert caught.value.code == "illegal_transition"
    assert caught.value.current == "Pending"
    assert caught.value.allowed == ["Running", "Faulted", "Stopped"]


def test_one_ledger_shared_by_threads_loses_nothing(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as shared:

        def work(worker: int) -> None:
            for n in range(25):
                shared.record(
                    model="lightning",
                    type="work",
                    id=f"w{worker}-{n}",
                    status="pending",
                    occurred_at=1000 + n,
                )

        threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        report = shared.verify()
        assert report.ok and report.events == 150
        assert len(shared.list("lightning", "work")) == 150


def test_results_are_pydantic_models(ledger: Ledger) -> None:
    report = ledger.append(['{"model": "nope"}'])
    dumped = report.model_dump()
    assert dumped["rejected"] == 1
    assert dumped["outcomes"][0]["error"]["code"] == "missing_field"

"""The four built-in status models, edge by edge. The tables (tests/_spec.py) are
spec section 3 written out by hand; every (from, to) pair of every written type is
recorded through a real store and must be accepted exactly when the table
allows it, so no edge of ledger/models/*.toml goes unchecked."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

import pytest
from _spec import FINAL, LIGHTNING_STAGES, SPEC, STATUSES, at, event

from ledger import IllegalTransition, Ledger, LedgerError, ModelRegistry, WrongErrorType


def _path_to(table: dict[str | None, list[str]], target: str) -> list[str]:
    """The shortest legal history that ends in `target`."""
    queue: deque[list[str]] = deque([[s] for s in table[None]])
    while queue:
        path = queue.popleft()
        if path[-1] == target:
            return path
        queue.extend([*path, s] for s in table.get(path[-1], []) if s not in path)
    raise AssertionError(f"{target} is unreachable")


def _pairs() -> Iterator[Any]:
    for (model, type_), table in SPEC.items():
        for source in [None, *STATUSES[(model, type_)]]:
            for target in STATUSES[(model, type_)]:
                allowed = target in table.get(source, [])
                yield pytest.param(
                    model,
                    type_,
                    source,
                    target,
                    allowed,
                    id=f"{model}-{type_}-{source or 'first'}-{target}",
                )


def _fields(model: str, type_: str, entity: str) -> dict[str, Any]:
    """A parent of its own per entity, so derived rows stay small."""
    if (model, type_) in (("openfn", "run"), ("osmo", "task_group")):
        return {"parent": f"parent-of-{entity}"}
    return {}


def _extra(model: str, type_: str, status: str) -> dict[str, Any]:
    if (model, type_, status) == ("osmo", "workflow", "PENDING"):
        return {"attributes": {"groups": ["g"]}}
    return {}


@pytest.fixture(scope="module")
def matrix_ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    with Ledger.open(tmp_path_factory.mktemp("matrix") / "ledger.db") as opened:
        yield opened


@pytest.mark.parametrize(("model", "type_", "source", "target", "allowed"), list(_pairs()))
def test_a_transition_is_accepted_exactly_when_the_spec_table_allows_it(
    matrix_ledger: Ledger, model: str, type_: str, source: str | None, target: str, allowed: bool
) -> None:
    entity = f"{source or 'first'}-to-{target}"
    history = _path_to(SPEC[(model, type_)], source) if source else []
    for offset, status in enumerate(history):
        fields = {**_fields(model, type_, entity), **_extra(model, type_, status)}
        matrix_ledger.record(**event(model, type_, entity, status, offset, **fields))
    attempt = event(
        model,
        type_,
        entity,
        target,
        len(history),
        **_fields(model, type_, entity),
        **_extra(model, type_, target),
    )
    if allowed:
        assert matrix_ledger.record(**attempt).kind == "accepted"
    else:
        with pytest.raises(IllegalTransition) as raised:
            matrix_ledger.record(**attempt)
        assert raised.value.current == source
        assert set(raised.value.allowed) == set(SPEC[(model, type_)].get(source, []))


@pytest.mark.parametrize(("model", "type_"), list(FINAL))
def test_final_statuses_are_the_spec_ones(model: str, type_: str) -> None:
    et = ModelRegistry.builtin().entity_type(model, type_, for_writing=True)
    assert set(et.final) == FINAL[(model, type_)]
    assert set(et.statuses) == set(STATUSES[(model, type_)])


# -- openfn ------------------------------------------------------------------


def _run(status: str, when: float, **fields: Any) -> dict[str, Any]:
    return event("openfn", "run", "r-1", status, when, parent="wo-1", **fields)


def test_openfn_accepts_its_own_state_names_as_aliases_and_history_keeps_them(
    ledger: Ledger,
) -> None:
    for when, written in enumerate(["available", "claimed", "started", "success"]):
        ledger.record(**_run(written, when))
    lines = [(e.status, e.written_status) for e in ledger.history("openfn", "run", "r-1")]
    assert lines == [
        ("Pending", "available"),
        ("Running", "claimed"),
        ("Running", "started"),
        ("Success", "success"),
    ]
    row = ledger.status("openfn", "run", "r-1")
    assert [s.status for s in row.statuses] == ["Pending", "Running", "Running", "Success"]


def test_status_names_match_case_insensitively(ledger: Ledger) -> None:
    ledger.record(**event("uipath", "job", "j", "PENDING", 0))
    ledger.record(**event("uipath", "job", "j", "rUnNiNg", 1))
    assert ledger.status("uipath", "job", "j").status.status == "Running"
    ledger.record(**event("osmo", "task_group", "g", "submitting", 0, parent="wf"))
    assert ledger.status("osmo", "task_group", "g", parent="wf").status.status == "SUBMITTING"


def test_openfn_a_run_no_worker_claimed_cannot_be_completed(ledger: Ledger) -> None:
    ledger.record(**_run("available", 0))
    with pytest.raises(IllegalTransition, match="allowed next: Running, Cancelled, Rejected"):
        ledger.record(**_run("Success", 1))


@pytest.mark.parametrize(
    ("status", "reason", "owner"),
    [
        ("Failed", "SyntaxError", "Crashed"),
        ("Crashed", "JobError", "Failed"),
        ("Killed", "TypeError", "Failed"),
        ("Failed", "oomerror", "Killed"),
    ],
)
def test_openfn_a_documented_error_type_with_another_status_is_wrong_error_type(
    ledger: Ledger, status: str, reason: str, owner: str
) -> None:
    ledger.record(**_run("Pending", 0))
    ledger.record(**_run("Running", 1))
    with pytest.raises(WrongErrorType) as raised:
        ledger.record(**_run(status, 2, reason=reason))
    assert raised.value.details["owner"] == owner
    assert raised.value.current == "Running"


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        ("Failed", "JobError"),
        ("Failed", "RangeError"),
        ("Crashed", "ReferenceError"),
        ("Killed", "SecurityError"),
        ("Killed", "TimeoutError"),
        ("Failed", "SomeNewError"),
        ("Crashed", "BrandNewCrash"),
        ("Exception", "whatever"),
    ],
)
def test_openfn_matching_and_unknown_error_types_are_accepted(
    ledger: Ledger, status: str, reason: str
) -> None:
    ledger.record(**_run("Pending", 0))
    ledger.record(**_run("Running", 1))
    assert ledger.record(**_run(status, 2, reason=reason)).kind == "accepted"
    assert ledger.status("openfn", "run", "r-1").status.reason == reason


def test_openfn_views_say_whether_the_status_aborts_the_run(ledger: Ledger) -> None:
    for run, final in [("r-failed", "Failed"), ("r-crashed", "Crashed"), ("r-lost", "Lost")]:
        ledger.record(**event("openfn", "run", run, "Pending", 0, parent="wo"))
        ledger.record(**event("openfn", "run", run, "Running", 1, parent="wo"))
        ledger.record(**event("openfn", "run", run, final, 2, parent="wo"))
    aborts = {r.id: (r.model_extra or {})["aborts"] for r in ledger.list("openfn", "run")}
    assert aborts == {"r-failed": False, "r-crashed": True, "r-lost": True}


def test_openfn_a_final_run_never_changes_again(ledger: Ledger) -> None:
    ledger.record(**_run("Rejected", 0))
    with pytest.raises(IllegalTransition, match=r"allowed next: none \(final\)"):
        ledger.record(**_run("Pending", 1))


# -- osmo --------------------------------------------------------------------


@pytest.mark.parametrize("source", ["PROCESSING", "SCHEDULING", "INITIALIZING", "RUNNING"])
def test_osmo_failed_upstream_only_before_a_group_starts_processing(
    ledger: Ledger, source: str
) -> None:
    path = _path_to(SPEC[("osmo", "task_group")], source)
    for when, status in enumerate(path):
        ledger.record(**event("osmo", "task_group", "g", status, when, parent="wf"))
    with pytest.raises(IllegalTransition):
        ledger.record(**event("osmo", "task_group", "g", "FAILED_UPSTREAM", 9, parent="wf"))


@pytest.mark.parametrize("source", ["SUBMITTING", "WAITING"])
def test_osmo_failed_upstream_from_submitting_or_waiting(ledger: Ledger, source: str) -> None:
    path = _path_to(SPEC[("osmo", "task_group")], source)
    for when, status in enumerate(path):
        ledger.record(**event("osmo", "task_group", "g", status, when, parent="wf"))
    assert (
        ledger.record(**event("osmo", "task_group", "g", "FAILED_UPSTREAM", 9, parent="wf")).kind
        == "accepted"
    )


def test_osmo_never_moves_a_group_backwards(ledger: Ledger) -> None:
    for when, status in enumerate(["SUBMITTING", "PROCESSING", "SCHEDULING"]):
        ledger.record(**event("osmo", "task_group", "g", status, when, parent="wf"))
    with pytest.raises(IllegalTransition, match="from SCHEDULING to PROCESSING"):
        ledger.record(**event("osmo", "task_group", "g", "PROCESSING", 5, parent="wf"))


def test_osmo_group_names_repeat_across_workflows(ledger: Ledger) -> None:
    ledger.record(**event("osmo", "task_group", "train", "SUBMITTING", 0, parent="wf-a"))
    ledger.record(**event("osmo", "task_group", "train", "SUBMITTING", 0, parent="wf-b"))
    ledger.record(**event("osmo", "task_group", "train", "PROCESSING", 1, parent="wf-b"))
    assert ledger.status("osmo", "task_group", "train", parent="wf-a").status.status == "SUBMITTING"
    assert ledger.status("osmo", "task_group", "train", parent="wf-b").status.status == "PROCESSING"
    with pytest.raises(LedgerError, match="give --parent"):
        ledger.status("osmo", "task_group", "train")


# -- uipath ------------------------------------------------------------------


def _job(status: str, when: float) -> dict[str, Any]:
    return event("uipath", "job", "j-1", status, when)


@pytest.mark.parametrize(
    "path",
    [
        ["Pending", "Running", "Stopping", "Successful"],
        ["Pending", "Running", "Stopping", "Terminating", "Stopped"],
        ["Pending", "Running", "Terminating", "Faulted"],
        ["Pending", "Running", "Stopped"],
        ["Pending", "Faulted"],
        ["Pending", "Stopped"],
        ["Pending", "Running", "Suspended", "Resumed", "Running", "Successful"],
        ["Pending", "Running", "Suspended", "Resumed", "Suspended", "Terminating", "Stopped"],
    ],
    ids=lambda p: "-".join(p),
)
def test_uipath_legal_paths(ledger: Ledger, path: list[str]) -> None:
    for when, status in enumerate(path):
        ledger.record(**_job(status, when))
    row = ledger.status("uipath", "job", "j-1")
    assert [s.status for s in row.statuses] == path
    assert row.final


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        (["Pending"], "Successful"),
        (["Pending", "Running", "Terminating"], "Successful"),
        (["Pending", "Running", "Terminating"], "Running"),
        (["Pending", "Running", "Stopping"], "Stopped"),
        (["Pending", "Running"], "Resumed"),
        (["Pending", "Running", "Faulted"], "Running"),
    ],
)
def test_uipath_illegal_edges(ledger: Ledger, path: list[str], illegal: str) -> None:
    for when, status in enumerate(path):
        ledger.record(**_job(status, when))
    with pytest.raises(IllegalTransition):
        ledger.record(**_job(illegal, 9))


def test_uipath_a_faulted_job_is_restarted_as_a_new_job_linked_by_restart_of(
    ledger: Ledger,
) -> None:
    ledger.record(**_job("Pending", 0))
    ledger.record(**_job("Faulted", 1))
    ledger.record(**event("uipath", "job", "j-2", "Pending", 2, attributes={"restart_of": "j-1"}))
    assert (ledger.status("uipath", "job", "j-2").model_extra or {})["restart_of"] == "j-1"


# -- lightning ---------------------------------------------------------------


@pytest.mark.parametrize("source", LIGHTNING_STAGES)
def test_lightning_nothing_returns_to_not_started(ledger: Ledger, source: str) -> None:
    ledger.record(**event("lightning", "work", "w", "not_started", 0))
    ledger.record(**event("lightning", "work", "w", source, 1))
    with pytest.raises(IllegalTransition, match="not_started"):
        ledger.record(**event("lightning", "work", "w", "not_started", 2))


def test_lightning_a_repeated_stage_is_kept_in_statuses(ledger: Ledger) -> None:
    for when, stage in enumerate(["pending", "running", "running", "running"]):
        ledger.record(**event("lightning", "work", "w", stage, when))
    assert [s.status for s in ledger.status("lightning", "work", "w").statuses] == [
        "pending",
        "running",
        "running",
        "running",
    ]


def test_lightning_version_2_only_adds_the_started_stage() -> None:
    v2 = ModelRegistry.builtin()["lightning"]
    v1 = v2.at_version(1).types["work"]
    assert v2.version == 2
    assert v1.statuses == tuple(s for s in v2.types["work"].statuses if s != "started")
    for status in v1.statuses:
        assert v1.allowed_after(status) == tuple(
            s for s in v2.types["work"].allowed_after(status) if s != "started"
        )


def test_a_group_name_used_in_several_workflows_needs_its_parent_for_every_read(
    ledger: Ledger,
) -> None:
    for workflow in ("wf-a", "wf-b"):
        ledger.record(**event("osmo", "task_group", "train", "SUBMITTING", 0, parent=workflow))
    for read in (
        lambda: ledger.status("osmo", "task_group", "train", as_of=at(5)),
        lambda: ledger.history("osmo", "task_group", "train"),
    ):
        with pytest.raises(LedgerError, match=r"several workflows \(wf-a, wf-b\); give --parent"):
            read()
    assert len(ledger.history("osmo", "task_group", "train", parent="wf-b")) == 1

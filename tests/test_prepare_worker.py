"""A long append hands the parsing and validating of its inputs to a second
process (ledger/_prepare_worker.py). That must change nothing but the speed: the
same outcomes, events and views as one process, wherever the handover falls,
and failures on either side reported as they are without it."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pickle
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pytest
from _attack import CLI, assert_whole, cli, head_seq, history, write_jsonl

import ledger.append._append as append_module
from ledger import IllegalTransition, Ledger, StoreError, UnknownModel
from ledger.append._worker import PrepareWorker

BATCH = 50
T = TypeVar("T")


@pytest.fixture
def workers_started(monkeypatch: pytest.MonkeyPatch) -> list[PrepareWorker]:
    """Every prepare worker an append starts, so a test can wait for one or stop it."""
    started: list[PrepareWorker] = []
    original = PrepareWorker.__init__

    def record(self: PrepareWorker, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        started.append(self)

    monkeypatch.setattr(PrepareWorker, "__init__", record)
    return started


def _lines() -> list[bytes]:
    """A history with every kind of rejection and identical lines on both sides
    of the middle, where the tests hand over to the worker."""
    events = [orjson.dumps(e) for e in history(60, 3)]
    job = {"model": "uipath", "type": "job", "id": "j", "status": "Pending", "occurred_at": 5}
    bad = [
        b'{"model": "uipath", "type": "job"',
        orjson.dumps({**job, "model": "nope"}),
        orjson.dumps({**job, "id": "late", "status": "Successful"}),
        orjson.dumps({**job, "id": "late", "status": "Pending", "occurred_at": 9}),
        orjson.dumps({**job, "occurred_at": "yesterday"}),
        orjson.dumps({**job, "id": "late", "status": "Running", "occurred_at": 4}),
    ]
    middle = len(events) // 2
    work = {"model": "lightning", "type": "work", "id": "twin"}
    first = orjson.dumps({**work, "status": "pending", "occurred_at": 1})
    twin = orjson.dumps({**work, "status": "running", "occurred_at": 2})
    return [first, twin, *bad, *events[:middle], twin, twin, *events[middle:], twin, *bad]


def _handing_over_midway(lines: Sequence[T], started: list[PrepareWorker]) -> Iterator[T]:
    """The lines, pausing in the middle until the worker is ready, so that the
    handover falls there and not wherever the machine's speed puts it."""
    middle = len(lines) // 2
    yield from lines[:middle]
    assert started and started[0].ready.wait(30)
    yield from lines[middle:]


def _stored(db: Path) -> list[tuple[str, int, dict[str, Any]]]:
    """Every stored event without what depends on the clock (recorded_at, hashes)."""
    import sqlite3

    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT originator_id, originator_version, state FROM stored_events ORDER BY rowid"
        ).fetchall()
    clock = ("recorded_at", "hash", "prev_hash")
    return [
        (o, v, {k: x for k, x in orjson.loads(s).items() if k not in clock}) for o, v, s in rows
    ]


def _summary(report: Any) -> list[tuple[Any, ...]]:
    return [
        (o.index, o.kind, o.seq, o.event_id, o.error and o.error.to_dict()) for o in report.outcomes
    ]


def test_a_worker_gives_the_outcomes_events_and_views_of_one_process(
    tmp_path: Path, workers_started: list[PrepareWorker]
) -> None:
    lines = _lines()
    with Ledger.open(tmp_path / "one.db") as alone:
        expected = alone.append(lines, batch_size=BATCH, workers=1)
        assert alone.views is not None
        expected_views = alone.views.dump()
    with Ledger.open(tmp_path / "two.db") as shared:
        report = shared.append(
            _handing_over_midway(lines, workers_started), batch_size=BATCH, workers=2
        )
        assert shared.views is not None
        assert shared.views.dump() == expected_views
    assert len(workers_started) == 1
    assert _summary(report) == _summary(expected)
    assert {o.error.code for o in report.outcomes if o.error} >= {
        "bad_json",
        "unknown_model",
        "bad_timestamp",
        "illegal_transition",
    }
    assert _stored(tmp_path / "two.db") == _stored(tmp_path / "one.db")


def test_identical_lines_before_and_after_the_handover_stay_distinct_events(
    tmp_path: Path, workers_started: list[PrepareWorker]
) -> None:
    work = {"model": "lightning", "type": "work", "id": "twin"}
    twin = {**work, "status": "running", "occurred_at": 5}
    filler = [
        {**work, "id": f"work-{n}", "status": "pending", "occurred_at": 1} for n in range(200)
    ]
    events = [{**work, "status": "pending", "occurred_at": 1}, twin, *filler, twin, twin, twin]
    lines = [orjson.dumps(e) for e in events]
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        report = ledger.append(_handing_over_midway(lines, workers_started), workers=2)
        assert report.rejected == 0
        again = ledger.append(lines, workers=1)
    twins = [o.event_id for o in report.outcomes if lines[o.index] == lines[1]]
    assert len(twins) == len(set(twins)) == 4
    assert again.counts() == {"accepted": 0, "duplicates": len(lines), "rejected": 0}


def test_rejections_from_the_worker_keep_their_class_code_and_details(
    tmp_path: Path, workers_started: list[PrepareWorker]
) -> None:
    lines = _lines()
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        report = ledger.append(_handing_over_midway(lines, workers_started), workers=2)
    late = [o.error for o in report.outcomes if o.index > len(lines) // 2 and o.error]
    unknown = next(e for e in late if e.code == "unknown_model")
    assert isinstance(unknown, UnknownModel)
    assert "uipath" in unknown.details["allowed"]
    illegal = next(e for e in late if e.code == "illegal_transition")
    assert isinstance(illegal, IllegalTransition)
    assert illegal.entity == "uipath job late"
    assert illegal.allowed


def test_the_worker_refuses_repeated_keys_and_wide_integers_as_one_process_does(
    tmp_path: Path, workers_started: list[PrepareWorker]
) -> None:
    job = orjson.dumps({"model": "uipath", "type": "job", "id": "v", "status": "Pending"})[:-1]
    hostile = [
        job + b',"occurred_at":5,"status":"Running"}',
        job + b',"occurred_at":5,"attributes":{"a":{"b":1,"b":2}}}',
        job + b',"occurred_at":5,"attributes":{"n":18446744073709551616}}',
        job + b',"occurred_at":5,"attributes":{"n":9223372036854775808}}',
        job + b',"occurred_at":5,"attributes":{"n":9223372036854775807},"event_id":"v-1"}',
    ]
    events = [orjson.dumps(e) for e in history(40, 5)]
    lines = [*hostile, *events, *hostile]
    codes = ["bad_json", "bad_json", "invalid_field", "invalid_field"]
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        report = ledger.append(_handing_over_midway(lines, workers_started), workers=2)
        kept = [e["attributes"] for e in ledger.export() if e["id"] == "v"]
    assert len(workers_started) == 1
    late = report.outcomes[-len(hostile) :]
    assert [o.error.code for o in report.outcomes[: len(codes)] if o.error] == codes
    assert [o.error.code for o in late if o.error] == codes
    assert late[-1].kind == "duplicate"
    assert kept == [{"n": 2**63 - 1}]


def test_an_error_raised_by_the_inputs_stops_the_append_where_one_process_stops(
    tmp_path: Path, workers_started: list[PrepareWorker]
) -> None:
    lines = [orjson.dumps(e) for e in history(30, 1)]

    def failing(source: Iterator[bytes]) -> Iterator[bytes]:
        yield from source
        raise OSError("the input went away")

    committed = []
    for workers, db in ((1, tmp_path / "one.db"), (2, tmp_path / "two.db")):
        with Ledger.open(db) as ledger, pytest.raises(OSError, match="the input went away"):
            source = _handing_over_midway(lines, workers_started) if workers == 2 else iter(lines)
            ledger.append(failing(source), batch_size=BATCH, workers=workers)
        committed.append(head_seq(db))
    assert committed[0] == committed[1] == len(lines) // BATCH * BATCH


def test_a_worker_that_dies_stops_the_append_with_a_store_error_and_keeps_what_committed(
    tmp_path: Path, workers_started: list[PrepareWorker]
) -> None:
    events = history(60, 2)
    lines = [orjson.dumps(e) for e in events]
    middle = len(lines) // 2

    def killing() -> Iterator[bytes]:
        yield from _handing_over_midway(lines[: middle + 1], workers_started)
        workers_started[0].worker.process.send_signal(signal.SIGKILL)
        workers_started[0].worker.process.wait()
        yield from lines[middle + 1 :]

    db = tmp_path / "ledger.db"
    with Ledger.open(db) as ledger:
        with pytest.raises(StoreError, match="prepare worker stopped") as raised:
            ledger.append(killing(), batch_size=BATCH, workers=2)
        assert raised.value.code == "store_error"
        committed = head_seq(db)
        assert committed <= middle
        rest = ledger.append(lines, batch_size=BATCH, workers=1)
    assert rest.duplicates == committed
    assert_whole(db, events)


def test_a_short_append_starts_no_worker(
    tmp_path: Path, workers_started: list[PrepareWorker], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(append_module, "WORKER_AFTER", 100)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    events = history(4, 1)
    assert len(events) < 100
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        ledger.append([orjson.dumps(e) for e in events])
    assert workers_started == []


def test_a_long_append_starts_a_worker_by_itself(
    tmp_path: Path, workers_started: list[PrepareWorker], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(append_module, "WORKER_AFTER", 100)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    events = history(60, 1)
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        report = ledger.append([orjson.dumps(e) for e in events])
    assert report.accepted == len(events)
    assert len(workers_started) == 1
    assert workers_started[0].worker.process.poll() is not None  # stopped with the append


def test_one_core_keeps_a_long_append_in_one_process(
    tmp_path: Path, workers_started: list[PrepareWorker], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(append_module, "WORKER_AFTER", 100)
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        ledger.append([orjson.dumps(e) for e in history(60, 1)])
    assert workers_started == []


def test_workers_other_than_one_or_two_are_a_usage_error(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "ledger.db") as ledger, pytest.raises(Exception) as raised:
        ledger.append([], workers=3)
    assert getattr(raised.value, "code", None) == "usage_error"


def test_errors_cross_processes_with_their_class_and_details() -> None:
    error = IllegalTransition("no", entity="uipath job j", current="Pending", allowed=["Running"])
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is IllegalTransition
    assert copy.to_dict() == error.to_dict()
    assert (copy.entity, copy.current, copy.allowed) == ("uipath job j", "Pending", ["Running"])
    assert str(copy) == "no"


@pytest.mark.slow
def test_import_with_two_workers_reports_what_one_reports(tmp_path: Path) -> None:
    source = tmp_path / "events.jsonl"
    source.write_bytes(b"\n".join(_lines()) + b"\n")
    results = []
    for workers in ("1", "2"):
        rejects = tmp_path / f"rejects-{workers}.jsonl"
        result = cli(
            "import",
            str(source),
            "--json",
            "--workers",
            workers,
            "--batch-size",
            "20",
            "--rejects",
            str(rejects),
            db=tmp_path / f"ledger-{workers}.db",
        )
        assert result.returncode == 1, result.stderr
        results.append((orjson.loads(result.stdout), rejects.read_bytes()))
    assert results[0] == results[1]


def test_import_refuses_three_workers(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "events.jsonl", history(2, 1))
    result = cli("import", str(source), "--workers", "3", db=tmp_path / "ledger.db")
    assert result.returncode == 2
    assert "--workers" in result.stderr


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_import_killed_while_its_worker_prepares_loses_nothing_and_leaves_no_worker(
    tmp_path: Path,
) -> None:
    events = history(400, 9)
    source = write_jsonl(tmp_path / "events.jsonl", events)
    db = tmp_path / "ledger.db"
    process = subprocess.Popen(
        [CLI, "import", str(source), "--db", str(db), "--batch-size", "25", "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while process.poll() is None and head_seq(db) < len(events) // 2:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    workers = _children(process.pid)
    assert workers, "the import had started its prepare worker"
    process.send_signal(signal.SIGKILL)
    process.wait()
    for pid in workers:
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            if "Z" in Path(f"/proc/{pid}/stat").read_text().split(")")[-1][:3]:
                break  # exited; only its parent's (gone) wait was missing
            time.sleep(0.01)
        assert time.monotonic() < deadline, "the prepare worker outlived its import"
    committed = head_seq(db)
    assert committed
    assert_whole(db, events[:committed])
    final = cli("import", str(source), "--json", db=db)
    assert final.returncode == 0, final.stderr
    assert orjson.loads(final.stdout)["duplicates"] >= committed
    assert_whole(db, events)


def test_an_append_goes_on_alone_when_no_worker_can_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python"))
    events = history(20, 1)
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        report = ledger.append([orjson.dumps(e) for e in events], workers=2)
    assert report.accepted == len(events)


def test_inputs_that_cannot_be_pickled_get_the_outcomes_one_process_gives(
    tmp_path: Path, workers_started: list[PrepareWorker]
) -> None:
    @dataclasses.dataclass
    class Local:  # orjson writes it as an object; pickle cannot find the class
        size: int

    events = [
        {"model": "uipath", "type": "job", "id": f"j-{n}", "status": "Pending", "occurred_at": n}
        for n in range(40)
    ]
    events[30] = {**events[30], "attributes": {"local": Local(3)}}
    events[31] = {**events[31], "attributes": {"call": lambda: None}}
    reports = []
    for workers, db in ((1, "one.db"), (2, "two.db")):
        with Ledger.open(tmp_path / db) as ledger:
            source = _handing_over_midway(events, workers_started) if workers == 2 else events
            reports.append(_summary(ledger.append(source, workers=workers)))
    assert reports[0] == reports[1]
    assert [kind for _, kind, *_ in reports[1][30:32]] == ["accepted", "rejected"]
    assert _stored(tmp_path / "two.db") == _stored(tmp_path / "one.db")


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="needs job control signals")
def test_an_import_stopped_and_continued_many_times_imports_every_line(tmp_path: Path) -> None:
    """Ctrl-Z and fg: a signal that interrupts a write into a full pipe part-way
    leaves a partial write, which must not cost the stream a byte."""
    events = history(1500, 4)
    source = write_jsonl(tmp_path / "events.jsonl", events)
    db = tmp_path / "ledger.db"
    process = subprocess.Popen(
        [CLI, "import", str(source), "--db", str(db), "--json", "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    try:
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGSTOP)
                time.sleep(0.005)
                os.killpg(process.pid, signal.SIGCONT)
        assert process.poll() is not None, "the import hung"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGCONT)
            os.killpg(process.pid, signal.SIGKILL)
    out, err = process.communicate()
    assert process.returncode == 0, err
    assert orjson.loads(out)["accepted"] == len(events)
    assert_whole(db, events)

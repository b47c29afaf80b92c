"""A rebuild shared between processes (projections/_parallel.py) must give exactly
the views one process gives, on every backend, and a worker that dies must leave
the live views as they were."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from bench.history import generate
from ledger import Ledger, StoreError
from projections import ViewProjector
from projections._parallel import (
    MAX_WORKERS,
    MIN_EVENTS,
    RANGES_PER_PROCESS,
    Dispenser,
    key_ranges,
    range_cuts,
    worker_count,
)

HISTORY, _ = generate(3_000, 300)


def _worker_goes_first(
    monkeypatch: pytest.MonkeyPatch, then: Callable[[], None] = lambda: None
) -> None:
    """On a small store this process would take every key range before the worker
    has started; here it waits until the worker took one, runs `then`, and only
    then scans, so both processes share the ranges."""
    original = ViewProjector.build_ranges

    def waiting(self: ViewProjector, upto: int, selected: Any, ranges: Any, tally: Any) -> Any:
        if isinstance(ranges, Dispenser):
            deadline = time.monotonic() + 60
            while ranges._next == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert ranges._next > 0, "the worker never asked for a range"
            then()
        return original(self, upto, selected, ranges, tally)

    monkeypatch.setattr(ViewProjector, "build_ranges", waiting)


@pytest.fixture
def filled(ledger_url: str) -> Iterator[Ledger]:
    with Ledger.open(ledger_url) as ledger:
        report = ledger.append(HISTORY, batch_size=1000)
        assert report.rejected == 0
        yield ledger


@pytest.mark.slow
@pytest.mark.parametrize("workers", [2, 3])
def test_a_shared_rebuild_gives_the_views_one_process_gives(
    filled: Ledger, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert filled.views is not None
    filled.rebuild(workers=1)
    alone = filled.views.dump()
    _worker_goes_first(monkeypatch)
    filled.rebuild(workers=workers)
    assert filled.views.dump() == alone


def _declare_workflows_without_groups(ledger: Ledger, count: int = 5) -> None:
    """Parents known only from their own events: no child row names them."""
    declared = {
        "model": "osmo",
        "type": "workflow",
        "status": "PENDING",
        "occurred_at": "2024-05-01T10:00:00Z",
        "attributes": {"groups": ["train"]},
    }
    events = [orjson.dumps({**declared, "id": f"wf-declared-only-{n}"}) for n in range(count)]
    assert ledger.append(events).rejected == 0


@pytest.mark.slow
def test_each_process_derives_its_share_of_parents_including_those_with_own_events_only(
    filled: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    _declare_workflows_without_groups(filled)
    assert filled.views is not None
    filled.rebuild(workers=1)
    alone = filled.views.dump()
    assert sum(row[3].startswith("wf-declared-only-") for row in alone) == 5
    _worker_goes_first(monkeypatch)
    filled.rebuild(workers=3)
    assert filled.views.dump() == alone


@pytest.mark.slow
@pytest.mark.parametrize("view", ["osmo/task_group", "osmo/workflow"])
def test_a_shared_rebuild_of_one_view_gives_what_one_process_gives(
    filled: Ledger, view: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A written view takes its derived view along; a derived view alone reads its
    children from the live views."""
    assert filled.views is not None
    filled.rebuild(view, workers=1)
    alone = filled.views.dump()
    _worker_goes_first(monkeypatch)
    filled.rebuild(view, workers=2)
    assert filled.views.dump() == alone


@pytest.mark.slow
@pytest.mark.parametrize("pieces", [2, 7, 10_000])
def test_derived_pieces_together_build_every_derived_row_once(
    filled: Ledger, pieces: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    _declare_workflows_without_groups(filled)
    assert filled.views is not None
    filled.rebuild(workers=1)
    alone = filled.views.dump()
    original = ViewProjector.derived_jobs

    def in_pieces(self: ViewProjector, selected: Any, own: Any, pieces_: int = 1) -> Any:
        del pieces_
        return original(self, selected, own, pieces)

    monkeypatch.setattr(ViewProjector, "derived_jobs", in_pieces)
    filled.rebuild(workers=1)
    assert filled.views.dump() == alone


@pytest.mark.parametrize("view", [None, "osmo/workflow"])
def test_events_appended_while_a_rebuild_scans_are_in_the_views_it_swaps_in(
    filled: Ledger, view: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert filled.views is not None
    workflow = next(row[3] for row in filled.views.dump() if row[1] == "workflow")
    late = {
        "model": "osmo",
        "type": "task_group",
        "id": "appended-during-the-rebuild",
        "parent": workflow,
        "status": "SUBMITTING",
        "occurred_at": "2024-07-01T00:00:00Z",
    }
    original = ViewProjector._build

    def appending(self: ViewProjector, *args: Any) -> None:
        original(self, *args)
        assert filled.append([orjson.dumps(late)]).rejected == 0

    monkeypatch.setattr(ViewProjector, "_build", appending)
    filled.rebuild(view, workers=1)
    monkeypatch.undo()
    during = filled.views.dump()
    filled.rebuild(workers=1)
    assert during == filled.views.dump()


def test_a_worker_opens_the_callers_store_after_a_change_of_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    with Ledger.open("ledger.db") as ledger:
        ledger.append(HISTORY, batch_size=1000)
        assert ledger.views is not None
        ledger.rebuild(workers=1)
        alone = ledger.views.dump()
        monkeypatch.chdir(tmp_path / "elsewhere")
        _worker_goes_first(monkeypatch)
        ledger.rebuild(workers=2)
        assert ledger.views.dump() == alone
    assert not (tmp_path / "elsewhere" / "ledger.db").exists()


def test_a_store_address_keeps_what_the_caller_gave_while_its_url_hides_the_password(
    ledger_url: str,
) -> None:
    if ledger_url.startswith("postgresql://"):
        given = ledger_url.replace("://postgres@", "://postgres:secret@") + (
            "?application_name=status-ledger-test"
        )
        with Ledger.open(given) as ledger:
            assert ledger.store.address == given
            assert "secret" not in ledger.store.url
    else:
        with Ledger.open(ledger_url) as ledger:
            assert ledger.store.address == os.path.abspath(ledger_url)


def test_key_ranges_cover_every_stream_once_with_similar_event_counts(filled: Ledger) -> None:
    with filled.store.read() as txn:
        upto = txn.max_notification_id()
        ranges = key_ranges(txn.stream_bounds(upto, [i / 8 for i in range(1, 8)]))
        counts = [sum(map(len, txn.scan_streams(upto, start, stop))) for start, stop in ranges]
        streams = [s[0].originator_id for r in ranges for s in txn.scan_streams(upto, *r)]
    assert sum(counts) == upto
    assert len(streams) == len(set(streams))
    assert len(ranges) == 8
    assert max(counts) < 2.5 * upto / 8


@pytest.mark.parametrize("processes", [1, 2, 3, 32])
def test_ranges_shrink_towards_the_end_so_no_process_waits_long_for_the_last(
    processes: int,
) -> None:
    cuts = range_cuts(processes)
    sizes = [b - a for a, b in itertools.pairwise([0.0, *cuts, 1.0])]
    assert cuts == sorted(cuts) and cuts[0] > 0 and cuts[-1] < 1
    assert max(sizes) == pytest.approx(sizes[0]) == 1 / (RANGES_PER_PROCESS * processes)
    assert max(sizes[-3:]) <= sizes[0] / 4
    assert all(a > b - 1e-12 for a, b in itertools.pairwise(sizes[:-1]))


@pytest.mark.parametrize("cuts", [[0.5, 0.5], [0.7, 0.3], [0.0, 0.5], [1.0]])
def test_cuts_that_do_not_rise_strictly_inside_0_and_1_are_refused(
    filled: Ledger, cuts: list[float]
) -> None:
    with filled.store.read() as txn, pytest.raises(ValueError, match="cuts must rise"):
        txn.stream_bounds(txn.max_notification_id(), cuts)


def test_stores_under_the_threshold_rebuild_alone_and_a_request_is_capped(
    filled: Ledger,
) -> None:
    assert filled.views is not None
    projector = filled.views
    assert isinstance(projector, ViewProjector)
    assert worker_count(projector, None, MIN_EVENTS - 1) == 1
    assert worker_count(projector, None, MIN_EVENTS) == min(2, os.cpu_count() or 1)
    assert worker_count(projector, 3, 10) == 3
    assert worker_count(projector, 1000, 10) == MAX_WORKERS


def test_replaced_projection_code_always_rebuilds_in_one_process(sqlite_url: str) -> None:
    class Candidate(ViewProjector):
        pass

    with Ledger.open(sqlite_url) as ledger:
        assert worker_count(Candidate(ledger.store, ledger.registry), 4, 10**6) == 1


def _processes(matches: Callable[[Path], bool]) -> list[int]:
    """Other processes whose /proc entry `matches` (one that vanishes does not)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and entry.name != str(os.getpid()):
            try:
                if matches(entry):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _is_my_worker(entry: Path) -> bool:
    parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    command = (entry / "cmdline").read_bytes()
    return parent == os.getpid() and b"projections._rebuild_worker" in command


def _kill_workers() -> None:
    """SIGKILL every rebuild worker this process started."""
    for pid in _processes(_is_my_worker):
        os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the worker through /proc")
def test_a_worker_killed_mid_rebuild_fails_it_and_leaves_the_live_views(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Ledger.open(sqlite_url) as ledger:
        ledger.append(HISTORY, batch_size=1000)
        assert ledger.views is not None
        before = ledger.views.dump()
        with monkeypatch.context() as patched:
            _worker_goes_first(patched, then=_kill_workers)
            with pytest.raises(StoreError, match="rebuild worker stopped"):
                ledger.rebuild(workers=2)
        assert ledger.views.dump() == before
        ledger.rebuild(workers=2)
        assert ledger.views.dump() == before


@pytest.mark.slow
def test_a_script_without_a_main_guard_can_rebuild_in_parallel(
    sqlite_url: str, tmp_path: Path
) -> None:
    """Workers are not multiprocessing's spawn, which would run this script again."""
    with Ledger.open(sqlite_url) as ledger:
        ledger.append(HISTORY, batch_size=1000)
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import sys\nfrom ledger import Ledger\n"
        "with Ledger.open(sys.argv[1]) as ledger:\n"
        "    print(ledger.rebuild(workers=2))\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, str(script), sqlite_url], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2940"


def _processes_with(marker: bytes) -> list[int]:
    return _processes(lambda entry: marker in (entry / "environ").read_bytes())


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the worker through /proc")
def test_a_rebuilding_process_killed_leaves_no_worker_behind_and_the_live_views(
    sqlite_url: str, tmp_path: Path
) -> None:
    with Ledger.open(sqlite_url) as ledger:
        ledger.append(HISTORY, batch_size=1000)
        assert ledger.views is not None
        before = ledger.views.dump()
    script = tmp_path / "killed.py"
    script.write_text(
        "import os, signal, sys\nfrom ledger import Ledger\n"
        "with Ledger.open(sys.argv[1]) as ledger:\n"
        "    ledger.rebuild(workers=2, progress=lambda done, total: "
        "os.kill(os.getpid(), signal.SIGKILL))\n",
        encoding="utf-8",
    )
    marker = f"SL_TEST_MARK={tmp_path.name}".encode()
    env = {**os.environ, "SL_TEST_MARK": tmp_path.name}
    done = subprocess.run([sys.executable, str(script), sqlite_url], env=env, check=False)
    assert done.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 30
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_with(marker) == []
    with Ledger.open(sqlite_url) as ledger:
        assert ledger.views is not None
        assert ledger.views.dump() == before
        ledger.rebuild(workers=2)
        assert ledger.views.dump() == before

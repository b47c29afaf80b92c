"""The message-bus consumer (`status-ledger consume`, ledger.consume_nats) against
a real NATS server with JetStream (STATUS_LEDGER_TEST_NATS): every message is
appended once and acknowledged only after its transaction commits, a crash at
any point loses and doubles nothing, and rejects go to their subject without
blocking the stream."""

from __future__ import annotations

import random
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import nats.errors
import orjson
import pytest
from _attack import CLI, assert_whole, history, one_error_line
from _docs import PageRunner, parse
from _nats import Stream, consumer_pending, delete_stream, publish, read, scratch_stream
from nats.aio.msg import Msg

from ledger import (
    BadJson,
    ConnectionFailed,
    Ledger,
    NatsSource,
    NotFound,
    UsageError,
    consume_nats,
)
from ledger._event import canonical_json
from ledger.ingest import ADAPTERS
from ledger.ingest._deliveries import deliveries_apart
from ledger.ingest._nats import subject_matches

ROOT = Path(__file__).resolve().parent.parent
JOB = {"model": "uipath", "type": "job"}


@pytest.fixture
def stream(nats_url: str) -> Iterator[Stream]:
    with scratch_stream(nats_url) as made:
        yield made


def line(**fields: Any) -> bytes:
    return orjson.dumps({**JOB, **fields})


def source(stream: Stream, **options: Any) -> NatsSource:
    return NatsSource(stream.url, stream.name, stream.events, **options)


def committed(db: str) -> int:
    with Ledger.open(db, views=False) as ledger:
        return ledger.store.head().seq


def stored(db: str) -> list[bytes]:
    """Every stored event (its id included) in canonical form, sorted: a run that
    redelivered messages stores them in another order, never other events."""
    with Ledger.open(db) as ledger:
        return sorted(canonical_json(e) for e in ledger.export())


def test_consume_appends_every_message_once_and_acks_it(ledger_url: str, stream: Stream) -> None:
    publish(
        stream.url,
        stream.events,
        [line(id=f"j-{n}", status="Pending", occurred_at=n) for n in range(25)]
        + [
            b"\n".join(
                [
                    line(id="j-0", status="Running", occurred_at=30),
                    line(id="j-0", status="Successful", occurred_at=40),
                ]
            )
        ],
    )
    with Ledger.open(ledger_url) as ledger:
        report = consume_nats(ledger, source(stream), "ledger", batch=7, idle_exit=0.5)
        assert report.counts() == {
            "messages": 26,
            "accepted": 27,
            "duplicates": 0,
            "rejected": 0,
            "malformed": 0,
        }
        assert ledger.status("uipath", "job", "j-0").status.status == "Successful"
        again = consume_nats(ledger, source(stream), "ledger", idle_exit=0.3)
        assert again.messages == 0
    assert consumer_pending(stream, "status-ledger") == (0, 0)
    assert_whole(ledger_url)


def test_a_commit_whose_acks_were_lost_is_redelivered_as_duplicates(
    sqlite_url: str, stream: Stream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The crash between commit and acknowledgement, made certain: the first run
    commits and never acks, so every message comes back after ack_wait."""
    publish(
        stream.url,
        stream.events,
        [line(id=f"j-{n}", status="Pending", occurred_at=n) for n in range(10)],
    )

    async def lost(_msg: Msg) -> None:
        """The process died before this acknowledgement left it."""

    with Ledger.open(sqlite_url) as ledger:
        with monkeypatch.context() as patched:
            patched.setattr(Msg, "ack", lost)
            first = consume_nats(ledger, source(stream, ack_wait=1), "ledger", max_messages=10)
        assert first.accepted == 10
        assert consumer_pending(stream, "status-ledger") == (0, 10)
        again = consume_nats(ledger, source(stream, ack_wait=1), "ledger", idle_exit=2.5)
        assert (again.messages, again.accepted, again.duplicates) == (10, 0, 10)
    assert committed(sqlite_url) == 10
    assert consumer_pending(stream, "status-ledger") == (0, 0)


def test_a_message_is_one_delivery_whatever_the_batch_it_is_fetched_in(
    tmp_path: Path, stream: Stream
) -> None:
    """Identical lines within one message are distinct events; an identical line
    in a later message is a duplicate, as for two imports of a file. The result
    must not depend on which messages share a fetch (redeliveries mix them)."""
    work = {"model": "lightning", "type": "work", "id": "w-1"}
    running = orjson.dumps({**work, "status": "running", "occurred_at": 2})
    publish(
        stream.url,
        stream.events,
        [
            orjson.dumps({**work, "status": "pending", "occurred_at": 1}),
            running,
            running,
            running + b"\n" + running,
        ],
    )
    results = []
    for batch in (1, 2, 10):
        db = str(tmp_path / f"batch-{batch}.db")
        with Ledger.open(db) as ledger:
            durable = f"batch-{batch}"
            report = consume_nats(
                ledger, source(stream, durable=durable), "ledger", batch=batch, idle_exit=0.5
            )
        assert (report.accepted, report.duplicates) == (3, 2), batch
        results.append(stored(db))
    assert results[0] == results[1] == results[2]


def test_runs_never_share_an_event_without_an_id_between_two_messages() -> None:
    pending = {**JOB, "id": "a", "status": "Pending", "occurred_at": 1}
    explicit = {**pending, "event_id": "e-1"}
    messages: list[tuple[Any, list[dict[str, Any] | str]]] = [
        ("m1", [pending]),
        ("m2", [explicit]),
        ("m3", [orjson.dumps(pending).decode()]),
        ("m4", [{**pending, "id": "b"}, "not json", {**pending, "status": ["x"]}]),
        ("m5", [pending, pending]),
    ]
    runs = [[msg for msg, _events in run] for run in deliveries_apart(messages)]
    assert runs == [["m1", "m2"], ["m3", "m4"], ["m5"]]


@pytest.mark.parametrize(
    ("pattern", "subject", "expected"),
    [
        ("a.b", "a.b", True),
        ("a.*", "a.b", True),
        ("a.>", "a.b.c", True),
        ("a.>", "a", False),
        ("a.*", "a.b.c", False),
        ("a.b", "a.c", False),
        ("a.b", "a.*", True),
        ("a.b.c", "a.>", True),
        ("a.b", "a.b.c", False),
    ],
)
def test_subject_matching_follows_nats_wildcards(
    pattern: str, subject: str, expected: bool
) -> None:
    assert subject_matches(pattern, subject) is expected


def test_rejects_are_published_with_their_code_and_payload_and_never_block_the_stream(
    sqlite_url: str, stream: Stream, monkeypatch: pytest.MonkeyPatch
) -> None:
    def strict(payload: bytes) -> list[dict[str, Any] | str]:
        """An adapter that cannot read everything, as a real system's may not."""
        if not payload.startswith(b"{"):
            raise BadJson("not a JSON object")
        return [payload.decode()]

    monkeypatch.setitem(ADAPTERS, "strict", strict)
    publish(
        stream.url,
        stream.events,
        [
            line(id="j-1", status="Pending", occurred_at=1),
            b"\xff garbage",
            line(id="j-1", status="Done", occurred_at=2),
            line(id="j-1", status="Running", occurred_at=3),
        ],
    )
    seen: list[dict[str, Any]] = []
    with Ledger.open(sqlite_url) as ledger:
        report = consume_nats(
            ledger,
            source(stream, rejects_subject=stream.rejects),
            "strict",
            idle_exit=0.5,
            on_reject=seen.append,
        )
        assert ledger.status("uipath", "job", "j-1").status.status == "Running"
    assert report.counts() == {
        "messages": 4,
        "accepted": 2,
        "duplicates": 0,
        "rejected": 1,
        "malformed": 1,
    }
    rejects = read(stream, stream.rejects)
    assert rejects == seen
    assert [(r["code"], r["seq"], r.get("index")) for r in rejects] == [
        ("bad_json", 2, None),
        ("unknown_status", 3, 0),
    ]
    assert rejects[0]["payload"] == "\ufffd garbage"
    assert rejects[1]["payload"] == line(id="j-1", status="Done", occurred_at=2).decode()
    assert rejects[1]["message"].startswith("uipath job j-1: unknown status 'Done'")
    assert consumer_pending(stream, "status-ledger") == (0, 0)


def test_a_rejects_subject_the_consumer_reads_is_refused_before_connecting(
    sqlite_url: str,
) -> None:
    looping = NatsSource("nats://127.0.0.1:1", "S", "orders.>", rejects_subject="orders.rejects")
    with Ledger.open(sqlite_url) as ledger, pytest.raises(UsageError, match="consumed again"):
        consume_nats(ledger, looping, "ledger")


def test_an_unknown_format_is_a_usage_error(sqlite_url: str) -> None:
    with Ledger.open(sqlite_url) as ledger, pytest.raises(UsageError, match="known formats"):
        consume_nats(ledger, NatsSource("nats://127.0.0.1:1", "S", "s"), "nope")


def test_an_unreachable_server_is_one_error_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            CLI,
            "consume",
            "nats://127.0.0.1:1",
            "--stream",
            "S",
            "--subject",
            "s",
            "--format",
            "ledger",
            "--db",
            str(tmp_path / "l.db"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    one_error_line(done.stderr, "connection_failed")


def test_a_missing_stream_is_not_found(sqlite_url: str, nats_url: str) -> None:
    with Ledger.open(sqlite_url) as ledger, pytest.raises(NotFound, match="no JetStream stream"):
        consume_nats(ledger, NatsSource(nats_url, "sl-test-no-such-stream", "x"), "ledger")


def test_a_durable_reading_another_subject_is_refused(sqlite_url: str, stream: Stream) -> None:
    with Ledger.open(sqlite_url) as ledger:
        consume_nats(ledger, source(stream), "ledger", idle_exit=0.1)
        other = NatsSource(stream.url, stream.name, f"{stream.name}.other")
        with pytest.raises(UsageError, match="give another --durable"):
            consume_nats(ledger, other, "ledger", idle_exit=0.1)


def test_the_command_prints_counts_and_each_reject(sqlite_url: str, stream: Stream) -> None:
    publish(stream.url, stream.events, [line(id="j-1", status="Pending", occurred_at=1), b"nope"])
    done = subprocess.run(
        [
            CLI,
            "consume",
            stream.url,
            "--stream",
            stream.name,
            "--subject",
            stream.events,
            "--format",
            "ledger",
            "--idle-exit",
            "0.5",
            "--db",
            sqlite_url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "consumed 2 messages: accepted 1, duplicates 0, rejected 1, malformed 0\n"
    assert done.stderr.startswith("seq 2, event 1: bad_json: not valid JSON")


def _messages(seed: int) -> list[bytes]:
    """The crash tests' history as messages of one to four consecutive lines, so
    that some identical lines share a message and some do not."""
    rng = random.Random(seed)
    events = [orjson.dumps(e) for e in history(30, seed)]
    messages = []
    while events:
        take = rng.randint(1, 4)
        messages.append(b"\n".join(events[:take]))
        events = events[take:]
    return messages


def _reference(tmp_path: Path, messages: list[bytes]) -> list[bytes]:
    """What the messages store when each is appended on its own, in order, with
    no crash: one call per delivery."""
    db = str(tmp_path / "reference.db")
    with Ledger.open(db) as ledger:
        for message in messages:
            ledger.append(message.decode().splitlines())
    return stored(db)


@pytest.mark.parametrize("seed", [3, 8])
def test_consume_killed_mid_stream_then_restarted_stores_every_message_exactly_once(
    ledger_url: str, stream: Stream, tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    messages = _messages(seed)
    expected = _reference(tmp_path, messages)
    publish(stream.url, stream.events, messages)
    command = [
        CLI,
        "consume",
        stream.url,
        "--stream",
        stream.name,
        "--subject",
        stream.events,
        "--format",
        "ledger",
        "--ack-wait",
        "1",
        "--db",
        ledger_url,
    ]
    committed_at_kill = []
    with Ledger.open(ledger_url, views=False) as watcher:
        for threshold in sorted(rng.sample(range(1, len(expected)), 3)):
            process = subprocess.Popen(
                [*command, "--batch", str(rng.choice([1, 3, 8]))],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 60
            while (
                process.poll() is None
                and watcher.store.head().seq < threshold
                and time.monotonic() < deadline
            ):
                time.sleep(0.002)
            time.sleep(rng.uniform(0, 0.03))
            process.send_signal(signal.SIGKILL)
            process.wait()
            committed_at_kill.append(watcher.store.head().seq)
            assert_whole(ledger_url)
    assert any(0 < n < len(expected) for n in committed_at_kill), committed_at_kill
    final = subprocess.run(
        [*command, "--idle-exit", "3", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert final.returncode == 0, final.stderr
    counts = orjson.loads(final.stdout)
    assert counts["rejected"] == counts["malformed"] == 0, final.stderr
    assert stored(ledger_url) == expected
    assert_whole(ledger_url)
    assert consumer_pending(stream, "status-ledger") == (0, 0)


def test_sigterm_finishes_the_batch_in_hand_and_exits_0(sqlite_url: str, stream: Stream) -> None:
    publish(
        stream.url,
        stream.events,
        [line(id=f"j-{n}", status="Pending", occurred_at=n) for n in range(300)],
    )
    process = subprocess.Popen(
        [
            CLI,
            "consume",
            stream.url,
            "--stream",
            stream.name,
            "--subject",
            stream.events,
            "--format",
            "ledger",
            "--batch",
            "2",
            "--json",
            "--db",
            sqlite_url,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while committed(sqlite_url) < 20 and time.monotonic() < deadline:
        time.sleep(0.002)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    counts = orjson.loads(out)
    assert counts["accepted"] == committed(sqlite_url) == counts["messages"]
    pending, unacked = consumer_pending(stream, "status-ledger")
    assert (pending + counts["messages"], unacked) == (300, 0)


def _demo(folder: Path, nats: str) -> dict[str, Any]:
    done = subprocess.run(
        [CLI, "demo", "--json", "--nats", nats, "--db", str(folder / "demo.db")],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    summary: dict[str, Any] = orjson.loads(done.stdout)
    return summary


def test_the_demo_without_nats_says_it_skipped_the_bus_step(tmp_path: Path) -> None:
    summary = _demo(tmp_path, "nats://127.0.0.1:1")
    assert summary["bus"]["skipped"].startswith("cannot connect to NATS at nats://127.0.0.1:1")
    assert summary["events"] == 97
    assert summary["verify"]["ok"]


def test_the_demo_feeds_a_nats_stream_and_builds_the_same_ledger(
    nats_url: str, tmp_path: Path
) -> None:
    (tmp_path / "bus").mkdir()
    (tmp_path / "direct").mkdir()
    through = _demo(tmp_path / "bus", nats_url)
    direct = _demo(tmp_path / "direct", "")
    bus = through["bus"]
    assert bus["counts"] == {
        "messages": 10,
        "accepted": 9,
        "duplicates": 0,
        "rejected": 1,
        "malformed": 0,
    }
    assert [r["code"] for r in bus["rejects"]] == ["unknown_status"]
    assert direct["bus"] == {"skipped": "no NATS server given"}
    assert through["events"] == direct["events"] == 97
    assert through["views"] == direct["views"]
    with Ledger.open(tmp_path / "probe.db") as probe, pytest.raises(NotFound):
        consume_nats(probe, NatsSource(nats_url, bus["stream"], "x"), "ledger")


def test_the_documented_example_runs_as_shown(nats_url: str, tmp_path: Path) -> None:
    """docs/nats.md's example needs a server, so tests/test_docs.py skips it;
    here it runs as written, on a stream of its own."""
    name = f"sl-test-{uuid.uuid4().hex[:12]}"

    def here(text: str) -> str:
        text = text.replace("nats://127.0.0.1:4222", nats_url)
        return text.replace("ORDERS", name).replace("orders.", f"{name}.")

    blocks = [
        replace(b, text=here(b.text), skip=False)
        for b in parse(ROOT / "docs" / "nats.md")
        if b.skip and b.lang in ("python", "console")
    ]
    assert [b.lang for b in blocks] == ["python", "console"]
    runner = PageRunner(tmp_path)
    try:
        for block in blocks:
            runner.run(block)
    finally:
        delete_stream(nats_url, name)


def test_a_connection_lost_while_acknowledging_is_connection_failed_and_loses_nothing(
    sqlite_url: str, stream: Stream, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(
        stream.url,
        stream.events,
        [line(id=f"j-{n}", status="Pending", occurred_at=n) for n in range(5)],
    )

    async def closed(_msg: Msg) -> None:
        raise nats.errors.ConnectionClosedError

    with Ledger.open(sqlite_url) as ledger:
        with monkeypatch.context() as patched:
            patched.setattr(Msg, "ack", closed)
            with pytest.raises(ConnectionFailed, match="lost NATS"):
                consume_nats(ledger, source(stream), "ledger")
        again = consume_nats(ledger, source(stream), "ledger", idle_exit=0.5)
    assert (again.messages, again.accepted, again.duplicates) == (5, 0, 5)
    assert committed(sqlite_url) == 5

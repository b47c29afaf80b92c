"""The demo's message-bus step: part of the story published to a NATS stream of
its own and consumed from it, as a collector and `status-ledger consume` would,
with one message the ledger rejects going to the rejects subject. Only when a
server answers: the demo must work without one, so every failure here becomes
the reason the step was skipped, and the caller delivers the events directly
(the ones that came through the bus are then duplicates)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from ledger import AppendReport, ConnectionFailed, ConsumeReport, NatsSource, consume_nats
from ledger.spi import append_own

if TYPE_CHECKING:
    from nats.aio.client import Client

    from ledger import Ledger

DEMO_NATS = "nats://127.0.0.1:4222"
REFUSED = {
    "model": "lightning",
    "type": "work",
    "id": "trainer",
    "status": "exploded",
    "occurred_at": 1714559000.0,
}
"""The message the ledger refuses (a status Lightning does not have)."""


@dataclass
class BusDemo:
    """What the step did: the stream it used (deleted afterwards), the consumer's
    counts and rejects, or why it was skipped."""

    url: str | None
    stream: str | None = None
    subject: str | None = None
    rejects_subject: str | None = None
    report: ConsumeReport | None = None
    rejects: list[dict[str, Any]] = field(default_factory=list)
    skipped: str | None = None


def deliver_through_nats(ledger: Ledger, url: str | None, events: list[dict[str, Any]]) -> BusDemo:
    """Publishes `events` (one message each) and the refused one to a new
    stream, consumes them into `ledger`, and deletes the stream."""
    bus = BusDemo(url)
    if url is None:
        bus.skipped = "no NATS server given"
        return bus
    stream = f"status-ledger-demo-{uuid.uuid4().hex[:8]}"
    bus.subject, bus.rejects_subject = f"{stream}.events", f"{stream}.rejects"
    payloads = [orjson.dumps(e) for e in events] + [orjson.dumps(REFUSED)]
    try:
        asyncio.run(_publish(url, stream, payloads))
    except Exception as error:  # any failure at all: the demo goes on without NATS
        bus.skipped = " ".join(str(getattr(error, "message", error)).split())
        return bus
    bus.stream = stream
    source = NatsSource(url, stream, bus.subject, "demo", bus.rejects_subject)
    try:
        bus.report = consume_nats(
            _OwnAppends(ledger),
            source,
            "ledger",
            max_messages=len(payloads),
            idle_exit=5.0,
            on_reject=bus.rejects.append,
        )
    finally:
        asyncio.run(_delete(url, stream))
    return bus


class _OwnAppends:
    """The demo's events carry `demo:` ids, which only the ledger's own appends
    may write; a writer's `append` refuses them (reserved_event_id)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def append(self, events: list[dict[str, Any] | str]) -> AppendReport:
        return append_own(self.ledger, events)


async def connect(url: str, timeout: float) -> Client:
    """A connection that fails at once when no server answers (the demo then
    skips its bus step) instead of retrying for minutes."""
    import nats

    async def quiet(_error: Exception) -> None:
        """nats-py logs connection errors; the demo says why it skipped instead."""

    try:
        return await nats.connect(
            url, connect_timeout=timeout, max_reconnect_attempts=1, error_cb=quiet
        )
    except Exception as error:
        raise ConnectionFailed(f"cannot connect to NATS at {url}: {error}") from None


async def _publish(url: str, stream: str, payloads: list[bytes]) -> None:
    nc = await connect(url, 1.0)
    try:
        js = nc.jetstream()
        await js.add_stream(name=stream, subjects=[f"{stream}.events", f"{stream}.rejects"])
        try:
            for payload in payloads:
                await js.publish(f"{stream}.events", payload)
        except BaseException:
            await js.delete_stream(stream)
            raise
    finally:
        await nc.close()


async def _delete(url: str, stream: str) -> None:
    nc = await connect(url, 1.0)
    try:
        await nc.jetstream().delete_stream(stream)
    finally:
        await nc.close()

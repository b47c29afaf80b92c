"""What the message-bus tests share: a JetStream stream of their own (a unique
name, deleted afterwards, so tests on one server never see each other's
messages), publishing to it and reading what landed on a subject."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import nats
import orjson
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy


@dataclass(frozen=True)
class Stream:
    url: str
    name: str

    @property
    def events(self) -> str:
        """The subject the ledger consumes."""
        return f"{self.name}.events"

    @property
    def rejects(self) -> str:
        """A subject of the same stream that the consumer does not read."""
        return f"{self.name}.rejects"


def reachable(url: str) -> bool:
    async def ping() -> None:
        nc = await nats.connect(url, connect_timeout=2, allow_reconnect=False)
        await nc.close()

    try:
        asyncio.run(ping())
    except Exception:
        return False
    return True


@contextmanager
def scratch_stream(url: str) -> Iterator[Stream]:
    stream = Stream(url, f"sl-test-{uuid.uuid4().hex[:12]}")

    async def create() -> None:
        nc = await nats.connect(url)
        await nc.jetstream().add_stream(name=stream.name, subjects=[f"{stream.name}.>"])
        await nc.close()

    asyncio.run(create())
    try:
        yield stream
    finally:
        delete_stream(url, stream.name)


def delete_stream(url: str, name: str) -> None:
    async def delete() -> None:
        nc = await nats.connect(url)
        await nc.jetstream().delete_stream(name)
        await nc.close()

    asyncio.run(delete())


def publish(url: str, subject: str, payloads: list[bytes]) -> None:
    """Each payload as one message, stored by JetStream before this returns."""

    async def send() -> None:
        nc = await nats.connect(url)
        js = nc.jetstream()
        for payload in payloads:
            await js.publish_async(subject, payload)
        await js.publish_async_completed()
        await nc.close()

    asyncio.run(send())


def read(stream: Stream, subject: str) -> list[dict[str, Any]]:
    """Every JSON message stored on `subject` of the stream, in order."""

    async def fetch() -> list[dict[str, Any]]:
        nc = await nats.connect(stream.url)
        js = nc.jetstream()
        info = await js.stream_info(stream.name, subjects_filter=subject)
        count = (info.state.subjects or {}).get(subject, 0)
        found: list[dict[str, Any]] = []
        if count:
            config = ConsumerConfig(
                ack_policy=AckPolicy.NONE,
                deliver_policy=DeliverPolicy.ALL,
                filter_subject=subject,
            )
            sub = await js.pull_subscribe(subject, stream=stream.name, config=config)
            while len(found) < count:
                found += [orjson.loads(m.data) for m in await sub.fetch(count - len(found))]
        await nc.close()
        return found

    return asyncio.run(fetch())


def consumer_pending(stream: Stream, durable: str) -> tuple[int, int]:
    """Messages the durable consumer has not been delivered, and delivered but
    not acknowledged."""

    async def info() -> tuple[int, int]:
        nc = await nats.connect(stream.url)
        found = await nc.jetstream().consumer_info(stream.name, durable)
        await nc.close()
        return found.num_pending or 0, found.num_ack_pending or 0

    return asyncio.run(info())

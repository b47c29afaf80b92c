"""The message bus: a durable JetStream pull consumer that appends what it reads.

Exactly once, without a transaction spanning the bus and the store: a fetched
batch is adapted, appended (the ledger's own transactions), and only then
acknowledged. A crash before the commit leaves the messages unacknowledged,
so JetStream delivers them again; a crash after the commit but before the
acks delivers them again too, and then every event is a duplicate of itself,
because its id depends only on the message: the payload's own `event_id`, or
the ledger's content-derived id, counted within the message.

That last point is why one fetch may take more than one `Ledger.append`. The
ledger counts identical events within one call (two identical lines of one
file are two events; the same line in a later call is a duplicate of the
first). A message is one delivery, as a file or a webhook body is, so two
messages with an identical event must not share a call: their second copy
would count as the call's second occurrence, a new event, in one fetch, and as
a duplicate in another, and which happens would depend on how redeliveries
fall into fetches. Messages are therefore appended in runs in which no two
messages could hold an identical event without an `event_id` (_deliveries.py).

A message no adapter can read, and each event the ledger rejects, is
published to the rejects subject with its code and the original payload, then
acknowledged (terminated, for an unreadable message), so nothing blocks the
stream. See docs/nats.md.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from .._errors import ConnectionFailed, LedgerError, NotFound, UsageError
from . import Adapter, adapter
from ._deliveries import Input, deliveries_apart

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.aio.msg import Msg
    from nats.js import JetStreamContext

    from .._outcome import AppendReport

POLL_SECONDS = 1.0
"""Longest a fetch waits, so that a stop request or `idle_exit` is seen within it."""


class Appends(Protocol):
    """What the consumer needs of a ledger: `Ledger` itself, or the demo's own
    appends, whose ids are in the ledger's namespace (ledger/_reserved.py)."""

    def append(self, events: list[Input]) -> AppendReport: ...


@dataclass(frozen=True, slots=True)
class NatsSource:
    """Where to read: a server, a stream, the subject to consume from it (a
    filter within the stream's subjects), and the durable consumer that keeps
    the position between runs. `ack_wait` is how long the server waits for an
    acknowledgement before delivering a message again; it is set when the
    durable consumer is created."""

    url: str
    stream: str
    subject: str
    durable: str = "status-ledger"
    rejects_subject: str | None = None
    ack_wait: float = 30.0


@dataclass(slots=True)
class ConsumeReport:
    """What a run did: messages acknowledged, the outcomes of their events, and
    the messages no adapter could read (`malformed`)."""

    messages: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    malformed: int = 0

    def counts(self) -> dict[str, int]:
        return {
            "messages": self.messages,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "malformed": self.malformed,
        }


def consume_nats(
    ledger: Appends,
    source: NatsSource,
    format: str,
    *,
    batch: int = 100,
    max_messages: int | None = None,
    idle_exit: float | None = None,
    stop: threading.Event | None = None,
    on_reject: Callable[[dict[str, Any]], None] | None = None,
    connect_timeout: float = 2.0,
) -> ConsumeReport:
    """Consume `source` into `ledger` with the adapter `format` until `stop` is
    set, `max_messages` are acknowledged, or no message came for `idle_exit`
    seconds. Every reject is also passed to `on_reject`. Raises a LedgerError
    (and acknowledges nothing further) when the server, the stream or the
    store fails."""
    adapt = adapter(format)
    if batch < 1:
        raise UsageError(f"batch must be at least 1, not {batch}")
    if source.rejects_subject is not None and subject_matches(
        source.subject, source.rejects_subject
    ):
        raise UsageError(
            f"rejects subject {source.rejects_subject!r} is within the consumed subject "
            f"{source.subject!r}: rejects would be consumed again"
        )
    consumer = _Consumer(ledger, source, adapt, batch, stop or threading.Event(), on_reject)
    return asyncio.run(consumer.run(max_messages, idle_exit, connect_timeout))


def subject_matches(pattern: str, subject: str) -> bool:
    """True when a message published on `subject` (which may itself hold
    wildcards) could be delivered to a subscription on `pattern`."""
    wanted, given = pattern.split("."), subject.split(".")
    for i, token in enumerate(wanted):
        if token == ">":
            return len(given) > i
        if i >= len(given):
            return False
        if token != "*" and given[i] not in (token, "*", ">"):
            return False
        if given[i] == ">":
            return True
    return len(given) == len(wanted)


async def connect(url: str, timeout: float) -> Client:
    """A connection that fails at once when the server is not there, reports
    errors as exceptions rather than log lines, and once connected rides out
    a server restart (reconnecting for about a minute)."""
    import nats

    async def quiet(_error: Exception) -> None:
        """nats-py logs connection errors by default; the caller reports them."""

    try:
        nc = await nats.connect(
            url,
            connect_timeout=timeout,
            max_reconnect_attempts=1,
            reconnect_time_wait=0.1,
            error_cb=quiet,
        )
    except Exception as error:
        raise ConnectionFailed(f"cannot connect to NATS at {url}: {_describe(error)}") from None
    # nats-py retries a first connection as often, and as slowly, as a lost one
    # (two minutes by default); only a lost one should be retried that long.
    nc.options.update(max_reconnect_attempts=30, reconnect_time_wait=2)
    return nc


class _Consumer:
    def __init__(
        self,
        ledger: Appends,
        source: NatsSource,
        adapt: Adapter,
        batch: int,
        stop: threading.Event,
        on_reject: Callable[[dict[str, Any]], None] | None,
    ) -> None:
        self.ledger = ledger
        self.source = source
        self.adapt = adapt
        self.batch = batch
        self.stop = stop
        self.on_reject = on_reject
        self.report = ConsumeReport()
        self.rejects_stored = False

    async def run(
        self, max_messages: int | None, idle_exit: float | None, connect_timeout: float
    ) -> ConsumeReport:
        import nats.errors

        nc = self.nc = await connect(self.source.url, connect_timeout)
        try:
            self.js = nc.jetstream()
            subscription = await self._subscribe(self.js)
            await self._loop(subscription, max_messages, idle_exit)
            await nc.flush()
        except nats.errors.Error as error:
            # The connection went (an ack, a reject or a flush failed): what
            # was not acknowledged comes again on the next run, as duplicates.
            raise ConnectionFailed(f"lost NATS at {self.source.url}: {_describe(error)}") from None
        finally:
            await nc.close()
        return self.report

    async def _loop(
        self,
        subscription: JetStreamContext.PullSubscription,
        max_messages: int | None,
        idle_exit: float | None,
    ) -> None:
        last = time.monotonic()
        while not self.stop.is_set():
            wanted = self.batch
            if max_messages is not None:
                wanted = min(wanted, max_messages - self.report.messages)
                if wanted <= 0:
                    return
            wait = POLL_SECONDS
            if idle_exit is not None:
                wait = min(wait, idle_exit - (time.monotonic() - last))
                if wait <= 0:
                    return
            msgs = await _fetch(subscription, wanted, max(wait, 0.01))
            if msgs:
                await self._handle(msgs)
                last = time.monotonic()

    async def _subscribe(self, js: JetStreamContext) -> JetStreamContext.PullSubscription:
        """Binds to the durable consumer: created on the first run (from the
        stream's first message), resumed in order after a crash (below); one
        that filters another subject is refused rather than silently read."""
        from nats.js.errors import NotFoundError

        source = self.source
        try:
            await js.stream_info(source.stream)
        except NotFoundError:
            raise NotFound(f"no JetStream stream {source.stream!r} at {source.url}") from None
        except Exception as error:
            raise ConnectionFailed(
                f"JetStream at {source.url} did not answer: {_describe(error)}"
            ) from None
        try:
            info = await js.consumer_info(source.stream, source.durable)
        except NotFoundError:
            await self._create(js, None)
        except Exception as error:
            raise UsageError(f"consumer {source.durable!r}: {_describe(error)}") from None
        else:
            if info.config.filter_subject != source.subject:
                raise UsageError(
                    f"durable consumer {source.durable!r} on stream {source.stream!r} reads "
                    f"{info.config.filter_subject!r}, not {source.subject!r}; "
                    "give another --durable"
                )
            if info.num_ack_pending:
                await js.delete_consumer(source.stream, source.durable)
                floor = info.ack_floor.stream_seq if info.ack_floor else 0
                await self._create(js, (floor or 0) + 1)
        if source.rejects_subject is not None:
            try:
                await js.find_stream_name_by_subject(source.rejects_subject)
                self.rejects_stored = True
            except NotFoundError:
                self.rejects_stored = False
        return await js.pull_subscribe_bind(source.durable, source.stream)

    async def _create(self, js: JetStreamContext, start: int | None) -> None:
        """Creates the durable consumer, from the stream's first message or from
        `start`. A run that died held messages it had fetched and not
        acknowledged; JetStream would deliver them again only after `ack_wait`,
        and newer messages first, so an event could arrive before the one it
        follows and be rejected. The consumer is therefore made again from its
        acknowledgement floor: everything after it comes again, in stream
        order, and what was already stored is a duplicate. Deleting a durable
        that another process is reading would disturb it: one process per
        durable (docs/nats.md)."""
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        source = self.source
        config = ConsumerConfig(
            durable_name=source.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL if start is None else DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=start,
            filter_subject=source.subject,
            ack_wait=source.ack_wait,
            max_ack_pending=max(1000, 2 * self.batch),
        )
        try:
            await js.add_consumer(source.stream, config)
        except Exception as error:
            raise UsageError(
                f"cannot create consumer {source.durable!r} on stream {source.stream!r}: "
                f"{_describe(error)}"
            ) from None

    async def _handle(self, msgs: list[Msg]) -> None:
        readable: list[tuple[Msg, list[Input]]] = []
        for msg in msgs:
            try:
                readable.append((msg, self.adapt(msg.data)))
            except LedgerError as error:
                await self._reject(msg, error)
                await msg.term()
                self.report.malformed += 1
                self.report.messages += 1
        for run in deliveries_apart(readable):
            await self._append(run)

    async def _append(self, run: list[tuple[Msg, list[Input]]]) -> None:
        """One append for the run, then the rejects, then the acknowledgements:
        nothing is acknowledged before the transaction that holds it commits."""
        inputs = [event for _msg, events in run for event in events]
        outcomes = self.ledger.append(inputs).outcomes if inputs else []
        owner = [(msg, i) for msg, events in run for i in range(len(events))]
        for outcome in outcomes:
            if outcome.kind == "accepted":
                self.report.accepted += 1
            elif outcome.kind == "duplicate":
                self.report.duplicates += 1
            else:
                self.report.rejected += 1
                msg, index = owner[outcome.index]
                assert outcome.error is not None
                await self._reject(msg, outcome.error, index, inputs[outcome.index])
        for msg, _events in run:
            await msg.ack()
            self.report.messages += 1

    async def _reject(
        self, msg: Msg, error: LedgerError, index: int | None = None, event: Input | None = None
    ) -> None:
        """Publishes the reject before the message is acknowledged, with a
        Nats-Msg-Id so that a redelivered message's reject, published again
        after a crash, is dropped as a duplicate by a stream that stores it."""
        seq = msg.metadata.sequence.stream
        reject: dict[str, Any] = {
            **error.to_dict(),
            "stream": self.source.stream,
            "seq": seq,
            "subject": msg.subject,
        }
        if index is not None:
            reject["index"] = index
            reject["event"] = event
        reject["payload"] = msg.data.decode("utf-8", errors="replace")
        if self.on_reject is not None:
            self.on_reject(reject)
        subject = self.source.rejects_subject
        if subject is None:
            return
        body = orjson.dumps(reject)
        if self.rejects_stored:
            msg_id = f"{self.source.stream}:{seq}:{'message' if index is None else index}"
            await self.js.publish(subject, body, headers={"Nats-Msg-Id": msg_id})
        else:
            await self.nc.publish(subject, body)
            await self.nc.flush()


async def _fetch(
    subscription: JetStreamContext.PullSubscription, wanted: int, wait: float
) -> list[Msg]:
    try:
        return await subscription.fetch(wanted, timeout=wait)
    except TimeoutError:  # nats.errors.TimeoutError too: nothing came in `wait`
        return []


def _describe(error: Exception) -> str:
    """The server's own words where it sent some (a JetStream API error's
    description), else the exception's text."""
    text = " ".join(str(getattr(error, "description", None) or error).split())
    return text or type(error).__name__

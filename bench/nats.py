"""The message bus: events per second through `consume_nats` (adapted, validated,
hash-chained, views current, acknowledged after each commit) against a plain
JetStream pull consumer that acknowledges the same messages without storing
them, the least any consumer of that stream must do. Rounds alternate the two
(plain, ledger, plain, ...) over the same stored messages, each with a new
durable consumer, and the medians and their ratio come from one run.

    python -m bench.nats nats://127.0.0.1:4222 [--events 20000] [--out docs/benchmarks.md]

The section it writes replaces the page's "Message bus" section (or is added
at its end), so it can be refreshed without the full `python -m bench`, which
includes it when given `--nats URL`."""

from __future__ import annotations

import argparse
import asyncio
import shlex
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import nats
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from ledger import Ledger, NatsSource, consume_nats

from .history import generate
from .report import Measure

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
HEADING = "## Message bus (NATS JetStream)"


@dataclass(slots=True)
class BusResult:
    """The two measured paths, the messages, and what the ledger made of them."""

    plain: Measure
    ledger: Measure
    messages: int
    entities: int
    batch: int
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ratios(self) -> list[float]:
        return [a / b for a, b in zip(self.ledger.rates, self.plain.rates, strict=True)]


def measure(url: str, events: int, entities: int, rounds: int, batch: int, work: Path) -> BusResult:
    """Publishes the synthetic history once (one event per message, as a
    collector publishing each status change would) to a scratch stream, then
    consumes it `rounds` times each way; the stream is deleted afterwards."""
    lines, summary = generate(events, entities)
    stream = f"sl-bench-{uuid.uuid4().hex[:10]}"
    subject = f"{stream}.events"
    plain = Measure("plain JetStream pull consumer", f"fetch {batch}, ack each; nothing stored")
    into = Measure(
        "**status-ledger consume**",
        f"`consume_nats`, fetch {batch}: adapt, append, ack after commit (SQLite, views current)",
    )
    result = BusResult(plain, into, len(lines), summary.entities, batch)
    asyncio.run(_create(url, stream, subject, lines))
    try:
        for n in range(rounds):
            cpu = time.process_time()
            started = time.perf_counter()
            asyncio.run(_plain(url, stream, subject, f"plain-{n}", len(lines), batch))
            seconds = time.perf_counter() - started
            plain.add(len(lines), seconds, time.process_time() - cpu)
            db = work / f"bus-{n}.db"
            with Ledger.open(db) as ledger:
                source = NatsSource(url, stream, subject, durable=f"ledger-{n}")
                cpu = time.process_time()
                started = time.perf_counter()
                report = consume_nats(
                    ledger, source, "ledger", batch=batch, max_messages=len(lines)
                )
                seconds = time.perf_counter() - started
                into.add(report.messages, seconds, time.process_time() - cpu)
            result.counts = report.counts()
            if report.rejected or report.malformed or report.messages != len(lines):
                raise RuntimeError(f"the consumer did not take every message: {result.counts}")
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
    finally:
        asyncio.run(_delete(url, stream))
    return result


async def _create(url: str, stream: str, subject: str, lines: list[bytes]) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_stream(name=stream, subjects=[subject])
    for line in lines:
        await js.publish_async(subject, line)
    await js.publish_async_completed()
    await nc.close()


async def _delete(url: str, stream: str) -> None:
    nc = await nats.connect(url)
    await nc.jetstream().delete_stream(stream)
    await nc.close()


async def _plain(url: str, stream: str, subject: str, durable: str, count: int, batch: int) -> None:
    """A durable pull consumer that fetches and acknowledges `count` messages,
    connecting and creating itself as `consume_nats` does."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    config = ConsumerConfig(
        durable_name=durable,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        filter_subject=subject,
        max_ack_pending=max(1000, 2 * batch),
    )
    await js.add_consumer(stream, config)
    subscription = await js.pull_subscribe_bind(durable, stream)
    done = 0
    while done < count:
        for msg in await subscription.fetch(min(batch, count - done), timeout=5):
            await msg.ack()
            done += 1
    await nc.flush()
    await nc.close()


def section(result: BusResult, command: str) -> str:
    """The page section: both paths, the ratio per round, what was stored."""
    ratio = result.ledger.median / result.plain.median
    rows = [
        HEADING,
        "",
        f"Generated by `{command}`: {result.messages:,} messages of one event each "
        f"(a synthetic history made as above, over {result.entities:,} entities), "
        f"fetched {result.batch} at a time, each path "
        f"{len(result.plain.rates)} times, alternating. The ledger stored "
        f"{result.counts.get('accepted', 0):,} events and counted "
        f"{result.counts.get('duplicates', 0):,} re-sent ones as duplicates.",
        "",
        "| path | what is measured | events/s (median, wall) | runs (wall) "
        "| events per CPU-second (median) |",
        "|---|---|---:|---|---:|",
    ]
    for m in (result.plain, result.ledger):
        runs = ", ".join(f"{r:,.0f}" for r in m.rates)
        rows.append(f"| {m.name} | {m.what} | {m.median:,.0f} | {runs} | {m.cpu_median:,.0f} |")
    per_round = ", ".join(f"{r:,.3g}" for r in result.ratios)
    rows += [
        "",
        f"consume / plain: {ratio:,.3g} (median of each path); per round: {per_round}. "
        "Both run in this one process; the CPU column counts its time only, not the "
        "server's.",
        "",
    ]
    return "\n".join(rows)


def replace_section(page: str, text: str) -> str:
    """`page` with its message-bus section replaced by `text`, or `text` added at
    the end when the page has none (a section runs to the next `## ` heading)."""
    start = page.find(HEADING)
    if start < 0:
        return page.rstrip("\n") + "\n\n" + text
    end = page.find("\n## ", start + len(HEADING))
    rest = "" if end < 0 else page[end + 1 :]
    return page[:start] + text + ("\n" + rest if rest else "")


def options(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.nats", description=__doc__.splitlines()[0]
    )
    parser.add_argument("url", help="NATS server with JetStream, e.g. nats://127.0.0.1:4222")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for the test suite")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--entities", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.entities, args.rounds, args.batch = 300, 30, 2, 50
    return args


def run(args: argparse.Namespace, command: str) -> str:
    work = Path(tempfile.mkdtemp(prefix="bench-nats-", dir=args.workdir))
    try:
        result = measure(args.url, args.events, args.entities, args.rounds, args.batch, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return section(result, command)


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    args = options(given)
    text = run(args, "python -m bench.nats " + shlex.join(given))
    sys.stdout.write(text)
    page = args.out.read_text(encoding="utf-8") if args.out.exists() else "# Benchmarks\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(replace_section(page, text), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

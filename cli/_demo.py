"""`status-ledger demo`: the five-minute tour. `ledger.build_demo` writes the
story; this command only prints what a newcomer should look at, and ends with
the commands to try next on the same database."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from demo import DemoResult, build_demo
from ledger import Ledger, ViewRow, short_digest

from ._app import JsonOption, app, reported
from ._demo_ingest import WEBHOOK_JOB, bus_step, bus_summary, feed_webhooks, webhooks_step
from ._output import Column, console, heading, print_json, shown, status_text, table, when

VIEWS = [
    ("openfn", "work_order"),
    ("openfn", "run"),
    ("osmo", "workflow"),
    ("osmo", "task_group"),
    ("uipath", "job"),
    ("lightning", "work"),
]


@app.command()
def demo(
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="SQLite file to create; only an earlier demo is replaced. "
            "[default: ./status-ledger-demo.db]",
            show_default=False,
        ),
    ] = None,
    nats: Annotated[
        str | None,
        typer.Option(
            "--nats",
            metavar="URL",
            help="NATS server (JetStream) for the message-bus step; skipped when it does "
            "not answer, or with --nats ''. [default: nats://127.0.0.1:4222]",
            show_default=False,
        ),
    ] = "nats://127.0.0.1:4222",
    json: JsonOption = False,
) -> None:
    """Build a realistic ledger of all four models in a fresh SQLite file and tour it.

    Records OpenFn retries, a failing OSMO group with its FAILED_UPSTREAM
    consequence, UiPath Stop and Kill (and a sweep), the seed-004 Lightning
    example, a forced transition and a late event; then rebuilds the views and
    shows them, an audit trail, a what-did-we-know-when comparison and `verify`.
    When a NATS server answers, some events arrive through a JetStream stream
    consumed as `status-ledger consume` would.

    Example: status-ledger demo --db /tmp/demo.db
    """
    with reported():
        result = build_demo(db, nats_url=nats or None)
        with Ledger.open(result.db) as ledger:
            if json:
                deliveries = feed_webhooks(ledger)
                print_json({**_summary(ledger, result), "webhooks": deliveries})
                return
            _tour(ledger, result)


def _tour(ledger: Ledger, result: DemoResult) -> None:
    out = console()
    assert result.verify is not None
    out.print(
        Text(shown(f"Status Ledger demo: {result.events} events in {result.db}"), style="bold")
    )
    out.print(
        f"Built in {result.seconds:.2f}s from four systems' documented lifecycles.", markup=False
    )
    if result.rejected is not None:
        out.print(
            "One event was refused, as it should be; nothing was written for it:", markup=False
        )
        out.print(f"  {result.rejected.code}: {result.rejected.message}", markup=False)
    heading(
        out,
        "1. Current views",
        f"rebuilt from all {result.rebuilt_events} events: "
        + (
            "identical to the views kept incrementally."
            if result.rebuild_identical
            else "DIFFERENT from the incremental views!"
        ),
    )
    for model, type_name in VIEWS:
        _view_table(ledger, model, type_name)
    _audit(ledger, out, result)
    _seed(out, result)
    _bitemporal(ledger, out, result)
    bus_step(out, result)
    heading(
        out,
        "6. Sweep and verify",
        f"`sweep --now {result.sweep_now}` applied UiPath's 24-hour cleanup rule:",
    )
    for action in result.swept:
        out.print(
            f"  {action['type']} {action['id']}: {action['message']} -> {action['status']} "
            f"(actor {action['actor']}, reason {action['reason']})",
            markup=False,
        )
    if result.verify.ok:
        out.print(
            f"verify: chain intact: {result.verify.events} events, "
            f"head hash {short_digest(result.verify.head_hash)}",
            markup=False,
        )
    else:
        out.print(f"verify: chain BROKEN at seq {result.verify.first_broken_seq}", markup=False)
    webhooks_step(ledger, out)
    _next_steps(out, result)


def _view_table(ledger: Ledger, model: str, type_name: str) -> None:
    rows = ledger.list(model, type_name)
    registry = ledger.registry
    columns = [
        Column("id"),
        Column("parent"),
        Column("status"),
        Column("since"),
        Column("reason", drop=1, wrap=True),
        Column("count", drop=3),
        Column("detail", drop=2, wrap=True),
    ]
    cells = [
        [
            r.id,
            r.parent,
            status_text(registry, model, type_name, r.status.status),
            when(r.status.timestamp),
            r.status.reason,
            r.status.count,
            _detail(r),
        ]
        for r in rows
    ]
    used = [i for i in range(len(columns)) if any(row[i] not in (None, "") for row in cells)]
    table(
        f"{model} {type_name} ({len(rows)})",
        [columns[i] for i in used],
        [[row[i] for i in used] for row in cells],
    )


def _detail(row: ViewRow) -> str:
    """The per-model extra that matters most at a glance."""
    extra: dict[str, Any] = row.model_extra or {}
    parts = []
    if row.forced:
        parts.append("forced")
    if extra.get("aborts"):
        parts.append("aborts the run")
    if "runs" in extra:
        parts.append(f"{len(extra['runs'])} run(s), last {extra.get('last_run')}")
    if "groups" in extra:
        parts.append(
            "; ".join(f"{status}: {', '.join(names)}" for status, names in extra["groups"].items())
        )
    if "execution" in extra:
        parts.append(f"execution {extra['execution']}")
    if extra.get("restart_of"):
        parts.append(f"restart of {extra['restart_of']}")
    return "; ".join(parts)


def _audit(ledger: Ledger, out: Console, result: DemoResult) -> None:
    work_order = result.audited_work_order
    heading(
        out,
        f"2. Audit: every transition of work order {work_order}",
        "Who moved it, when, why; a transition the model forbids is recorded only "
        "when forced, with a reason, and flagged forever.",
    )
    entries = ledger.history("openfn", "work_order", work_order)
    table(
        None,
        [
            "seq",
            "run",
            "status",
            "occurred_at",
            Column("actor", drop=1, wrap=True),
            Column("reason", drop=2, wrap=True),
            "forced",
        ],
        [
            [
                e.seq,
                e.id,
                _as_written(
                    status_text(ledger.registry, e.model, e.type, e.status), e.written_status
                ),
                when(e.occurred_at),
                e.actor,
                e.reason,
                "FORCED" if e.forced else "",
            ]
            for e in entries
        ],
    )
    for e in entries:
        if e.forced:
            out.print(
                f"FORCED: seq {e.seq} moved run {e.id} to {e.status}; actor {e.actor}, "
                f"reason {e.reason}: {e.message}",
                markup=False,
            )


def _as_written(text: Text, written: str | None) -> Text:
    if written is not None:
        text.append(f" (as {written!r})")
    return text


def _seed(out: Console, result: DemoResult) -> None:
    heading(
        out,
        "3. Lightning: seed 004's example, fed one delta at a time",
        "What the Flow prints (print(self.work.status)), as the document shows it:",
    )
    for word, line in result.seed_status_lines:
        out.print(word, markup=False)
        out.print(line, markup=False)
    out.print(
        "And the statuses of the current execution (print(self.work.statuses)):", markup=False
    )
    for line in result.seed_statuses_lines:
        out.print(line, markup=False)


def _bitemporal(ledger: Ledger, out: Console, result: DemoResult) -> None:
    work_order = result.retried_work_order
    heading(
        out,
        f"4. What did we know, and when? Work order {work_order}",
        f"Its first run failed; the retry's events were delivered after "
        f"{when(result.known_before_late)}, and one of them (`started`) arrived after its "
        "own Success: a late event, placed where it occurred.",
    )
    questions: Sequence[tuple[str, str, dict[str, str]]] = [
        ("now", "", {}),
        (
            "as it happened at 10:23 (occurred by)",
            f"--as-of {result.as_of}",
            {"as_of": result.as_of},
        ),
        (
            "as the ledger knew it before the retry arrived (recorded by)",
            f"--known-at {result.known_before_late}",
            {"known_at": result.known_before_late},
        ),
    ]
    rows = []
    for question, flag, cut in questions:
        row = ledger.status("openfn", "work_order", work_order, **cut)
        rows.append(
            [
                question,
                flag.replace(" ", "\n", 1),  # the time stays on one line
                status_text(ledger.registry, "openfn", "work_order", row.status.status),
                when(row.status.timestamp),
                row.transitions,
            ]
        )
    table(
        None,
        [Column("question", wrap=True), "option", "status", "since", Column("transitions", drop=1)],
        rows,
    )


def _next_steps(out: Console, result: DemoResult) -> None:
    heading(out, "Try next")
    for command in next_commands(result):
        # one line however narrow the terminal, so that it copies and pastes whole
        out.print(shown(f"  {command}"), soft_wrap=True)


def next_commands(result: DemoResult) -> list[str]:
    """The commands the tour suggests, each runnable as printed."""
    db = f"--db {shlex.quote(result.db)}"
    return [
        f"status-ledger list openfn run {db}",
        f"status-ledger history openfn work_order {result.audited_work_order} {db}",
        f"status-ledger status openfn work_order {result.retried_work_order} "
        f"--known-at {result.known_before_late} {db}",
        f"status-ledger status lightning work {result.seed_statuses_work} "
        f"--statuses --format repr {db}",
        f"status-ledger list osmo task_group --parent wf-train-42 --json {db}",
        f"status-ledger models show uipath {db}",
        f"status-ledger history uipath job {WEBHOOK_JOB} {db}",
        f"status-ledger verify {db}",
        "status-ledger --help",
    ]


def _summary(ledger: Ledger, result: DemoResult) -> dict[str, Any]:
    assert result.verify is not None
    return {
        "db": result.db,
        "events": result.events,
        "rejected": None if result.rejected is None else result.rejected.to_dict(),
        "known_before_late": result.known_before_late,
        "as_of": result.as_of,
        "seed_status_lines": [line for _, line in result.seed_status_lines],
        "seed_statuses_lines": result.seed_statuses_lines,
        "swept": result.swept,
        "rebuild_identical": result.rebuild_identical,
        "verify": result.verify.model_dump(),
        "bus": bus_summary(result),
        "views": {
            f"{m}/{t}": [r.model_dump(mode="json") for r in ledger.list(m, t)] for m, t in VIEWS
        },
        "next": next_commands(result),
    }

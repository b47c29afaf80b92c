"""What a new user meets first (issue 23): a mistyped filter is an error, not an
empty answer; completion scripts for a named shell; `list` pages of 100 with a
cursor; a progress line on a terminal during `import` and counts when it stops
early; tables that stay readable at 80 columns; every time in one form; event
ids and hashes labelled and cut alike; and the small things (`--version`,
`models show`, flags in help, `--force` without `--reason`, `tokens create`).

Commands run through the real console script (in a pseudo-terminal where what
a terminal shows is the point) or through Typer's runner, which runs the same
code in-process."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import termios
from pathlib import Path
from typing import Any

import orjson
import pytest
from _attack import CLI, history
from typer.testing import CliRunner, Result

import ledger
from cli import app
from demo import build_demo
from ledger import Ledger

PLAIN = {"NO_COLOR": None, "FORCE_COLOR": None, "PY_COLORS": None, "STATUS_LEDGER_DB": None}
ANSI = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|\][^\x07]*\x07|[()][A-Z0-9])")
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z")


def invoke(*args: str, **env: str | None) -> Result:
    return CliRunner().invoke(app, list(args), env={**PLAIN, **env}, prog_name="status-ledger")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PLAIN and k != "COLUMNS"}
    return {**env, "NO_COLOR": "1", "TERM": "xterm", **extra}


def on_terminal(
    *args: str, columns: int = 80, stdout_too: bool = True, stdin: bytes | None = None
) -> tuple[str, str]:
    """Run the console script with stderr (and stdout unless told) on a
    pseudo-terminal `columns` wide; returns (what the terminal showed, stdout
    when it was a pipe). Escape sequences are removed, lines end in \\n."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    process = subprocess.Popen(
        [CLI, *args],
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=follower if stdout_too else subprocess.PIPE,
        stderr=follower,
        env=clean_env(COLUMNS=str(columns)),
        close_fds=True,
    )
    os.close(follower)
    if stdin is not None:
        assert process.stdin is not None
        process.stdin.write(stdin)
        process.stdin.close()
    shown = bytearray()
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the command closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    piped = process.stdout.read() if process.stdout is not None else b""
    assert process.wait(timeout=120) is not None
    text = ANSI.sub("", shown.decode()).replace("\r\n", "\n")
    return text, piped.decode()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("newcomer") / "demo.db"
    build_demo(path)
    return str(path)


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> str:
    """250 Lightning works: more than one page of `list`."""
    path = tmp_path_factory.mktemp("many") / "many.db"
    with Ledger.open(path) as opened:
        opened.append([orjson.dumps(e) for e in history(250, 3)])
    return str(path)


# -- 1. a mistyped filter is an error ------------------------------------------


def test_a_mistyped_status_filter_is_unknown_status_with_the_known_names(demo: str) -> None:
    result = invoke("list", "openfn", "run", "--status", "Sucess", "--db", demo)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "Error: unknown_status: openfn run: unknown status 'Sucess'; known: Pending, "
        "Running, Success, Failed, Crashed, Cancelled, Killed, Exception, Lost, Rejected\n"
    )


def test_a_work_orders_status_filter_knows_its_runs_statuses(demo: str) -> None:
    result = invoke("list", "openfn", "work_order", "--status", "Sucess", "--db", demo)
    assert result.exit_code == 1
    assert "unknown_status" in result.stderr and "Success" in result.stderr
    found = invoke("list", "openfn", "work_order", "--status", "success", "--json", "--db", demo)
    assert found.exit_code == 0
    assert {r["status"]["status"] for r in orjson.loads(found.stdout)} == {"Success"}


@pytest.mark.parametrize(
    ("args", "code", "named"),
    [
        (["list", "openfm", "run"], "unknown_model", "openfn"),
        (["list", "openfn", "runs"], "unknown_type", "run"),
        (["status", "openfn", "runs", "r-1"], "unknown_type", "work_order"),
        (["history", "opnfn", "run", "r-1"], "unknown_model", "uipath"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else str(value),
)
def test_an_unknown_model_or_type_in_a_filter_names_the_known_ones(
    args: list[str], code: str, named: str, demo: str
) -> None:
    result = invoke(*args, "--db", demo)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {code}: ")
    assert named in result.stderr


def test_an_alias_is_accepted_in_a_status_filter(demo: str) -> None:
    by_alias = invoke("list", "openfn", "run", "--status", "claimed", "--json", "--db", demo)
    by_name = invoke("list", "openfn", "run", "--status", "Running", "--json", "--db", demo)
    assert by_alias.exit_code == 0, by_alias.output
    assert by_alias.stdout == by_name.stdout


def test_the_status_filter_rule_lives_in_the_registry() -> None:
    from ledger import ModelRegistry, UnknownStatus

    registry = ModelRegistry.builtin()
    assert registry.view_status("openfn", "run", "CLAIMED") == "Running"
    assert registry.view_status("openfn", "work_order", "failed") == "Failed"
    with pytest.raises(UnknownStatus) as caught:
        registry.view_status("uipath", "job", "Done")
    assert caught.value.details["allowed"][:2] == ["Pending", "Running"]


# -- 2. completion ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "complete -o default -F _status_ledger_completion status-ledger"),
        ("zsh", "compdef _status_ledger_completion status-ledger"),
        ("fish", "complete --command status-ledger"),
    ],
)
def test_completion_prints_the_script_of_the_named_shell_whatever_runs_it(
    shell: str, marker: str
) -> None:
    """`--show-completion bash` guessed the shell from the parent process and
    failed under `sh -c`, nohup or CI (`Shell sh not supported.`)."""
    done = subprocess.run(
        ["sh", "-c", f'"$0" completion {shell}', CLI],
        capture_output=True,
        text=True,
        env=clean_env(SHELL="/bin/sh"),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert marker in done.stdout
    assert "_STATUS_LEDGER_COMPLETE" in done.stdout


def test_completion_refuses_a_shell_it_cannot_serve() -> None:
    result = invoke("completion", "tcsh")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: usage_error: ")


def complete(words: str, **env: str) -> list[str]:
    """What bash would offer after `words` (the last word is being completed)."""
    parts = words.split(" ")
    done = subprocess.run(
        [CLI],
        capture_output=True,
        text=True,
        env=clean_env(
            _STATUS_LEDGER_COMPLETE="complete_bash",
            COMP_WORDS=words,
            COMP_CWORD=str(len(parts) - 1),
            **env,
        ),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_completion_offers_models_types_and_statuses_from_the_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no ./status-ledger.db here, and none is created
    assert complete("status-ledger list ") == ["lightning", "openfn", "osmo", "uipath"]
    assert complete("status-ledger list osmo ") == ["task_group", "workflow"]
    assert complete("status-ledger list openfn run --status F") == ["Failed"]
    assert complete("status-ledger list openfn work_order --status Su") == ["Success"]
    assert complete("status-ledger record --model uipath --type job --status Su") == [
        "Successful",
        "Suspended",
    ]
    assert complete("status-ledger models show o") == ["openfn", "osmo"]
    assert list(tmp_path.iterdir()) == []


DEPLOY = """\
name = "deploy"
title = "Deployments"

[types.rollout]
statuses = ["Queued", "Rolling", "Done", "RolledBack"]
initial = ["Queued"]
final = ["Done", "RolledBack"]

[types.rollout.transitions]
Queued = ["Rolling"]
Rolling = ["Done", "RolledBack"]
"""


def test_completion_offers_the_user_models_stored_in_the_ledger(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    (tmp_path / "deploy.toml").write_text(DEPLOY)
    assert invoke("init", "--db", str(db)).exit_code == 0
    assert invoke("models", "add", str(tmp_path / "deploy.toml"), "--db", str(db)).exit_code == 0
    assert "deploy" in complete(f"status-ledger list --db {db} ")
    assert complete(f"status-ledger list --db {db} deploy ") == ["rollout"]
    assert complete(f"status-ledger list --db {db} deploy rollout --status R") == [
        "Rolling",
        "RolledBack",
    ]
    assert "deploy" in complete("status-ledger list ", STATUS_LEDGER_DB=str(db))
    assert "deploy" not in complete("status-ledger list ")


# -- 4. list pages ------------------------------------------------------------------


def test_list_shows_100_rows_and_says_how_many_more_on_stderr(many: str) -> None:
    result = invoke("list", "lightning", "work", "--db", many)
    assert result.exit_code == 0
    assert "lightning work (100)" in result.stdout
    assert re.fullmatch(
        r"\.\.\. 150 more: --after \S+ for the next page, --limit N or --all for more at once\n",
        result.stderr,
    )


def test_list_json_holds_only_the_rows_of_the_page(many: str) -> None:
    result = invoke("list", "lightning", "work", "--json", "--limit", "30", "--db", many)
    assert len(orjson.loads(result.stdout)) == 30
    assert result.stderr.startswith("... 220 more: --after ")


def test_list_all_gives_every_row_and_no_footer(many: str) -> None:
    result = invoke("list", "lightning", "work", "--all", "--json", "--db", many)
    assert len(orjson.loads(result.stdout)) == 250
    assert result.stderr == ""


def test_after_walks_every_row_exactly_once_in_pages(many: str) -> None:
    seen: list[str] = []
    after: list[str] = []
    while True:
        result = invoke(
            "list", "lightning", "work", "--json", "--limit", "90", *after, "--db", many
        )
        assert result.exit_code == 0, result.output
        seen += [r["id"] for r in orjson.loads(result.stdout)]
        cursor = re.search(r"--after (\S+)", result.stderr)
        if cursor is None:
            break
        after = ["--after", cursor.group(1)]
    everything = invoke("list", "lightning", "work", "--all", "--json", "--db", many)
    assert seen == [r["id"] for r in orjson.loads(everything.stdout)]
    assert len(set(seen)) == 250


def test_a_cursor_that_no_page_ended_with_is_a_usage_error(many: str) -> None:
    result = invoke("list", "lightning", "work", "--after", "wo-1", "--db", many)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: usage_error: 'wo-1' is not a page cursor")


def test_the_api_pages_with_the_same_cursor(many: str) -> None:
    with Ledger.open(many) as opened:
        first = opened.list("lightning", "work", limit=100)
        cursor = ledger.page_cursor(first[-1])
        rest = opened.list("lightning", "work", after=cursor)
        assert opened.count("lightning", "work", after=cursor) == 150
        assert [r.id for r in first + rest] == [r.id for r in opened.list("lightning", "work")]


def test_keyset_pages_and_counts_agree_with_the_whole_list_on_every_backend(
    ledger: Ledger,
) -> None:
    """Rows of several parents: the cursor carries (parent, id), so pages
    continue across parents without skipping or repeating a row."""
    from ledger import page_cursor

    runs = [(f"wo-{n % 3}", f"run-{n}") for n in range(7)]
    ledger.append(
        {
            "model": "openfn",
            "type": "run",
            "id": run,
            "parent": parent,
            "status": "Pending",
            "occurred_at": "2024-05-01T10:00:00Z",
        }
        for parent, run in runs
    )
    everything = [(r.parent, r.id) for r in ledger.list("openfn", "run")]
    assert sorted(everything) == everything == sorted(runs)
    paged: list[tuple[str | None, str]] = []
    after = None
    while True:
        page = ledger.list("openfn", "run", limit=2, after=after, status="pending")
        paged += [(r.parent, r.id) for r in page]
        if len(page) < 2:
            break
        after = page_cursor(page[-1])
        assert ledger.count("openfn", "run", after=after) == len(runs) - len(paged)
    assert paged == everything


# -- 5. import progress ------------------------------------------------------------


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("import") / "events.jsonl"
    lines = [orjson.dumps(e) for e in history(600, 5)]
    lines.insert(7, b'{"model": "openfn"}')
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_import_shows_progress_on_a_terminal(source: Path, tmp_path: Path) -> None:
    shown, stdout = on_terminal(
        "import", str(source), "--db", str(tmp_path / "l.db"), stdout_too=False
    )
    assert re.search(r"importing: \d+ events, \d+ events/s, accepted \d+, rejected \d+", shown)
    assert stdout.startswith("accepted ")


def test_import_shows_no_progress_when_piped(source: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [CLI, "import", str(source), "--db", str(tmp_path / "l.db")],
        capture_output=True,
        text=True,
        env=clean_env(),
        check=False,
    )
    assert done.returncode == 1  # one line is rejected
    assert "importing" not in done.stderr
    assert done.stderr.startswith("line 8: missing_field: ")
    assert re.fullmatch(r"accepted \d+, duplicates 0, rejected 1\n", done.stdout)


def test_an_import_that_stops_early_says_how_many_events_were_committed(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk stopped the import with only the error line: how much of
    the file was in the ledger was anyone's guess."""
    from eventsourcing.sqlite import SQLiteConnectionPool

    db = tmp_path / "small.db"
    assert invoke("init", "--db", str(db)).exit_code == 0
    pages = os.path.getsize(db) // 4096 + 40
    create = SQLiteConnectionPool._create_connection

    def capped(pool: SQLiteConnectionPool) -> Any:
        connection = create(pool)
        connection._sqlite_conn.execute(f"PRAGMA max_page_count = {pages}")
        return connection

    monkeypatch.setattr(SQLiteConnectionPool, "_create_connection", capped)
    result = invoke("import", str(source), "--batch-size", "100", "--workers", "1", "--db", str(db))
    monkeypatch.undo()
    assert result.exit_code == 1
    with Ledger.open(db) as opened:
        stored = opened.store.head().seq
    assert 0 < stored < 2000
    assert result.stdout == (
        f"stopped early: accepted {stored}, duplicates 0, rejected 1; {stored} events were "
        "committed (importing the same file again skips them as duplicates)\n"
    )
    assert result.stderr.splitlines()[-1].startswith("Error: disk_full: ")


# -- 6. 80 columns -------------------------------------------------------------------


@pytest.mark.parametrize("columns", [80, 120])
@pytest.mark.parametrize(
    "args",
    [
        ["history", "openfn", "work_order", "wo-1003"],
        ["history", "uipath", "job", "job-503"],
        ["list", "openfn", "run"],
        ["list", "osmo", "task_group"],
        ["status", "openfn", "run", "r-1003-2", "--statuses"],
        ["models", "show", "openfn"],
    ],
    ids=" ".join,
)
def test_tables_keep_times_and_statuses_whole_on_a_narrow_terminal(
    args: list[str], columns: int, demo: str
) -> None:
    """`history` at 80 columns wrapped timestamps over 4-5 lines and split
    statuses mid-word."""
    shown, _ = on_terminal(*args, "--db", demo, columns=columns)
    lines = shown.splitlines()
    assert lines and all(len(line) <= columns for line in lines), shown
    assert "…" not in shown
    names = _status_names(args)
    cells = [cell.strip() for line in lines for cell in re.split(r"[│┃]", line)]
    for cell in cells:
        if re.match(r"\d{4}-\d\d", cell):
            assert TIME.fullmatch(cell), (cell, shown)
    # every word of a status cell is a whole status name: none was split
    for line in lines:
        for word in re.findall(r"[A-Za-z_]+", line):
            partial = [n for n in names if n != word and n.startswith(word) and len(word) > 2]
            whole = word in names or not partial
            assert whole, (word, shown)


def test_the_demo_tour_fits_80_columns(tmp_path: Path) -> None:
    shown, _ = on_terminal("demo", "--db", str(tmp_path / "demo.db"), columns=80)
    tables = [line for line in shown.splitlines() if line[:1] in "┏┃┡│└"]
    assert len(tables) > 50
    assert all(len(line) <= 80 for line in tables)
    for line in tables:
        for cell in (c.strip() for c in re.split(r"[│┃]", line)):
            if re.match(r"\d{4}-\d\d", cell):  # shown, or an option's exact value
                assert re.fullmatch(r"[\d-]{10}T[\d:]{8}(\.\d+)?Z", cell), line


def _status_names(args: list[str]) -> set[str]:
    from ledger import ModelRegistry

    registry = ModelRegistry.builtin()
    found = registry[next(a for a in args if a in registry)]
    return {s for et in found.types.values() for s in et.statuses}


def test_a_narrow_history_names_the_columns_it_left_out(demo: str) -> None:
    narrow, _ = on_terminal("history", "openfn", "work_order", "wo-1003", "--db", demo)
    assert "hidden to fit 80 columns: " in narrow
    assert "recorded_at" in narrow.split("hidden to fit 80 columns: ")[1]
    wide, _ = on_terminal("history", "openfn", "work_order", "wo-1003", "--db", demo, columns=200)
    assert "hidden" not in wide
    assert "recorded_at" in wide


# -- 7. one time format ------------------------------------------------------------


def test_an_epoch_time_is_shown_in_rfc3339_like_every_other(tmp_path: Path) -> None:
    db = str(tmp_path / "l.db")
    args = ["--model", "uipath", "--type", "job", "--id", "j-1", "--db", db]
    assert (
        invoke("record", *args, "--status", "Pending", "--occurred-at", "1740823200").exit_code == 0
    )
    shown = invoke("status", "uipath", "job", "j-1", "--db", db).stdout
    assert "since: 2025-03-01T10:00:00Z" in shown
    assert "1740823200" not in shown
    assert "first seen: 2025-03-01T10:00:00Z" in shown
    listed = invoke("list", "uipath", "job", "--db", db).stdout
    assert "2025-03-01T10:00:00Z" in listed and "1740823200" not in listed
    kept = invoke("export", "--db", db).stdout
    assert orjson.loads(kept)["occurred_at"] == 1740823200  # export keeps it as written


def test_a_late_event_error_shows_the_time_in_rfc3339(tmp_path: Path) -> None:
    db = str(tmp_path / "l.db")
    args = ["--model", "uipath", "--type", "job", "--id", "j-1", "--db", db]
    invoke("record", *args, "--status", "Pending", "--occurred-at", "1740823200")
    invoke("record", *args, "--status", "Running", "--occurred-at", "1740823260")
    late = invoke("record", *args, "--status", "Successful", "--occurred-at", "1740823230")
    assert late.exit_code == 1
    assert "at 2025-03-01T10:01:00Z" in late.stderr
    assert "1740823260" not in late.stderr


def test_display_time_is_one_form_for_every_written_form() -> None:
    assert ledger.display_time(1740823200) == "2025-03-01T10:00:00Z"
    assert ledger.display_time(1740823200.0) == "2025-03-01T10:00:00Z"
    assert ledger.display_time("2025-03-01T11:00:00+01:00") == "2025-03-01T10:00:00Z"
    assert ledger.display_time("2025-03-01T10:00:00.250000Z") == "2025-03-01T10:00:00.250Z"
    assert ledger.display_time("2025-03-01T10:00:00.9999Z") == "2025-03-01T10:00:01Z"
    assert ledger.display_time("not a time") == "not a time"


# -- 8. event id and hash -------------------------------------------------------------


def test_record_labels_the_event_id_and_history_the_hash_cut_alike(tmp_path: Path) -> None:
    db = str(tmp_path / "l.db")
    recorded = invoke(
        "record",
        *["--model", "uipath", "--type", "job", "--id", "j-1", "--status", "Pending"],
        *["--occurred-at", "2025-03-01T10:00:00Z", "--db", db],
    )
    assert re.fullmatch(r"recorded seq 1, event id sha256:[0-9a-f]{12}\n", recorded.stdout)
    entry = orjson.loads(invoke("history", "uipath", "job", "j-1", "--json", "--db", db).stdout)[0]
    assert recorded.stdout.split("event id ")[1].strip() == entry["event_id"][: 7 + 12]
    table = invoke("history", "uipath", "job", "j-1", "--db", db).stdout
    assert re.search(r"\bhash\b", table)
    assert entry["hash"][:12] in table and entry["hash"][:13] not in table
    verified = invoke("verify", "--db", db).stdout
    assert verified == f"chain intact: 1 events, head hash {entry['hash'][:12]}\n"


def test_a_producers_own_event_id_is_shown_whole() -> None:
    assert ledger.short_digest("src-1") == "src-1"
    assert ledger.short_digest("sha256:" + "ab" * 32) == "sha256:" + "ab" * 6
    assert ledger.short_digest("cd" * 32) == "cd" * 6


# -- 9. the small things -----------------------------------------------------------


def test_version_prints_the_installed_version() -> None:
    from importlib.metadata import version

    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout == f"status-ledger {version('status-ledger')}\n"


def test_models_show_lists_aliases_with_a_header_on_every_column_and_no_source_labels(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "ledger.db")
    assert invoke("init", "--db", db).exit_code == 0
    result = invoke("models", "show", "openfn", "--db", db)
    assert result.stdout.splitlines()[0] == "openfn v2: OpenFn Lightning runs and work orders"
    assert "seed" not in result.stdout
    header = next(line for line in result.stdout.splitlines() if "status" in line)
    assert [c.strip() for c in header.strip("┃ ").split("┃")] == [
        "status",
        "kind",
        "aliases",
        "may move to",
    ]
    running = next(line for line in result.stdout.splitlines() if "│ Running " in line)
    assert "claimed, started" in running


def test_help_shows_no_type_for_flags() -> None:
    for args in (["record"], ["list"], ["models", "show"], ["tokens", "create"], []):
        result = invoke(*args, "--help", COLUMNS="100")
        assert "<bool>" not in result.stdout, args
        assert "--no-force" not in result.stdout


def test_force_without_a_reason_names_the_reason_option(tmp_path: Path) -> None:
    db = str(tmp_path / "l.db")
    args = ["--model", "uipath", "--type", "job", "--id", "j-1", "--db", db]
    invoke("record", *args, "--status", "Pending", "--occurred-at", "1740823200")
    forced = invoke(
        "record", *args, "--status", "Successful", "--occurred-at", "1740823300", "--force"
    )
    assert forced.exit_code == 1
    assert forced.stderr == (
        "Error: force_without_reason: --force needs --reason: say why the model is overridden\n"
    )


def test_tokens_create_says_to_store_the_token_and_how_to_send_it(tmp_path: Path) -> None:
    assert invoke("init", "--db", str(tmp_path / "l.db")).exit_code == 0
    result = invoke("tokens", "create", "ci", "--role", "reader", "--db", str(tmp_path / "l.db"))
    assert result.exit_code == 0
    token = result.stdout.strip()
    assert len(token.splitlines()) == 1 and len(token) > 20
    assert "Store this token now" in result.stderr
    assert "Authorization: Bearer TOKEN" in result.stderr
    assert token not in result.stderr

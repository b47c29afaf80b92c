"""Opening a store for what a command does, through the real command: a read
never creates a store (a mistyped --db is `not_found`, an empty one a usage
error), the rejects of an import never land on the ledger or its input, a writer
refuses a damaged file, and reading a read-only ledger leaves it usable by the
next writer."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import pytest
from _attack import CLI, assert_whole, history, one_error_line, write_jsonl

from ledger import CorruptStore, Ledger, NotFound, OpenMode, UsageError
from service import Tokens

RECORD = (
    "record",
    "--model",
    "uipath",
    "--type",
    "job",
    "--id",
    "new",
    "--status",
    "Pending",
    "--occurred-at",
    "2024-05-01T10:00:00Z",
)
BAD_LINE = {"model": "uipath", "type": "job", "id": "job-0", "status": "NoSuchStatus"}


def run(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, user: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The real console command in its own process, as `user` if given."""
    return subprocess.run(
        [*as_user(user), CLI, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, "STATUS_LEDGER_DEBUG": "", **(env or {})},
    )


def as_user(user: str | None) -> list[str]:
    """The prefix that runs a command as `user` (root drops to it with setpriv,
    which, unlike subprocess's own user switch, can start this venv's Python)."""
    if user is None:
        return []
    setpriv = shutil.which("setpriv")
    assert setpriv is not None, "running the tests as root needs setpriv (util-linux)"
    entry = pwd.getpwnam(user)
    return [setpriv, f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups"]


@pytest.fixture
def other_user() -> str | None:
    """Who runs the commands: root may write a 0444 file, so as root they run as
    nobody; as anyone else, as themselves."""
    return "nobody" if os.geteuid() == 0 else None


@pytest.fixture
def folder() -> Iterator[Path]:
    """A directory for files handed to that user (`_hand_over`): pytest's own
    temporary directories are closed to others when the tests run as root."""
    path = Path(tempfile.mkdtemp(prefix="status-ledger-ro-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _hand_over(folder: Path, user: str | None) -> None:
    """Give `folder` and the files in it to `user` (None: they are already ours)."""
    if user is not None:
        entry = pwd.getpwnam(user)
        for path in [folder, *folder.iterdir()]:
            os.chown(path, entry.pw_uid, entry.pw_gid)


@pytest.fixture
def seeded(tmp_path: Path) -> Path:
    db = tmp_path / "ledger.db"
    with Ledger.open(db) as ledger:
        assert ledger.append(history(5)).rejected == 0
    return db


def _exported(db: Path) -> list[dict[str, Any]]:
    with Ledger.open(db, mode="read") as ledger:
        return list(ledger.export())


# -- 1. rejects never overwrite the ledger or the input ----------------------------


@pytest.mark.parametrize(
    "rejects",
    [
        "ledger.db",
        "ledger.db-wal",
        "ledger.db-shm",
        "ledger.db-journal",
        "symlink to the ledger",
        "hard link to the ledger",
        "symlink to the ledger's -wal name",
        "events.jsonl",
        "hard link to the input",
    ],
)
def test_rejects_that_would_overwrite_the_ledger_or_the_input_are_refused_and_nothing_is_imported(
    seeded: Path, tmp_path: Path, rejects: str
) -> None:
    events = write_jsonl(tmp_path / "events.jsonl", [*history(2, prefix="new-"), BAD_LINE])
    links = {
        "symlink to the ledger": ("symlink", seeded),
        "hard link to the ledger": ("link", seeded),
        "symlink to the ledger's -wal name": ("symlink", Path(f"{seeded}-wal")),
        "hard link to the input": ("link", events),
    }
    target = tmp_path / rejects
    if rejects in links:
        kind, source = links[rejects]
        target = tmp_path / "other-name.jsonl"
        if kind == "symlink":
            target.symlink_to(source)
        else:
            os.link(source, target)
    before, lines = _exported(seeded), events.read_bytes()
    result = run("import", str(events), "--rejects", str(target), "--db", str(seeded))
    assert result.returncode == 2, result
    one_error_line(result.stderr, "usage_error")
    assert "would destroy it" in result.stderr
    assert events.read_bytes() == lines
    assert_whole(seeded, None)
    assert _exported(seeded) == before


@pytest.mark.parametrize("where", ["missing directory", "a directory"])
def test_an_unwritable_rejects_path_is_one_error_line_before_anything_is_committed(
    seeded: Path, tmp_path: Path, where: str
) -> None:
    events = write_jsonl(tmp_path / "events.jsonl", [*history(2, prefix="new-"), BAD_LINE])
    target = tmp_path / "no" / "rejects.jsonl" if where == "missing directory" else tmp_path
    before = _exported(seeded)
    result = run("import", str(events), "--rejects", str(target), "--db", str(seeded))
    assert result.returncode == 2, result
    one_error_line(result.stderr, "usage_error")
    assert "nothing was imported" in result.stderr
    assert _exported(seeded) == before


def test_rejects_in_a_directory_the_user_may_not_write_are_refused_before_anything_is_committed(
    folder: Path, other_user: str | None
) -> None:
    db = folder / "ledger.db"
    with Ledger.open(db) as ledger:
        ledger.append(history(2))
    events = write_jsonl(folder / "events.jsonl", [*history(2, prefix="new-"), BAD_LINE])
    closed = folder / "closed"
    closed.mkdir()
    _hand_over(folder, other_user)
    closed.chmod(0o555)
    before = _exported(db)
    result = run(
        "import",
        str(events),
        "--rejects",
        str(closed / "r.jsonl"),
        "--db",
        str(db),
        user=other_user,
    )
    assert result.returncode == 2, result
    one_error_line(result.stderr, "usage_error")
    assert "Permission denied" in result.stderr
    assert _exported(db) == before


def test_an_import_that_cannot_open_its_store_leaves_no_rejects_file(tmp_path: Path) -> None:
    """The rejects file is made before the store is opened; when the store then
    fails, the empty file it would have been is removed again."""
    events = write_jsonl(tmp_path / "events.jsonl", [BAD_LINE])
    rejects = tmp_path / "rejects.jsonl"
    result = run(
        "import", str(events), "--rejects", str(rejects), "--db", str(tmp_path / "no/l.db")
    )
    assert result.returncode == 1
    one_error_line(result.stderr, "store_error")
    assert not rejects.exists()


def test_rejects_of_a_rerun_replace_the_earlier_rejects(seeded: Path, tmp_path: Path) -> None:
    """The rejects file is opened before the import without truncating it, and
    emptied only once the import ran: what is left is this run's rejects alone."""
    events = write_jsonl(tmp_path / "events.jsonl", [BAD_LINE])
    rejects = tmp_path / "rejects.jsonl"
    rejects.write_bytes(b"an earlier run's rejects, much longer than this run's\n" * 100)
    result = run("import", str(events), "--rejects", str(rejects), "--db", str(seeded))
    assert result.returncode == 1
    assert [r["code"] for r in map(orjson.loads, rejects.read_bytes().splitlines())] == [
        "missing_field"
    ]


# -- 5. reads never create a store ------------------------------------------------

READS = [
    ("verify",),
    ("status", "uipath", "job", "job-1"),
    ("list", "uipath", "job"),
    ("history", "uipath", "job", "job-1"),
    ("export",),
    ("rebuild",),
    ("project",),
    ("replay",),
    ("sweep",),
    ("sweep", "--dry-run"),
    ("models", "list"),
    ("models", "show", "uipath"),
    ("tokens", "list"),
    ("tokens", "create", "ops", "--role", "reader"),
    ("tokens", "revoke", "ops"),
    ("serve", "--port", "0"),
]


@pytest.mark.parametrize("command", READS, ids=" ".join)
def test_commands_that_do_not_record_are_not_found_on_a_missing_store_and_create_nothing(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    result = run(*command, "--db", "typo.db", cwd=tmp_path)
    assert result.returncode == 1, result
    one_error_line(result.stderr, "not_found")
    assert "typo.db" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content", ["an empty file", "an SQLite database with no tables"])
def test_a_file_holding_no_ledger_is_not_found_for_reads_and_left_as_it_was(
    tmp_path: Path, content: str
) -> None:
    db = tmp_path / "empty.db"
    if content == "an empty file":
        db.touch()
    else:
        conn = sqlite3.connect(db)
        conn.execute("PRAGMA user_version = 1")  # writes the header: a database, no tables
        conn.close()
    before = db.read_bytes()
    for command in READS[:5]:
        result = run(*command, "--db", str(db))
        assert result.returncode == 1, (command, result)
        one_error_line(result.stderr, "not_found")
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]


@pytest.mark.parametrize("command", [("verify",), ("status", "uipath", "job", "j"), RECORD])
def test_an_empty_db_is_a_usage_error_and_never_the_default_file(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    (tmp_path / "status-ledger.db").write_bytes(b"")  # the default file: must stay untouched
    for how in ({"args": ("--db", "")}, {"env": {"STATUS_LEDGER_DB": ""}}):
        result = run(*command, *how.get("args", ()), cwd=tmp_path, env=how.get("env"))
        assert result.returncode == 2, (how, result)
        one_error_line(result.stderr, "usage_error")
    assert (tmp_path / "status-ledger.db").read_bytes() == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["status-ledger.db"]


def test_commands_that_record_still_create_a_missing_store(tmp_path: Path) -> None:
    events = write_jsonl(tmp_path / "events.jsonl", history(1))
    for command, db in [(("init",), "a.db"), (RECORD, "b.db"), (("import", str(events)), "c.db")]:
        result = run(*command, "--db", db, cwd=tmp_path)
        assert result.returncode == 0, result
        assert run("verify", "--db", db, cwd=tmp_path).returncode == 0


def test_the_python_api_creates_by_default_and_reads_only_what_exists(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    modes: tuple[OpenMode, ...] = ("read", "write")
    for mode in modes:
        with pytest.raises(NotFound):
            Ledger.open(missing, mode=mode)
    assert not missing.exists()
    with pytest.raises(UsageError):
        Ledger.open("")
    with Ledger.open(missing) as ledger:
        assert ledger.store.head().seq == 0
    with Ledger.open(missing, mode="read") as ledger:
        assert ledger.store.head().seq == 0


def test_a_postgresql_database_without_ledger_tables_is_not_found_and_left_empty(
    pg_url: str,
) -> None:
    for command in READS[:5]:
        result = run(*command, "--db", pg_url)
        assert result.returncode == 1, (command, result)
        one_error_line(result.stderr, "not_found")
    with psycopg.connect(pg_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', "
            "'information_schema')"
        ).fetchone()
    assert row == (0,)
    assert run("init", "--db", pg_url).returncode == 0
    assert run("verify", "--db", pg_url).returncode == 0


# -- 6. writers refuse a damaged file ----------------------------------------------


def _break_page_of(db: Path, name: str) -> None:
    """Point the first cell of the b-tree page `name` starts on past the page's
    end: SQLite's quick_check reports it, while appends that do not happen to
    read that cell go on writing beside it."""
    conn = sqlite3.connect(db)
    try:
        (page,) = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = ?", (name,)
        ).fetchone()
        (size,) = conn.execute("PRAGMA page_size").fetchone()
    finally:
        conn.close()
    with db.open("r+b") as f:
        f.seek((page - 1) * size)
        assert f.read(1) in (b"\x0a", b"\x0d")  # a leaf page: the cell pointers follow at 8
        f.seek((page - 1) * size + 8)
        f.write((size - 16).to_bytes(2, "big"))


@pytest.mark.parametrize(
    "command",
    [
        RECORD,
        ("import", "EVENTS"),
        ("sweep",),
        ("rebuild",),
        ("tokens", "create", "x", "--role", "reader"),
    ],
    ids=lambda c: c[0],
)
def test_a_writer_refuses_a_damaged_file_with_corrupt_store_and_changes_nothing(
    seeded: Path, tmp_path: Path, command: tuple[str, ...]
) -> None:
    _break_page_of(seeded, "views_by_status")
    events = write_jsonl(tmp_path / "events.jsonl", history(1, prefix="new-"))
    before = seeded.read_bytes()
    args = [str(events) if a == "EVENTS" else a for a in command]
    result = run(*args, "--db", str(seeded))
    assert result.returncode == 1, result
    one_error_line(result.stderr, "corrupt_store")
    assert seeded.read_bytes() == before
    exported = run("export", "--db", str(seeded))  # what is left can still be read out
    assert exported.returncode == 0 and len(exported.stdout.splitlines()) == len(history(5))


def test_a_large_file_still_gets_its_bookkeeping_tables_checked(
    seeded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ledger.store._sqlite

    monkeypatch.setattr(ledger.store._sqlite, "QUICK_CHECK_MAX_BYTES", 0)
    _break_page_of(seeded, "views_by_status")
    Ledger.open(seeded).close()  # beyond the limit, view pages are left to verify
    _break_page_of(seeded, "ledger_head")
    with pytest.raises(CorruptStore):
        Ledger.open(seeded)


# -- 7. reading a read-only ledger leaves it usable --------------------------------


def _sidecars_left_writable(db: Path) -> None:
    for suffix in ("-wal", "-shm"):
        side = Path(f"{db}{suffix}")
        assert not side.exists() or side.stat().st_mode & 0o200, (side, oct(side.stat().st_mode))


def test_reads_of_a_0444_ledger_leave_it_writable_after_chmod_644(
    folder: Path, other_user: str | None
) -> None:
    db = folder / "ledger.db"
    with Ledger.open(db) as ledger:
        ledger.append(history(3))
        Tokens(ledger.store).create("auditor", "reader")
    _hand_over(folder, other_user)
    db.chmod(0o444)
    for command in [*READS[:5], ("tokens", "list"), ("models", "list"), ("replay",)]:
        result = run(*command, "--db", str(db), user=other_user)
        assert result.returncode == 0, (command, result)
        _sidecars_left_writable(db)
    listed = run("tokens", "list", "--json", "--db", str(db), user=other_user)
    assert [t["name"] for t in orjson.loads(listed.stdout)] == ["auditor"]
    refused = run(*RECORD, "--db", str(db), user=other_user)
    assert refused.returncode == 1
    one_error_line(refused.stderr, "read_only")
    db.chmod(0o644)
    assert run(*RECORD, "--db", str(db), user=other_user).returncode == 0
    assert_whole(db)


def test_a_0444_ledger_whose_wal_holds_events_is_read_whole_and_left_writable(
    folder: Path, other_user: str | None, tmp_path: Path
) -> None:
    """A copy of a live ledger (the file and its -wal, no -shm) made read-only:
    the WAL's events must be read, and the -shm that reading needs must not
    outlive it read-only."""
    live = tmp_path / "live.db"
    with Ledger.open(live) as ledger:
        ledger.append(history(3))
        assert Path(f"{live}-wal").stat().st_size > 0
        db = folder / "ledger.db"
        shutil.copy(live, db)
        shutil.copy(f"{live}-wal", f"{db}-wal")
    _hand_over(folder, other_user)
    db.chmod(0o444)
    result = run("verify", "--json", "--db", str(db), user=other_user)
    assert result.returncode == 0, result
    assert orjson.loads(result.stdout)["events"] == len(history(3))
    _sidecars_left_writable(db)
    db.chmod(0o644)
    assert run(*RECORD, "--db", str(db), user=other_user).returncode == 0, "write after chmod"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_serve_answers_reads_from_a_0444_ledger(folder: Path, other_user: str | None) -> None:
    db = folder / "ledger.db"
    with Ledger.open(db) as ledger:
        ledger.append(history(2))
        token = Tokens(ledger.store).create("auditor", "reader")
    _hand_over(folder, other_user)
    db.chmod(0o444)
    port = _free_port()
    server = subprocess.Popen(
        [*as_user(other_user), CLI, "serve", "--port", str(port), "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                assert server.poll() is None, server.communicate()[0].decode()
                time.sleep(0.1)
        else:
            pytest.fail("serve did not come up")
        answer = httpx.get(f"{base}/verify", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200 and answer.json()["ok"] is True
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=30)
    _sidecars_left_writable(db)
    db.chmod(0o644)
    assert run(*RECORD, "--db", str(db), user=other_user).returncode == 0

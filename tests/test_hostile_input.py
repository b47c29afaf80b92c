"""Hostile and broken input: every bad line, name, model or database file gets a
clear coded error, the command prints one `Error: <code>: ...` line (or one
rejects entry per line) with exit 1 and no traceback, and the store is left
exactly as it was."""

from __future__ import annotations

import ast
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from _attack import assert_whole, history, one_error_line
from _spec import cli, fingerprint

from ledger import Ledger, LedgerError, UnknownStatus

ROOT = Path(__file__).resolve().parent.parent
GOOD = {
    "model": "uipath",
    "type": "job",
    "id": "job-1",
    "status": "Pending",
    "occurred_at": "2024-05-01T10:00:00Z",
}
SQL = [
    "'; DROP TABLE stored_events; --",
    '" OR 1=1 --',
    "x'); DELETE FROM views WHERE ('1'='1",
    "%_\\' /* */ ;",
]


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[Path]:
    """A store with some history, so that a wrong write would have something to break."""
    db = tmp_path / "ledger.db"
    with Ledger.open(db) as ledger:
        assert ledger.append(history(5)).rejected == 0
    yield db


@pytest.fixture
def seeded_url(ledger_url: str) -> str:
    """The same, on every backend under test (SQLite, and PostgreSQL in CI)."""
    with Ledger.open(ledger_url) as ledger:
        assert ledger.append(history(5)).rejected == 0
    return ledger_url


def _line(**changes: Any) -> bytes:
    return orjson.dumps({**GOOD, **changes})


BAD_LINES: dict[str, tuple[bytes, str]] = {
    "malformed": (b'{"model": "uipath", "type": "job",, }', "bad_json"),
    "truncated": (_line()[:40], "bad_json"),
    "array": (b"[1, 2, 3]", "bad_json"),
    "bare string": (b'"Pending"', "bad_json"),
    "invalid utf-8": (_line(id="job-X").replace(b"job-X", b"job-\xff\xfe"), "bad_json"),
    "huge line": (_line(message="x" * (1 << 20)), "bad_json"),
    "NaN timestamp": (_line()[:-1] + b', "occurred_at": NaN}', "bad_json"),
    "Infinity timestamp": (
        b'{"model":"uipath","type":"job","id":"j","status":"Pending","occurred_at":Infinity}',
        "bad_json",
    ),
    "1e400 timestamp": (_line(occurred_at=0).replace(b":0}", b":1e400}"), "bad_json"),
    "NaN string timestamp": (_line(occurred_at="NaN"), "bad_timestamp"),
    "boolean timestamp": (_line(occurred_at=True), "bad_timestamp"),
    "milliseconds timestamp": (_line(occurred_at=1_714_557_600_000), "bad_timestamp"),
    "negative timestamp": (_line(occurred_at=-1), "bad_timestamp"),
    "before 1970": (_line(occurred_at="1969-12-31T23:59:59Z"), "bad_timestamp"),
    "year 2200": (_line(occurred_at="2200-01-01T00:00:00Z"), "bad_timestamp"),
    "year 9999": (_line(occurred_at="9999-12-31T23:59:59+14:00"), "bad_timestamp"),
    "year 0": (_line(occurred_at="0000-01-01T00:00:00Z"), "bad_timestamp"),
    "month 13": (_line(occurred_at="2024-13-01T00:00:00Z"), "bad_timestamp"),
    "no offset": (_line(occurred_at="2024-05-01T10:00:00"), "bad_timestamp"),
    "id with NUL": (_line(id="job\x00"), "invalid_field"),
    "id with newline": (_line(id="job\nforged line"), "invalid_field"),
    "id with ANSI escape": (_line(id="\x1b[31mjob"), "invalid_field"),
    "id with C1 control": (_line(id="job\x85"), "invalid_field"),
    "id with line separator": (_line(id="job\u2028"), "invalid_field"),
    "id with bidi override": (_line(id="job\u202egnp.exe"), "invalid_field"),
    "empty id": (_line(id=""), "invalid_field"),
    "id of 257 characters": (_line(id="j" * 257), "invalid_field"),
    "status with control": (_line(status="Pending\x07"), "invalid_field"),
    "attributes nested past 255": (
        _line(attributes={"a": 0}).replace(b"0", b"[" * 300 + b"]" * 300),
        "invalid_field",
    ),
    "attributes not an object": (_line(attributes=[1]), "invalid_field"),
    "missing status": (
        orjson.dumps({k: v for k, v in GOOD.items() if k != "status"}),
        "missing_field",
    ),
    "unknown field": (_line(sql="DROP TABLE views"), "unexpected_field"),
    "repeated key": (_line()[:-1] + b',"status":"Running"}', "bad_json"),
    "repeated key with spaces": (_line()[:-1] + b' , "id" :  "job-2" }', "bad_json"),
    "repeated key deep in attributes": (
        _line(attributes={"a": [{"b": 1}]}).replace(b'{"b":1}', b'{"b":1,"b":2}'),
        "bad_json",
    ),
    "repeated key hidden by an escaped colon": (
        _line(message="a:b", attributes={"k": 1})
        .replace(b"a:b", b"a\\u003ab")
        .replace(b'{"k":1}', b'{"k":1,"k":2}'),
        "bad_json",
    ),
    "integer of 2**64 in attributes": (
        _line(attributes={"n": 0}).replace(b":0}", b":18446744073709551616}"),
        "invalid_field",
    ),
    "integer of 2**63 in attributes": (_line(attributes={"n": 2**63}), "invalid_field"),
    "integer below -2**63 in attributes": (
        _line(attributes={"n": [0]}).replace(b"[0]", b"[-9223372036854775809]"),
        "invalid_field",
    ),
    "30-digit integer in attributes": (
        _line(attributes={"n": 0}).replace(b":0}", b":123456789012345678901234567890}"),
        "invalid_field",
    ),
    "30-digit integer as occurred_at": (
        _line(occurred_at=0).replace(b":0}", b":123456789012345678901234567890}"),
        "bad_timestamp",
    ),
    "unknown model": (_line(model="'; DROP TABLE views; --"), "unknown_model"),
    "unknown status": (_line(status="' OR '1'='1"), "unknown_status"),
}


def test_bad_lines_are_what_they_claim() -> None:
    invalid_utf8, _ = BAD_LINES["invalid utf-8"]
    with pytest.raises(UnicodeDecodeError):
        invalid_utf8.decode()
    assert len(BAD_LINES["huge line"][0]) > 1 << 20
    for name in BAD_LINES:
        if name.startswith("repeated key"):
            line = BAD_LINES[name][0]
            assert len(orjson.loads(line)) <= len(json.loads(line)), name  # orjson keeps the last
    hidden = BAD_LINES["repeated key hidden by an escaped colon"][0]
    assert hidden.count(b":") == orjson.dumps(orjson.loads(hidden)).count(b":")


@pytest.mark.parametrize("name", list(BAD_LINES))
def test_each_bad_jsonl_line_is_rejected_with_its_code_and_changes_nothing(
    seeded: Path, tmp_path: Path, name: str
) -> None:
    line, code = BAD_LINES[name]
    source = tmp_path / "bad.jsonl"
    source.write_bytes(line + b"\n")
    rejects = tmp_path / "rejects.jsonl"
    with Ledger.open(seeded) as ledger:
        before = fingerprint(ledger)
    result = cli("import", str(source), "--rejects", str(rejects), "--json", "--db", str(seeded))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert orjson.loads(result.stdout) == {"accepted": 0, "duplicates": 0, "rejected": 1}
    [reject] = [orjson.loads(r) for r in rejects.read_bytes().splitlines()]
    assert (reject["line"], reject["code"]) == (1, code), reject
    with Ledger.open(seeded) as ledger:
        assert fingerprint(ledger) == before


def test_a_bad_line_among_good_ones_rejects_only_itself(seeded: Path, tmp_path: Path) -> None:
    good = [_line(id=f"ok-{n}", status="Pending") for n in range(3)]
    lines = [good[0], *(line for line, _ in BAD_LINES.values()), good[1], good[2]]
    source = tmp_path / "mixed.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    result = cli("import", str(source), "--json", "--db", str(seeded))
    assert result.exit_code == 1
    assert orjson.loads(result.stdout) == {
        "accepted": 3,
        "duplicates": 0,
        "rejected": len(BAD_LINES),
    }
    assert_whole(seeded)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"attributes": {"x": float("nan")}}, "invalid_field"),
        ({"attributes": {"x": {1, 2}}}, "invalid_field"),
        ({"attributes": {"x": 2**70}}, "invalid_field"),
        ({"attributes": {"x": [2**63]}}, "invalid_field"),
        ({"attributes": {"x": {"y": -(2**63) - 1}}}, "invalid_field"),
        ({"attributes": {"x": object()}}, "invalid_field"),
        ({"occurred_at": float("nan")}, "bad_timestamp"),
        ({"occurred_at": float("-inf")}, "bad_timestamp"),
        ({"occurred_at": 10**400}, "bad_timestamp"),
        ({"id": "job-\ud800"}, "invalid_field"),
        ({"force": True}, "force_without_reason"),
    ],
    ids=[
        "nan-attribute",
        "set-attribute",
        "65-bit-attribute",
        "2**63-attribute",
        "below-int64-attribute",
        "object-attribute",
        "nan-epoch",
        "minus-infinity-epoch",
        "400-digit-epoch",
        "lone-surrogate",
        "bare-force",
    ],
)
def test_python_values_json_cannot_carry_are_coded_rejections(
    seeded: Path, fields: dict[str, Any], code: str
) -> None:
    with Ledger.open(seeded) as ledger:
        before = fingerprint(ledger)
        with pytest.raises(LedgerError) as caught:
            ledger.record(**{**GOOD, **fields})
        assert caught.value.code == code
        assert fingerprint(ledger) == before


EXACT = {
    "max": 2**63 - 1,
    "min": -(2**63),
    "deep": [{"n": 2**62}],
    "float": 1e300,
    "digits as text": "123456789012345678901234567890",
}


def test_integers_up_to_64_bits_are_kept_exactly_on_every_path_and_backend(
    seeded_url: str, tmp_path: Path
) -> None:
    source = tmp_path / "exact.jsonl"
    source.write_bytes(_line(id="from-import", attributes=EXACT) + b"\n")
    assert cli("import", str(source), "--db", seeded_url).exit_code == 0
    flags = ["--model", "uipath", "--type", "job", "--status", "Pending", "--occurred-at", "5"]
    attributes = orjson.dumps(EXACT).decode()
    recorded = cli(
        "record", *flags, "--id", "from-record", "--attributes", attributes, "--db", seeded_url
    )
    assert recorded.exit_code == 0, recorded.output
    with Ledger.open(seeded_url) as ledger:
        ledger.record(**{**GOOD, "id": "from-api", "attributes": EXACT})
        kept = {e["id"]: e["attributes"] for e in ledger.export() if "attributes" in e}
        assert ledger.verify().ok
    assert kept == dict.fromkeys(["from-import", "from-record", "from-api"], EXACT)
    assert all(type(a["max"]) is int and type(a["float"]) is float for a in kept.values())
    exported = cli("export", "--db", seeded_url).stdout
    assert exported.count('"max":9223372036854775807,') == 3


@pytest.mark.parametrize(
    ("attributes", "code"),
    [
        ('{"a": 1, "a": 2}', "bad_json"),
        ('{"a": {"b": [{"c": 1, "c": 1}]}}', "bad_json"),
        ('{"n": 9223372036854775808}', "invalid_field"),
        ('{"n": 123456789012345678901234567890}', "invalid_field"),
    ],
    ids=["repeated-key", "repeated-key-deep", "2**63", "30-digits"],
)
def test_record_refuses_repeated_keys_and_wide_integers_in_attributes(
    seeded: Path, attributes: str, code: str
) -> None:
    with Ledger.open(seeded) as ledger:
        before = fingerprint(ledger)
    flags = ["--model", "uipath", "--type", "job", "--status", "Pending", "--occurred-at", "5"]
    result = cli("record", *flags, "--id", "j", "--attributes", attributes, "--db", str(seeded))
    assert result.exit_code == 1
    one_error_line(result.stderr, code)
    if code == "bad_json":
        assert "duplicate key 'a'" in result.stderr or "duplicate key 'c'" in result.stderr
    with Ledger.open(seeded) as ledger:
        assert fingerprint(ledger) == before


def test_sql_metacharacters_in_every_string_field_are_stored_verbatim(seeded_url: str) -> None:
    with Ledger.open(seeded_url) as ledger:
        others = ledger.views.dump() if ledger.views else []
        for n, text in enumerate(SQL):
            fields = {
                "model": "openfn",
                "type": "run",
                "id": f"{text}{n}",
                "parent": text,
                "status": "Pending",
                "occurred_at": "2024-05-01T10:00:00Z",
                "reason": text,
                "message": text,
                "actor": text,
                "event_id": f"{text}#{n}",
                "attributes": {text: text},
            }
            ledger.record(**fields)
            assert ledger.status("openfn", "run", f"{text}{n}", parent=text).parent == text
            assert [e["event_id"] for e in ledger.export() if e.get("reason") == text] == [
                f"{text}#{n}"
            ]
            [entry] = ledger.history("openfn", "run", f"{text}{n}", parent=text)
            assert entry.model_dump()["actor"] == text
            with pytest.raises(UnknownStatus):  # no model has it: it never reaches SQL
                ledger.list("openfn", "work_order", status=text)
            with pytest.raises(LedgerError) as caught:
                ledger.status("openfn", "run", text, parent=text)
            assert caught.value.code == "not_found"
        assert ledger.views is not None
        assert set(others) <= set(ledger.views.dump())
    assert_whole(seeded_url)


def test_no_sql_statement_interpolates_anything_but_table_name_constants() -> None:
    """Names a user writes (models, types, statuses, ids) travel as bound
    parameters only; an f-string in SQL may name tables and placeholder lists."""
    allowed = {"table", "source", "target", "marks", "COLUMNS", "LIVE", "NEXT"}
    offenders = []
    for path in [*ROOT.glob("ledger/*.py"), *ROOT.glob("projections/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("execute", "executemany")
                and node.args
            ):
                continue
            sql = node.args[0]
            for part in ast.walk(sql):
                if isinstance(part, ast.FormattedValue):
                    name = ast.unparse(part.value).split(".")[-1]
                    if name not in allowed and not name.isupper():
                        offenders.append(f"{path.name}:{node.lineno}: {ast.unparse(part.value)}")
            if isinstance(sql, ast.BinOp):
                offenders.append(f"{path.name}:{node.lineno}: SQL built with +")
    assert offenders == []


SQL_MODEL = """
name = "hostile"
version = 1
[types.task]
statuses = ["Robert'); DROP TABLE views;--", "x\\" OR 1=1 --", "done;--"]
initial = ["Robert'); DROP TABLE views;--"]
final = ["done;--"]
[types.task.transitions]
"Robert'); DROP TABLE views;--" = ["x\\" OR 1=1 --"]
"x\\" OR 1=1 --" = ["done;--"]
"""


def test_sql_metacharacters_in_user_model_status_names_never_reach_sql(
    seeded_url: str, tmp_path: Path
) -> None:
    source = tmp_path / "hostile.toml"
    source.write_text(SQL_MODEL)
    with Ledger.open(seeded_url) as ledger:
        ledger.add_model(source)
        for n, status in enumerate(["Robert'); DROP TABLE views;--", 'x" OR 1=1 --', "done;--"]):
            ledger.record(
                model="hostile", type="task", id="t'--", status=status, occurred_at=BASE_T + n
            )
        assert ledger.status("hostile", "task", "t'--").status.status == "done;--"
        assert [r.id for r in ledger.list("hostile", "task", status="done;--")] == ["t'--"]
        with pytest.raises(UnknownStatus):
            ledger.list("hostile", "task", status="' OR '1'='1")
    listed = cli("list", "hostile", "task", "--status", "DONE;--", "--json", "--db", seeded_url)
    assert listed.exit_code == 0, listed.output
    assert [r["id"] for r in orjson.loads(listed.stdout)] == ["t'--"]
    assert_whole(seeded_url)


BASE_T = 1_714_557_600
NONSENSE_MODELS = {
    "no initial status": '[types.t]\nstatuses = ["A", "B"]\nfinal = ["B"]\n'
    '[types.t.transitions]\nA = ["B"]\n',
    "unreachable final": '[types.t]\nstatuses = ["A", "B", "Z"]\ninitial = ["A"]\nfinal = ["Z"]\n'
    '[types.t.transitions]\nA = ["B"]\n',
    "unknown status in a transition": '[types.t]\nstatuses = ["A", "B"]\ninitial = ["A"]\n'
    'final = ["B"]\n[types.t.transitions]\nA = ["Nope"]\n',
    "no statuses": '[types.t]\ninitial = ["A"]\n',
    "no types": "",
    "statuses repeat by case": '[types.t]\nstatuses = ["A", "a"]\ninitial = ["A"]\n',
    "SQL in the type name": '[types."t\'; DROP TABLE views; --"]\nstatuses = ["A"]\n'
    'initial = ["A"]\n',
    "derived from nothing": '[types.t]\nderived = "last_child"\nchild = "ghost"\n',
    "not TOML": "[types.t\nstatuses = ",
}


@pytest.mark.parametrize("name", list(NONSENSE_MODELS))
def test_a_model_that_makes_no_sense_is_refused_whole(
    seeded: Path, tmp_path: Path, name: str
) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    text = 'name = "nonsense"\nversion = 1\n' + NONSENSE_MODELS[name]
    (folder / "nonsense.toml").write_text(text)
    with Ledger.open(seeded) as ledger:
        before = (fingerprint(ledger), ledger.store.saved_models())
        with pytest.raises(LedgerError) as caught:
            ledger.add_model(folder / "nonsense.toml")
        assert caught.value.code == "invalid_model"
        assert (fingerprint(ledger), ledger.store.saved_models()) == before
    result = cli("models", "list", "--models", str(folder), "--db", str(seeded))
    assert result.exit_code == 1
    one_error_line(result.stderr, "invalid_model")


def test_a_model_named_with_sql_is_refused(seeded: Path, tmp_path: Path) -> None:
    source = tmp_path / "m.toml"
    source.write_text(
        'name = "x\'); DROP TABLE ledger_models; --"\n[types.t]\n'
        'statuses = ["A"]\ninitial = ["A"]\n'
    )
    with Ledger.open(seeded) as ledger, pytest.raises(LedgerError) as caught:
        ledger.add_model(source)
    assert caught.value.code == "invalid_model"


HIJACK = (
    'name = "openfn"\n[types.t]\nstatuses = ["A", "B"]\ninitial = ["A"]\nfinal = ["B"]\n'
    '[types.t.transitions]\nA = ["B"]\n'
)


def test_a_model_that_would_strand_stored_events_is_refused(seeded: Path, tmp_path: Path) -> None:
    """A user model named like a built-in one that has events must still read
    them; otherwise their views would vanish on the next rebuild."""
    source = tmp_path / "openfn.toml"
    source.write_text(HIJACK)
    with Ledger.open(seeded) as ledger:
        before = (fingerprint(ledger), ledger.store.saved_models())
        with pytest.raises(LedgerError) as caught:
            ledger.add_model(source)
        assert caught.value.code == "invalid_model"
        assert (fingerprint(ledger), ledger.store.saved_models()) == before
    result = cli("models", "add", str(source), "--db", str(seeded))
    assert result.exit_code == 1
    one_error_line(result.stderr, "invalid_model")
    assert_whole(seeded)


def test_a_new_version_that_keeps_every_stored_status_replaces_the_old(
    seeded: Path, tmp_path: Path
) -> None:
    source = tmp_path / "hostile.toml"
    source.write_text(SQL_MODEL)
    newer = tmp_path / "hostile2.toml"
    newer.write_text(
        SQL_MODEL.replace("version = 1", "version = 2")
        .replace('"done;--"]\ninitial', '"done;--", "later"]\ninitial')
        .replace('= ["done;--"]\n', '= ["done;--", "later"]\n')
    )
    with Ledger.open(seeded) as ledger:
        ledger.add_model(source)
        ledger.record(
            model="hostile",
            type="task",
            id="t",
            occurred_at=BASE_T,
            status="Robert'); DROP TABLE views;--",
        )
        assert ledger.add_model(newer).version == 2
    assert_whole(seeded)


# -- database files ----------------------------------------------------------

WRITE = (
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
COMMANDS = [
    ("verify",),
    ("status", "uipath", "job", "job-1"),
    ("list", "uipath", "job"),
    ("export",),
    ("rebuild",),
    WRITE,
]


def _all_commands_fail(db: Path, code: str) -> None:
    before = db.read_bytes()
    for command in COMMANDS:
        result = cli(*command, "--db", str(db))
        assert result.exit_code == 1, (command, result.output)
        one_error_line(result.stderr, code)
    assert db.read_bytes() == before


def test_random_bytes_are_not_a_ledger(tmp_path: Path) -> None:
    db = tmp_path / "random.db"
    db.write_bytes(os.urandom(16384))
    _all_commands_fail(db, "not_a_ledger")


def test_another_sqlite_database_is_not_a_ledger_and_is_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE customers (name TEXT)")
    conn.execute("INSERT INTO customers VALUES ('alice')")
    conn.commit()
    conn.close()
    _all_commands_fail(db, "not_a_ledger")


@pytest.mark.parametrize("keep", [0.02, 0.5, 0.97])
def test_a_truncated_ledger_is_refused(seeded: Path, tmp_path: Path, keep: float) -> None:
    whole = seeded.read_bytes()
    db = tmp_path / "truncated.db"
    db.write_bytes(whole[: int(len(whole) * keep) // 4096 * 4096 or 100])
    _all_commands_fail(db, "not_a_ledger")


@pytest.mark.parametrize("value", ["99", "two", ""])
def test_a_ledger_from_a_newer_or_unknown_store_format_is_refused(seeded: Path, value: str) -> None:
    conn = sqlite3.connect(seeded)
    conn.execute("UPDATE ledger_meta SET value = ? WHERE key = 'store_format'", (value,))
    conn.commit()
    conn.close()
    _all_commands_fail(seeded, "newer_schema" if value == "99" else "not_a_ledger")


def test_a_directory_is_not_a_ledger(tmp_path: Path) -> None:
    result = cli("verify", "--db", str(tmp_path))
    assert result.exit_code == 1
    one_error_line(result.stderr, "not_a_ledger")


def test_a_missing_directory_is_a_store_error_not_a_traceback(tmp_path: Path) -> None:
    result = cli("init", "--db", str(tmp_path / "no" / "such" / "ledger.db"))
    assert result.exit_code == 1
    one_error_line(result.stderr, "store_error")


def test_a_path_with_uri_characters_is_a_plain_file_name(seeded: Path, tmp_path: Path) -> None:
    db = tmp_path / "we?ird#name%20&mode=ro.db"
    shutil.copy(seeded, db)
    assert cli(*WRITE, "--db", str(db)).exit_code == 0
    assert cli("status", "uipath", "job", "new", "--db", str(db)).exit_code == 0
    assert_whole(db)


@pytest.fixture
def mount(tmp_path: Path) -> Iterator[Any]:
    """Mount a tmpfs (as root) and unmount it afterwards; skip where we may not."""
    mounted: list[Path] = []

    def do(size: str) -> Path:
        point = tmp_path / f"mnt{len(mounted)}"
        point.mkdir()
        if (
            os.geteuid() != 0
            or subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
                capture_output=True,
            ).returncode
        ):
            pytest.skip("needs root and tmpfs to mount a small or read-only file system")
        mounted.append(point)
        return point

    yield do
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)


def test_a_read_only_ledger_is_readable_and_refuses_writes(seeded: Path, mount: Any) -> None:
    point = mount("4m")
    db = point / "ledger.db"
    shutil.copy(seeded, db)
    subprocess.run(["mount", "-o", "remount,ro", str(point)], check=True)
    for command in COMMANDS[:4]:
        result = cli(*command, "--db", str(db))
        assert result.exit_code == 0, (command, result.output)
    for command in (WRITE, ("rebuild",)):
        result = cli(*command, "--db", str(db))
        assert result.exit_code == 1
        one_error_line(result.stderr, "read_only")
    assert db.read_bytes() == seeded.read_bytes()


def test_a_full_disk_is_disk_full_with_whole_batches_only_and_recovers(
    tmp_path: Path, mount: Any
) -> None:
    point = mount("16m")
    db = point / "ledger.db"
    assert cli("init", "--db", str(db)).exit_code == 0
    filler = point / "filler"
    stat = os.statvfs(point)
    filler.write_bytes(b"\0" * (stat.f_bavail * stat.f_frsize - 384 * 1024))
    events = history(100, 9)
    source = tmp_path / "many.jsonl"
    source.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    result = cli("import", str(source), "--batch-size", "50", "--db", str(db))
    assert result.exit_code == 1, result.output
    one_error_line(result.stderr, "disk_full")
    verified = cli("verify", "--db", str(db))
    assert verified.exit_code == 0, verified.output
    with Ledger.open(db) as ledger:
        stored = len(list(ledger.export()))
    assert stored % 50 == 0
    assert stored > 0
    filler.unlink()
    again = cli("import", str(source), "--batch-size", "50", "--db", str(db))
    assert again.exit_code == 0, again.output
    assert_whole(db, events)


def test_a_size_limited_database_file_is_disk_full_and_still_verifies(
    seeded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The portable twin of the tmpfs test: SQLite's max_page_count caps the file."""
    from eventsourcing.sqlite import SQLiteConnectionPool

    pages = os.path.getsize(seeded) // 4096 + 60
    create = SQLiteConnectionPool._create_connection

    def capped(pool: SQLiteConnectionPool) -> Any:
        connection = create(pool)
        connection._sqlite_conn.execute(f"PRAGMA max_page_count = {pages}")
        return connection

    monkeypatch.setattr(SQLiteConnectionPool, "_create_connection", capped)
    with Ledger.open(seeded) as ledger:
        before = len(list(ledger.export()))
        events = history(200, 4, prefix="capped-")
        with pytest.raises(LedgerError) as caught:
            ledger.append(events, batch_size=25)
        assert caught.value.code == "disk_full"
        assert ledger.verify().ok
        stored = len(list(ledger.export()))
        assert (stored - before) % 25 == 0
        assert stored > before
        last = ledger.store.head()
        with pytest.raises(LedgerError):
            ledger.record(
                model="uipath",
                type="job",
                id="late",
                status="Pending",
                occurred_at="2024-05-01T10:00:00Z",
                attributes={"x": "y" * 500_000},
            )
        assert ledger.store.head() == last
    monkeypatch.undo()
    assert_whole(seeded)

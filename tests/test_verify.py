"""Tamper evidence (spec section 6): any edit or deletion made behind the
ledger's back, here straight into the database (tests/_tamper.py), makes
`status-ledger verify` exit 1, name the first broken seq and say what broke
with a stable code, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from _spec import cli, event
from _tamper import put_state, rewrite_state, sql, state

from ledger import Ledger, VerifyReport

EVENTS = [
    event("uipath", "job", "j-1", "Pending", 0),
    event("uipath", "job", "j-1", "Running", 1),
    event("uipath", "job", "j-2", "Pending", 2),
    event("uipath", "job", "j-1", "Successful", 3),
    event("uipath", "job", "j-2", "Running", 4),
]


@pytest.fixture
def db(ledger_url: str) -> str:
    with Ledger.open(ledger_url) as ledger:
        assert ledger.append(EVENTS).accepted == len(EVENTS)
    return ledger_url


def _verify(db: str, *options: str) -> tuple[int, dict[str, object], str]:
    as_json = cli("verify", "--json", *options, "--db", db)
    plain = cli("verify", *options, "--db", db)
    assert as_json.exit_code == plain.exit_code, plain.output
    return plain.exit_code, json.loads(as_json.stdout), plain.stdout


def _broken(db: str, *options: str) -> tuple[int | None, str | None]:
    """(first broken seq, code) of a verify that must fail."""
    code, report, text = _verify(db, *options)
    assert code == 1 and report["ok"] is False, text
    assert report["code"] in VerifyReport.CODES and f": {report['code']}: " in text
    seq = report["first_broken_seq"]
    assert seq is None or isinstance(seq, int)
    return seq, str(report["code"])


def test_an_intact_ledger_verifies_with_exit_0(db: str) -> None:
    code, report, text = _verify(db)
    assert code == 0
    assert report["ok"] is True and report["events"] == 5 and report["first_broken_seq"] is None
    assert text.startswith("chain intact: 5 events")


def test_an_empty_ledger_verifies(ledger_url: str) -> None:
    assert cli("init", "--db", ledger_url).exit_code == 0
    assert _verify(ledger_url)[0] == 0


def test_a_status_edited_in_place_as_text_is_found(sqlite_url: str) -> None:
    with Ledger.open(sqlite_url) as ledger:
        ledger.append(EVENTS)
    sql(
        sqlite_url,
        "UPDATE stored_events SET state = replace(state, 'Successful', 'Faulted') WHERE rowid = 4",
    )
    code, report, text = _verify(sqlite_url)
    assert (code, report["first_broken_seq"], report["code"]) == (1, 4, "hash_mismatch")
    assert "seq 4" in text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", "Faulted"),
        ("occurred_at", 1_700_000_555),
        ("actor", "mallory"),
        ("recorded_at", "2020-01-01T00:00:00.000000Z"),
    ],
)
def test_any_field_edited_in_place_is_found_at_its_seq(db: str, field: str, value: object) -> None:
    rewrite_state(db, 2, lambda data: data.__setitem__(field, value))
    assert _broken(db) == (2, "hash_mismatch")


def _forge(data: dict[str, object]) -> None:
    """Change the status and recompute the event's own hash (not the links after it)."""
    from ledger._event import chain_hash

    data["status"] = "Faulted"
    body = {k: v for k, v in data.items() if k not in ("prev_hash", "hash")}
    data["hash"] = chain_hash(str(data["prev_hash"]), body)


def test_an_edit_whose_hash_was_recomputed_is_found_by_its_idempotency_key(db: str) -> None:
    rewrite_state(db, 3, _forge)
    assert _broken(db) == (3, "key_mismatch")


def test_an_edit_whose_hash_and_key_were_recomputed_breaks_the_next_link(db: str) -> None:
    from ledger._event import LEDGER_FIELDS, content_digest

    rewrite_state(db, 3, _forge)
    data = state(db, 3)
    content = {k: v for k, v in data.items() if k not in LEDGER_FIELDS and k != "event_id"}
    sql(db, "UPDATE ledger_event_ids SET digest = ? WHERE seq = 3", content_digest(content))
    assert _broken(db) == (4, "prev_hash_mismatch")


def test_a_deleted_middle_row_is_found_at_its_seq(db: str) -> None:
    sql(db, "DELETE FROM stored_events WHERE {nid} = 3")
    code, report, text = _verify(db)
    assert (code, report["first_broken_seq"], report["code"]) == (1, 3, "seq_mismatch")
    assert "seq 3" in text


def test_a_deleted_last_row_is_found(db: str) -> None:
    sql(db, "DELETE FROM stored_events WHERE {nid} = 5")
    assert _broken(db) == (5, "tail_missing")


def test_a_deleted_last_row_is_found_even_when_the_head_was_rewound(db: str) -> None:
    sql(db, "DELETE FROM stored_events WHERE {nid} = 5")
    sql(db, "UPDATE ledger_head SET seq = 4, hash = ?", state(db, 4)["hash"])
    assert _broken(db) == (5, "key_orphan")


def test_a_row_moved_to_another_entity_is_found(db: str) -> None:
    sql(db, "UPDATE stored_events SET originator_id = ? WHERE {nid} = 2", '["uipath","job","j-9"]')
    assert _broken(db) == (2, "stream_key_mismatch")


# -- issue 22, item 2: every stored column, the head and every key --------------


def test_an_originator_id_spelled_differently_is_found(db: str) -> None:
    """The same JSON array with a space: the old check parsed the key and passed it,
    while reads and rules look the stream up by its exact text, so j-1's history
    lost its Successful event and a second Successful was then accepted."""
    sql(db, "UPDATE stored_events SET originator_id = ? WHERE {nid} = 4", '["uipath", "job","j-1"]')
    assert _broken(db) == (4, "stream_key_mismatch")


def test_a_rewound_head_with_its_key_deleted_is_found(db: str) -> None:
    """Verify said intact here, and every write after it failed with store_error
    (the next seq collided with the stored event 5)."""
    four = state(db, 4)
    sql(
        db,
        "UPDATE ledger_head SET seq = 4, hash = ?, recorded_at = ?",
        four["hash"],
        four["recorded_at"],
    )
    sql(db, "DELETE FROM ledger_event_ids WHERE seq = 5")
    assert _broken(db) == (5, "key_missing")


def test_a_rewound_head_alone_is_found(db: str) -> None:
    four = state(db, 4)
    sql(
        db,
        "UPDATE ledger_head SET seq = 4, hash = ?, recorded_at = ?",
        four["hash"],
        four["recorded_at"],
    )
    assert _broken(db) == (5, "head_mismatch")


@pytest.mark.parametrize("column", ["hash", "recorded_at"])
def test_a_head_altered_at_the_right_seq_is_found(db: str, column: str) -> None:
    sql(db, f"UPDATE ledger_head SET {column} = ?", "f" * 64)
    assert _broken(db) == (5, "head_mismatch")


def test_swapped_idempotency_keys_are_found(db: str) -> None:
    """Swapped keys were only counted: the count still matched."""
    (two,) = sql(db, "SELECT digest FROM ledger_event_ids WHERE seq = 2")
    (three,) = sql(db, "SELECT digest FROM ledger_event_ids WHERE seq = 3")
    sql(db, "UPDATE ledger_event_ids SET digest = ?, seq = 0 WHERE seq = 2", three[0])
    sql(db, "UPDATE ledger_event_ids SET digest = ?, seq = 2 WHERE seq = 3", two[0])
    sql(db, "UPDATE ledger_event_ids SET seq = 3 WHERE seq = 0")
    assert _broken(db) == (2, "key_mismatch")


@pytest.mark.parametrize(
    ("change", "params"),
    [("digest = ?", ("0" * 64,)), ("seq = ?", (4,))],
    ids=["digest", "seq"],
)
def test_an_altered_idempotency_key_is_found(
    db: str, change: str, params: tuple[object, ...]
) -> None:
    sql(db, f"UPDATE ledger_event_ids SET {change} WHERE seq = 2", *params)
    assert _broken(db) == (2, "key_mismatch")


def test_an_idempotency_key_without_an_event_is_found(db: str) -> None:
    """A planted key makes a later event with that id a silent 'duplicate'."""
    sql(db, "INSERT INTO ledger_event_ids VALUES ('planted', ?, 3)", "0" * 64)
    seq, code = _broken(db)
    assert (seq, code) == (3, "key_orphan")
    assert "'planted'" in _verify(db)[2]


def test_a_changed_topic_is_found(db: str) -> None:
    sql(db, "UPDATE stored_events SET topic = 'somewhere.else:Event' WHERE {nid} = 3")
    assert _broken(db) == (3, "topic_mismatch")


def test_a_changed_originator_version_is_found(db: str) -> None:
    sql(db, "UPDATE stored_events SET originator_version = 7 WHERE {nid} = 4")
    assert _broken(db) == (4, "version_mismatch")


def test_a_state_rewritten_in_another_byte_form_is_found(db: str) -> None:
    data = state(db, 2)
    text = json.dumps(data, indent=1).encode()
    sql(db, "UPDATE stored_events SET state = ? WHERE {nid} = 2", text)
    assert _broken(db) == (2, "noncanonical_state")


def test_a_state_that_is_not_json_is_found(db: str) -> None:
    sql(db, "UPDATE stored_events SET state = ? WHERE {nid} = 2", b"not json")
    assert _broken(db) == (2, "unreadable_event")


def test_an_sqlite_row_moved_to_another_rowid_is_found(sqlite_url: str) -> None:
    """On SQLite an event's rowid is its seq: the views' tracking and the next
    write's insert both count on it."""
    with Ledger.open(sqlite_url) as ledger:
        ledger.append(EVENTS)
    sql(sqlite_url, "UPDATE stored_events SET rowid = 9 WHERE rowid = 5")
    assert _broken(sqlite_url) == (5, "position_mismatch")


def test_two_events_swapped_in_notification_order_are_found(db: str) -> None:
    four, five = state(db, 4), state(db, 5)
    put_state(db, 4, five)
    put_state(db, 5, four)
    assert _broken(db) == (4, "seq_mismatch")


def test_verify_reads_a_large_store_page_by_page(ledger_url: str) -> None:
    """More events than one page (5000), with a key broken on the second page."""
    events = [event("uipath", "job", f"j-{i}", "Pending", i) for i in range(6001)]
    with Ledger.open(ledger_url) as ledger:
        ledger.append(events, batch_size=2000)
        assert ledger.verify().ok
    sql(ledger_url, "UPDATE ledger_event_ids SET digest = ? WHERE seq = 5999", "0" * 64)
    assert _broken(ledger_url) == (5999, "key_mismatch")


# -- issue 22, item 6: damage to the file itself -------------------------------


@pytest.mark.parametrize("name", ["views_by_status", "views", "ledger_event_ids"])
def test_bytes_flipped_in_an_index_page_are_corrupt_store(
    sqlite_url: str, tmp_path: Path, name: str
) -> None:
    """A damaged index or view page is read by no chain check: the chain said
    intact. verify runs SQLite's quick_check first."""
    with Ledger.open(sqlite_url) as ledger:
        ledger.append(EVENTS)
    with sqlite3.connect(sqlite_url) as conn:
        (page_size,) = conn.execute("PRAGMA page_size").fetchone()
        (root,) = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = ?", (name,)
        ).fetchone()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    copy = tmp_path / "copy.db"
    shutil.copy(sqlite_url, copy)
    data = bytearray(copy.read_bytes())
    start = (root - 1) * page_size
    for offset in range(start + 8, start + 24):  # the page's cell pointers
        data[offset] ^= 0xFF
    copy.write_bytes(bytes(data))
    result = cli("verify", "--db", str(copy))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: corrupt_store: ") and "quick_check" in result.stderr
    assert cli("verify", "--db", sqlite_url).exit_code == 0


# -- issue 22, item 2: the views against a rebuild -----------------------------


def test_views_that_match_a_rebuild_verify(db: str) -> None:
    code, report, text = _verify(db, "--views")
    assert code == 0 and text.startswith("chain intact: 5 events")
    assert "views match a rebuild" in text
    assert report["view_differences"] == []
    views = report["views"]
    assert isinstance(views, list)
    assert [(v["view"], v["live_rows"], v["candidate_rows"]) for v in views] == [
        ("uipath/job", 2, 2)
    ]


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ("row = replace(row, 'Successful', 'Faulted')", ["status.status", "statuses"]),
        ("status = 'Faulted'", ["[status]"]),
    ],
    ids=["public row", "status column"],
)
def test_a_view_row_edited_is_listed_and_the_live_views_stay_as_they_are(
    db: str, change: str, fields: list[str]
) -> None:
    sql(db, f"UPDATE views SET {change} WHERE id = 'j-1'")
    before = sql(db, "SELECT * FROM views ORDER BY id")
    assert _verify(db)[0] == 0  # the chain itself is intact
    code, report, text = _verify(db, "--views")
    assert code == 1 and report["code"] == "views_differ" and report["first_broken_seq"] is None
    differences = report["view_differences"]
    assert isinstance(differences, list) and len(differences) == 1
    assert differences[0]["id"] == "j-1" and differences[0]["kind"] == "changed"
    assert [c["field"] for c in differences[0]["changes"]] == fields
    assert "uipath/job j-1: changed" in text
    assert sql(db, "SELECT * FROM views ORDER BY id") == before


def test_a_view_row_deleted_is_listed(db: str) -> None:
    sql(db, "DELETE FROM views WHERE id = 'j-2'")
    report = _verify(db, "--views")[1]
    differences = report["view_differences"]
    assert isinstance(differences, list)
    assert [(d["id"], d["kind"]) for d in differences] == [("j-2", "added")]

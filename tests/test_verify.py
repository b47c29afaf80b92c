"""Tamper evidence (spec section 6): any edit or deletion made behind the
ledger's back, here with plain `sqlite3` on the database file, makes
`status-ledger verify` exit 1 and name the first broken seq."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable

import orjson
import pytest
from _spec import cli, event

from ledger import Ledger

EVENTS = [
    event("uipath", "job", "j-1", "Pending", 0),
    event("uipath", "job", "j-1", "Running", 1),
    event("uipath", "job", "j-2", "Pending", 2),
    event("uipath", "job", "j-1", "Successful", 3),
    event("uipath", "job", "j-2", "Running", 4),
]


@pytest.fixture
def db(sqlite_url: str) -> str:
    with Ledger.open(sqlite_url) as ledger:
        assert ledger.append(EVENTS).accepted == len(EVENTS)
    return sqlite_url


def _verify(db: str) -> tuple[int, dict[str, object], str]:
    as_json = cli("verify", "--json", "--db", db)
    plain = cli("verify", "--db", db)
    assert as_json.exit_code == plain.exit_code
    return plain.exit_code, json.loads(as_json.stdout), plain.stdout


def _sql(db: str, statement: str, *params: object) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute(statement, params)
    conn.close()


def _rewrite_state(db: str, seq: int, change: Callable[[dict[str, object]], None]) -> None:
    with sqlite3.connect(db) as conn:
        query = "SELECT state FROM stored_events WHERE rowid = ?"
        (state,) = conn.execute(query, (seq,)).fetchone()
        data = orjson.loads(state)
        change(data)
        conn.execute(
            "UPDATE stored_events SET state = ? WHERE rowid = ?",
            (orjson.dumps(data, option=orjson.OPT_SORT_KEYS), seq),
        )
    conn.close()


def test_an_intact_ledger_verifies_with_exit_0(db: str) -> None:
    code, report, text = _verify(db)
    assert code == 0
    assert report["ok"] is True and report["events"] == 5 and report["first_broken_seq"] is None
    assert text.startswith("chain intact: 5 events")


def test_an_empty_ledger_verifies(sqlite_url: str) -> None:
    assert cli("init", "--db", sqlite_url).exit_code == 0
    assert _verify(sqlite_url)[0] == 0


def test_a_status_edited_in_place_as_text_is_found(db: str) -> None:
    _sql(
        db,
        "UPDATE stored_events SET state = replace(state, 'Successful', 'Faulted') WHERE rowid = 4",
    )
    code, report, text = _verify(db)
    assert (code, report["first_broken_seq"]) == (1, 4)
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
    _rewrite_state(db, 2, lambda data: data.__setitem__(field, value))
    code, report, _ = _verify(db)
    assert (code, report["first_broken_seq"]) == (1, 2)


def test_an_edit_whose_hash_was_recomputed_breaks_the_next_link(db: str) -> None:
    from ledger._event import chain_hash

    def forge(data: dict[str, object]) -> None:
        data["status"] = "Faulted"
        body = {k: v for k, v in data.items() if k not in ("prev_hash", "hash")}
        data["hash"] = chain_hash(str(data["prev_hash"]), body)

    _rewrite_state(db, 3, forge)
    code, report, _ = _verify(db)
    assert (code, report["first_broken_seq"]) == (1, 4)


def test_a_deleted_middle_row_is_found_at_its_seq(db: str) -> None:
    _sql(db, "DELETE FROM stored_events WHERE rowid = 3")
    code, report, text = _verify(db)
    assert (code, report["first_broken_seq"]) == (1, 3)
    assert "seq 3" in text


def test_a_deleted_last_row_is_found(db: str) -> None:
    _sql(db, "DELETE FROM stored_events WHERE rowid = 5")
    code, report, _ = _verify(db)
    assert (code, report["first_broken_seq"]) == (1, 5)


def test_a_deleted_last_row_is_found_even_when_the_head_was_rewound(db: str) -> None:
    with sqlite3.connect(db) as conn:
        (state,) = conn.execute("SELECT state FROM stored_events WHERE rowid = 4").fetchone()
        conn.execute("DELETE FROM stored_events WHERE rowid = 5")
        conn.execute("UPDATE ledger_head SET seq = 4, hash = ?", (orjson.loads(state)["hash"],))
    conn.close()
    code, report, _ = _verify(db)
    assert (code, report["first_broken_seq"]) == (1, 5)


def test_a_row_moved_to_another_entity_is_found(db: str) -> None:
    _sql(db, "UPDATE stored_events SET originator_id = ? WHERE rowid = 2", '["uipath","job","j-9"]')
    code, report, _ = _verify(db)
    assert (code, report["first_broken_seq"]) == (1, 2)

"""The view table: one plain row per entity (the public JSON row plus its trail of
marks), in the same database as the events so that a view update and its
tracking record commit together. SQL here is portable between SQLite and
PostgreSQL and always parameterised."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from ledger import Cursor

from ._entity import Mark, Row

LIVE = "views"
NEXT = "views_next"
COLUMNS = "model, type, parent, id, status, final, row, trail"


def create_table(cursor: Cursor, table: str, *, indexes: bool) -> None:
    cursor.execute(
        f"CREATE TABLE IF NOT EXISTS {table} ("
        "model TEXT NOT NULL, type TEXT NOT NULL, parent TEXT NOT NULL, id TEXT NOT NULL, "
        "status TEXT NOT NULL, final INTEGER NOT NULL, row TEXT NOT NULL, trail TEXT NOT NULL, "
        "PRIMARY KEY (model, type, parent, id))"
    )
    if indexes:
        create_indexes(cursor, table)


def create_indexes(cursor: Cursor, table: str) -> None:
    cursor.execute(f"CREATE INDEX IF NOT EXISTS {table}_by_id ON {table} (model, type, id)")
    cursor.execute(f"CREATE INDEX IF NOT EXISTS {table}_by_status ON {table} (model, type, status)")


Encoded = tuple[str, str, str, str, str, int, str, str]


def encode(row: Row, trail: Sequence[Mark]) -> Encoded:
    """A row (in its JSON form) and its trail as the table's columns."""
    return (
        row["model"],
        row["type"],
        row["parent"] or "",
        row["id"],
        row["status"]["status"],
        1 if row["final"] else 0,
        orjson.dumps(row, option=orjson.OPT_SORT_KEYS).decode(),
        orjson.dumps([m.to_list() for m in trail]).decode(),
    )


def upsert(cursor: Cursor, table: str, rows: Sequence[Encoded]) -> None:
    if rows:
        cursor.executemany(
            f"INSERT INTO {table} ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (model, type, parent, id) DO UPDATE SET status = excluded.status, "
            "final = excluded.final, row = excluded.row, trail = excluded.trail",
            rows,
        )


def delete(cursor: Cursor, table: str, model: str, type_name: str, parent: str, id_: str) -> None:
    cursor.execute(
        f"DELETE FROM {table} WHERE model = ? AND type = ? AND parent = ? AND id = ?",
        (model, type_name, parent, id_),
    )


def children(
    cursor: Cursor, table: str, model: str, type_name: str, parent: str
) -> list[tuple[dict[str, Any], list[list[Any]]]]:
    cursor.execute(
        f"SELECT row, trail FROM {table} WHERE model = ? AND type = ? AND parent = ? ORDER BY id",
        (model, type_name, parent),
    )
    return [(orjson.loads(r), orjson.loads(t)) for r, t in cursor.fetchall()]


def parents(cursor: Cursor, table: str, model: str, type_name: str) -> list[str]:
    """Every parent of the type's rows, once each, in the database's order."""
    cursor.execute(
        f"SELECT DISTINCT parent FROM {table} WHERE model = ? AND type = ? ORDER BY parent",
        (model, type_name),
    )
    return [parent for (parent,) in cursor.fetchall()]


def find(
    cursor: Cursor, model: str, type_name: str, id_: str, parent: str | None
) -> list[dict[str, Any]]:
    if parent is None:
        cursor.execute(
            f"SELECT row FROM {LIVE} WHERE model = ? AND type = ? AND id = ?",
            (model, type_name, id_),
        )
    else:
        cursor.execute(
            f"SELECT row FROM {LIVE} WHERE model = ? AND type = ? AND id = ? AND parent = ?",
            (model, type_name, id_, parent),
        )
    return [orjson.loads(r) for (r,) in cursor.fetchall()]


def select(
    cursor: Cursor,
    model: str,
    type_name: str,
    *,
    status: str | None = None,
    parent: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    after: tuple[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Rows in (parent, id) order; `after` is the key of the row before the page."""
    sql, params = _filtered(f"SELECT row FROM {LIVE}", model, type_name, status, parent, after)
    sql += " ORDER BY parent, id"
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params += [limit, offset]
    cursor.execute(sql, params)
    return [orjson.loads(r) for (r,) in cursor.fetchall()]


def count(
    cursor: Cursor,
    model: str,
    type_name: str,
    *,
    status: str | None = None,
    parent: str | None = None,
    after: tuple[str, str] | None = None,
) -> int:
    sql, params = _filtered(f"SELECT COUNT(*) FROM {LIVE}", model, type_name, status, parent, after)
    cursor.execute(sql, params)
    found = cursor.fetchone()
    return int(found[0]) if found else 0


def _filtered(
    head: str,
    model: str,
    type_name: str,
    status: str | None,
    parent: str | None,
    after: tuple[str, str] | None,
) -> tuple[str, list[Any]]:
    """`head` and the WHERE clause of the filters, every value a parameter."""
    sql = head + " WHERE model = ? AND type = ?"
    params: list[Any] = [model, type_name]
    if status is not None:
        sql += " AND status = ?"
        params.append(status)
    if parent is not None:
        sql += " AND parent = ?"
        params.append(parent)
    if after is not None:
        sql += " AND (parent > ? OR (parent = ? AND id > ?))"
        params += [after[0], after[0], after[1]]
    return sql, params


def dump(cursor: Cursor, table: str = LIVE) -> list[tuple[Any, ...]]:
    """Every row in key order: what 'byte-identical views' compares."""
    cursor.execute(f"SELECT {COLUMNS} FROM {table} ORDER BY model, type, parent, id")
    return cursor.fetchall()

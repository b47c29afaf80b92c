"""The view table: one plain row per entity (the public JSON row plus its trail of
marks), in the same database as the events so that a view update and its
tracking record commit together. Every statement the projections run is here:
portable between SQLite and PostgreSQL and always parameterised."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from ledger.spi import Cursor, views_indexes, views_table

from ._derived import Child, child_from_row
from ._entity import Mark, Row

LIVE = "views"
NEXT = "views_next"
COLUMNS = "model, type, parent, id, status, final, row, trail"
TRACKING = "views"
"""The views' tracking record (eventsourcing's `tracking` table, by application name)."""
REBUILD_CLAIM = "rebuild_claim"
"""The `ledger_meta` key naming the rebuild that owns `views_next`."""
PAGE = 5000
REBUILD_BUFFER_EVENTS = 50_000
"""A rebuild writes its rows when they cover this many events, not only every PAGE
rows: a row's trail holds every status of its entity, so counting rows alone lets
memory grow with the events per entity instead of staying flat."""


def create_table(cursor: Cursor, table: str, *, indexes: bool) -> None:
    """The table's DDL is the store's (ledger/store/_schema.py), with every other
    table the database holds."""
    cursor.execute(views_table(table))
    if indexes:
        create_indexes(cursor, table)


def create_indexes(cursor: Cursor, table: str) -> None:
    for statement in views_indexes(table):
        cursor.execute(statement)


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


def start_rebuild(cursor: Cursor, claim: str) -> None:
    """Claim `views_next` for one rebuild and start it empty."""
    cursor.execute(
        "INSERT INTO ledger_meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (REBUILD_CLAIM, claim),
    )
    cursor.execute(f"DROP TABLE IF EXISTS {NEXT}")
    create_table(cursor, NEXT, indexes=False)


def rebuild_claim(cursor: Cursor) -> str | None:
    cursor.execute("SELECT value FROM ledger_meta WHERE key = ?", (REBUILD_CLAIM,))
    row = cursor.fetchone()
    return None if row is None else str(row[0])


def end_rebuild(cursor: Cursor) -> None:
    cursor.execute("DELETE FROM ledger_meta WHERE key = ?", (REBUILD_CLAIM,))


def swap(cursor: Cursor, selected: set[tuple[str, str]] | None) -> None:
    """`views_next` becomes the live views: all of them, or the `selected` types'."""
    if selected is None:
        cursor.execute(f"DROP TABLE {LIVE}")
        cursor.execute(f"ALTER TABLE {NEXT} RENAME TO {LIVE}")
        create_indexes(cursor, LIVE)
        return
    for model, type_name in sorted(selected):
        cursor.execute(f"DELETE FROM {LIVE} WHERE model = ? AND type = ?", (model, type_name))
    cursor.execute(f"INSERT INTO {LIVE} ({COLUMNS}) SELECT {COLUMNS} FROM {NEXT}")
    cursor.execute(f"DROP TABLE {NEXT}")


def children_by_parent(
    cursor: Cursor,
    source: str,
    model: str,
    child: str,
    first: str | None = None,
    last: str | None = None,
) -> dict[str, list[Child]]:
    """The children of the parents from `first` to `last` in the database's order
    (None: every parent)."""
    if first is None or last is None:
        cursor.execute(
            f"SELECT parent, row, trail FROM {source} WHERE model = ? AND type = ? "
            "ORDER BY parent, id",
            (model, child),
        )
    else:
        cursor.execute(
            f"SELECT parent, row, trail FROM {source} WHERE model = ? AND type = ? "
            "AND parent >= ? AND parent <= ? ORDER BY parent, id",
            (model, child, first, last),
        )
    out: dict[str, list[Child]] = {}
    for parent, row, trail in cursor.fetchall():
        out.setdefault(parent, []).append(child_from_row(orjson.loads(row), orjson.loads(trail)))
    return out

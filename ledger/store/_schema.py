"""Every table the ledger's database holds, in one place: the ledger's own
bookkeeping (SQLite and PostgreSQL spellings), the HTTP service's API tokens and
the views with their indexes. eventsourcing creates its own `stored_events` and
`tracking` tables (store/_sqlite.py, store/_postgres.py)."""

from __future__ import annotations

SQLITE_LEDGER_TABLES = (
    "CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ledger_event_ids ("
    "event_id TEXT PRIMARY KEY, digest TEXT NOT NULL, seq INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS ledger_head ("
    "id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL, "
    "recorded_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ledger_models ("
    "name TEXT PRIMARY KEY, version INTEGER NOT NULL, source TEXT NOT NULL, "
    "added_at TEXT NOT NULL)",
)

POSTGRES_LEDGER_TABLES = (
    "CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ledger_event_ids ("
    "event_id TEXT PRIMARY KEY, digest TEXT NOT NULL, seq BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ledger_head ("
    "id INTEGER PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL, hash TEXT NOT NULL, "
    "recorded_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ledger_models ("
    "name TEXT PRIMARY KEY, version INTEGER NOT NULL, source TEXT NOT NULL, "
    "added_at TEXT NOT NULL)",
)

TOKENS_TABLE = (
    "CREATE TABLE IF NOT EXISTS ledger_tokens ("
    "name TEXT PRIMARY KEY, role TEXT NOT NULL, digest TEXT NOT NULL UNIQUE, "
    "created_at TEXT NOT NULL, revoked_at TEXT)"
)
"""API tokens (service/_tokens.py), stored hashed beside the events."""


def views_table(table: str) -> str:
    """The views table (`views`, or `views_next` while a rebuild writes it): one
    row per entity, its public JSON row and its trail of marks."""
    return (
        f"CREATE TABLE IF NOT EXISTS {table} ("
        "model TEXT NOT NULL, type TEXT NOT NULL, parent TEXT NOT NULL, id TEXT NOT NULL, "
        "status TEXT NOT NULL, final INTEGER NOT NULL, row TEXT NOT NULL, trail TEXT NOT NULL, "
        "PRIMARY KEY (model, type, parent, id))"
    )


def views_indexes(table: str) -> tuple[str, str]:
    return (
        f"CREATE INDEX IF NOT EXISTS {table}_by_id ON {table} (model, type, id)",
        f"CREATE INDEX IF NOT EXISTS {table}_by_status ON {table} (model, type, status)",
    )

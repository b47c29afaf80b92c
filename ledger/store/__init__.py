"""Where events are kept: the abstract `EventStore` every backend implements
(_base.py), the SQLite and PostgreSQL backends on eventsourcing's recorders
(_sqlite.py, _postgres.py), every table's DDL (_schema.py) and the PostgreSQL
follower's lease and wake-up (_follower.py).

eventsourcing's public methods are used wherever one does the job. Four
private ones remain, because the public method opens its own transaction and
the ledger needs the work done inside the writer's transaction (rules, chain,
views and tracking commit together), which is why eventsourcing is pinned to
one minor version (`>=9.5,<9.6` in pyproject.toml):

- `TrackingRecorder._max_tracking_id(name, cursor)` and
  `TrackingRecorder._insert_tracking(cursor, tracking)`: the views' tracking
  record, read and moved in the transaction that writes the view rows;
- `PostgresApplicationRecorder._notify_channel(cursor)`: the NOTIFY that wakes
  followers, sent by the transaction that inserts the events;
- `SQLiteApplicationRecorder._create_table(cursor)` and
  `SQLiteTrackingRecorder._create_table(cursor)`: a new SQLite store's tables,
  created in the one `BEGIN IMMEDIATE` that several processes opening the
  same new file take in turn (PostgreSQL uses the public `create_table()`).

Besides, `SQLiteConnectionPool._create_connection` is overridden (and calls
its own super) and `SQLiteConnection._sqlite_conn` is read, to set
`secure_delete` on each connection eventsourcing opens: the pool has no public
hook for per-connection pragmas."""

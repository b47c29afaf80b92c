"""Where events are kept: the abstract `EventStore` every backend implements,
the SQLite and PostgreSQL backends on eventsourcing's recorders, and the
PostgreSQL follower's lease and wake-up."""

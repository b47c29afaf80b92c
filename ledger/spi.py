"""The service provider interface: what a views implementation (the
`projections` package, or another registered under the entry point
`status_ledger.views`) builds on, beside the user API in `ledger`.

These names are stable for such code but are not what an application calls:
an application opens a `Ledger` and never touches a store, a transaction or the
worker transport.

- `ViewService`: the protocol the ledger calls (apply inside the writer's
  transaction, catch up, follow, rebuild, read, replay); `Scratch` is the
  scratch-copy factory replay receives.
- `EventStore`, `Transaction`, `Cursor`, `open_store`: the store a view reads
  events from and writes its table into, in the writer's own transaction.
- `StatusChanged`, `stream_key`, `TimeCut`: recorded events, the stream key of
  an entity, and the as-of / known-at cut for past rows.
- `views_table`, `views_indexes`, `TOKENS_TABLE`: the DDL of the tables the
  views and the HTTP service keep in the ledger's database (all DDL lives in
  ledger/store/_schema.py).
- `rejected_events`: the stored events a candidate model would reject (replay).
- `append_own`: an append of the ledger's own events, whose ids are in its
  reserved namespace (`demo:`, ledger/_reserved.py); the demo writes through
  it, a writer's `Ledger.append` refuses such ids.
- `Worker`, `worker_channel`: a worker process and its framed message channel,
  from either side (the prepare worker's and the rebuild workers' one transport).
"""

from ._channel import Worker, worker_channel
from ._event import StatusChanged
from ._identity import stream_key
from ._ledger import append_own
from ._timecut import TimeCut
from ._views import Scratch, ViewService, open_store
from .replay._revalidate import rejected_events
from .store._base import Cursor, EventStore, Transaction
from .store._schema import TOKENS_TABLE, views_indexes, views_table

__all__ = [
    "TOKENS_TABLE",
    "Cursor",
    "EventStore",
    "Scratch",
    "StatusChanged",
    "TimeCut",
    "Transaction",
    "ViewService",
    "Worker",
    "append_own",
    "open_store",
    "rejected_events",
    "stream_key",
    "views_indexes",
    "views_table",
    "worker_channel",
]

"""What the `Ledger` vouches for: the chain, the keys and the head checked
(`verify`), the views against a rebuild, and signed checkpoints that anchor the
chain outside the database (docs/guarantees.md section 6)."""

from __future__ import annotations

import builtins
import os
from collections.abc import Iterable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ._checkpoint import (
    Checkpoint,
    append_checkpoint,
    is_store,
    load_private_key,
    load_public_key,
    make_checkpoint,
    read_checkpoint_file,
    store_checkpoint,
    stored_checkpoints,
)
from ._errors import UsageError
from ._reads import Reads
from ._verify import VerifyReport, verify_chain
from ._views import open_store


class Audit(Reads):
    """The auditing part of `Ledger`."""

    def verify(
        self,
        *,
        views: bool = False,
        against: Iterable[str | os.PathLike[str] | Checkpoint] = (),
        public_key: str | os.PathLike[str] | Ed25519PublicKey | None = None,
    ) -> VerifyReport:
        """Check every event, idempotency key and the chain head (docs/guarantees.md
        section 6), and on SQLite the file's own structures (CorruptStore).
        `against`: checkpoints (files of them, stores holding them, or Checkpoint
        objects) the ledger must still extend; `public_key` (a key file or key)
        proves they were signed with that key. `views`: compare the views with a
        rebuild in a scratch store, row by row; the live views are only read."""
        checkpoints = [c for source in against for c in load_checkpoints(source)]
        trusted = (
            public_key
            if public_key is None or isinstance(public_key, Ed25519PublicKey)
            else load_public_key(public_key)
        )
        report = verify_chain(self.store, self.registry, checkpoints, trusted)
        if views:
            from .replay._scratch import scratch_copy

            summaries, differences = self._service().check_views(
                lambda upto: scratch_copy(self.store, upto)
            )
            report.views, report.view_differences = summaries, differences
            if differences and report.ok:
                first = differences[0]
                report.ok = False
                report.code = "views_differ"
                report.problem = (
                    f"{len(differences)} view rows differ from a rebuild of the events, "
                    f"first {first.view} {first.id} ({first.kind}): run `rebuild`"
                )
        return report

    def checkpoint(
        self,
        key: str | os.PathLike[str] | Ed25519PrivateKey,
        *,
        append_to: str | os.PathLike[str] | None = None,
        to_store: str | None = None,
    ) -> Checkpoint:
        """Sign the chain head (seq, hash, now) with an Ed25519 key; append the
        statement to a file and/or record it in another store. Keep both where the
        ledger's writers cannot change them: `verify(against=...)` then proves the
        ledger still extends it. The head is signed as it is: verify first."""
        signing = key if isinstance(key, Ed25519PrivateKey) else load_private_key(key)
        made = make_checkpoint(self.store.head(), signing)
        if to_store is not None:
            target = open_store(to_store)
            try:
                if target.address == self.store.address:
                    raise UsageError(
                        "--to-store must be another store: whoever rewrites this ledger "
                        "could rewrite its checkpoints too"
                    )
                store_checkpoint(target, made)
            finally:
                target.close()
        if append_to is not None:
            append_checkpoint(append_to, made)
        return made


def load_checkpoints(source: str | os.PathLike[str] | Checkpoint) -> builtins.list[Checkpoint]:
    """The checkpoints of a file of statements, of a store they were recorded in
    (`checkpoint --to-store`), or one given as is."""
    if isinstance(source, Checkpoint):
        return [source]
    name = os.fspath(source)
    if not is_store(name):
        return read_checkpoint_file(name)
    store = open_store(name)
    try:
        return stored_checkpoints(store)
    finally:
        store.close()

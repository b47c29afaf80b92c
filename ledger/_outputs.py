"""Files a command writes beside the ledger (the rejects of an import) must never
be the ledger itself or what it reads: `import F --rejects L.db` once truncated
the store L.db with rejects JSONL, and every event was gone. The check compares
resolved paths (symbolic links followed) and, where both exist, device and inode
(hard links), against the store's file and the -wal, -shm and -journal SQLite
keeps beside it, and against every input file."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ._errors import UsageError
from ._views import store_url

SIDECARS = ("", "-wal", "-shm", "-journal")
"""The SQLite files of one store: the database, its write-ahead log, the log's
shared index and the rollback journal."""


def check_output_path(
    output: str | os.PathLike[str],
    *,
    store: str | os.PathLike[str] | None,
    inputs: Iterable[str | os.PathLike[str]] = (),
    label: str = "the output",
) -> None:
    """Raise `UsageError` when `output` is one of the store's files or an input.
    `store` is what `Ledger.open` would be given (None: the default store);
    `label` names the output in the message (a command's option)."""
    url = store_url(store)
    protected: list[tuple[Path, str]] = []
    if url and not url.startswith(("postgresql://", "postgres://")):
        # SQLite puts the -wal beside the file a symbolic link points to
        for name in dict.fromkeys((url, os.path.realpath(url))):
            protected += [
                (Path(name + suffix), f"the ledger's own file {url}{suffix}") for suffix in SIDECARS
            ]
    protected += [(Path(source), f"the input file {os.fspath(source)}") for source in inputs]
    target = Path(output)
    for path, what in protected:
        if _same(target, path):
            raise UsageError(
                f"{label} {os.fspath(output)} is {what}; writing there would destroy it",
                field=label,
            )


def _same(a: Path, b: Path) -> bool:
    """One file under two names: equal once links are resolved, or the same inode."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): only the names can clash
        return False

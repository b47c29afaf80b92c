"""Opening a SQLite file this process may only read, without leaving it worse
than it was found: SQLite's `-wal` and `-shm` files would otherwise inherit a
read-only file's permissions and lock out every later writer. Its own module
because the rules (immutable or not, a `-shm` made first) are about the file and
its directory, not about the ledger stored in it."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from urllib.parse import quote


def read_only_uri(path: str) -> str:
    """A URI that opens the file without writing to it, and without leaving the
    store worse than it was found. SQLite gives a WAL database's `-wal` and
    `-shm` files the database file's permissions: read through a 0444 file,
    they were left 0444 and every writer failed after `chmod 644` restored the
    file. So a file this process may not write is opened as immutable, which
    creates neither, whenever its WAL is absent or empty: then the file alone
    holds every committed event. In a directory nobody may write (read-only
    media) SQLite cannot create the WAL index either, so the file is opened as
    immutable there too when it has none. Immutable means SQLite takes no locks:
    a writer that changes the permissions back and writes during this read is
    not seen by it. Where a WAL with content must be read, the `-shm` is made
    here first, writable by its owner, as a writer would have made it."""
    target = Path(path).resolve()
    uri = f"file:{quote(str(target))}?mode=ro"
    shm = target.with_name(target.name + "-shm")
    wal = target.with_name(target.name + "-wal")
    folder_writable = os.access(target.parent, os.W_OK)
    if not folder_writable and not shm.exists():
        return uri + "&immutable=1"
    if os.access(target, os.W_OK):
        return uri
    if not wal.exists() or wal.stat().st_size == 0:
        return uri + "&immutable=1"
    if folder_writable:
        _make_shm(shm, target.stat().st_mode | stat.S_IWUSR)
    return uri


def _make_shm(shm: Path, mode: int) -> None:
    """Create a `-shm` with `mode` unless one exists. It holds one byte: SQLite
    gives an empty one the database file's permissions (0444 again), while the
    first connection to a non-empty one resets it to an empty index as usual."""
    try:
        descriptor = os.open(shm, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IMODE(mode))
    except OSError:
        return  # it exists (SQLite uses it as it is) or cannot be made (nor by SQLite)
    try:
        os.fchmod(descriptor, stat.S_IMODE(mode))  # the umask narrowed os.open's mode
        os.write(descriptor, b"\0")
    finally:
        os.close(descriptor)

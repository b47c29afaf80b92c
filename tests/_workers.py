"""Processes that share one database file with the test that starts them:
`python tests/_workers.py ROLE DB SECONDS OUT [N]`. A worker writes what it did to
OUT as JSON and exits 1 with the traceback on stderr if anything at all went
wrong, so that no error can hide in a child process."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from ledger import Ledger

STAGES = ["pending", "running", "succeeded", "failed", "stopped"]


def writer(db: str, seconds: float, name: str) -> dict[str, Any]:
    """Appends through the API: its own jobs, plus stages of works every writer
    touches, each with its own event id. Reopens the ledger now and then, as a
    short-lived command would."""
    rng = random.Random(name)
    accepted: list[str] = []
    rejected = 0
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        with Ledger.open(db) as ledger:
            for _ in range(rng.randint(1, 8)):
                n += 1
                batch: list[dict[str, Any]] = []
                for _ in range(rng.randint(1, 20)):
                    batch.append(
                        {
                            "model": "lightning",
                            "type": "work",
                            "id": f"shared-{rng.randint(0, 9)}",
                            "status": rng.choice(STAGES),
                            "occurred_at": 1_700_000_000 + n,
                            "event_id": f"{name}-{n}-{len(batch)}",
                        }
                    )
                job = {"model": "uipath", "type": "job", "id": f"{name}-job-{n}"}
                batch.append({**job, "status": "Pending", "occurred_at": 1_700_000_000 + n})
                batch.append({**job, "status": "Running", "occurred_at": 1_700_000_001 + n})
                report = ledger.append(batch, batch_size=rng.choice([1, 5, 50]))
                accepted += [
                    o.event_id for o in report.outcomes if o.kind == "accepted" and o.event_id
                ]
                rejected += report.rejected
    return {"accepted": accepted, "rejected": rejected}


def cli_writer(db: str, seconds: float, name: str) -> dict[str, Any]:
    """Appends through the real command, `import -`, as a script would."""
    cli = str(Path(sys.executable).with_name("status-ledger"))
    accepted: list[str] = []
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        n += 1
        lines = [
            {
                "model": "uipath",
                "type": "job",
                "id": f"{name}-job-{n}",
                "status": status,
                "occurred_at": 1_700_000_000 + i,
                "event_id": f"{name}-{n}-{i}",
            }
            for i, status in enumerate(["Pending", "Running", "Successful"])
        ]
        result = subprocess.run(
            [cli, "import", "-", "--json", "--db", db],
            input=b"".join(orjson.dumps(line) + b"\n" for line in lines),
            capture_output=True,
            check=False,
        )
        if result.returncode != 0 or result.stderr:
            raise RuntimeError(f"import failed: {result.returncode} {result.stderr.decode()}")
        if orjson.loads(result.stdout) != {"accepted": 3, "duplicates": 0, "rejected": 0}:
            raise RuntimeError(f"import answered {result.stdout.decode()}")
        accepted += [str(line["event_id"]) for line in lines]
    return {"accepted": accepted, "rejected": 0}


def reader(db: str, seconds: float, name: str) -> dict[str, Any]:
    """Reads views, histories and the whole chain while the writers write; every
    answer must be consistent, and the chain must verify at every moment."""
    reads = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with Ledger.open(db) as ledger:
            for _ in range(5):
                for row in ledger.list("uipath", "job"):
                    if row.status.status not in ("Pending", "Running", "Successful"):
                        raise AssertionError(f"impossible row {row}")
                works = ledger.list("lightning", "work")
                if works:
                    ledger.history("lightning", "work", works[0].id)
                report = ledger.verify()
                if not report.ok:
                    raise AssertionError(f"verify failed while writers wrote: {report}")
                reads += 1
    return {"reads": reads}


def view_reader(db: str, seconds: float, name: str, expected: int) -> dict[str, Any]:
    """Reads while views are rebuilt: the `job-` rows are always all there."""
    reads = 0
    deadline = time.monotonic() + seconds
    with Ledger.open(db) as ledger:
        while time.monotonic() < deadline:
            jobs = [r for r in ledger.list("uipath", "job") if r.id.startswith("job-")]
            if len(jobs) != expected:
                raise AssertionError(f"saw {len(jobs)} of {expected} jobs during a rebuild")
            if ledger.status("uipath", "job", "job-3").transitions != 3:
                raise AssertionError("saw a half-built job-3")
            reads += 1
    return {"reads": reads}


ROLES = {"writer": writer, "cli_writer": cli_writer, "reader": reader}


def main() -> None:
    role, db, seconds, out = sys.argv[1:5]
    name = Path(out).stem
    if role == "view_reader":
        result = view_reader(db, float(seconds), name, int(sys.argv[5]))
    else:
        result = ROLES[role](db, float(seconds), name)
    Path(out).write_bytes(orjson.dumps({**result, "pid": os.getpid()}))


if __name__ == "__main__":
    main()

"""Messages between a process and its workers (ledger/_pipe.py for the prepare
worker, projections/_parallel.py for the rebuild's) arrive whole and in order,
whatever interrupts the writer."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

import pytest

from ledger._pipe import receive, spawn

MESSAGES = 400
WRITERS = {
    "prepare worker": "from ledger._pipe import send",
    "rebuild worker": "from projections._parallel import _put as send",
}


def _sender(writer: str) -> str:
    return (
        f"import sys\n{WRITERS[writer]}\n"
        "replies = sys.stdout.buffer\n"
        f"for i in range({MESSAGES}):\n"
        "    send(replies, (i, bytes([i % 256]) * 40_000))\n"
    )


def _stop_and_continue(process: subprocess.Popen[bytes], done: threading.Event) -> None:
    while not done.is_set() and process.poll() is None:
        process.send_signal(signal.SIGSTOP)
        time.sleep(0.003)
        process.send_signal(signal.SIGCONT)
        time.sleep(0.01)


@pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="needs job control signals")
@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_messages_written_by_a_worker_stopped_and_continued_arrive_whole_and_in_order(
    writer: str,
) -> None:
    """Stopping a process blocked on a full pipe and continuing it ends its write
    part-way (Ctrl-Z, then fg): the rest of the message must still follow."""
    process = spawn(_sender(writer))
    assert process.stdout is not None and process.stdin is not None
    process.stdin.close()
    done = threading.Event()
    signals = threading.Thread(target=_stop_and_continue, args=(process, done))
    signals.start()
    try:
        for i in range(MESSAGES):
            time.sleep(0.001)  # a slow reader keeps the pipe full
            if receive(process.stdout) != (i, bytes([i % 256]) * 40_000):
                pytest.fail(f"message {i} arrived changed")
        assert process.wait(timeout=30) == 0
    finally:
        done.set()
        signals.join()
        if process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)
            process.kill()
            process.wait()

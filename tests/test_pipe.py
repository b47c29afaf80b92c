"""Messages between a process and its workers (the one transport, ledger/_channel.py,
used by the prepare worker and the rebuild's workers) arrive whole and in order,
whatever interrupts the writer."""

from __future__ import annotations

import os
import pickle
import signal
import threading
import time

import pytest

from ledger.spi import Worker

pytestmark = pytest.mark.slow  # processes, crashes, concurrency or many generated cases

MESSAGES = 400
SENDER = (
    "from ledger.spi import worker_channel\n"
    "incoming, outgoing = worker_channel()\n"
    f"for i in range({MESSAGES}):\n"
    "    outgoing.send((i, bytes([i % 256]) * 40_000))\n"
)


def _stop_and_continue(worker: Worker, done: threading.Event) -> None:
    while not done.is_set() and worker.process.poll() is None:
        worker.process.send_signal(signal.SIGSTOP)
        time.sleep(0.003)
        worker.process.send_signal(signal.SIGCONT)
        time.sleep(0.01)


@pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="needs job control signals")
def test_messages_written_by_a_worker_stopped_and_continued_arrive_whole_and_in_order() -> None:
    """Stopping a process blocked on a full pipe and continuing it ends its write
    part-way (Ctrl-Z, then fg): the rest of the message must still follow."""
    worker = Worker(SENDER)
    worker.close_outbox()
    done = threading.Event()
    signals = threading.Thread(target=_stop_and_continue, args=(worker, done))
    signals.start()
    try:
        for i in range(MESSAGES):
            time.sleep(0.001)  # a slow reader keeps the pipe full
            if worker.receive() != (i, bytes([i % 256]) * 40_000):
                pytest.fail(f"message {i} arrived changed")
        assert worker.exits_within(30) == 0
    finally:
        done.set()
        signals.join()
        if worker.process.poll() is None:
            os.kill(worker.process.pid, signal.SIGCONT)
        worker.kill()
        worker.close_inbox()


def test_a_message_that_cannot_be_pickled_writes_nothing() -> None:
    worker = Worker(
        "from ledger.spi import worker_channel\n"
        "incoming, outgoing = worker_channel()\n"
        "outgoing.send(incoming.recv())\n"
    )
    try:
        with pytest.raises((pickle.PicklingError, AttributeError)):
            worker.send(lambda: None)
        worker.send("whole")
        assert worker.receive() == "whole"
    finally:
        worker.kill()
        worker.close_outbox()
        worker.close_inbox()

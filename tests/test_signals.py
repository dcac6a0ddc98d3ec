"""SIGTERM and Ctrl-C end a load wherever they find it, even while its child processes start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from flattener import open_plan
from flattener.signals import held_while_forking

from .processes import needs_proc

# The worst moment for a signal: in the parent, right after each fork, inside the at-fork hooks.
STOPPED_AT_FORK = """
import os, signal, sys
os.register_at_fork(after_in_parent=lambda: os.kill(os.getpid(), signal.SIGTERM))
from flattener.cli import main
sys.argv[0] = "flatten"
main()
"""


def test_a_signal_held_while_forking_is_raised_after():
    caught = []

    def stop(number, _frame):
        caught.append(number)
        raise SystemExit(143)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        with pytest.raises(SystemExit), held_while_forking():
            os.kill(os.getpid(), signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGTERM)
            assert caught == []  # nothing happens in the block
        assert caught == [signal.SIGTERM]  # once, as a signal pending twice is delivered once
        assert signal.getsignal(signal.SIGTERM) is stop
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_ctrl_c_held_while_forking_is_a_keyboard_interrupt_after():
    with pytest.raises(KeyboardInterrupt), held_while_forking():
        os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@needs_proc
@pytest.mark.parametrize("child", ["workers", pytest.param("writer", marks=pytest.mark.postgres)])
def test_a_load_stopped_while_its_children_start_ends_and_writes_nothing(child, long_input, request, make_store):
    """Workers (SQLite, --workers 2) or the writer process (PostgreSQL): before the signal was held,
    it was lost in an at-fork hook and the whole load was committed, or the process hung at exit."""
    if child == "workers":
        db, options = request.getfixturevalue("sqlite_url"), ["--workers", "2"]
    else:
        db, options = request.getfixturevalue("postgres_url"), []
    finished = subprocess.run([sys.executable, "-c", STOPPED_AT_FORK, "load", str(long_input), *options, "--db", db],
                              capture_output=True, timeout=120)
    assert (finished.returncode, finished.stderr.decode()) == (143, "")
    with make_store(open_plan("conversation"), db).session() as session:
        session.create_tables()
        assert session.count() == 0

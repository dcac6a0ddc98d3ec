"""How a load ends on SIGTERM or Ctrl-C: as on an error, its transaction rolled back and its child
processes ended, wherever the signal finds it.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator

_ENDING = (signal.SIGTERM, signal.SIGINT)


def end_on_sigterm() -> None:
    """SIGTERM (a timeout, systemd, docker stop) raises SystemExit(143), as Ctrl-C raises
    KeyboardInterrupt: the process unwinds instead of vanishing mid-write."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


@contextlib.contextmanager
def held_while_forking() -> Iterator[None]:
    """Hold SIGTERM and Ctrl-C while child processes are started, and deliver them after.

    Delivered in the middle of a fork, the exception a handler raises is lost in an at-fork hook
    (logging's: the load then goes on as if never stopped), or leaves a pool half made that nothing
    shuts down (the process hangs as it exits). Held, it is raised where the caller can clean up.
    """
    if threading.current_thread() is not threading.main_thread():  # only the main thread runs handlers
        yield
        return
    caught: list[int] = []
    previous = {number: signal.signal(number, lambda number, _frame: caught.append(number)) for number in _ENDING}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for number in dict.fromkeys(caught):
            signal.raise_signal(number)


def as_child() -> None:
    """In a child process: SIGTERM just ends it (the parent's handler is for the parent: in a child
    its SystemExit would print a traceback), and Ctrl-C, which reaches the whole process group, is
    for the parent, which then stops its children."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)

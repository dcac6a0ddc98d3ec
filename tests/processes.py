"""The process tree of a running command, read from /proc, for tests of how child processes end."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

needs_proc = pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="reads the process tree from /proc")


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as listing:
        return [int(child) for child in listing.read().split()]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


def start_load(path, db, *options: str, children_expected: int) -> tuple[subprocess.Popen, list[int]]:
    """`flatten load` in a process of its own, once its child processes are running."""
    process = subprocess.Popen([sys.executable, "-m", "flattener", "load", str(path), *options, "--db", db],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while len(found := children(process.pid)) < children_expected:
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
        time.sleep(0.02)
    return process, found


def wait_until_gone(pids: list[int], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while any(map(alive, pids)):
        assert time.monotonic() < deadline, "child processes outlived the loading process"
        time.sleep(0.1)

"""Run one command; write its wall time, peak memory and exit status as JSON to a file.

Usage: python bench/measure.py REPORT_FILE COMMAND [ARGUMENT ...]

A small process of its own on purpose: Linux carries a process's peak RSS over into the program
it executes, so a command started straight from the benchmark, which holds every row of the
floor in memory, would report the benchmark's peak instead of its own. Started from here, what it
inherits is this script's few megabytes.

Peak memory is the larger of the kernel's peak RSS of the command (wait4) and the peak, sampled
ten times a second, of the memory of the command and its descendants together (PostgreSQL loads
fork a writer process, `flatten load --workers` worker processes): each process's PSS, which
counts the pages that a fork still shares with its parent once, not once per process.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time


def main() -> None:
    report, command = sys.argv[1], sys.argv[2:]
    started = time.perf_counter()
    child = os.fork()
    if child == 0:
        try:
            os.execvp(command[0], command)
        finally:
            os._exit(127)
    signal.signal(signal.SIGTERM, lambda *_: os.kill(child, signal.SIGTERM))  # a stopped benchmark stops it too
    tree_peak = 0
    while True:
        pid, status, usage = os.wait4(child, os.WNOHANG)
        if pid:
            break
        tree = _tree(child)
        if len(tree) > 1:  # a process alone: wait4's peak RSS says it all, without walking its pages
            tree_peak = max(tree_peak, sum(map(_pss_kb, tree)))
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    exit_code = os.waitstatus_to_exitcode(status)
    with open(report, "w") as out:
        json.dump({"seconds": seconds, "peak_rss_kb": max(usage.ru_maxrss, tree_peak), "exit_code": exit_code}, out)
    sys.exit(0 if exit_code == 0 else 1)


def _tree(pid: int) -> list[int]:
    """The process and its descendants."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as listing:
            children = [int(child) for child in listing.read().split()]
    except OSError:
        return [pid]
    return [pid, *(descendant for child in children for descendant in _tree(child))]


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            return next((int(line.split()[1]) for line in rollup if line.startswith("Pss:")), 0)
    except OSError:  # gone since it was listed
        return 0


if __name__ == "__main__":
    main()

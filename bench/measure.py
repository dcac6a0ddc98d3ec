"""Run one command; write its wall time, peak resident memory and exit status as JSON to a file.

Usage: python bench/measure.py REPORT_FILE COMMAND [ARGUMENT ...]

A small process of its own on purpose: Linux carries a process's peak RSS over into the program
it executes, so a command started straight from the benchmark, which holds every row of the
floor in memory, would report the benchmark's peak instead of its own. Started from here, what it
inherits is this script's few megabytes.
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
    _, status, usage = os.wait4(child, 0)
    seconds = time.perf_counter() - started
    exit_code = os.waitstatus_to_exitcode(status)
    with open(report, "w") as out:
        json.dump({"seconds": seconds, "peak_rss_kb": usage.ru_maxrss, "exit_code": exit_code}, out)
    sys.exit(0 if exit_code == 0 else 1)


if __name__ == "__main__":
    main()

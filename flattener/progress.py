"""A progress bar for long runs: on stderr when stderr is a terminal, silent otherwise (cron, CI, pipes)."""

from __future__ import annotations

import sys

import click


class Progress:
    """Work of a known or growing size (documents, bytes), advanced as it is done."""

    def __init__(self, label: str, enabled: bool | None = None, show_count: bool = True):
        enabled = sys.stderr.isatty() if enabled is None else enabled
        self.bar = click.progressbar(length=0, label=label, file=sys.stderr, show_pos=show_count) if enabled else None
        if self.bar:
            self.bar.__enter__()

    def expect(self, count: int) -> None:
        """More work became known (a window's totalHits, a file's size)."""
        if self.bar:
            self.bar.length += count

    def advance(self, count: int = 1) -> None:
        if self.bar:
            self.bar.update(count)

    def close(self) -> None:
        if self.bar:
            self.bar.__exit__(None, None, None)
            self.bar = None

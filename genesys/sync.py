"""Incremental sync: everything since the last successful sync, plus a look-back for late changes.

The watermark in `genesys_sync_state` says: every conversation that started before it is stored.
A run reads from (watermark - look-back) to now, so conversations that were in progress, got
evaluated or re-opened since are read again and replaced whole; what did not change is written
back identical. Data older than the datalake's availability date goes through details jobs (the
bulk path); the rest through the details query. The watermark moves forward only, in the
transaction of the batch that completes each job or window.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .details import DetailsQuery
from .errors import GenesysError, PermissionDenied, UsageError
from .intervals import format_instant, format_interval
from .jobs import DetailsJobs
from .loading import Sink
from .state import State

STREAM = "conversations"
log = logging.getLogger("genesys.sync")


@dataclass
class SyncReport:
    start: datetime
    end: datetime
    jobs_until: datetime | None   # where the jobs part stopped (None: no jobs part)
    previous_watermark: datetime | None
    watermark: datetime


@dataclass
class Sync:
    details: DetailsQuery
    jobs: DetailsJobs | None          # None: the query API for everything
    lookback: timedelta = timedelta(days=1)
    stream: str = STREAM
    force: bool = False                        # accept a start after the watermark (a gap, for good)
    warn: Callable[[str], None] = log.warning

    def run(self, sink: Sink, since: datetime | None = None, until: datetime | None = None) -> SyncReport:
        previous = sink.state.watermark(self.stream)
        if since is None and previous is None:
            raise GenesysError("this database has never been synced: give the first run a start, e.g. "
                               "`flatten genesys sync --since 2024-05-01` (later runs continue from where it stopped)")
        if since is not None and previous is not None and since > previous:
            gap = format_interval(previous, since)
            if not self.force:
                raise UsageError(
                    f"--since {format_instant(since)} is after the watermark {format_instant(previous)}: the "
                    f"conversations that started in {gap} would never be read, and the watermark would move past "
                    f"them; leave --since out (or give {format_instant(previous)} or earlier), or add --force to "
                    "skip them for good")
            self.warn(f"conversations that started in {gap} are skipped (--force): the watermark moves past them")
        start = since if since is not None else previous - self.lookback
        end = until or datetime.now(UTC).replace(microsecond=0)
        if start >= end:
            raise GenesysError(f"nothing to sync: the start {format_instant(start)} is not before the end "
                               f"{format_instant(end)}")
        log.info("syncing %s (watermark %s)", format_interval(start, end), previous and format_instant(previous))
        advance = lambda state, instant: self._advance(state, instant)  # noqa: E731 - passed as a callback
        cursor, jobs_until = start, None
        if self.jobs is not None:
            available = min(self._availability(), end)
            if cursor < available:
                cursor = jobs_until = self.jobs.export(cursor, available, sink, after=advance)
        if cursor < end:
            for page in self.details.pages(cursor, end):
                for conversation in page.conversations:
                    sink.add(conversation, source=page.source)
                if page.last:
                    sink.seen.clear()
                    sink.checkpoint(lambda state, instant=page.window[1]: advance(state, instant), force=True)
                else:
                    sink.checkpoint()
        sink.checkpoint(lambda state: advance(state, end), force=True)
        watermark = sink.state.watermark(self.stream)
        if self.jobs is not None:  # unread jobs that what is stored now covers (a job killed, then superseded)
            self.jobs.abandon(sink, lambda record: record.interval_end <= watermark)
        return SyncReport(start, end, jobs_until, previous, watermark)

    def _availability(self) -> datetime:
        try:
            return self.jobs.availability()
        except PermissionDenied as error:
            if error.status != 403:
                raise
            raise PermissionDenied(f"{error} Or sync with --no-jobs: it reads everything through the details query, "
                                   "which analytics:agentConversationDetail:view allows too (without participant "
                                   "attributes).", status=error.status, api_message=error.api_message) from None

    def _advance(self, state: State, instant: datetime) -> None:
        current = state.watermark(self.stream)
        if current is None or instant > current:
            state.set_watermark(self.stream, instant)

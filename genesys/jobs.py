"""Details jobs, the bulk export: check availability, submit, poll, read by cursor, resume.

A job reads the datalake, which is complete only before `dataAvailabilityDate`; it matches
conversations with *activity* during its interval and returns them with participant attributes.
Its lifecycle is QUEUED, PENDING, then FULFILLED (read the results) or FAILED, CANCELLED,
EXPIRED. Each job is recorded in `genesys_jobs` with the cursor of its next page, written in the
same transaction as the page before it, so a run that stops half-way resumes from that cursor
(or resubmits, if the job expired meanwhile: loading is idempotent).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .client import AVAILABILITY_PERMISSION, DETAIL_PERMISSION, GenesysClient
from .errors import ApiError, GenesysError, JobFailed
from .intervals import format_instant, format_interval, parse_instant
from .loading import Sink
from .state import JobRecord, State

JOBS_PATH = "/api/v2/analytics/conversations/details/jobs"
FINAL_FAILURES = ("FAILED", "CANCELLED", "EXPIRED")
log = logging.getLogger("genesys.jobs")


@dataclass
class DetailsJobs:
    client: GenesysClient
    page_size: int | None = None              # results per page; None lets the API choose
    poll_interval: float = 2.0                # first wait between polls; grows by half each poll
    poll_max_interval: float = 30.0
    timeout: float = 6 * 3600.0               # give up waiting for one job after this long
    window: timedelta = timedelta(days=31)    # longest interval one job is given
    query: dict = field(default_factory=dict)
    purpose: str = "job"
    clock: Callable[[], float] = time.monotonic
    warn: Callable[[str], None] = log.warning   # what the user must hear (the command prints "warning: ...")

    def availability(self) -> datetime:
        body = self.client.get(JOBS_PATH + "/availability", permission=AVAILABILITY_PERMISSION)
        return parse_instant(body["dataAvailabilityDate"])

    def check_available(self, start: datetime, end: datetime) -> str | None:
        """Refuse an interval the datalake does not hold yet; a warning when only its end is too recent."""
        available = self.availability()
        if start >= available:
            raise GenesysError(f"the analytics datalake holds data up to {format_instant(available)} "
                               f"(dataAvailabilityDate), and {format_interval(start, end)} starts after that: "
                               "use `flatten genesys details` (or `sync`) for recent conversations")
        if end > available:
            return (f"the datalake is complete only up to {format_instant(available)}: conversations after that may "
                    "be missing from this export; `flatten genesys details` or `sync` reads them")
        return None

    @property
    def query_hash(self) -> str:
        """Tells one export's query from another's, whatever its interval. The results page size is
        not part of it: a job holds the same conversations however its pages are cut."""
        text = json.dumps({"purpose": self.purpose, "query": self.query}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def export(self, start: datetime, end: datetime, sink: Sink,
               after: Callable[[State, datetime], None] | None = None) -> datetime:
        """Load every conversation of [start, end) through jobs of at most `window` each.

        A job a previous run left unread inside [start, end) is resumed from its cursor when the
        export reaches its start, whatever window or look-back that run used; the part before it
        gets a job of its own. Returns the end of what was covered. `after(state, end)` records
        progress in the transaction of each job's last page."""
        cursor = start
        while cursor < end:
            waiting = self._resumable(sink.state, cursor, end)
            if waiting is not None and waiting.interval_start == cursor:
                record = self.export_window(cursor, min(cursor + self.window, end), sink, after, waiting)
            else:
                stop = min(cursor + self.window, end, waiting.interval_start if waiting else end)
                record = self.export_window(cursor, stop, sink, after)
            cursor = max(cursor, record.interval_end)
        self.abandon(sink, lambda record: start <= record.interval_start and record.interval_end <= cursor)
        return cursor

    def _resumable(self, state: State, cursor: datetime, end: datetime) -> JobRecord | None:
        """The earliest unread job of this query that starts in [cursor, end) and ends by `end`."""
        return next((record for record in state.unfinished_jobs(self.purpose, self.query_hash)
                     if cursor <= record.interval_start < end and record.interval_end <= end), None)

    def abandon(self, sink: Sink, covered: Callable[[JobRecord], bool]) -> list[str]:
        """Give up the unread jobs of this query that `covered` says are no longer needed (what they
        hold has been loaded since): mark them abandoned and delete them on the server."""
        stale = [record for record in sink.state.unfinished_jobs(self.purpose, self.query_hash) if covered(record)]
        for record in stale:
            record.state = "abandoned"
            sink.checkpoint(lambda state, record=record: state.update_job(record), force=True)
            log.info("job %s (%s) is covered by what was loaded since: deleting it", record.job_id,
                     format_interval(record.interval_start, record.interval_end))
            self.delete(record.job_id)
        return [record.job_id for record in stale]

    def export_window(self, start: datetime, end: datetime, sink: Sink,
                      after: Callable[[State, datetime], None] | None = None,
                      record: JobRecord | None = None) -> JobRecord:
        """One job: go on with `record`, the unread one a previous run left, or submit one for [start, end)."""
        if record is not None:
            log.info("resuming job %s for %s at page %d", record.job_id,
                     format_interval(record.interval_start, record.interval_end), record.pages + 1)
            if not self._still_readable(record):
                record.state = "abandoned"
                sink.checkpoint(lambda state: state.update_job(record), force=True)
                self.delete(record.job_id)
                record = None
        if record is None:
            job_id = self.submit(start, end)
            record = sink.state.add_job(job_id, self.purpose, self.query_hash, start, end)
            sink.checkpoint(force=True)
            self.wait(job_id)
        sink.seen.clear()
        while record.state != "loaded":
            page = self._next_page(record)
            conversations = page.get("conversations") or []
            sink.progress.expect(len(conversations))
            for conversation in conversations:
                sink.add(conversation, source=f"job {record.job_id} page {record.pages + 1}")
            sink.seen.age()
            if page.get("cursor") and page["cursor"] == record.cursor:
                raise ApiError(f"details job {record.job_id}: the API gave the same cursor twice")
            record.pages += 1
            record.conversations += len(conversations)
            record.cursor = page.get("cursor")
            record.state = "reading" if record.cursor else "loaded"
            sink.checkpoint(lambda state: self._record(state, record, after), force=record.state == "loaded")
        self.delete(record.job_id)
        return record

    @staticmethod
    def _record(state: State, record: JobRecord, after: Callable[[State, datetime], None] | None) -> None:
        state.update_job(record)
        if record.state == "loaded" and after is not None:
            after(state, record.interval_end)

    def submit(self, start: datetime, end: datetime) -> str:
        body = {"order": "asc", "orderBy": "conversationStart", **self.query, "interval": format_interval(start, end)}
        return self.client.post(JOBS_PATH, body, permission=DETAIL_PERMISSION)["jobId"]

    def status(self, job_id: str) -> dict:
        return self.client.get(f"{JOBS_PATH}/{job_id}", permission=DETAIL_PERMISSION)

    def wait(self, job_id: str) -> dict:
        """Poll until FULFILLED, with growing pauses; raise JobFailed on FAILED, CANCELLED, EXPIRED or timeout."""
        started, pause = self.clock(), self.poll_interval
        while True:
            status = self.status(job_id)
            state = status.get("state")
            if state == "FULFILLED":
                return status
            if state in FINAL_FAILURES:
                reason = status.get("errorMessage") or {
                    "CANCELLED": "it was cancelled", "EXPIRED": "its results expired before they were read",
                    "FAILED": "no reason given"}[state]
                raise JobFailed(f"details job {job_id} ended {state}: {reason}", state=state)
            if self.clock() - started + pause > self.timeout:
                raise JobFailed(f"details job {job_id} is still {state} after {self.timeout:.0f} s: it was left "
                                "running; run the same command again to pick it up", state=state)
            log.debug("job %s is %s; next poll in %.1f s", job_id, state, pause)
            self.client.sleep(pause)
            pause = min(self.poll_max_interval, pause * 1.5)

    def _next_page(self, record: JobRecord) -> dict:
        """The next results page; a job that ended or vanished meanwhile (it expired) is said to have."""
        try:
            return self.results(record.job_id, record.cursor)
        except ApiError as error:
            if error.status not in (400, 404):
                raise
            try:
                state = self.status(record.job_id).get("state")
            except ApiError as status_error:
                if status_error.status != 404:
                    raise error from None
                state = "gone"
            if state not in (*FINAL_FAILURES, "gone"):
                raise
            raise JobFailed(f"details job {record.job_id} {'is gone' if state == 'gone' else state.lower()} while "
                            f"its results were being read ({record.pages} pages, {record.conversations} "
                            "conversations loaded): run the same command again to submit it again",
                            state=state) from None

    def results(self, job_id: str, cursor: str | None) -> dict:
        params = {}
        if cursor:
            params["cursor"] = cursor
        if self.page_size:
            params["pageSize"] = self.page_size
        return self.client.get(f"{JOBS_PATH}/{job_id}/results", params, permission=DETAIL_PERMISSION)

    def delete(self, job_id: str) -> None:
        """Free the job on the server once read; a failure here costs nothing but a log line."""
        try:
            self.client.delete(f"{JOBS_PATH}/{job_id}", permission=DETAIL_PERMISSION)
        except ApiError as error:
            log.info("could not delete job %s: %s", job_id, error)

    def _still_readable(self, record: JobRecord) -> bool:
        """Wait for a recorded job to finish; False if it is gone, failed or expired (so resubmit)."""
        try:
            self.wait(record.job_id)
        except JobFailed as error:
            if error.state is None or error.state not in FINAL_FAILURES:
                raise
            self.warn(f"details job {record.job_id} ended {error.state}: submitting it again")
            return False
        except ApiError as error:
            if error.status != 404:
                raise
            self.warn(f"details job {record.job_id} is gone: submitting it again")
            return False
        return True

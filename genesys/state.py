"""What the Genesys commands remember between runs, in the user's own database beside the data.

- `genesys_sync_state`: per stream, the watermark: everything that started before it is loaded.
- `genesys_jobs`: each details job, its interval and query, and the cursor of the next page to
  read, so an interrupted export resumes where it stopped.
- `genesys_runs`: one row per command run: what it did, how it ended, what it cost.

Progress is written through the session's connection, in the same transaction as the batch of
conversations it describes: a crash can lose work, never record work that was not stored.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

metadata = sa.MetaData()
OPEN_STATES = ("submitted", "reading")  # a job not read to its end, nor given up
Timestamp = sa.DateTime(timezone=True)

sync_state = sa.Table(
    "genesys_sync_state", metadata,
    sa.Column("stream", sa.String(100), primary_key=True),
    sa.Column("watermark", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
)

jobs = sa.Table(
    "genesys_jobs", metadata,
    sa.Column("job_id", sa.String(100), primary_key=True),
    sa.Column("purpose", sa.String(20), nullable=False),      # job | sync
    sa.Column("query_hash", sa.String(64), nullable=False),   # the query besides its interval
    sa.Column("interval_start", Timestamp, nullable=False),
    sa.Column("interval_end", Timestamp, nullable=False),
    sa.Column("state", sa.String(20), nullable=False),        # submitted | reading | loaded | abandoned
    sa.Column("cursor", sa.Text),                             # the next page's cursor; NULL: from the start
    sa.Column("pages", sa.Integer, nullable=False, default=0),
    sa.Column("conversations", sa.Integer, nullable=False, default=0),
    sa.Column("submitted_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
)

runs = sa.Table(
    "genesys_runs", metadata,
    sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("command", sa.String(20), nullable=False),
    sa.Column("arguments", sa.Text, nullable=False),
    sa.Column("started_at", Timestamp, nullable=False),
    sa.Column("finished_at", Timestamp),
    sa.Column("status", sa.String(20), nullable=False),       # running | succeeded | failed
    sa.Column("documents", sa.Integer),
    sa.Column("requests", sa.Integer),
    sa.Column("error", sa.Text),
    sa.Column("pid", sa.Integer),                             # the process that ran it, on
    sa.Column("host", sa.String(255)),                        # this host: to tell a killed run from a running one
)
ADDED_COLUMNS = {runs.name: ("pid", "host")}                  # columns newer than the table: added on first use


def now() -> datetime:
    return datetime.now(UTC)


def utc(value: datetime | None) -> datetime | None:
    """SQLite hands timestamps back naive: they were written in UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass
class JobRecord:
    job_id: str
    purpose: str
    query_hash: str
    interval_start: datetime
    interval_end: datetime
    state: str
    cursor: str | None
    pages: int
    conversations: int


class State:
    """The state tables, read and written through one connection (one transaction at a time)."""

    def __init__(self, connection: sa.Connection):
        self.connection = connection

    def create(self) -> None:
        metadata.create_all(self.connection, checkfirst=True)
        present = {column["name"] for column in sa.inspect(self.connection).get_columns(runs.name)}
        for name in ADDED_COLUMNS[runs.name]:
            if name not in present:  # a table made by an earlier release
                column = runs.c[name]
                kind = column.type.compile(dialect=self.connection.dialect)
                self.connection.execute(sa.text(f"ALTER TABLE {runs.name} ADD COLUMN {name} {kind}"))

    # -- watermark ------------------------------------------------------------------------------

    def watermark(self, stream: str) -> datetime | None:
        value = self.connection.execute(sa.select(sync_state.c.watermark)
                                        .where(sync_state.c.stream == stream)).scalar_one_or_none()
        return utc(value)

    def set_watermark(self, stream: str, instant: datetime) -> None:
        values = {"watermark": instant, "updated_at": now()}
        updated = self.connection.execute(sa.update(sync_state).where(sync_state.c.stream == stream).values(values))
        if updated.rowcount == 0:
            self.connection.execute(sa.insert(sync_state).values(stream=stream, **values))

    # -- jobs -----------------------------------------------------------------------------------

    def unfinished_jobs(self, purpose: str, query_hash: str | None = None) -> list[JobRecord]:
        """The jobs previous runs left unread for this purpose (and query), earliest interval first."""
        condition = [jobs.c.purpose == purpose, jobs.c.state.in_(OPEN_STATES)]
        if query_hash is not None:
            condition.append(jobs.c.query_hash == query_hash)
        rows = self.connection.execute(sa.select(jobs).where(*condition)
                                       .order_by(jobs.c.interval_start, jobs.c.submitted_at.desc())).mappings()
        return [_job_record(row) for row in rows]

    def add_job(self, job_id: str, purpose: str, query_hash: str, start: datetime, end: datetime) -> JobRecord:
        self.connection.execute(sa.insert(jobs).values(
            job_id=job_id, purpose=purpose, query_hash=query_hash, interval_start=start, interval_end=end,
            state="submitted", cursor=None, pages=0, conversations=0, submitted_at=now(), updated_at=now()))
        return JobRecord(job_id, purpose, query_hash, start, end, "submitted", None, 0, 0)

    def update_job(self, record: JobRecord) -> None:
        self.connection.execute(sa.update(jobs).where(jobs.c.job_id == record.job_id).values(
            state=record.state, cursor=record.cursor, pages=record.pages, conversations=record.conversations,
            updated_at=now()))

    # -- runs -----------------------------------------------------------------------------------

    def start_run(self, command: str, arguments: str) -> int:
        result = self.connection.execute(sa.insert(runs).values(
            command=command, arguments=arguments, started_at=now(), status="running", pid=os.getpid(),
            host=socket.gethostname()))
        return result.inserted_primary_key[0]

    def finish_run(self, run_id: int, status: str, documents: int, requests: int, error: str | None = None) -> None:
        self.connection.execute(sa.update(runs).where(runs.c.run_id == run_id).values(
            finished_at=now(), status=status, documents=documents, requests=requests, error=error))

    def recent_runs(self, limit: int = 10) -> list[dict]:
        present = {column["name"] for column in sa.inspect(self.connection).get_columns(runs.name)}
        columns = [column for column in runs.c if column.name in present]  # `status` reads older tables as they are
        rows = self.connection.execute(sa.select(*columns).order_by(runs.c.run_id.desc()).limit(limit)).mappings()
        return [dict(row) for row in rows]

    def all_watermarks(self) -> dict[str, datetime]:
        rows = self.connection.execute(sa.select(sync_state.c.stream, sync_state.c.watermark))
        return {stream: utc(watermark) for stream, watermark in rows}

    def open_jobs(self) -> list[JobRecord]:
        rows = self.connection.execute(sa.select(jobs).where(jobs.c.state.in_(OPEN_STATES))
                                       .order_by(jobs.c.submitted_at)).mappings()
        return [_job_record(row) for row in rows]


def _job_record(row) -> JobRecord:
    record = JobRecord(**{name: row[name] for name in JobRecord.__dataclass_fields__})
    record.interval_start, record.interval_end = utc(record.interval_start), utc(record.interval_end)
    return record


def run_status(run: dict) -> str:
    """A run's status as `status` shows it: a run still marked running whose process is gone (kill -9,
    a power cut) ended abruptly. That can be told only on the host it ran on."""
    if run["status"] != "running":
        return run["status"]
    pid, host = run.get("pid"), run.get("host")
    if pid is None:
        return "running, or ended abruptly (no process recorded)"
    if host != socket.gethostname():
        return f"running on {host} (process {pid}), or ended abruptly there"
    if _alive(pid, utc(run["started_at"])):
        return f"running (process {pid})"
    return f"ended abruptly (process {pid} on this host is gone)"


def _alive(pid: int, started_at: datetime) -> bool:
    """Whether process `pid` exists and is the one that started the run (not a later one given its pid)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, as another user's
        pass
    try:  # Linux: the process's state and start time tell a zombie, or a reused pid
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
        began = boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return True
    return fields[0] != "Z" and began <= started_at.timestamp() + 2

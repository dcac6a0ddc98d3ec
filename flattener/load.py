"""Documents -> database in batches, and the check that they come back identical."""

from __future__ import annotations

import gc
import queue
import sys
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field

from .bulk import Batch
from .compare import differences
from .errors import DocumentError, InputError
from .flatten import FlatDocument, Flattener
from .sources import Record
from .store import Session
from .workers import BatchMaker, FlattenPool
from .writer import WriterProcess

KEPT_SHOWN = 20  # invalid values kept raw that a load reports one by one
FIRST_BATCH_SIZE = 250  # then doubling up to the batch size: the writer idles 0.03 s instead of 0.26 s
DEFAULT_BATCH_SIZE = 1500  # measured (bench/, 20,000 conversations into PostgreSQL). Written in-process,
# 250: 11.3 s, 1000: 7.1 s, 2500: 6.1 s, 5000: 6.2 s. By the writer process (b40534c), first load
# and reload: 1000: 3.25 s, 6.41 s; 1500: 3.27 s, 5.90 s; 2000: 3.42 s, 6.08 s; 2500: 3.53 s, 5.87 s,
# at 130, 162, 199 and 222 MB: the last batch, written after the last document is read, is shorter.


@contextmanager
def bulk_mode():
    """Pause Python's cyclic garbage collector while documents are parsed, flattened or rebuilt.

    Documents and rows hold no reference cycles, but every few hundred allocations the collector
    rescans the growing batch: measured, that doubles flatten time. Measured too: a whole load of
    20,000 conversations leaves no cyclic garbage at all, on SQLite or PostgreSQL, so nothing is
    collected until the collector resumes.

    It also shortens the interval at which Python's threads trade the GIL (5 ms -> 0.5 ms): the
    loader's writer and reader threads come back from the database many times per batch, and
    each time waited up to 5 ms for the CPU-bound main thread (measured: -10% on loads, -9% on
    reconstruct)."""
    paused = gc.isenabled()
    interval = sys.getswitchinterval()
    gc.disable()
    sys.setswitchinterval(0.0005)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)
        if paused:
            gc.enable()


class Loader:
    """Flattens documents and writes them in batches into one session.

    Used as a context manager, it writes each full batch on a background thread while the next
    one is made, so the database works while Python does (the drivers release the GIL while they
    wait); without `with`, it writes in the caller's thread. A session in a process of its own
    (`WriterProcess`) already writes while the caller goes on: it needs no thread. Either way
    `flush()` returns once everything added is written, and batches are written in order, so a
    later version of a document replaces an earlier one. With a `pool`, `add_records` has worker
    processes make the batches (see workers.py)."""

    def __init__(self, session: Session | WriterProcess, batch_size: int = DEFAULT_BATCH_SIZE,
                 commit_each_batch: bool = False, pool: FlattenPool | None = None):
        self.session = session
        self.maker = BatchMaker(session.plan, session.store.dialect)
        self.flattener = self.maker.flattener
        self.batch_size = batch_size
        self.commit_each_batch = commit_each_batch
        self.pool = pool
        self._next_size = min(FIRST_BATCH_SIZE, batch_size)  # small first, so the writer starts early
        self.batch: list[FlatDocument] = []
        self._batch_kept: list[str] = []
        self.documents = 0  # written so far
        self.rows = 0
        self.kept: list[str] = []  # the first KEPT_SHOWN invalid values kept raw, for the user to see
        self.kept_count = 0  # all of them
        self._writer: _BackgroundWriter | None = None

    def __enter__(self) -> Loader:
        if self.session.in_process:
            self._writer = _BackgroundWriter(self._write, ahead=self.pool.processes if self.pool else 1)
        return self

    def __exit__(self, *_exception) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.stop()  # before the session can close: the thread may be writing on its connection

    def add(self, document, source: str = "<input>", record: int | None = None, line: int | None = None) -> tuple:
        """Flatten one document into the batch; return its root key."""
        flat = self.maker.flatten(document, source, record, line, self._batch_kept)
        self.batch.append(flat)
        if len(self.batch) >= self._next_size:
            self._hand_off()
        return flat.key

    def add_records(self, source: str, records: Iterable[Record]) -> int:
        """Add the documents of a file's records; return how many there were."""
        count = 0
        if self.pool is None:
            for record in records:
                self.add(record.parsed(source), source, record.number, record.line)
                count += 1
            return count
        self._hand_off()  # documents added one by one go first
        chunk: list[Record] = []
        for record in records:
            count += 1
            chunk.append(record)
            if len(chunk) >= self._next_size:
                self._submit(self.pool.submit(source, chunk))
                chunk = []
        if chunk:
            self._submit(self.pool.submit(source, chunk))
        return count

    def flush(self) -> None:
        """Write everything added so far (in the session's transaction) before returning."""
        self._hand_off()
        if self._writer is not None:
            self._writer.wait()
        self.session.wait()

    def _hand_off(self) -> None:
        if self.batch:
            batch = self.maker.encoder.encode(self.batch, self._batch_kept)
            self.batch, self._batch_kept = [], []
            self._submit(batch)

    def _submit(self, batch: Batch | Future) -> None:
        self._next_size = min(2 * self._next_size, self.batch_size)
        if self._writer is not None:
            self._writer.submit(batch)
        else:
            self._write(batch)

    def _write(self, batch: Batch | Future) -> None:
        if isinstance(batch, Future):
            batch = self.pool.result(batch)  # made by a worker process: its errors are raised here
        self.session.replace(batch, commit=self.commit_each_batch)
        self.documents += batch.documents
        self.rows += batch.rows
        self.kept_count += len(batch.kept)
        self.kept.extend(batch.kept[:KEPT_SHOWN - len(self.kept)])

    def warnings(self) -> list[str]:
        """The values kept raw (the mapping's `invalid: keep`), as lines for the user: the first few,
        and how many more, so that a file full of them neither floods the terminal nor fills memory."""
        lines = [f"warning: kept as raw JSON beside a NULL column: {message}" for message in self.kept]
        if self.kept_count > len(self.kept):
            lines.append(f"warning: ... and {self.kept_count - len(self.kept)} more values kept as raw JSON")
        return lines


class _BackgroundWriter:
    """One thread writing batches in order; the caller hands over at most `ahead` batches ahead of
    the one being written, which bounds memory. An error is raised in the caller at its next
    hand-over."""

    def __init__(self, write, ahead: int = 1):
        self._write = write
        self._queue: queue.Queue = queue.Queue(maxsize=ahead)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="flatten-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            batch = self._queue.get()
            try:
                if batch is None:
                    return
                if self._error is None:
                    self._write(batch)
            except BaseException as error:  # handed to the caller's thread
                self._error = error
            finally:
                self._queue.task_done()

    def submit(self, batch: Batch | Future) -> None:
        self._raise()
        self._queue.put(batch)

    def wait(self) -> None:
        self._queue.join()
        self._raise()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error


@dataclass
class Verdict:
    source: str
    record: Record
    key: tuple
    problems: list[str] = field(default_factory=list)


def verify(session: Session, source: str, records: Iterable[Record], batch_size: int = DEFAULT_BATCH_SIZE
           ) -> Iterator[Verdict]:
    """Compare each document of a file with its rebuild from the database, strictly."""
    flattener = Flattener(session.plan)
    batch: list[Verdict] = []
    for record in records:
        try:
            key = flattener.key_of(record.document)
        except DocumentError as error:
            raise InputError(source, str(error), record=record.number, line=record.line) from None
        batch.append(Verdict(source, record, key))
        if len(batch) >= batch_size:
            yield from _judge(session, batch)
            batch = []
    yield from _judge(session, batch)


def _judge(session: Session, batch: list[Verdict]) -> Iterator[Verdict]:
    stored = session.read([verdict.key for verdict in batch])
    for verdict in batch:
        if verdict.key not in stored:
            verdict.problems.append("not in the database")
        else:
            verdict.problems.extend(differences(verdict.record.document, stored[verdict.key]))
        yield verdict

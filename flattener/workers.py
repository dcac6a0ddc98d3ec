"""Records -> batches (parse, flatten, encode), in the loading process or in worker processes.

That work is pure Python and CPU-bound: in one process it holds the GIL, and the database driver
and the next document wait for it in turn. A pool of worker processes does it for chunks of
records in parallel, while the loading process only reads the input and writes the batches that
come back, in order. It pays where cores would otherwise idle: on the two-core build machine,
20,000 conversations load into SQLite in 6.91 s instead of 7.84 s with two workers (at 326 MB
instead of 201 MB), and into a PostgreSQL server on the same machine slower, 3.60 s instead of
3.26 s (the server needs a core of its own, and moving batches between processes costs CPU too;
docs/benchmark.md). Hence `flatten load --workers` is 0 unless asked: more CPUs, or a database
server on another machine, are where the workers earn their memory.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from . import signals
from .bulk import Batch, BatchEncoder
from .errors import DocumentError, FlattenError, InputError
from .flatten import FlatDocument, Flattener
from .plan import Plan
from .sources import Record


class BatchMaker:
    def __init__(self, plan: Plan, dialect: str):
        self.flattener = Flattener(plan)
        self.encoder = BatchEncoder(plan, dialect)

    def flatten(self, document, source: str, record: int | None, line: int | None, kept: list[str]) -> FlatDocument:
        """One document's rows; values kept raw are told in `kept`, with where they are."""
        try:
            flat = self.flattener.flatten(document)
        except DocumentError as error:
            raise InputError(source, str(error), record=record, line=line) from None
        if flat.kept:
            where = f"{source}: record {record}: " if record is not None else f"{source}: "
            kept.extend(where + message for message in flat.kept)
        return flat

    def make(self, source: str, records: Iterable[Record]) -> Batch:
        kept: list[str] = []
        flat = [self.flatten(record.parsed(source), source, record.number, record.line, kept) for record in records]
        return self.encoder.encode(flat, kept)


class FlattenPool:
    """Worker processes making batches of records; `submit` returns a future of the batch.

    Workers are forked, so they start in milliseconds with the plan already compiled. A fork copies
    the process as it is: make the pool before opening database connections or starting threads,
    which a child could otherwise inherit in the middle of their use."""

    def __init__(self, plan: Plan, dialect: str, processes: int):
        if "fork" not in multiprocessing.get_all_start_methods():
            raise FlattenError("worker processes need fork(), which this system lacks (Windows): load without "
                               "--workers")
        self.processes = processes
        self._executor = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork"),
                                             initializer=_start_worker, initargs=(plan, dialect, os.getpid()))
        try:
            with signals.held_while_forking():
                self.result(self._executor.submit(int))  # forks every worker now, while the process is still simple
        except BaseException:  # stopped while starting: no `with` block will close the pool
            self.close()
            raise

    def submit(self, source: str, records: list[Record]) -> Future:
        try:
            return self._executor.submit(_make_batch, source, records)
        except BrokenProcessPool:
            raise _worker_died() from None

    @staticmethod
    def result(future: Future) -> Batch:
        """The batch, or the error its worker raised."""
        try:
            return future.result()
        except BrokenProcessPool:
            raise _worker_died() from None

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> FlattenPool:
        return self

    def __exit__(self, *_exception) -> None:
        self.close()


def _worker_died() -> FlattenError:
    return FlattenError("a worker process ended abruptly (killed, or out of memory?): nothing of this transaction "
                        "is written; load again, with fewer --workers or none")


_maker: BatchMaker | None = None  # each worker's own


def _start_worker(plan: Plan, dialect: str, parent: int) -> None:
    global _maker
    signals.as_child()
    gc.disable()  # documents and rows hold no reference cycles (see load.bulk_mode)
    _maker = BatchMaker(plan, dialect)
    # The parent's pid as it was before the fork: asked here, getppid() is already init's if the parent died.
    threading.Thread(target=_exit_with, args=(parent,), name="flatten-orphan-watch", daemon=True).start()


def _exit_with(parent: int) -> None:
    """End this worker once the loading process is gone, however it ended (killed, crashed): the pool
    cannot tell its workers then, and they would wait for work forever."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _make_batch(source: str, records: list[Record]) -> Batch:
    return _maker.make(source, records)

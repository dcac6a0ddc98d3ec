"""A load's database session in a child process of its own, fed batches through a pipe.

A load does two things at once: Python flattens documents and formats their COPY data, and the
driver feeds that data to PostgreSQL. On two threads of one process they share the GIL, and the
driver's thread needs it every time it wakes up (the socket has room again, the server answered
one of the twenty COPY statements of a batch): it then waits for the flattening thread to let go,
and the server, with nothing to read, waits too. Measured (20,000 conversations into PostgreSQL
on two cores): the server's session was idle, waiting for the client, a quarter of the load.
A child process has an interpreter of its own, so its driver answers the server at once; batches
cross to it as the bytes of their COPY data (see bulk.py), for the price of a copy through a pipe.

SQLite's batches are rows, which would cost more to send than to write: SQLite loads stay in
process (see `Store.session`).
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import pickle
import queue
import threading
import traceback

from . import signals
from .bulk import Batch
from .errors import FlattenError
from .store import Session, Store

_STOP = None  # the last message: the child rolls back what was not committed and exits


class WriterProcess:
    """A `Session` in a forked child, for the loader: everything is done in the order of the calls;
    `commit` and `wait` return once the child has done them, the others (connecting, creating the
    tables, `replace`) once it has them, so that the caller reads and flattens meanwhile. An error
    is raised by the next call after it happened.

    Fork before opening connections or starting threads (the child is a copy of this process as it
    is), and close it: a child not told to commit rolls back, as a session left does."""

    in_process = False  # writes run in the child: the loader needs no writer thread of its own

    def __init__(self, store: Store, ahead: int = 1):
        self.store = store
        self.plan = store.plan
        context = multiprocessing.get_context("fork")
        inbox, self._to_child = context.Pipe(duplex=False)
        self._from_child, outbox = context.Pipe(duplex=False)
        self._failure: BaseException | None = None
        self._closed = False
        self._process = context.Process(target=_serve, name="flatten-writer", daemon=True,
                                        args=(store, inbox, outbox, (self._to_child, self._from_child), ahead))
        try:
            with signals.held_while_forking():
                self._process.start()
        except BaseException:  # stopped while starting: no `with` block will end the child, so end it here
            if self._process.pid is not None:  # it has nothing to roll back yet, and its SIGTERM may still be held
                self._process.kill()
                self._process.join()
            self._closed = True
            self._to_child.close()
            self._from_child.close()
            raise
        finally:
            inbox.close()  # the child's ends: its exit, or death, is then seen here as the end of the pipe
            outbox.close()

    def create_tables(self) -> None:
        self._post(("create_tables",))

    def replace(self, batch: Batch, commit: bool = False) -> None:
        self._post(("replace", batch, commit))

    def commit(self) -> None:
        self._call("commit")

    def wait(self) -> None:
        """Return once the child has written every batch sent so far."""
        self._call("wait")

    def close(self) -> None:
        """Stop the child once it has done what it was sent; what it did not commit is rolled back.
        After a failure here (an error, Ctrl-C) it gets five seconds, then is terminated: a rollback
        is all that is left to do, and the server does it when the connection drops."""
        if self._closed:
            return
        self._closed = True
        try:
            self._to_child.send(_STOP)
        except OSError:
            pass  # the child is gone already
        self._to_child.close()
        self._process.join(timeout=None if self._failure is None else 5)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()
        self._from_child.close()

    def __enter__(self) -> WriterProcess:
        return self

    def __exit__(self, _kind, error, _traceback) -> None:
        if error is not None and self._failure is None:
            self._failure = error
        self.close()

    def _call(self, kind: str) -> None:
        self._send((kind,))
        self._answer()

    def _post(self, message) -> None:
        while self._from_child.poll():  # the child failed (it answers nothing else unasked): stop now
            self._answer()
        self._send(message)

    def _send(self, message) -> None:
        self._raise()
        try:
            self._to_child.send(message)
        except OSError:  # a broken pipe: the child is gone
            self._fail(_died())

    def _answer(self) -> None:
        """Read the child's answer: done, or the failure it stopped at."""
        try:
            answer, error = self._from_child.recv()
        except (EOFError, OSError):
            self._fail(_died())
        if answer == "failed":
            self._fail(error)

    def _fail(self, error: BaseException):
        self._failure = error
        raise error

    def _raise(self) -> None:
        if self._failure is not None:
            raise self._failure


def _died() -> FlattenError:
    return FlattenError("the writer process ended abruptly (killed, or out of memory?): what it had not committed "
                        "is rolled back; load again")


def _serve(store: Store, inbox, outbox, parent_ends, ahead: int) -> None:
    """The child: open a session, then do what the messages say, in order, until told to stop."""
    signals.as_child()
    for end in parent_ends:  # else this process would hold its own pipe open, and never see the parent go
        end.close()
    gc.disable()  # batches are bytes: nothing for the collector to find
    messages: queue.Queue = queue.Queue(maxsize=ahead)
    threading.Thread(target=_receive, args=(inbox, messages), name="flatten-writer-inbox", daemon=True).start()
    try:
        with store.session() as session:
            while (message := messages.get()) is not _STOP:
                _do(session, message)
                if message[0] in ("commit", "wait"):  # the calls that wait for an answer
                    outbox.send(("done", None))
    except BaseException as error:
        with contextlib.suppress(OSError):  # unless the parent is gone already
            outbox.send(("failed", _transferable(error)))
        while messages.get() is not _STOP:  # drain, so that the parent is never stuck sending
            pass


def _receive(inbox, messages: queue.Queue) -> None:
    """Read messages as they come, so that the parent can go on while a batch is written."""
    while True:
        try:
            message = inbox.recv()
        except (EOFError, OSError):  # the parent is gone, however it ended
            message = _STOP
        messages.put(message)
        if message is _STOP:
            return


def _do(session: Session, message: tuple) -> None:
    kind, *arguments = message
    if kind == "replace":
        session.replace(*arguments)
    elif kind == "create_tables":
        session.create_tables()
    elif kind == "commit":
        session.commit()
    # "wait": messages are done in order, so every batch before it is written


def _transferable(error: BaseException) -> BaseException:
    """The error as the parent can receive it, with where it happened for `--debug`."""
    where = "in the writer process:\n" + "".join(traceback.format_exception(error)).rstrip()
    try:
        pickle.dumps(error)
    except Exception:
        error = RuntimeError(f"{type(error).__name__}: {error}")
    error.add_note(where)
    return error

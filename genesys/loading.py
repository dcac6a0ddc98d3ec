"""Conversations into the database as they arrive: de-duplicated, in batches, progress committed with them.

The sink holds at most one batch of documents, plus the keys it has seen in the current scope
(a details window, or the last two pages of a job): memory follows the batch and the window,
not the interval. Each commit carries the data and the state that says it was stored.
"""

from __future__ import annotations

from collections.abc import Callable

from flattener import DocumentError, InputError, Loader, Session
from flattener.progress import Progress

from .state import State


class SeenKeys:
    """Keys seen recently, in two generations: `age()` forgets the older one, `clear()` both."""

    def __init__(self):
        self.current: set = set()
        self.previous: set = set()

    def first_time(self, key) -> bool:
        if key in self.current or key in self.previous:
            return False
        self.current.add(key)
        return True

    def age(self) -> None:
        self.previous, self.current = self.current, set()

    def clear(self) -> None:
        self.previous, self.current = set(), set()


class Sink:
    def __init__(self, session: Session, batch_size: int = 500, progress: Progress | None = None):
        self.session = session
        self.state = State(session.connection)
        self.loader = Loader(session, batch_size=batch_size)
        self.batch_size = batch_size
        self.progress = progress or Progress("", enabled=False)
        self.seen = SeenKeys()
        self.uncommitted = 0
        self.loaded = 0       # distinct documents written
        self.duplicates = 0   # seen twice in one scope and skipped

    def add(self, document: dict, source: str) -> bool:
        """Load a document unless it was already loaded in this scope; True if it was new."""
        try:
            key = self.loader.flattener.key_of(document)
        except DocumentError as error:
            raise InputError(source, str(error)) from None
        if not self.seen.first_time(key):
            self.duplicates += 1
            return False
        self.loader.add(document, source=source)
        self.uncommitted += 1
        self.loaded += 1
        self.progress.advance()
        return True

    def checkpoint(self, record: Callable[[State], None] | None = None, force: bool = False) -> None:
        """Write `record`'s state change now; commit it with the pending documents once a batch is due."""
        if record is not None:
            record(self.state)
        if force or self.uncommitted >= self.batch_size:
            self.loader.flush()
            self.session.commit()
            self.uncommitted = 0

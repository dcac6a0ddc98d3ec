"""Documents -> database in batches, and the check that they come back identical."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .compare import differences
from .errors import DocumentError, InputError
from .flatten import FlatDocument, Flattener
from .sources import Record
from .store import Session

DEFAULT_BATCH_SIZE = 1000


class Loader:
    """Flattens documents and writes them in batches into one session.

    A document whose key is already in the pending batch flushes the batch first, so the later
    version replaces the earlier one as it would across batches."""

    def __init__(self, session: Session, batch_size: int = DEFAULT_BATCH_SIZE, commit_each_batch: bool = False):
        self.session = session
        self.flattener = Flattener(session.plan)
        self.batch_size = batch_size
        self.commit_each_batch = commit_each_batch
        self.batch: list[FlatDocument] = []
        self.pending_keys: set[tuple] = set()
        self.documents = 0
        self.rows = 0
        self.kept: list[str] = []  # invalid values kept raw, for the user to see

    def add(self, document, source: str = "<input>", record: int | None = None, line: int | None = None) -> tuple:
        """Flatten one document into the batch; return its root key."""
        try:
            flat = self.flattener.flatten(document)
        except DocumentError as error:
            raise InputError(source, str(error), record=record, line=line) from None
        where = f"{source}: record {record}: " if record is not None else f"{source}: "
        self.kept.extend(where + message for message in flat.kept)
        if flat.key in self.pending_keys:
            self.flush()
        self.batch.append(flat)
        self.pending_keys.add(flat.key)
        if len(self.batch) >= self.batch_size:
            self.flush()
        return flat.key

    def add_records(self, source: str, records: Iterable[Record]) -> None:
        for record in records:
            self.add(record.document, source, record.number, record.line)

    def flush(self) -> None:
        if not self.batch:
            return
        self.session.replace(self.batch)
        self.documents += len(self.batch)
        self.rows += sum(len(rows) for document in self.batch for rows in document.rows)
        self.batch.clear()
        self.pending_keys.clear()
        if self.commit_each_batch:
            self.session.commit()


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

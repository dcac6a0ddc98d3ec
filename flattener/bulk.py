"""Flattened documents -> one batch, in the form the database's bulk path takes.

PostgreSQL takes binary COPY data. Formatting it is a third of a load's Python work, so it is done
where the documents are flattened, in a worker process when there are several (see `workers`):
a batch then crosses to the writing process as bytes, for the price of a copy. SQLite takes the
rows themselves, for executemany.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .flatten import FlatDocument
from .plan import Plan, Table

# PostgreSQL's binary COPY framing: signature, flags, header extension length; and the trailer.
COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\0" + bytes(8)
COPY_TRAILER = b"\xff\xff"


@dataclass(slots=True)
class Batch:
    """Documents ready to write: replacing them deletes `keys`, then inserts each table's payload."""

    keys: list[tuple]  # root keys of the documents, each once
    payloads: list  # by table number: COPY data (bytes) or a list of rows; None where there are no rows
    documents: int = 0  # documents read, an earlier version of a document in the same batch included
    rows: int = 0
    kept: list[str] = field(default_factory=list)  # invalid values kept raw, for the user to see


class BatchEncoder:
    """Builds batches for one dialect."""

    def __init__(self, plan: Plan, dialect: str):
        self.plan = plan
        self._encoders: list[Callable[[list], object]] = [
            _copy_encoder(table) if dialect == "postgresql" else _as_they_are for table in plan.tables]

    def encode(self, documents: Sequence[FlatDocument], kept: list[str] | None = None) -> Batch:
        """The batch of these documents. Of several versions of a document only the last is written,
        as loading them one after the other would leave it. Rows may be converted in place."""
        read = len(documents)
        latest = {document.key: document for document in documents}
        if len(latest) < read:
            documents = list(latest.values())
        payloads, count = [], 0
        for table, encode in zip(self.plan.tables, self._encoders):
            number = table.number
            rows = [row for document in documents for row in document.rows[number]]
            count += len(rows)
            payloads.append(encode(rows) if rows else None)
        return Batch(list(latest), payloads, read, count, kept or [])


def _as_they_are(rows: list) -> list:
    """executemany takes the rows themselves: a batch's row list is already its own."""
    return rows


def _copy_encoder(table: Table) -> Callable[[list], bytes]:
    """rows -> the table's binary COPY data, formatted by psycopg's own C formatter."""
    from psycopg import postgres
    from psycopg._copy_base import format_row_binary  # what Copy.write_row runs; no public name of its own
    from psycopg.adapt import Transformer
    from psycopg.pq import Format

    transformer = Transformer()
    transformer.set_dumper_types([postgres.types[column.codec.copy_type].oid for column in table.columns],
                                 Format.BINARY)
    conversions = [(position, column.codec.to_copy) for position, column in enumerate(table.columns)
                   if column.codec.to_copy is not None]

    def encode(rows: list) -> bytes:
        data = bytearray(COPY_SIGNATURE)
        for row in rows:
            for position, convert in conversions:
                if row[position] is not None:
                    row[position] = convert(row[position])
            format_row_binary(row, transformer, data)
        data += COPY_TRAILER
        return bytes(data)  # bytearray pickles through latin-1 text, ten times slower

    return encode

"""Where a benchmark writes: a PostgreSQL schema of its own, or a SQLite file; and the floor.

Each target is emptied before every measured step and dropped at the end, so runs never see each
other's rows and never touch the tables that tests use. The floor writes rows that were flattened
in advance straight through the driver into the engine's own DDL: what is left is the database's
share of a load, the time no loader can beat.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from datetime import datetime
from pathlib import Path

import psycopg
import sqlalchemy as sa
from psycopg import sql
from psycopg._copy_base import format_row_binary
from psycopg.adapt import Transformer
from psycopg.pq import Format

from flattener.bulk import COPY_SIGNATURE, COPY_TRAILER
from flattener.ddl import build_metadata
from flattener.plan import Plan
from flattener.store import create_engine

DEFAULT_POSTGRES = os.environ.get("FLATTEN_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
_JSON = psycopg.postgres.types["json"].oid
_TEXT = psycopg.postgres.types["text"].oid
_TIMESTAMPTZ = psycopg.postgres.types["timestamptz"].oid


class Target:
    """One database for the benchmark: `url` for flatten, `dlt_url` and `dlt_dataset` for dlt."""

    name: str
    url: str
    dlt_url: str
    dlt_dataset: str

    def reset(self) -> None:
        """No tables at all: the state before a first load."""
        raise NotImplementedError

    def reset_dlt(self) -> None:
        raise NotImplementedError

    def drop(self) -> None:
        raise NotImplementedError

    def floors(self, plan: Plan, rows: list[list[list]]) -> dict[str, float]:
        """Seconds to write `rows[table.number]` into freshly created empty tables, by method."""
        raise NotImplementedError

    def create_tables(self, plan: Plan) -> None:
        """The engine's DDL, exactly: the tables, keys, foreign keys and indexes a load creates."""
        engine = create_engine(self.url)
        try:
            with engine.begin() as connection:
                build_metadata(plan).create_all(connection)
        finally:
            engine.dispose()

    def row_counts(self, plan: Plan) -> list[int]:
        engine = create_engine(self.url)
        try:
            with engine.connect() as connection:
                return [connection.execute(sa.text(f"SELECT count(*) FROM {_quoted(table.name)}")).scalar_one()
                        for table in plan.tables]
        finally:
            engine.dispose()


class PostgresTarget(Target):
    name = "postgresql"

    def __init__(self, server_url: str, tag: str):
        self.server_url = server_url
        self.schema = f"flatten_bench_{tag}"
        self.dlt_dataset = f"flatten_bench_dlt_{tag}"
        self.dlt_url = server_url
        separator = "&" if "?" in server_url else "?"
        self.url = f"{server_url}{separator}options=-csearch_path%3D{self.schema}"

    def version(self) -> str:
        with psycopg.connect(self.server_url) as connection:
            return connection.execute("SHOW server_version").fetchone()[0]

    def reset(self) -> None:
        self._drop_schema(self.schema)
        with psycopg.connect(self.server_url, autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(self.schema)))
        self._checkpoint()

    def reset_dlt(self) -> None:
        self._drop_schema(self.dlt_dataset)  # dlt creates its schema itself
        self._checkpoint()

    def _checkpoint(self) -> None:
        """So that no step pays for writing out the WAL an earlier step left (dlt's inserts, the floor's)."""
        with psycopg.connect(self.server_url, autocommit=True) as connection:
            try:
                connection.execute("CHECKPOINT")
            except psycopg.errors.InsufficientPrivilege:  # not a superuser: noisier figures, that is all
                pass

    def drop(self) -> None:
        self._drop_schema(self.schema)
        self._drop_schema(self.dlt_dataset)

    def _drop_schema(self, schema: str) -> None:
        with psycopg.connect(self.server_url, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))

    def floors(self, plan: Plan, rows: list[list[list]]) -> dict[str, float]:
        return {"COPY text": self._copy(plan, rows, binary=False), "COPY binary": self._copy(plan, rows, binary=True),
                "COPY binary, one buffer": self._copy(plan, rows, binary=True, buffered=True)}

    def _copy(self, plan: Plan, rows: list[list[list]], binary: bool, buffered: bool = False) -> float:
        """One COPY per table in one transaction, write_row by row, or (`buffered`) every row formatted
        by psycopg's C formatter into one buffer sent by one write, as the engine does. Binary COPY
        needs values of the columns' own types: timestamps become datetimes, before the clock starts."""
        self.reset()
        self.create_tables(plan)
        with psycopg.connect(self.url) as connection:
            statements, types, payloads = [], [], []
            for table in plan.tables:
                statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, table.column_names)))
                oids = _column_types(connection, table.name, table.column_names)
                statements.append(statement + sql.SQL(" (FORMAT BINARY)") if binary else statement)
                types.append([_TEXT if oid == _JSON else oid for oid in oids])  # json travels as its text
                payloads.append(_as_binary(rows[table.number], oids) if binary else rows[table.number])
            connection.commit()
            started = time.perf_counter()
            with connection.cursor() as cursor:
                for statement, column_types, table_rows in zip(statements, types, payloads):
                    with cursor.copy(statement) as copy:
                        if buffered:
                            copy.write(_binary_copy_data(table_rows, column_types))
                            continue
                        if binary:
                            copy.set_types(column_types)
                        for row in table_rows:
                            copy.write_row(row)
            connection.commit()
            return time.perf_counter() - started


def _column_types(connection: psycopg.Connection, table: str, columns: list[str]) -> list[int]:
    found = dict(connection.execute(
        "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0", [table]).fetchall())
    return [found[name] for name in columns]


def _binary_copy_data(rows: list[list], oids: list[int]) -> bytes:
    transformer = Transformer()
    transformer.set_dumper_types(oids, Format.BINARY)
    data = bytearray(COPY_SIGNATURE)
    for row in rows:
        format_row_binary(row, transformer, data)
    data += COPY_TRAILER
    return data


def _as_binary(rows: list[list], oids: list[int]) -> list[list]:
    stamps = [number for number, oid in enumerate(oids) if oid == _TIMESTAMPTZ]
    converted = []
    for row in rows:
        row = list(row)
        for number in stamps:
            if row[number] is not None:
                row[number] = datetime.fromisoformat(row[number])
        converted.append(row)
    return converted


class SqliteTarget(Target):
    name = "sqlite"

    def __init__(self, directory: Path, tag: str):
        self.path = directory / f"bench-{tag}.db"
        self.url = f"sqlite:///{self.path}"
        self.dlt_path = directory / f"dlt-{tag}.db"
        self.dlt_url = f"sqlite:///{self.dlt_path}"
        self.dlt_dataset = "bench"  # dlt attaches it as a second file beside dlt_path

    def version(self) -> str:
        return sqlite3.sqlite_version

    def reset(self) -> None:
        _remove_files(self.path)

    def reset_dlt(self) -> None:
        _remove_files(self.dlt_path)

    def drop(self) -> None:
        self.reset()
        self.reset_dlt()

    def floors(self, plan: Plan, rows: list[list[list]]) -> dict[str, float]:
        """executemany per table in one transaction, on a connection with the engine's own pragmas."""
        self.reset()
        self.create_tables(plan)
        engine = create_engine(self.url)
        try:
            raw = engine.raw_connection()  # the engine's connect hook has set its pragmas
            connection = raw.driver_connection
            statements = [f"INSERT INTO {_quoted(table.name)} ({', '.join(map(_quoted, table.column_names))}) "
                          f"VALUES ({', '.join('?' * table.width)})" for table in plan.tables]
            started = time.perf_counter()
            connection.execute("BEGIN")
            for table, statement in zip(plan.tables, statements):
                connection.executemany(statement, rows[table.number])
            connection.execute("COMMIT")
            seconds = time.perf_counter() - started
            raw.close()
        finally:
            engine.dispose()
        return {"executemany": seconds}


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _remove_files(path: Path) -> None:
    """A SQLite database and what goes with it: WAL, shared memory, attached dataset files."""
    for found in path.parent.glob(path.stem + "*"):
        if found.is_dir():
            shutil.rmtree(found)
        else:
            found.unlink()

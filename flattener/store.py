"""The database side: connect, create the tables, replace whole documents in bulk, read them back.

Statements are SQLAlchemy Core constructs over untyped `sa.table()` clauses, so values pass to
the driver exactly as the codecs encoded them and come back exactly as the driver returns them.
Rows go in by COPY on PostgreSQL and by executemany elsewhere, one transaction for many documents.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import NullType

from .bulk import Batch
from .ddl import DIALECTS, build_metadata
from .errors import DatabaseError, DatabaseURLError
from .plan import Plan, Table
from .rebuild import Rebuilder

DEFAULT_URL = "sqlite:///flatten.db"


URL_EXAMPLES = "sqlite:///flatten.db, postgresql://user@localhost/dbname"


def normalize_url(url: str) -> sa.URL:
    """Accept the URLs users have (`postgresql://`, `postgres://`) and use the psycopg 3 driver we ship."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise DatabaseURLError(f"not a database URL: {url!r} (examples: {URL_EXAMPLES})") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in DIALECTS:
        raise DatabaseURLError(f"{parsed.render_as_string(hide_password=True)}: flatten writes to SQLite and "
                               f"PostgreSQL, not {parsed.get_backend_name()} (examples: {URL_EXAMPLES})")
    return parsed


def create_engine(url: str) -> sa.Engine:
    parsed = normalize_url(url)
    try:
        engine = sa.create_engine(parsed)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as error:
        shown = parsed.render_as_string(hide_password=True)
        raise DatabaseURLError(f"unsupported database URL {shown}: {error}") from None
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: sa.Engine) -> None:
    """Transactional DDL and loader-friendly pragmas for SQLite.

    pysqlite opens transactions only before DML, so CREATE TABLE would commit on its own; we
    issue BEGIN ourselves. WAL with synchronous=NORMAL stays consistent after a crash and only
    risks the last commits on power loss, a fair trade for a loader that can simply rerun."""

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(connection):
        connection.exec_driver_sql("BEGIN")


_CREATING_TABLES = 0x666C617474656E  # "flatten": the advisory lock held while tables are created


class Store:
    """The plan's tables in one database."""

    def __init__(self, plan: Plan, url: str = DEFAULT_URL):
        self.plan = plan
        self.engine = create_engine(url)
        self.dialect = self.engine.dialect.name
        self.metadata = build_metadata(plan)
        self.clauses = [sa.table(table.name, *(sa.column(name) for name in table.column_names))
                        for table in plan.tables]
        root_width = len(plan.root.primary_key)
        self.compiled: dict[tuple[int, str], sa.sql.compiler.Compiled] = {}  # SELECTs by (table, shape)
        self.composite_key = len(plan.root.primary_key) > 1  # keys then go as IN lists of row values
        self.root_columns = [  # the root key's columns in every table
            [table.column_names[i] for i in (plan.root.primary_key if table is plan.root else range(root_width))]
            for table in plan.tables
        ]

    @property
    def display_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One connection and one transaction; what is not committed is rolled back."""
        try:
            connection = self.engine.connect()
        except sa.exc.OperationalError as error:
            reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
            raise DatabaseError(f"cannot connect to {self.display_url}: {reason}") from None
        with connection:  # closing it rolls back whatever was not committed
            connection.begin()
            yield Session(self, connection)

    def dispose(self) -> None:
        self.engine.dispose()


class Session:
    in_process = True  # its writes run on the caller's thread (see writer.WriterProcess for the other kind)

    def __init__(self, store: Store, connection: sa.Connection):
        self.store = store
        self.plan = store.plan
        self.connection = connection
        self.rebuilder = Rebuilder(store.plan)
        self.driver = connection.connection.driver_connection
        self.insert = self._copy if store.dialect == "postgresql" else self._execute_many

    def commit(self) -> None:
        """Commit what was written so far and go on in a new transaction."""
        self.connection.commit()
        self.connection.begin()  # explicitly: raw driver writes must not run outside a transaction

    def create_tables(self) -> None:
        """Create the tables that are missing, and commit them at once: a load that runs meanwhile then
        finds them, instead of failing as it creates them too. Fail clearly on tables that do not
        match the mapping."""
        inspector = sa.inspect(self.connection)
        if not all(inspector.has_table(table.name) for table in self.plan.tables):
            if self.store.dialect == "postgresql":  # one creator at a time; the next one finds the tables
                self.connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_CREATING_TABLES)))
            self.store.metadata.create_all(self.connection, checkfirst=True)
            self.commit()
            inspector = sa.inspect(self.connection)
        dialect = self.connection.dialect
        for table in self.plan.tables:
            present = {column["name"]: column["type"].compile(dialect) for column in inspector.get_columns(table.name)}
            wanted = {column.name: column.type.compile(dialect) for column in self.store.metadata.tables[table.name].c}
            missing = [name for name in wanted if name not in present]
            retyped = [f"{name} is {present[name]}, not {kind}" for name, kind in wanted.items()
                       if present.get(name, kind) != kind]
            if missing or retyped:
                problem = f"lacks the columns {', '.join(missing)}" if missing else "; ".join(retyped)
                raise DatabaseError(
                    f"table {table.name!r} in {self.store.display_url} does not match mapping "
                    f"{self.plan.mapping.origin} ({problem}): it was made for another mapping (use another "
                    "database, or drop the table and load again)")

    def require_tables(self) -> None:
        """Fail clearly, before reading, where the mapping's tables are not there."""
        inspector = sa.inspect(self.connection)
        missing = [table.name for table in self.plan.tables if not inspector.has_table(table.name)]
        if missing:
            named = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
            raise DatabaseError(f"{self.store.display_url} has no table {named} of mapping "
                                f"{self.plan.mapping.origin}: load documents with it first (flatten load FILE "
                                f"-m MAPPING --db URL)")

    def replace(self, batch: Batch, commit: bool = False) -> None:
        """Store a batch of documents, replacing earlier versions completely (their stale child rows go
        too); then commit, if asked."""
        if batch.keys:
            self._replace(batch)
        if commit:
            self.commit()

    def wait(self) -> None:
        """Writes are done when they return: nothing to wait for (a `WriterProcess` has)."""

    def _replace(self, batch: Batch) -> None:
        try:
            with self._retry_point():
                self.delete(batch.keys)
                self._insert_all(batch)
        except DatabaseError as error:
            if not isinstance(error.__cause__, self.connection.dialect.loaded_dbapi.IntegrityError):
                raise
            # A key already taken: by rows of a document whose root row was deleted by hand, outside
            # flatten, which delete() then passes over. Delete the batch's documents from every table.
            self.delete(batch.keys, whole_documents=False)
            self._insert_all(batch)

    def _retry_point(self):
        """Where the retry of a batch starts from. PostgreSQL aborts the transaction on an error: a
        savepoint. SQLite undoes only the statement that failed, and the retry's delete takes back
        the batch's rows written before it; a savepoint would make SQLite copy, in memory, each page
        it changes that the transaction had changed before (a 1 GB load then peaked at 323 MB)."""
        return self.connection.begin_nested() if self.store.dialect == "postgresql" else contextlib.nullcontext()

    def _insert_all(self, batch: Batch) -> None:
        for table in self.plan.tables:  # parents first
            payload = batch.payloads[table.number]
            if payload is not None:
                try:
                    self.insert(table, payload)
                except self.connection.dialect.loaded_dbapi.Error as error:
                    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                    raise DatabaseError(f"the database refused rows of table {table.name!r}: {reason}") from error

    def delete(self, keys: Sequence[tuple], whole_documents: bool = True) -> None:
        """Delete the documents with these root keys, children first.

        Flatten only ever writes and deletes a whole document at a time, so a document has child
        rows only if it has its root row (unless one was deleted by hand): one indexed SELECT on
        the root table finds the keys that are present, and a first load (none are) skips the
        twenty DELETEs per batch. Without `whole_documents`, every table is searched for each key."""
        if whole_documents:
            keys = self.present(keys)
        if not keys:
            return
        composite = self.store.composite_key
        parameters = {} if composite else {"keys": self._keys_parameter(keys)}
        deletes = [sa.delete(self.store.clauses[table.number]).where(
            self._key_in_list(table, keys) if composite else self._key_in_parameter(table))
            for table in reversed(self.plan.tables)]
        if self.store.dialect == "postgresql":
            # One round trip: data-modifying CTEs always run to completion, referenced or not.
            ctes = [delete.cte(f"deleted_{number}") for number, delete in enumerate(deletes)]
            self.connection.execute(sa.select(sa.literal(1)).add_cte(*ctes), parameters)
        else:  # SQLite works in process: no round trips to save
            for delete in deletes:  # children first
                self.connection.execute(delete, parameters)

    def read(self, keys: Sequence[tuple]) -> dict[tuple, dict]:
        """The documents with these root keys (those present), by key."""
        if not keys:
            return {}
        if self.store.composite_key:
            rows = [self.connection.execute(self._select(table, self._key_in_list(table, keys))).all()
                    for table in self.plan.tables]
        else:
            rows = [self._fetch(table, "keys", {"keys": self._keys_parameter(keys)}) for table in self.plan.tables]
        return dict(self.rebuilder.documents(rows))

    def pages(self, limit: int = 1000) -> Iterator[list[tuple[tuple, dict]]]:
        """Every document in key order, `limit` at a time, as (key, document) pairs.

        Each table is read once per page, by a range of the root key. The next page's rows are
        fetched on a background thread while the caller rebuilds and uses this one, so the database
        and Python work at the same time; the session is not to be used otherwise meanwhile."""
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="flatten-reader") as reader:
            fetching = reader.submit(self._page_rows, None, limit)
            while True:
                keys, rows = fetching.result()
                if not keys:
                    return
                fetching = reader.submit(self._page_rows, keys[-1], limit)
                yield list(self.rebuilder.documents(rows))

    def _page_rows(self, after: tuple | None, limit: int) -> tuple[list[tuple], list]:
        keys = self.keys(after, limit)
        if not keys:
            return keys, []
        shape, parameters = ("upto", _bound("last", keys[-1])) if after is None else (
            "between", {**_bound("after", after), **_bound("last", keys[-1])})
        return keys, [self._fetch(table, shape, parameters) for table in self.plan.tables]

    def keys(self, after: tuple | None = None, limit: int = 1000) -> list[tuple]:
        """Root keys in key order, `limit` at a time after `after`: a cursor over every document."""
        root = self.plan.root
        columns = self._root_columns(root)
        query = sa.select(*columns).order_by(*columns).limit(limit)
        if after is None:
            return [tuple(row) for row in self.connection.execute(query)]
        return [tuple(row) for row in self.connection.execute(query.where(_compare(columns, "after", ">")),
                                                              _bound("after", after))]

    def present(self, keys: Sequence[tuple]) -> list[tuple]:
        """Those of these root keys that are in the database."""
        root = self.plan.root
        if len(root.primary_key) > 1:
            where = self._key_in_list(root, keys)
            return [tuple(row) for row in self.connection.execute(sa.select(*self._root_columns(root)).where(where))]
        query = sa.select(*self._root_columns(root)).where(self._key_in_parameter(root))
        return [tuple(row) for row in self.connection.execute(query, {"keys": self._keys_parameter(keys)})]

    def count(self) -> int:
        clause = self.store.clauses[self.plan.root.number]
        return self.connection.execute(sa.select(sa.func.count()).select_from(clause)).scalar_one()

    def _execute_many(self, table: Table, rows: list) -> None:
        statement = str(sa.insert(self.store.clauses[table.number]).compile(dialect=self.connection.dialect))
        cursor = self.driver.cursor()
        try:
            cursor.executemany(statement, rows)
        finally:
            cursor.close()

    def _copy(self, table: Table, data: bytes) -> None:
        """COPY in PostgreSQL's binary format (see bulk.py): cheaper for the server to read than text
        (bench: the raw floor writes the same rows in 2.14 s instead of 2.41 s)."""
        from psycopg import sql  # only PostgreSQL sessions get here

        statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
            sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, table.column_names)))
        with self.driver.cursor() as cursor, cursor.copy(statement) as copy:
            copy.write(data)

    def _root_columns(self, table: Table) -> list:
        clause = self.store.clauses[table.number]
        return [clause.c[name] for name in self.store.root_columns[table.number]]

    def _key_in_parameter(self, table: Table):
        """`root key IN :keys`, the keys in one parameter (see _keys_parameter): an IN list of a
        thousand parameters costs more to render than to run, twenty tables per batch."""
        column = self._root_columns(table)[0]
        keys = sa.bindparam("keys", type_=NullType())
        if self.store.dialect == "postgresql":
            array_type = postgresql.ARRAY(self.plan.root.columns[self.plan.root.primary_key[0]].codec.sql_type())
            return column == sa.any_(sa.cast(keys, array_type))
        return column.in_(sa.select(sa.column("value")).select_from(sa.func.json_each(keys)))

    def _keys_parameter(self, keys: Sequence[tuple]):
        values = [key[0] for key in keys]
        return values if self.store.dialect == "postgresql" else json.dumps(values)

    def _key_in_list(self, table: Table, keys: Sequence[tuple]):
        """For composite root keys: an IN list of row values."""
        return sa.tuple_(*self._root_columns(table)).in_(keys)

    def _select(self, table: Table, where):
        clause = self.store.clauses[table.number]
        dialect = self.store.dialect
        selected = [sa.type_coerce(column.codec.read(clause.c[column.name], dialect), NullType())
                    for column in table.columns]
        return sa.select(*selected).where(where).order_by(*(clause.c[table.columns[i].name] for i in table.order_by))

    def _fetch(self, table: Table, shape: str, parameters: dict) -> list:
        """The table's rows for one shape of condition, through the driver's own cursor: the SELECT is
        compiled once per table and shape, and SQLAlchemy's result rows cost more than the query."""
        compiled = self.store.compiled.get((table.number, shape))
        if compiled is None:
            where = {"keys": lambda: self._key_in_parameter(table),
                     "upto": lambda: _compare(self._root_columns(table), "last", "<="),
                     "between": lambda: sa.and_(_compare(self._root_columns(table), "after", ">"),
                                                _compare(self._root_columns(table), "last", "<="))}[shape]()
            compiled = self._select(table, where).compile(dialect=self.connection.dialect)
            self.store.compiled[(table.number, shape)] = compiled
        values = compiled.construct_params(parameters)  # with the statement's own constants (to_char formats)
        cursor = self.driver.cursor()
        try:
            cursor.execute(compiled.string, [values[name] for name in compiled.positiontup]
                           if compiled.positiontup else values)
            return cursor.fetchall()
        finally:
            cursor.close()


def _bound(name: str, values: tuple) -> dict:
    return {f"{name}_{position}": value for position, value in enumerate(values)}


def _compare(columns: list, name: str, operator: str):
    """columns <op> the parameters name_0, name_1 ...: a row-value comparison for several columns."""
    values = [sa.bindparam(f"{name}_{position}", type_=NullType()) for position in range(len(columns))]
    if len(columns) == 1:
        return columns[0].operate(_OPERATORS[operator], values[0])
    return sa.tuple_(*columns).operate(_OPERATORS[operator], sa.tuple_(*values))


_OPERATORS = {">": sa.sql.operators.gt, "<=": sa.sql.operators.le}

"""The `flatten` command: generate-ddl, load, reconstruct, verify.

Exit codes: 0 success, 1 data error (bad input, a document that breaks the mapping, a database
problem), 2 usage error (bad options, a bad mapping). Errors are one line; `--debug` adds the
traceback.
"""

from __future__ import annotations

import contextlib
import gc
import json
import multiprocessing
import os
import sys
import time
from importlib.metadata import entry_points

import click
import sqlalchemy as sa

from .codecs import Integer
from .ddl import DIALECTS, create_statements
from .errors import DocumentError, FlattenError
from .flatten import Flattener
from .jsontext import output_bytes
from .load import DEFAULT_BATCH_SIZE, Loader, bulk_mode, verify
from .plan import Plan, describe, open_plan
from .progress import Progress
from .signals import end_on_sigterm
from .sources import read_documents, source_name
from .store import DEFAULT_URL, Store
from .workers import FlattenPool
from .writer import WriterProcess

DEFAULT_MAPPING = "conversation"
DEBUG = "flatten.debug"


def _set_debug(ctx: click.Context, _param, value: bool) -> None:
    ctx.meta[DEBUG] = ctx.meta.get(DEBUG, False) or value


debug_option = click.option("--debug", is_flag=True, expose_value=False, callback=_set_debug, envvar="FLATTEN_DEBUG",
                            help="Show the traceback of an error.")
mapping_option = click.option(
    "-m", "--mapping", envvar="FLATTEN_MAPPING", default=DEFAULT_MAPPING, show_default=True,
    help="Mapping file, or the name of a bundled mapping. Env: FLATTEN_MAPPING.")
db_option = click.option("--db", envvar="FLATTEN_DB", default=DEFAULT_URL, show_default=True,
                         help="SQLAlchemy database URL, e.g. postgresql://user@host/dbname. Env: FLATTEN_DB.")


class FlattenGroup(click.Group):
    """Reports FlattenErrors as one line, and adds the commands other packages register."""

    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), *(entry.name for entry in _plugins())})

    def get_command(self, ctx, name):
        command = super().get_command(ctx, name)
        if command is None:
            entry = next((entry for entry in _plugins() if entry.name == name), None)
            command = entry.load() if entry else None
        return command

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:  # whoever read the output stopped (`| head`): stop too, quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # what is left unflushed goes nowhere
            ctx.exit(141)  # as a process ended by SIGPIPE
        except Exception as error:  # one line unless --debug; the exit code says what kind
            if ctx.meta.get(DEBUG):
                raise
            click.echo(f"error: {_one_line(error)}", err=True)
            ctx.exit(error.exit_code if isinstance(error, FlattenError) else 1)


def _plugins():
    return entry_points(group="flatten.commands")


def _one_line(error: Exception) -> str:
    if isinstance(error, FlattenError):
        return str(error)
    if isinstance(error, sa.exc.DBAPIError) and error.orig is not None:
        text = str(error.orig).strip().splitlines()
        reason = text[0] if text else type(error.orig).__name__
        if getattr(error.orig, "sqlstate", None) == "40P01" or reason == "database is locked":
            return (f"database error: {reason}: another process was writing to the database at the same time; "
                    "nothing of this transaction is written: run the command again")
        return f"database error: {reason} (run with --debug for details)"
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''} (run with --debug for the traceback)"


@click.group(cls=FlattenGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="flatten")
def cli():
    """Turn nested JSON into SQL tables from a YAML mapping, and rebuild it exactly."""


@cli.command("generate-ddl")
@click.argument("mapping")
@click.option("--dialect", type=click.Choice(sorted(DIALECTS)), default="postgresql", show_default=True)
@debug_option
def generate_ddl(mapping: str, dialect: str):
    """Print CREATE TABLE and CREATE INDEX statements for MAPPING (a file or a bundled name)."""
    click.echo("\n\n".join(create_statements(open_plan(mapping), dialect)))


@cli.command("describe")
@click.argument("mapping")
@debug_option
def describe_command(mapping: str):
    """Print the tables of MAPPING as Markdown: where their rows come from, keys, and joins."""
    click.echo(describe(open_plan(mapping)))


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(allow_dash=True))
@mapping_option
@db_option
@click.option("--batch-size", type=click.IntRange(1, 10000), default=DEFAULT_BATCH_SIZE, show_default=True,
              help="Documents written per statement round.")
@click.option("--atomic/--no-atomic", default=True, show_default=True,
              help="One transaction for the whole load (a failure writes nothing), or a commit after every batch "
                   "(a failure keeps the batches before it).")
@click.option("--workers", type=click.IntRange(0, 64), default=0, show_default=True,
              help="Processes that parse and flatten documents while this one writes them; 0 does all the work in "
                   "this process. Worth it where cores would otherwise idle (see docs/benchmark.md).")
@debug_option
def load(files, mapping, db, batch_size, atomic, workers):
    """Load the documents of FILES (- for standard input) into the database.

    A document already in the database is replaced by the new version: its root row is
    rewritten and rows that the new version no longer has are removed."""
    plan = open_plan(mapping)
    store = open_store(plan, db)
    started = time.perf_counter()
    progress = Progress("loading", show_count=False)  # counts would be bytes: a percentage says more
    progress.expect(sum(os.path.getsize(source) for source in files if source != "-" and os.path.isfile(source)))
    # Processes are forked first, before any connection or thread exists.
    with (FlattenPool(plan, store.dialect, workers) if workers else contextlib.nullcontext()) as pool, \
            (WriterProcess(store) if writes_in_child(store, workers) else store.session()) as session, bulk_mode():
        session.create_tables()
        with Loader(session, batch_size=batch_size, commit_each_batch=not atomic, pool=pool) as loader:
            empty = [source_name(source) for source in files if not loader.add_records(
                source_name(source), read_documents(source, plan.envelope, on_read=progress.advance,
                                                    texts=pool is not None))]
            loader.flush()
        session.commit()
    progress.close()
    for name in empty:
        click.echo(f"warning: {name} holds no documents", err=True)
    for line in loader.warnings():
        click.echo(line, err=True)
    seconds = time.perf_counter() - started
    click.echo(f"loaded {loader.documents} documents ({loader.rows} rows) into {store.display_url} "
               f"in {seconds:.2f} s", err=True)


def open_store(plan: Plan, db: str) -> Store:
    """The store, closed with the command: closing its last connection folds SQLite's write-ahead log
    back into the database file, which a user may then copy alone."""
    store = Store(plan, db)
    click.get_current_context().call_on_close(store.dispose)
    return store


def writes_in_child(store: Store, workers: int) -> bool:
    """PostgreSQL loads write in a child process (see writer.py), unless worker processes make the
    batches: the loading process then only reads the input, and has time to write them itself."""
    return store.dialect == "postgresql" and not workers and "fork" in multiprocessing.get_all_start_methods()


@cli.command()
@click.argument("ids", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Print every document in the database, one per line.")
@mapping_option
@db_option
@debug_option
def reconstruct(ids, everything, mapping, db):
    """Print the documents with these root keys (IDS) as JSON, rebuilt from the tables.

    One document is printed indented; several are printed one per line. A key of several
    fields is given as a JSON array, e.g. '["a", 1]'."""
    if bool(ids) == everything:
        raise click.UsageError("give document IDS or --all, not both")
    plan = open_plan(mapping)
    keys = [parse_key(plan, text) for text in ids]
    store = open_store(plan, db)
    out = sys.stdout.buffer
    with store.session() as session, bulk_mode():
        session.require_tables()
        if everything:
            for page in session.pages():
                out.writelines(output_bytes(document) + b"\n" for _, document in page)
            return
        documents = session.read(keys)
    for key in keys:
        if key in documents:
            document = documents[key]
            if len(keys) == 1:
                indented = json.dumps(document, indent=2, ensure_ascii=False)
                out.write(indented.encode("utf-8", "backslashreplace") + b"\n")
            else:
                out.write(output_bytes(document) + b"\n")
    missing = [text for text, key in zip(ids, keys) if key not in documents]
    if missing:
        out.flush()
        raise FlattenError(f"not in the database: {', '.join(missing)}")


def parse_key(plan: Plan, text: str) -> tuple:
    """A root key typed on the command line -> the stored key."""
    names = plan.root.key_names
    if len(names) == 1:
        values = [text]
    else:
        try:
            values = json.loads(text)
        except json.JSONDecodeError:
            values = None
        if type(values) is not list or len(values) != len(names):
            raise click.BadParameter(f"{text!r}: this mapping's key has {len(names)} fields "
                                     f"({', '.join(names)}): give them as a JSON array", param_hint="ID")
    document = {}
    for name, value in zip(names, values):
        codec = plan.root.node.fields[name].codec
        if isinstance(value, str) and isinstance(codec, Integer):
            try:
                value = int(value)
            except ValueError:
                raise click.BadParameter(f"{value!r} is not an integer (the key field {name})",
                                         param_hint="ID") from None
        document[name] = value
    try:
        return Flattener(plan).key_of(document)
    except DocumentError as error:
        raise click.BadParameter(f"{text!r}: {error.message}", param_hint="ID") from None


@cli.command(name="verify")
@click.argument("files", nargs=-1, required=True, type=click.Path(allow_dash=True))
@mapping_option
@db_option
@debug_option
def verify_command(files, mapping, db):
    """Check that every document of FILES rebuilds strictly equal from the database.

    Types, array order and empty-versus-absent all count. Prints the JSON paths that differ;
    exits 1 if any document differs or is missing."""
    plan = open_plan(mapping)
    store = open_store(plan, db)
    checked = failed = 0
    with store.session() as session, bulk_mode():
        session.require_tables()
        for source in files:
            for verdict in verify(session, source_name(source), read_documents(source, plan.envelope)):
                checked += 1
                if verdict.problems:
                    failed += 1
                    key = ", ".join(map(str, verdict.key))
                    click.echo(f"{verdict.source}: record {verdict.record.number} ({key}): "
                               f"{len(verdict.problems)} difference(s)")
                    for problem in verdict.problems[:50]:
                        click.echo(f"  {problem}")
    click.echo(f"verified {checked} documents: {checked - failed} identical, {failed} different", err=True)
    if failed:
        sys.exit(1)


def main() -> None:
    end_on_sigterm()
    try:
        cli(prog_name="flatten")
    finally:
        # As it ends, Python collects reference cycles among every object still alive, more than
        # once: 0.13 s after a load of 20,000 conversations, for a process about to be gone.
        gc.freeze()

"""The flatten command as a user meets it: outputs, one-line errors and exit codes."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from flattener.cli import cli
from flattener.compare import strictly_equal

from .conftest import SAMPLES, SYNTHETIC, TEST_MAPPINGS

CONVERSATION1 = str(SAMPLES / "blueprint" / "conversation1.json")
CONVERSATION2 = str(SAMPLES / "blueprint" / "conversation2.json")
ID1 = "1bc96a39-6725-40c4-9345-db72aa67b8c6"
EXAMPLES = str(SAMPLES / "genesys" / "details-query-response.json")


def run(*args, input=None):
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


@pytest.fixture
def db(database_url, monkeypatch):
    monkeypatch.setenv("FLATTEN_DB", database_url)
    return database_url


def test_load_reconstruct_verify(db):
    result = run("load", CONVERSATION1, EXAMPLES)
    assert result.exit_code == 0, result.output
    assert "loaded 3 documents" in result.stderr
    one = run("reconstruct", ID1)
    assert one.exit_code == 0 and strictly_equal(json.loads(one.stdout), json.loads(open(CONVERSATION1).read()))
    assert one.stdout.startswith("{\n  ")  # one document: indented
    ids = [conversation["conversationId"] for conversation in json.load(open(EXAMPLES))["conversations"]]
    several = run("reconstruct", ID1, *ids)
    assert [json.loads(line)["conversationId"] for line in several.stdout.splitlines()] == [ID1, *ids]
    everything = run("reconstruct", "--all")
    assert sorted(json.loads(line)["conversationId"] for line in everything.stdout.splitlines()) == sorted([ID1, *ids])
    verified = run("verify", CONVERSATION1, EXAMPLES)
    assert verified.exit_code == 0 and "verified 3 documents: 3 identical, 0 different" in verified.stderr


def test_paged_responses_load_as_the_api_sends_them(db, tmp_path):
    """Every page as it came, the last one past the end ({"totalHits": n}, no conversations); and a
    conversation with a field named like the envelope is a conversation, not an envelope."""
    page = json.load(open(EXAMPLES))
    odd = {"conversationId": "c-odd", "conversations": [{"conversationId": "not-a-conversation"}]}
    path = tmp_path / "pages.ndjson"
    path.write_text(f"{json.dumps(page)}\n{json.dumps(odd)}\n" + json.dumps({"totalHits": page["totalHits"]}) + "\n")
    loaded = run("load", str(path))
    assert loaded.exit_code == 0 and f"loaded {len(page['conversations']) + 1} documents" in loaded.stderr
    assert "verified 3 documents: 3 identical" in run("verify", str(path)).stderr
    assert strictly_equal(json.loads(run("reconstruct", "c-odd").stdout), odd)
    assert run("reconstruct", "not-a-conversation").exit_code == 1


def test_verify_prints_the_paths_that_differ(db, tmp_path):
    run("load", CONVERSATION1)
    changed = json.loads(open(CONVERSATION1).read())
    changed["participants"][0]["sessions"][0]["metrics"][0]["value"] = 1.0  # same number, another JSON type
    changed["participants"][1]["sessions"][0]["segments"] = []
    changed["newField"] = True
    path = tmp_path / "changed.json"
    path.write_text(json.dumps(changed))
    result = run("verify", str(path))
    assert result.exit_code == 1
    assert "$.participants[0].sessions[0].metrics[0].value: expected the number 1.0, got the number 1" in result.stdout
    assert "$.participants[1].sessions[0].segments: expected 0 items, got 1" in result.stdout
    assert "$.newField: missing (expected true)" in result.stdout
    assert "1 different" in result.stderr


def test_reading_standard_input(db):
    result = run("load", "-", input=open(CONVERSATION1).read())
    assert result.exit_code == 0 and "loaded 1 documents" in result.stderr


def test_a_bad_document_is_one_line_exit_1_and_writes_nothing(db):
    result = run("load", CONVERSATION1, CONVERSATION2)
    assert result.exit_code == 1
    assert result.stderr == (f"error: {CONVERSATION2}: record 1, line 1: $.participants[0].sessions[0].segments[0]."
                             "segmentStart: '2021-04-2T15:30:51.418Z' is not an ISO-8601 timestamp (expected the "
                             "form 2021-04-01T12:27:53.386Z)\n")
    assert run("reconstruct", ID1).exit_code == 1  # conversation1, in the same load, was not written


def test_debug_shows_the_traceback(db):
    with pytest.raises(Exception, match="is not an ISO-8601 timestamp"):
        CliRunner().invoke(cli, ["load", CONVERSATION2, "--debug"], catch_exceptions=False)


def test_missing_ids_exit_1(db):
    run("load", CONVERSATION1)
    result = run("reconstruct", ID1, "nope")
    assert result.exit_code == 1 and "error: not in the database: nope" in result.stderr
    assert json.loads(result.stdout.splitlines()[0])["conversationId"] == ID1


def test_usage_errors_exit_2():
    assert run("reconstruct").exit_code == 2  # neither ids nor --all
    assert run("load").exit_code == 2
    assert run("load", "x.json", "--batch-size", "0").exit_code == 2


@pytest.mark.parametrize("url, message", [
    ("notaurl", "error: not a database URL: 'notaurl' (examples: sqlite:///flatten.db, "),
    ("mysql://root@127.0.0.1/test", "error: mysql://root@127.0.0.1/test: flatten writes to SQLite and PostgreSQL, "
                                    "not mysql (examples: "),
    ("postgresql+nodriver://u@h/d", "error: unsupported database URL postgresql+nodriver://u@h/d: "),
])
def test_a_database_url_flatten_cannot_use_is_a_usage_error(url, message):
    """Once exit 1 (a data error), or a ModuleNotFoundError for a dialect without a driver."""
    result = run("reconstruct", "x", "--db", url)
    assert (result.exit_code, result.stderr.startswith(message), len(result.stderr.splitlines())) == (2, True, 1), \
        result.stderr


@pytest.mark.parametrize("command", [["reconstruct", "x"], ["reconstruct", "--all"], ["verify", CONVERSATION1]])
def test_reading_a_database_without_the_tables_says_to_load_first(command, database_url):
    """Once `OperationalError: no such table`, or on PostgreSQL three lines of UndefinedTable."""
    result = run(*command, "-m", "blueprint", "--db", database_url)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and result.stderr.endswith(
        " has no table conversations, participants, sessions and 2 more of mapping mappings/blueprint.yaml: load "
        "documents with it first (flatten load FILE -m MAPPING --db URL)\n")


def test_an_empty_file_is_named_in_a_warning(db, tmp_path):
    empty = tmp_path / "empty.json"
    empty.write_text("")
    result = run("load", str(empty), CONVERSATION1)
    assert result.exit_code == 0
    assert result.stderr.startswith(f"warning: {empty} holds no documents\nloaded 1 documents")


def test_a_load_that_finds_sqlite_locked_by_another_says_to_run_again(tmp_path):
    import sqlite3

    path = tmp_path / "busy.db"
    assert run("load", CONVERSATION1, "-m", "blueprint", "--db", f"sqlite:///{path}").exit_code == 0
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process, writing
    try:
        result = run("load", CONVERSATION1, "-m", "blueprint", "--db", f"sqlite:///{path}")
    finally:
        other.close()
    assert (result.exit_code, result.stderr) == (1, (
        "error: database error: database is locked: another process was writing to the database at the same time; "
        "nothing of this transaction is written: run the command again\n"))


def test_a_loaded_sqlite_file_holds_everything_by_itself(tmp_path):
    """The write-ahead log was left beside it, holding the rows: a copy of the file alone had none."""
    import shutil
    import sqlite3

    path = tmp_path / "flatten.db"
    assert run("load", EXAMPLES, "--db", f"sqlite:///{path}").exit_code == 0
    assert not (tmp_path / "flatten.db-wal").exists()
    shutil.copy(path, tmp_path / "copy.db")
    with contextlib.closing(sqlite3.connect(tmp_path / "copy.db")) as copy:
        assert copy.execute("SELECT count(*) FROM conversations").fetchone()[0] == 2


def test_output_cut_short_by_its_reader_ends_quietly(db):
    """`flatten reconstruct --all | head -1` once ended with `error: BrokenPipeError`."""
    run("load", str(SYNTHETIC))  # more than a pipe holds: the writer is still writing when its reader goes
    process = subprocess.Popen([sys.executable, "-m", "flattener", "reconstruct", "--all", "--db", db],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.readline()
    process.stdout.close()
    assert (process.wait(timeout=60), process.stderr.read()) == (141, b"")


def test_a_bad_mapping_fails_before_any_database_is_touched(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("root:\n  table: t\n  key: id\n  fields:\n    id: strng\n")
    result = run("load", CONVERSATION1, "-m", str(bad), "--db", "postgresql://nobody@127.0.0.1:1/none")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {bad}:5: root.fields.id: 'strng' is not one of")
    assert "connect" not in result.stderr


def test_unknown_mapping_names_list_the_bundled_ones():
    result = run("generate-ddl", "nonesuch")
    assert result.exit_code == 2
    assert "no such mapping file, and not a bundled mapping name (bundled: " in result.stderr
    assert "blueprint" in result.stderr and "conversation" in result.stderr


def test_an_unreachable_database_is_one_line(tmp_path):
    result = run("load", CONVERSATION1, "-m", "blueprint", "--db", "postgresql://nobody@127.0.0.1:1/none")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot connect to postgresql+psycopg://nobody@127.0.0.1:1/none: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_malformed_json_names_file_and_line(db, tmp_path):
    path = tmp_path / "broken.ndjson"
    path.write_text(open(CONVERSATION1).read().replace("\n", " ") + "\n{\"conversationId\": \"x\",}\n")
    result = run("load", str(path))
    assert result.exit_code == 1
    assert result.stderr == (f"error: {path}: record 2, line 2, column 24: malformed JSON: Expecting property name "
                             "enclosed in double quotes\n")


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_generate_ddl_is_deterministic(dialect):
    """The same statements in the same order from every process (set and dict orders vary with the hash seed)."""
    mapping = str(TEST_MAPPINGS / "everything.yaml")
    first = run("generate-ddl", mapping, "--dialect", dialect)
    assert first.exit_code == 0 and first.stdout.count("CREATE TABLE") == 12
    for seed in ("1", "2"):
        other = subprocess.run([sys.executable, "-m", "flattener", "generate-ddl", mapping, "--dialect", dialect],
                               capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": seed})
        assert other.stdout == first.stdout


def test_the_installed_command_runs(tmp_path):
    """The console script and `python -m flattener` are the same command, with real exit codes."""
    result = subprocess.run([sys.executable, "-m", "flattener", "load", CONVERSATION2, "--db",
                             f"sqlite:///{tmp_path / 'x.db'}"], capture_output=True, text=True)
    assert result.returncode == 1 and result.stderr.startswith("error: ") and "Traceback" not in result.stderr


def test_a_progress_bar_on_a_terminal_and_none_otherwise(tmp_path):
    """Real terminals: the bar goes to stderr when it is a tty (a pseudo-terminal here), and a
    pipe gets only the summary line."""
    import pty
    import select

    command = [sys.executable, "-m", "flattener", "load", EXAMPLES, "--db", f"sqlite:///{tmp_path / 'p.db'}"]
    piped = subprocess.run(command, capture_output=True, text=True)
    assert piped.returncode == 0 and piped.stderr.count("\n") == 1 and piped.stderr.startswith("loaded 2 documents")

    leader, follower = pty.openpty()
    process = subprocess.Popen(command, stderr=follower, stdout=subprocess.DEVNULL)
    os.close(follower)
    output = b""
    while select.select([leader], [], [], 30)[0]:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    assert process.wait() == 0
    assert b"loading" in output and b"100%" in output and b"loaded 2 documents" in output


@pytest.mark.parametrize("workers", ["0", "2"])
def test_standard_input_is_named_stdin_in_errors(db, workers):
    result = run("load", "-", "--workers", workers, input='{"conversationId": "a"}\n5\n')
    assert result.exit_code == 1
    assert result.stderr == ("error: <stdin>: record 2, line 2: $: expected a JSON object (a document), "
                             "got the number 5\n")
    assert run("load", "-", input='{"conversationId": "a"}\n').exit_code == 0
    differing = run("verify", "-", input='{"conversationId": "a", "more": 1}\n')
    assert differing.exit_code == 1 and differing.stdout.startswith("<stdin>: record 1 (a): ")

"""Worker processes load exactly what one process loads: same rows, same order of versions, same errors."""

from __future__ import annotations

import gzip
import json
import os
import signal

import pytest
from click.testing import CliRunner

from flattener import Loader, open_plan
from flattener.cli import cli
from flattener.sources import read_documents
from flattener.workers import FlattenPool

from .conftest import SYNTHETIC, table_contents
from .processes import alive, needs_proc, start_load, wait_until_gone

PLAN = open_plan("conversation")


@pytest.fixture(scope="module")
def conversations() -> list[dict]:
    with gzip.open(SYNTHETIC, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines][:120]


def mixed_file(path, conversations) -> list[dict]:
    """NDJSON, a pretty-printed document, an envelope, and later versions of earlier documents (in the
    same chunk and in later ones); returns what the database must hold afterwards, by key."""
    newer = [dict(conversation, divisionIds=["changed"]) for conversation in conversations[:3]]
    parts = [json.dumps(c) + "\n" for c in conversations[:50]]
    parts.append(json.dumps(newer[0], indent=2) + "\n")  # a later version, a few documents on
    parts.append(json.dumps({"conversations": conversations[50:70], "totalHits": 20}) + "\n")
    parts.extend(json.dumps(c) + "\n" for c in conversations[70:])
    parts.extend(json.dumps(c) + "\n" for c in newer[1:])  # chunks later
    path.write_text("".join(parts), encoding="utf-8")
    final = {c["conversationId"]: c for c in conversations}
    final.update((c["conversationId"], c) for c in newer)
    return list(final.values())


def load(*args, db):
    return CliRunner().invoke(cli, ["load", *args, "--db", db], catch_exceptions=False)


def test_workers_load_what_one_process_loads(database_url, make_store, conversations, tmp_path):
    store = make_store(PLAN, database_url)
    path = tmp_path / "mixed.ndjson"
    expected = mixed_file(path, conversations)
    contents = {}
    for workers in ("0", "2"):
        with store.session() as session:
            session.create_tables()
            session.delete(session.keys(limit=10_000))
            session.commit()
        result = load(str(path), "--workers", workers, "--batch-size", "16", db=database_url)
        assert result.exit_code == 0, result.output
        assert f"loaded {len(conversations) + 3} documents" in result.stderr
        contents[workers] = table_contents(store)
        with store.session() as session:
            stored = session.read([(c["conversationId"],) for c in expected])
        assert [stored[(c["conversationId"],)] for c in expected] == expected
    assert contents["2"] == contents["0"]


def test_a_bad_document_fails_the_load_with_the_same_error_and_writes_nothing(database_url, make_store,
                                                                               conversations, tmp_path):
    store = make_store(PLAN, database_url)
    bad = json.loads(json.dumps(conversations[40]))
    bad["participants"][0]["sessions"][0]["segments"][0]["segmentStart"] = "2021-04-2T15:30:51.418Z"
    path = tmp_path / "bad.ndjson"
    path.write_text("".join(json.dumps(c) + "\n" for c in [*conversations[:40], bad, *conversations[41:]]))
    errors = {}
    for workers in ("0", "2"):
        result = load(str(path), "--workers", workers, "--batch-size", "8", db=database_url)
        assert result.exit_code == 1
        errors[workers] = result.stderr
        with store.session() as session:
            session.create_tables()
            assert session.count() == 0
    assert errors["2"] == errors["0"]
    assert errors["0"].startswith(f"error: {path}: record 41, line 41: $.participants[0].sessions[0].segments[0]"
                                  ".segmentStart: '2021-04-2T15:30:51.418Z' is not an ISO-8601 timestamp")


def test_malformed_json_found_by_a_worker_names_the_line_and_column(sqlite_url, conversations, tmp_path):
    path = tmp_path / "big-number.ndjson"
    path.write_text(json.dumps(conversations[0]) + "\n" + '{"conversationId": "x", "n": 1e400}\n')
    result = load(str(path), "--workers", "1", db=sqlite_url)
    assert result.exit_code == 1
    assert result.stderr == (f"error: {path}: record 2, line 2, column 1: malformed JSON: "
                             "the number 1e400 is too large for a double\n")


def test_documents_added_one_by_one_are_written_before_a_pooled_file(sqlite_url, make_store, conversations,
                                                                     tmp_path):
    """The Genesys client adds documents one by one; a file then goes through the pool; order holds."""
    store = make_store(PLAN, sqlite_url)
    path = tmp_path / "later.ndjson"
    path.write_text(json.dumps(conversations[0]) + "\n")
    earlier = dict(conversations[0], divisionIds=["earlier"])
    with FlattenPool(PLAN, store.dialect, 1) as pool, store.session() as session:
        session.create_tables()
        with Loader(session, pool=pool) as loader:
            loader.add(earlier)
            loader.add_records(str(path), read_documents(str(path), PLAN.envelope, texts=True))
            loader.flush()
        session.commit()
        assert session.read([(conversations[0]["conversationId"],)]) == {
            (conversations[0]["conversationId"],): conversations[0]}
    assert loader.documents == 2


def test_without_fork_workers_are_refused_clearly(sqlite_url, monkeypatch, tmp_path):
    monkeypatch.setattr("multiprocessing.get_all_start_methods", lambda: ["spawn"])
    path = tmp_path / "one.ndjson"
    path.write_text('{"conversationId": "c1"}\n')
    result = load(str(path), "--workers", "2", db=sqlite_url)
    assert result.exit_code == 1
    assert result.stderr == "error: worker processes need fork(), which this system lacks (Windows): load without " \
                            "--workers\n"


@needs_proc
def test_workers_end_when_the_loading_process_is_killed(long_input, sqlite_url):
    process, workers = start_load(long_input, sqlite_url, "--workers", "2", children_expected=2)
    process.kill()
    process.wait()
    wait_until_gone(workers)


@needs_proc
def test_a_terminated_load_rolls_back_and_ends_its_workers(long_input, sqlite_url, make_store):
    process, workers = start_load(long_input, sqlite_url, "--workers", "2", children_expected=2)
    process.terminate()
    assert process.wait(timeout=30) == 143
    assert not any(map(alive, workers))
    with make_store(PLAN, sqlite_url).session() as session:
        session.create_tables()
        assert session.count() == 0


@needs_proc
def test_a_worker_killed_fails_the_load_clearly(long_input, sqlite_url, make_store):
    process, workers = start_load(long_input, sqlite_url, "--workers", "2", children_expected=2)
    os.kill(workers[0], signal.SIGKILL)
    assert process.wait(timeout=30) == 1
    assert process.stderr.read().decode() == (
        "error: a worker process ended abruptly (killed, or out of memory?): nothing of this transaction is "
        "written; load again, with fewer --workers or none\n")
    with make_store(PLAN, sqlite_url).session() as session:
        session.create_tables()
        assert session.count() == 0

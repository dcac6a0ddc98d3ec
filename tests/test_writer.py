"""PostgreSQL loads write in a child process: same rows as in process, same errors, and it ends with the load."""

from __future__ import annotations

import gzip
import json
import os
import signal
import time

import psycopg
import pytest
from click.testing import CliRunner

from flattener import open_plan
from flattener.cli import cli, writes_in_child

from .conftest import SYNTHETIC, table_contents
from .processes import needs_proc, start_load, wait_until_gone

PLAN = open_plan("conversation")
pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def conversations() -> list[dict]:
    with gzip.open(SYNTHETIC, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines][:60]


def load(*args, db):
    return CliRunner().invoke(cli, ["load", *args, "--db", db], catch_exceptions=False)


def rows_in(url: str, table: str) -> int:
    with psycopg.connect(url) as connection:
        exists = connection.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0]
        return connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0] if exists else 0


def test_the_writer_process_writes_what_the_loading_process_writes(postgres_url, make_store, conversations,
                                                                    tmp_path, monkeypatch):
    path = tmp_path / "versions.ndjson"
    newer = [dict(conversation, divisionIds=["changed"]) for conversation in conversations[:5]]
    path.write_text("".join(json.dumps(c) + "\n" for c in [*conversations, *newer]))
    store = make_store(PLAN, postgres_url)
    contents = {}
    for in_child in (True, False):
        monkeypatch.setattr("flattener.cli.writes_in_child", lambda *_, answer=in_child: answer)
        for options in (["--atomic"], ["--no-atomic"]):  # one transaction; one per batch
            result = load(str(path), "--batch-size", "7", *options, db=postgres_url)
            assert result.exit_code == 0, result.output
            assert f"loaded {len(conversations) + 5} documents" in result.stderr
        contents[in_child] = table_contents(store)
        with store.engine.begin() as connection:
            for table in reversed(PLAN.tables):
                connection.exec_driver_sql(f"DELETE FROM {table.name}")
    assert contents[True] == contents[False]
    assert sum(map(len, contents[True].values())) > 1000


def test_without_fork_postgresql_loads_write_in_process(postgres_url, make_store, conversations, tmp_path,
                                                        monkeypatch):
    monkeypatch.setattr("multiprocessing.get_all_start_methods", lambda: ["spawn"])  # as on Windows
    store = make_store(PLAN, postgres_url)
    assert not writes_in_child(store, workers=0)
    path = tmp_path / "some.ndjson"
    path.write_text("".join(json.dumps(c) + "\n" for c in conversations))
    result = load(str(path), db=postgres_url)
    assert result.exit_code == 0, result.output
    assert rows_in(postgres_url, "conversations") == len(conversations)


def test_rows_the_database_refuses_fail_the_load_in_one_line(postgres_url, make_store, conversations, tmp_path):
    path = tmp_path / "some.ndjson"
    path.write_text("".join(json.dumps(c) + "\n" for c in conversations))
    with make_store(PLAN, postgres_url).session() as session:
        session.create_tables()
        session.commit()
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute("ALTER TABLE metrics ADD COLUMN audited_by text NOT NULL")
    result = load(str(path), "--batch-size", "10", db=postgres_url)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: the database refused rows of table 'metrics': null value in column "
                                    '"audited_by" of relation "metrics" violates not-null constraint')
    assert result.stderr.count("\n") == 1
    assert rows_in(postgres_url, "conversations") == 0


def test_an_unreachable_server_is_one_line_from_the_writer_process(tmp_path):
    path = tmp_path / "one.ndjson"
    path.write_text('{"conversationId": "c1"}\n')
    result = load(str(path), db="postgresql://nobody@127.0.0.1:9/nowhere")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot connect to postgresql+psycopg://nobody@127.0.0.1:9/nowhere: ")
    assert result.stderr.count("\n") == 1


@needs_proc
def test_the_writer_process_ends_when_the_loading_process_is_killed(long_input, postgres_url):
    process, (writer,) = start_load(long_input, postgres_url, children_expected=1)
    time.sleep(0.5)  # writing by now
    process.kill()
    process.wait()
    wait_until_gone([writer])
    assert rows_in(postgres_url, "conversations") == 0  # its transaction rolled back


STOPPED = {  # how a load is stopped midway: signals to send, to the loading process or the writer
    "terminated": ([("load", signal.SIGTERM)], 143, ""),
    "Ctrl-C": ([("load", signal.SIGINT), ("writer", signal.SIGINT)], 1, "\nAborted!\n"),  # a terminal: to both
    "writer killed": ([("writer", signal.SIGKILL)], 1, "error: the writer process ended abruptly (killed, or out of "
                      "memory?): what it had not committed is rolled back; load again\n"),
}


@needs_proc
@pytest.mark.parametrize("how", STOPPED)
def test_a_load_stopped_midway_says_so_rolls_back_and_ends_its_writer_process(how, long_input, postgres_url):
    signals, exit_code, message = STOPPED[how]
    process, (writer,) = start_load(long_input, postgres_url, children_expected=1)
    time.sleep(0.5)  # writing by now
    for whom, number in signals:
        os.kill(process.pid if whom == "load" else writer, number)
    assert process.wait(timeout=30) == exit_code
    assert process.stderr.read().decode() == message
    wait_until_gone([writer])
    assert rows_in(postgres_url, "conversations") == 0

"""flatten genesys sync: watermark, look-back, jobs for the datalake's past and the query for the rest."""

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from flattener import Store, open_plan
from flattener.compare import differences
from flattener.store import create_engine
from genesys import state as state_tables
from genesys.state import State
from genesys.testing import ALL_PERMISSIONS, FakeOptions, FakeOrg, query_variant
from genesys.testing.server import DETAIL
from tests.conftest import table_contents

from .conftest import FAST, MAPPING, ROOT, START, query, run_cli, stored

SUBMIT = "POST /api/v2/analytics/conversations/details/jobs"
QUERY = "POST /api/v2/analytics/conversations/details/query"
SYNC = ("sync", "--poll-interval", "0.01")


def watermark(url):
    [(value,)] = query(url, "SELECT watermark FROM genesys_sync_state")
    return value


def contents(url):
    store = Store(open_plan(MAPPING), url)
    try:
        return table_contents(store)
    finally:
        store.dispose()


def test_the_first_sync_needs_a_start(serve, small_org, sqlite_url):
    result = run_cli(serve(small_org), *SYNC, "--db", sqlite_url)
    assert result.exit_code == 1 and "never been synced" in result.output and "--since" in result.output


def test_old_data_through_jobs_and_new_through_the_query(serve, database_url):
    org = FakeOrg.generate(400, seed=11, start=START, spacing=timedelta(minutes=15),
                           data_availability=datetime(2024, 5, 3, 6, tzinfo=UTC))
    server = serve(org)
    result = run_cli(server, *SYNC, "--since", "2024-05-01", "--until", "2024-05-06", "--db", database_url)
    assert result.exit_code == 0, result.output
    assert "jobs until 2024-05-03T06:00:00.000Z, then the details query" in result.output
    assert server.traffic.calls[SUBMIT] == 1 and server.traffic.calls[QUERY] >= 3
    documents = stored(database_url)
    assert len(documents) == 400
    for conversation in org.all():
        expected = conversation if conversation["conversationStart"] < "2024-05-03T06" else query_variant(conversation)
        assert list(differences(expected, documents[(conversation["conversationId"],)])) == []


def test_a_second_sync_changes_nothing_that_did_not_change(serve, small_org, database_url):
    server = serve(small_org)
    first = run_cli(server, *SYNC, "--since", "2024-05-01", "--until", "2024-05-03T12:00:00Z", "--no-jobs",
                    "--db", database_url)
    assert first.exit_code == 0, first.output
    before = contents(database_url)
    second = run_cli(server, *SYNC, "--until", "2024-05-03T13:00:00Z", "--no-jobs", "--lookback", "2d",
                     "--db", database_url)
    assert second.exit_code == 0, second.output
    assert "synced 2024-05-01T12:00:00.000Z/2024-05-03T13:00:00.000Z" in second.output
    assert contents(database_url) == before


def test_conversations_that_changed_within_the_lookback_are_replaced(serve, small_org, database_url):
    server = serve(small_org)
    result = run_cli(server, *SYNC, "--since", "2024-05-01", "--until", "2024-05-02T12:00:00Z", "--no-jobs",
                     "--db", database_url)
    assert result.exit_code == 0, result.output
    assert watermark(database_url) is not None
    open_ones = [key for key in small_org.in_progress() if small_org.get(key)["conversationStart"] >= "2024-05-02"
                 and small_org.get(key)["conversationStart"] < "2024-05-02T12"]
    old_open = [key for key in small_org.in_progress() if small_org.get(key)["conversationStart"] < "2024-05-01T12"]
    assert open_ones and old_open
    for key in open_ones + old_open:
        small_org.finish(key)
    new = small_org.add(5, datetime(2024, 5, 2, 12, 1, tzinfo=UTC), timedelta(minutes=7))

    result = run_cli(server, *SYNC, "--until", "2024-05-02T13:00:00Z", "--no-jobs", "--lookback", "12h",
                     "--db", database_url)
    assert result.exit_code == 0, result.output
    documents = stored(database_url)
    for key in open_ones + [conversation["conversationId"] for conversation in new]:
        assert list(differences(query_variant(small_org.get(key)), documents[(key,)])) == []
        assert "conversationEnd" in documents[(key,)] or key not in open_ones
    for key in old_open:  # outside the look-back: still as first read
        assert "conversationEnd" not in documents[(key,)]


def test_the_watermark_only_moves_forward_and_after_the_data(serve, small_org, sqlite_url):
    server = serve(small_org)
    server.faults.add("503", times=20, path="/api/v2/analytics/conversations/details/query")
    failed = run_cli(server, *SYNC, "--since", "2024-05-01", "--until", "2024-05-03", "--no-jobs",
                     "--window", "1d", "--db", sqlite_url, env={"GENESYS_MAX_RETRIES": "1"})
    assert failed.exit_code == 1
    assert query(sqlite_url, "SELECT count(*) FROM genesys_sync_state") == [(0,)]
    assert query(sqlite_url, "SELECT status FROM genesys_runs") == [("failed",)]
    server.faults.script.clear()
    assert run_cli(server, *SYNC, "--since", "2024-05-01", "--until", "2024-05-03", "--no-jobs", "--window", "1d",
                   "--db", sqlite_url).exit_code == 0
    assert str(watermark(sqlite_url)).startswith("2024-05-03 00:00:00")
    # an earlier --until must not move the watermark back
    assert run_cli(server, *SYNC, "--until", "2024-05-02T12:00:00Z", "--no-jobs", "--db", sqlite_url).exit_code == 0
    assert str(watermark(sqlite_url)).startswith("2024-05-03 00:00:00")


def test_status_shows_the_state(serve, small_org, sqlite_url):
    server = serve(small_org)
    assert run_cli(server, *SYNC, "--since", "2024-05-01", "--until", "2024-05-02", "--no-jobs",
                   "--db", sqlite_url).exit_code == 0
    result = run_cli(server, "status", "--db", sqlite_url)
    assert "watermark conversations: 2024-05-02T00:00:00.000Z" in result.output
    assert "sync succeeded" in result.output and "144 documents" in result.output


RESULTS = "GET /api/v2/analytics/conversations/details/jobs/{job_id}/results"


def test_a_sync_killed_mid_job_resumes_that_job_from_its_cursor(serve, database_url):
    """kill -9 while a job is read; the next plain `sync` (watermark minus look-back, other window and page
    size) goes on with that job from its saved cursor, and leaves no job unfinished, here or on the server."""
    org = FakeOrg.generate(600, seed=12, start=START, spacing=timedelta(minutes=30),
                           data_availability=datetime(2024, 5, 10, tzinfo=UTC))
    server = serve(org)
    seen = {"submits": 0, "pages": 0}
    process = None

    def count_submits(_payload, _query):
        seen["submits"] += 1
        seen["pages"] = 0

    def kill_on_the_third_page_of_the_second_job(_payload, _query):
        seen["pages"] += 1
        if seen["submits"] == 2 and seen["pages"] == 3:
            os.kill(process.pid, signal.SIGKILL)  # while it waits for this page: pages 1 and 2 are committed

    server.on(SUBMIT, count_submits)
    server.on(RESULTS, kill_on_the_third_page_of_the_second_job)
    environment = {**os.environ, **server.environment(), **FAST}
    environment.pop("GENESYS_REGION", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "flattener", "genesys", "--env-file", "/nonexistent/.env", *SYNC,
         "--since", "2024-05-01", "--until", "2024-05-12", "--job-window", "3d", "--page-size", "20",
         "--batch-size", "20", "--db", database_url],
        env=environment, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert process.wait(60) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
    [(killed_job, cursor, pages)] = query(database_url, "SELECT job_id, cursor, pages FROM genesys_jobs "
                                                       "WHERE state = 'reading'")
    assert cursor and pages == 2
    server.hooks.clear()
    status = run_cli(server, "status", "--db", database_url).output
    assert f"run 1 sync ended abruptly (process {process.pid} on this host is gone): started" in status

    result = run_cli(server, *SYNC, "--until", "2024-05-12", "--db", database_url)
    assert result.exit_code == 0, result.output
    [(state, pages, count)] = query(database_url, f"SELECT state, pages, conversations FROM genesys_jobs "
                                                  f"WHERE job_id = '{killed_job}'")
    assert state == "loaded" and pages > 2
    assert count == len(org.job_matches(datetime(2024, 5, 4, tzinfo=UTC), datetime(2024, 5, 7, tzinfo=UTC)))
    assert query(database_url, "SELECT count(*) FROM genesys_jobs WHERE state IN ('submitted', 'reading')") == [(0,)]
    assert server.jobs == {}  # every job read was deleted on the server, the resumed one too
    assert len(stored(database_url)) == len(org.started_between(START, datetime(2024, 5, 12, tzinfo=UTC)))


def test_status_tells_a_running_run_from_one_whose_process_is_gone(serve, small_org, sqlite_url):
    engine = create_engine(sqlite_url)
    with engine.begin() as connection:  # the state tables as an earlier release made them: runs without pid, host
        state_tables.metadata.create_all(connection, tables=[state_tables.sync_state, state_tables.jobs])
        connection.execute(sa.text("CREATE TABLE genesys_runs (run_id INTEGER PRIMARY KEY, command VARCHAR(20) "
                                   "NOT NULL, arguments TEXT NOT NULL, started_at DATETIME NOT NULL, finished_at "
                                   "DATETIME, status VARCHAR(20) NOT NULL, documents INTEGER, requests INTEGER, "
                                   "error TEXT)"))
        connection.execute(sa.text("INSERT INTO genesys_runs (command, arguments, started_at, status) "
                                   "VALUES ('sync', '{}', '2024-05-01 00:00:00', 'running')"))
    server = serve(small_org)
    assert "run 1 sync running, or ended abruptly (no process recorded)" in run_cli(
        server, "status", "--db", sqlite_url).output
    assert run_cli(server, *SYNC, "--since", "2024-05-01", "--until", "2024-05-02", "--no-jobs",
                   "--db", sqlite_url).exit_code == 0  # adds the columns
    with engine.begin() as connection:
        state = State(connection)
        state.start_run("job", "{}")  # this very process: alive
    engine.dispose()
    output = run_cli(server, "status", "--db", sqlite_url).output
    assert f"run 3 job running (process {os.getpid()}): started" in output
    assert "run 2 sync succeeded" in output


def test_a_403_on_the_availability_check_suggests_no_jobs(serve, small_org, sqlite_url):
    server = serve(small_org, FakeOptions(permissions=ALL_PERMISSIONS - {DETAIL}))  # agentConversationDetail only
    result = run_cli(server, *SYNC, "--since", "2024-05-01", "--until", "2024-05-02", "--db", sqlite_url)
    assert result.exit_code == 1
    assert "403 Forbidden" in result.output and "analytics:conversationDetail:view" in result.output
    assert "--no-jobs" in result.output
    result = run_cli(server, *SYNC, "--since", "2024-05-01", "--until", "2024-05-02", "--no-jobs", "--db", sqlite_url)
    assert result.exit_code == 0, result.output


def test_a_since_after_the_watermark_is_refused_unless_forced(serve, small_org, sqlite_url):
    """It would leave a gap that the watermark then claims was read."""
    server = serve(small_org)
    assert run_cli(server, *SYNC, "--since", "2024-05-01", "--until", "2024-05-01T12:00:00Z", "--no-jobs",
                   "--db", sqlite_url).exit_code == 0
    later = (*SYNC, "--since", "2024-05-02", "--until", "2024-05-02T12:00:00Z", "--no-jobs", "--db", sqlite_url)
    calls = server.traffic.calls[QUERY]
    result = run_cli(server, *later)
    assert result.exit_code == 2
    assert "--since 2024-05-02T00:00:00.000Z is after the watermark 2024-05-01T12:00:00.000Z" in result.output
    assert "--force" in result.output
    assert str(watermark(sqlite_url)).startswith("2024-05-01 12:00:00")
    assert server.traffic.calls[QUERY] == calls  # refused before any request
    result = run_cli(server, *later, "--force")
    assert result.exit_code == 0, result.output
    assert "warning: conversations that started in 2024-05-01T12:00:00.000Z/2024-05-02T00:00:00.000Z are skipped" \
        in result.output
    assert str(watermark(sqlite_url)).startswith("2024-05-02 12:00:00")

"""flatten genesys job: availability, the state machine, cursor pages, failures, resuming."""

import re
from datetime import UTC, datetime

from flattener.compare import differences
from genesys.testing import FakeOptions, Faults

from .conftest import query, run_cli, stored

RESULTS = "GET /api/v2/analytics/conversations/details/jobs/{job_id}/results"
STATUS = "GET /api/v2/analytics/conversations/details/jobs/{job_id}"
SUBMIT = "POST /api/v2/analytics/conversations/details/jobs"
JOB = ("job", "--poll-interval", "0.01")


def jobs_table(url):
    return query(url, "SELECT job_id, state, cursor, pages, conversations FROM genesys_jobs ORDER BY submitted_at")


def test_a_job_is_polled_until_fulfilled_and_read_by_cursor(serve, small_org, sqlite_url):
    server = serve(small_org, FakeOptions(job_polls=4))
    result = run_cli(server, *JOB, "--interval", "2024-05-01/2024-05-03", "--page-size", "50", "--db", sqlite_url)
    assert result.exit_code == 0, result.output
    assert "loaded 288 conversations" in result.output
    assert server.traffic.calls[STATUS] == 4              # QUEUED, PENDING, PENDING, FULFILLED
    assert server.traffic.calls[RESULTS] == 6             # 288 by 50, the last page without a cursor
    documents = stored(sqlite_url)
    for conversation in small_org.all()[:288]:            # with participant attributes: the jobs variant
        assert list(differences(conversation, documents[(conversation["conversationId"],)])) == []
    assert any("attributes" in participant for document in documents.values()
               for participant in document["participants"])
    [(job_id, state, cursor, pages, count)] = jobs_table(sqlite_url)
    assert (state, cursor, pages, count) == ("loaded", None, 6, 288)
    assert job_id not in server.jobs                      # deleted once read


def test_a_failed_job_is_reported_with_its_message(serve, small_org, sqlite_url):
    server = serve(small_org, FakeOptions(job_outcome="FAILED", job_error="The datalake is on fire."))
    result = run_cli(server, *JOB, "--interval", "2024-05-01/2024-05-02", "--db", sqlite_url)
    assert result.exit_code == 1
    assert "ended FAILED: The datalake is on fire." in result.output


def test_cancelled_and_expired_jobs_are_reported(serve, small_org, sqlite_url):
    for outcome, words in (("CANCELLED", "it was cancelled"), ("EXPIRED", "its results expired before they were read")):
        server = serve(small_org, FakeOptions(job_outcome=outcome))
        result = run_cli(server, *JOB, "--interval", "2024-05-01/2024-05-02", "--db", sqlite_url)
        assert result.exit_code == 1 and f"ended {outcome}: {words}" in result.output


def test_a_job_that_never_finishes_times_out_and_is_picked_up_next_time(serve, small_org, sqlite_url):
    server = serve(small_org, FakeOptions(job_polls=1000))
    result = run_cli(server, *JOB, "--interval", "2024-05-01/2024-05-02", "--timeout", "1s", "--db", sqlite_url)
    assert result.exit_code == 1 and "is still PENDING after 1 s" in result.output
    server.options.job_polls = 0
    result = run_cli(server, *JOB, "--interval", "2024-05-01/2024-05-02", "--db", sqlite_url)
    assert result.exit_code == 0, result.output
    assert server.traffic.calls[SUBMIT] == 1  # the same job, waited for again
    assert len(stored(sqlite_url)) == 144


def test_an_interrupted_export_resumes_from_its_last_cursor(serve, small_org, sqlite_url):
    faults = Faults()
    server = serve(small_org, faults=faults)

    def fail_after_the_fourth_page(_payload, _query):
        if server.traffic.calls[RESULTS] == 4:
            faults.add("503", times=10, path="/api/v2/analytics/conversations/details/jobs/")

    server.on(RESULTS, fail_after_the_fourth_page)
    result = run_cli(server, *JOB, "--interval", "2024-05-01/2024-05-03", "--page-size", "40", "--db", sqlite_url,
                     env={"GENESYS_MAX_RETRIES": "2"})
    assert result.exit_code == 1 and "HTTP 503" in result.output
    [(job_id, state, cursor, pages, count)] = jobs_table(sqlite_url)
    assert (state, pages, count) == ("reading", 4, 160) and cursor
    assert len(stored(sqlite_url)) == 160          # the batch in hand was committed with its cursor

    faults.script.clear()
    server.hooks.clear()
    result = run_cli(server, *JOB, "--interval", "2024-05-01/2024-05-03", "--page-size", "40", "--db", sqlite_url)
    assert result.exit_code == 0, result.output
    assert "loaded 128 conversations" in result.output     # only what the first run had not stored
    assert server.traffic.calls[SUBMIT] == 1
    assert jobs_table(sqlite_url)[0][1:] == ("loaded", None, 8, 288)
    assert len(stored(sqlite_url)) == 288


def test_an_expired_job_is_submitted_again(serve, small_org, sqlite_url):
    server = serve(small_org)
    server.on(SUBMIT, lambda _payload, _query: server.faults.add("503", times=5, path="/api/v2/analytics/"))
    result = run_cli(server, *JOB, "--interval", "2024-05-01/2024-05-02", "--db", sqlite_url,
                     env={"GENESYS_MAX_RETRIES": "2"})
    assert result.exit_code == 1 and "HTTP 503" in result.output  # submitted, then the run died
    server.hooks.clear()
    server.faults.script.clear()
    [first] = server.jobs.values()
    first.state = "EXPIRED"  # by the time the run is repeated
    result = run_cli(server, *JOB, "--interval", "2024-05-01/2024-05-02", "--db", sqlite_url)
    assert result.exit_code == 0, result.output
    assert server.traffic.calls[SUBMIT] == 2
    assert [row[1] for row in jobs_table(sqlite_url)] == ["abandoned", "loaded"]
    assert len(stored(sqlite_url)) == 144


def test_availability_is_checked_first(serve, small_org, sqlite_url):
    small_org.data_availability = datetime(2024, 5, 2, tzinfo=UTC)
    server = serve(small_org)
    result = run_cli(server, *JOB, "--interval", "2024-05-02/2024-05-03", "--db", sqlite_url)
    assert result.exit_code == 1 and "starts after that" in result.output and "flatten genesys details" in result.output
    assert server.traffic.calls[SUBMIT] == 0
    result = run_cli(server, *JOB, "--interval", "2024-05-01/2024-05-03", "--db", sqlite_url)
    assert result.exit_code == 0
    assert "warning: the datalake is complete only up to 2024-05-02T00:00:00.000Z" in result.output
    assert len(stored(sqlite_url)) == 144  # the fake's datalake holds only what started before that date


def test_long_intervals_run_one_job_per_window(serve, small_org, sqlite_url):
    server = serve(small_org)
    result = run_cli(server, *JOB, "--interval", "2024-05-01/2024-05-04", "--job-window", "1d", "--db", sqlite_url)
    assert result.exit_code == 0, result.output
    assert server.traffic.calls[SUBMIT] == 3
    assert len(stored(sqlite_url)) == 300


def test_a_job_that_expires_while_read_says_so_and_the_next_run_submits_it_again(serve, small_org, sqlite_url):
    server = serve(small_org)

    def expire_on_the_third_page(_payload, _query):
        if server.traffic.calls[RESULTS] == 3:
            for job in server.jobs.values():
                job.state = "EXPIRED"

    server.on(RESULTS, expire_on_the_third_page)
    arguments = (*JOB, "--interval", "2024-05-01/2024-05-03", "--page-size", "50", "--db", sqlite_url)
    result = run_cli(server, *arguments)
    assert result.exit_code == 1
    assert "expired while its results were being read (2 pages, 100 conversations loaded)" in result.output
    assert "run the same command again to submit it again" in result.output
    assert "FULFILLED" not in result.output and "HTTP 400" not in result.output
    server.hooks.clear()
    result = run_cli(server, *arguments)
    assert result.exit_code == 0, result.output
    assert re.search(r"^warning: details job \S+ ended EXPIRED: submitting it again$", result.output, re.M)
    assert server.traffic.calls[SUBMIT] == 2 and server.jobs == {}
    assert [row[1] for row in jobs_table(sqlite_url)] == ["abandoned", "loaded"]
    assert len(stored(sqlite_url)) == 288

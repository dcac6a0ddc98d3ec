"""The README's commands, run as written against the fake Genesys Cloud; secrets that never show."""

import logging
import re
import shlex
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import requests
from click.testing import CliRunner

from flattener.cli import cli
from genesys.intervals import parse_instant, parse_interval
from genesys.testing import FakeOptions, FakeOrg, Faults

from .conftest import FAST, ROOT, query, run_cli, stored

README_DB = "postgresql://localhost/genesys"


def readme_commands() -> tuple[dict[str, str], list[list[str]]]:
    """The variables the README exports and the `flatten` commands it runs, from its genesys section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("<!-- genesys -->"):text.index("<!-- /genesys -->")]
    [block] = re.findall(r"```sh\n(.*?)```", section, re.S)
    variables, commands = {}, []
    for line in block.strip().splitlines():
        words = shlex.split(line)
        if words[0] == "export":
            variables.update(word.split("=", 1) for word in words[1:])
        else:
            assert words[0] == "flatten", line
            commands.append(words[1:])
    return variables, commands


def test_the_readme_commands_run_against_the_fake_org(serve, database_url):
    variables, commands = readme_commands()
    assert set(variables) == {"GENESYS_CLIENT_ID", "GENESYS_CLIENT_SECRET", "GENESYS_REGION"}
    names = [command[1] for command in commands]
    assert set(names) >= {"details", "job", "sync", "users", "queues", "aggregates", "status"}
    # an org with data for every interval the README names: 2024-04-01 to 2024-05-08, one conversation every
    # two hours; the datalake holds it up to 2024-05-04, so `sync` uses a job, then the details query
    org = FakeOrg.generate(444, seed=7, start=datetime(2024, 4, 1, tzinfo=UTC), spacing=timedelta(hours=2),
                           data_availability=datetime(2024, 5, 4, tzinfo=UTC))
    server = serve(org, FakeOptions(token_rate_limit=None))  # `sync` reads from 2024-05-01 to now, week by week
    # the region stays as written; GENESYS_API_URL and GENESYS_LOGIN_URL send the traffic to 127.0.0.1
    environment = {**variables, **server.environment(), **FAST, "GENESYS_POLL_INTERVAL": "0.01"}
    outputs = {}
    for command in commands:
        arguments = [database_url if word == README_DB else word for word in command]
        result = CliRunner().invoke(cli, arguments, env=environment, catch_exceptions=False)
        assert result.exit_code == 0, f"flatten {shlex.join(command)}:\n{result.output}"
        assert "warning" not in result.output, f"flatten {shlex.join(command)}:\n{result.output}"
        outputs[command[1]] = result.output

    def day(text):
        return parse_instant(text)

    def loaded(name):
        return int(re.search(r"^loaded (\d+) ", outputs[name], re.M).group(1))

    interval = {command[1]: parse_interval(command[command.index("--interval") + 1])
                for command in commands if "--interval" in command}
    assert loaded("details") == len(org.started_between(*interval["details"])) > 0
    assert loaded("job") == len(org.job_matches(*interval["job"])) > 0
    since = day(next(command for command in commands if command[1] == "sync")[3])
    assert loaded("sync") == len(org.job_matches(since, org.data_availability)) + len(
        org.started_between(org.data_availability, datetime.now(UTC))) > 0
    assert len(stored(database_url)) == len(org)  # between them, every conversation of the org
    assert loaded("users") == len(stored(database_url, "users")) == 40
    assert loaded("queues") == len(stored(database_url, "queues")) == 8
    days = query(database_url, "SELECT DISTINCT interval_start FROM aggregate_buckets ORDER BY 1")
    assert loaded("aggregates") == len(stored(database_url, "aggregates")) > 0
    assert [str(value)[:10] for (value,) in days] == [f"2024-05-0{number}" for number in range(1, 8)]
    assert query(database_url, "SELECT count(*) FROM aggregate_metrics WHERE metric = 'tHandle'")[0][0] > 0
    assert "watermark conversations:" in outputs["status"] and "sync succeeded" in outputs["status"]


def test_secrets_and_tokens_never_show(serve, small_org, sqlite_url, caplog):
    server = serve(small_org, FakeOptions(client_secret="sup3r-s3cret-value", token_max_calls=2),
                   Faults().add("503").add("429", retry_after=1).add("revoke"))
    caplog.set_level(logging.DEBUG)  # every logger, urllib3's too
    results = [run_cli(server, "-vv", "details", "--interval", "2024-05-01/2024-05-03", "--debug", "--db", sqlite_url),
               run_cli(server, "-vv", "users", "--db", sqlite_url)]
    server.options.client_secret = "another-one"  # the credentials are now refused
    results.append(run_cli(server, "-vv", "queues", "--db", sqlite_url,
                           env={"GENESYS_CLIENT_SECRET": "sup3r-s3cret-value"}))
    assert [result.exit_code for result in results] == [0, 0, 1]
    assert "refused the client credentials" in results[-1].output
    shown = "\n".join(result.output for result in results) + caplog.text
    assert "503" in shown and "retrying" in shown  # the logs do talk
    assert len(server.traffic.tokens_issued) > 3
    for secret in ["sup3r-s3cret-value", *server.traffic.tokens_issued]:
        assert secret not in shown


def test_missing_credentials_are_a_usage_error(sqlite_url):
    result = CliRunner().invoke(cli, ["genesys", "--env-file", "/nonexistent", "details", "--interval",
                                      "2024-05-01/P1D", "--db", sqlite_url],
                                env={"GENESYS_CLIENT_ID": None, "GENESYS_CLIENT_SECRET": None, "GENESYS_REGION": None,
                                     "GENESYS_API_URL": None})
    assert result.exit_code == 2
    assert "GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET and GENESYS_REGION not set" in result.output


def test_one_url_override_without_the_other_is_a_usage_error(serve, small_org, sqlite_url):
    server = serve(small_org)
    result = run_cli(server, "users", "--db", sqlite_url,
                     env={"GENESYS_LOGIN_URL": None, "GENESYS_REGION": "eu-west-1"})
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "GENESYS_API_URL is set but GENESYS_LOGIN_URL is not" in result.output
    assert server.traffic.calls == {} and server.traffic.tokens_issued == []


def test_a_connection_error_names_the_host_it_tried(sqlite_url):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    result = CliRunner().invoke(cli, ["genesys", "--env-file", "/nonexistent", "details", "--interval",
                                      "2024-05-01/P1D", "--db", sqlite_url],
                                env={**FAST, "GENESYS_CLIENT_ID": "id", "GENESYS_CLIENT_SECRET": "secret",
                                     "GENESYS_REGION": None, "GENESYS_API_URL": url, "GENESYS_LOGIN_URL": url,
                                     "GENESYS_MAX_RETRIES": "0"})
    assert result.exit_code == 1
    assert f"POST {url}/oauth/token: connection failed" in result.output


def test_a_details_window_over_31_days_is_a_usage_error_before_any_request(serve, small_org, sqlite_url):
    server = serve(small_org)
    for command in (["details", "--interval", "2024-05-01/2024-07-01"], ["sync", "--since", "2024-05-01"]):
        result = run_cli(server, *command, "--window", "40d", "--db", sqlite_url)
        assert result.exit_code == 2 and "at most 31 days" in result.output, result.output
    assert server.traffic.calls == {} and server.traffic.tokens_issued == []


def test_a_job_window_longer_than_31_days_is_one_job(serve, small_org, sqlite_url):
    """The reference gives no interval limit for details jobs (only for the details query)."""
    server = serve(small_org)
    result = run_cli(server, "job", "--interval", "2024-04-01/2024-05-31", "--job-window", "60d",
                     "--poll-interval", "0.01", "--db", sqlite_url)
    assert result.exit_code == 0, result.output
    assert server.traffic.calls["POST /api/v2/analytics/conversations/details/jobs"] == 1
    assert "loaded 300 conversations" in result.output


def test_a_bad_setting_is_a_one_line_usage_error(serve, small_org, sqlite_url):
    server = serve(small_org)
    for variable in ("GENESYS_REQUESTS_PER_MINUTE", "GENESYS_READ_TIMEOUT"):
        result = run_cli(server, "users", "--db", sqlite_url, env={variable: "0"})
        assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
        assert result.output.startswith(f"error: {variable}='0' must be more than 0")
    assert server.traffic.calls == {}


def test_verbose_works_after_the_subcommand_too(serve, small_org, sqlite_url):
    server = serve(small_org, faults=Faults().add("503", path="/api/v2/analytics/"))
    result = run_cli(server, "details", "--interval", "2024-05-01/P1D", "--db", sqlite_url, "-v")
    assert result.exit_code == 0, result.output
    assert "POST /api/v2/analytics/conversations/details/query: HTTP 503: retrying" in result.output
    result = run_cli(server, "-v", "status", "--db", sqlite_url, "-v")  # -vv, split
    assert result.exit_code == 0, result.output


def test_page_sizes_agree_with_their_help(serve, small_org, sqlite_url):
    server = serve(small_org)
    result = run_cli(server, "details", "--interval", "2024-05-01/P1D", "--page-size", "101", "--db", sqlite_url)
    assert result.exit_code == 2 and "101 is not in the range 1<=x<=100" in result.output
    assert server.traffic.calls == {}
    for command in ("users", "queues"):
        assert "Entities per page" in run_cli(server, command, "--help").output


def test_bad_options_are_explained(serve, small_org, sqlite_url):
    server = serve(small_org)
    result = run_cli(server, "details", "--interval", "2024-05-08/2024-05-01", "--db", sqlite_url)
    assert result.exit_code == 2 and "the end must come after the start" in result.output
    result = run_cli(server, "sync", "--lookback", "a while", "--db", sqlite_url)
    assert result.exit_code == 2 and "is not a duration" in result.output


def test_the_fake_org_can_be_served_on_its_own(tmp_path):
    """`python -m genesys.testing` prints the exports that point flatten at it, and serves them."""
    process = subprocess.Popen([sys.executable, "-m", "genesys.testing", "--conversations", "50",
                                "--available", "2024-05-01T12:00:00Z"], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        lines = [process.stdout.readline() for _ in range(6)]
        assert lines[0].startswith("fake Genesys Cloud at http://127.0.0.1:") and "50 conversations" in lines[0]
        environment = dict(line.removeprefix("export ").strip().split("=", 1) for line in lines[1:5])
        assert lines[5].strip() == "data availability date: 2024-05-01T12:00:00.000Z"
        result = CliRunner().invoke(cli, ["genesys", "details", "--interval", "2024-05-01/P1D",
                                          "--db", f"sqlite:///{tmp_path / 'try.db'}"], env=environment)
        assert result.exit_code == 0 and "loaded 50 conversations" in result.output
    finally:
        process.terminate()
        process.wait(10)


def test_the_served_fake_injects_429s_when_asked(tmp_path):
    """`python -m genesys.testing --fault-rate` injects 429s (with Retry-After) among its faults."""
    process = subprocess.Popen([sys.executable, "-m", "genesys.testing", "--conversations", "5", "--fault-rate", "1",
                                "--fault-kinds", "429"], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        lines = [process.stdout.readline() for _ in range(5)]
        base = dict(line.removeprefix("export ").strip().split("=", 1) for line in lines[1:5])["GENESYS_API_URL"]
        token = requests.post(f"{base}/oauth/token", data={"grant_type": "client_credentials"},
                              auth=("fake-client-id", "fake-client-secret"), timeout=10).json()["access_token"]
        response = requests.get(f"{base}/api/v2/users", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert response.status_code == 429 and response.headers["Retry-After"] == "1"
    finally:
        process.terminate()
        process.wait(10)

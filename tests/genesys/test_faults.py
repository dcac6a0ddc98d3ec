"""Thousands of conversations through a fake Genesys that misbehaves: each lands once, and round-trips."""

from datetime import UTC, datetime, timedelta

from flattener import open_plan
from flattener.compare import differences
from genesys.testing import FakeOptions, FakeOrg, Faults, query_variant

from .conftest import MAPPING, START, query, run_cli, stored

CONVERSATIONS = 3000
AVAILABLE = datetime(2024, 5, 4, tzinfo=UTC)


def test_thousands_of_conversations_through_faults_land_exactly_once(serve, database_url):
    org = FakeOrg.generate(CONVERSATIONS, seed=2024, start=START, spacing=timedelta(minutes=3),
                           data_availability=AVAILABLE)  # 6.25 days: 3 through jobs, the rest by query
    faults = Faults(rate=0.25, kinds=("502", "503", "504", "drop"), burst=3, seed=1)
    faults.add("429", times=2, retry_after=1).add("revoke")
    server = serve(org, FakeOptions(token_max_calls=10), faults)
    environment = {"GENESYS_MAX_RETRIES": "8"}

    result = run_cli(server, "sync", "--since", "2024-05-01", "--until", "2024-05-08", "--page-size", "250",
                     "--poll-interval", "0.01", "--db", database_url, env=environment)
    assert result.exit_code == 0, result.output
    assert "jobs until 2024-05-04T00:00:00.000Z, then the details query" in result.output
    documents = stored(database_url)
    assert len(documents) == CONVERSATIONS
    for conversation in org.all():
        expected = conversation if conversation["conversationStart"] < "2024-05-04" else query_variant(conversation)
        assert list(differences(expected, documents[(conversation["conversationId"],)])) == []
    assert faults.injected["429"] == 2 and faults.injected["drop"] > 0
    assert sum(faults.injected[kind] for kind in ("502", "503", "504")) >= 10
    assert len(server.traffic.tokens_issued) > 3  # tokens died every 10 calls, and one was revoked

    # the same week again through the details query: every conversation replaced, none added
    result = run_cli(server, "details", "--interval", "2024-05-01/2024-05-08", "--db", database_url, env=environment)
    assert result.exit_code == 0, result.output
    assert f"loaded {CONVERSATIONS} conversations" in result.output
    documents = stored(database_url)
    for conversation in org.all():
        assert list(differences(query_variant(conversation), documents[(conversation["conversationId"],)])) == []
    root = open_plan(MAPPING).root.name
    assert query(database_url, f"SELECT count(*), count(DISTINCT conversation_id) FROM {root}") == [
        (CONVERSATIONS, CONVERSATIONS)]

"""flatten genesys details: windows, pages, the paging cap, de-duplication, exact round trips."""

from datetime import timedelta

from flattener.compare import differences
from genesys.testing import FakeOptions, FakeOrg, query_variant

from .conftest import MAPPING, START, run_cli, stored

QUERY = "POST /api/v2/analytics/conversations/details/query"


def test_an_interval_is_read_in_windows_and_pages_and_round_trips(serve, small_org, sqlite_url):
    server = serve(small_org)
    result = run_cli(server, "details", "--interval", "2024-05-01/2024-05-08", "--window", "1d", "--db", sqlite_url)
    assert result.exit_code == 0, result.output
    assert "loaded 300 conversations" in result.output
    documents = stored(sqlite_url)
    assert len(documents) == 300
    for conversation in small_org.all():
        assert list(differences(query_variant(conversation), documents[(conversation["conversationId"],)])) == []
    bodies = [body for path, body in server.traffic.bodies if path.endswith("details/query")]
    assert {body["paging"]["pageSize"] for body in bodies} == {100}
    windows = {body["interval"] for body in bodies}
    assert len(windows) == 7 and "2024-05-03T00:00:00.000Z/2024-05-04T00:00:00.000Z" in windows
    # 144 conversations a day: pages 1 and 2 of the two full days, page 1 of the last, 1 empty page for each other day
    assert server.traffic.calls[QUERY] == 2 + 2 + 1 + 4


def test_an_interval_that_starts_mid_day_keeps_only_its_conversations(serve, small_org, sqlite_url):
    server = serve(small_org)
    result = run_cli(server, "details", "--interval", "2024-05-01T12:00:00Z/2024-05-01T18:00:00Z", "--db", sqlite_url)
    assert result.exit_code == 0, result.output
    starts = sorted(document["conversationStart"] for document in stored(sqlite_url).values())
    assert len(starts) == 36  # one every 10 minutes, though the API returned the whole day
    assert starts[0] == "2024-05-01T12:00:00.000Z" and starts[-1] == "2024-05-01T17:50:00.000Z"


def test_windows_over_the_paging_cap_are_split(serve, sqlite_url):
    org = FakeOrg.generate(600, seed=3, start=START, spacing=timedelta(minutes=15))  # 96 a day for 6.25 days
    server = serve(org, FakeOptions(paging_cap=200))
    result = run_cli(server, "details", "--interval", "2024-05-01/2024-05-08", "--paging-cap", "200",
                     "--db", sqlite_url)
    assert result.exit_code == 0, result.output
    assert len(stored(sqlite_url)) == 600
    intervals = [body["interval"] for path, body in server.traffic.bodies if path.endswith("details/query")]
    assert "2024-05-01T00:00:00.000Z/2024-05-08T00:00:00.000Z" in intervals  # too big: split
    assert "2024-05-01T00:00:00.000Z/2024-05-02T00:00:00.000Z" in intervals  # small enough at last
    assert server.traffic.statuses[400] == 0  # split before the API had to refuse a page


def test_paging_refused_by_the_api_splits_the_window(serve, sqlite_url):
    """The API's 400 'Pagination may not exceed ...' (the cap set lower on the server than the client knows)."""
    org = FakeOrg.generate(400, seed=4, start=START, spacing=timedelta(minutes=15))
    server = serve(org, FakeOptions(paging_cap=200))
    result = run_cli(server, "details", "--interval", "2024-05-01/2024-05-06", "--db", sqlite_url)
    assert result.exit_code == 0, result.output
    assert len(stored(sqlite_url)) == 400
    assert server.traffic.statuses[400] >= 1


def test_a_day_over_the_cap_cannot_be_split_and_says_what_to_do(serve, sqlite_url):
    org = FakeOrg.generate(300, seed=5, start=START, spacing=timedelta(minutes=1))  # 300 in five hours
    server = serve(org, FakeOptions(paging_cap=200))
    result = run_cli(server, "details", "--interval", "2024-05-01/2024-05-02", "--paging-cap", "200",
                     "--db", sqlite_url)
    assert result.exit_code == 1
    assert "more than the details query can page through (200)" in result.output
    assert "flatten genesys job" in result.output


def test_a_lower_cap_enforced_by_the_api_stops_the_splitting_and_is_the_one_quoted(serve, sqlite_url):
    """The API refuses paging past 200 while the client believes 100,000: a day cannot be split usefully,
    so the run stops at the first split that does not shrink totalHits, quoting the cap the API enforced."""
    org = FakeOrg.generate(300, seed=5, start=START, spacing=timedelta(minutes=1))  # 300 in five hours
    server = serve(org, FakeOptions(paging_cap=200))
    result = run_cli(server, "details", "--interval", "2024-05-01/2024-05-02", "--db", sqlite_url)
    assert result.exit_code == 1
    assert "more than the details query can page through (200)" in result.output
    assert "flatten genesys job" in result.output
    assert server.traffic.calls[QUERY] == 4  # pages 1-3 (refused), then page 1 of the first half


def test_a_conversation_seen_on_two_pages_is_loaded_once(serve, small_org, sqlite_url):
    """While pages are read, conversations arrive that sort before the page being read: every later
    conversation shifts on, and the last ones of page 1 come again on page 2. The newcomers
    themselves sort onto a page already read: the next run (a sync's look-back) picks them up."""
    server = serve(small_org)

    arrived = []

    def calls_arrive(payload, _query):
        if payload["paging"]["pageNumber"] == 2 and not arrived:
            arrived.extend(small_org.add(3, START + timedelta(minutes=1)))

    server.on(QUERY, calls_arrive)
    result = run_cli(server, "details", "--interval", "2024-05-01/2024-05-02", "--db", sqlite_url)
    assert result.exit_code == 0, result.output
    assert "(3 seen twice, loaded once)" in result.output
    assert len(stored(sqlite_url)) == 144
    result = run_cli(server, "details", "--interval", "2024-05-01/2024-05-02", "--db", sqlite_url)
    assert "loaded 147 conversations into" in result.output
    assert len(stored(sqlite_url)) == 147


def test_filters_from_a_query_file_reach_the_api(serve, small_org, sqlite_url, tmp_path):
    query = tmp_path / "voice.json"
    query.write_text('{"segmentFilters": [{"type": "or", "predicates": [{"dimension": "mediaType", '
                     '"value": "voice"}]}]}')
    server = serve(small_org)
    result = run_cli(server, "details", "--interval", "2024-05-01/2024-05-03", "--query", str(query),
                     "--db", sqlite_url)
    assert result.exit_code == 0, result.output
    documents = stored(sqlite_url)
    voice = [conversation for conversation in small_org.all() if conversation["conversationStart"] < "2024-05-03"
             and conversation["participants"][0]["sessions"][0]["mediaType"] == "voice"]
    assert 0 < len(documents) == len(voice) < 288


def test_the_conversation_mapping_is_the_default_and_can_be_changed(serve, small_org, sqlite_url, tmp_path):
    server = serve(small_org)
    assert run_cli(server, "details", "--interval", "2024-05-01/P1D", "--db", sqlite_url).exit_code == 0
    assert len(stored(sqlite_url, MAPPING)) == 144
    other = f"sqlite:///{tmp_path / 'blueprint.db'}"
    result = run_cli(server, "details", "--interval", "2024-05-01/P1D", "-m", "blueprint", "--db", other)
    assert result.exit_code == 0, result.output
    assert len(stored(other, "blueprint")) == 144

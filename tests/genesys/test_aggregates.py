"""flatten genesys aggregates: buckets as rows, numbers that check out, re-runs that replace."""

from flattener.compare import differences
from genesys.aggregates import AggregatesQuery
from genesys.intervals import parse_interval

from .conftest import client_for, query, run_cli, stored

AGGREGATES = ("aggregates", "--interval", "2024-05-01/2024-05-02", "--granularity", "PT6H",
              "--group-by", "queueId", "--metrics", "nOffered,tTalk", "--metrics", "oServiceLevel")


def test_buckets_land_as_rows_whose_numbers_check_out(serve, small_org, database_url):
    server = serve(small_org)
    result = run_cli(server, *AGGREGATES, "--db", database_url)
    assert result.exit_code == 0, result.output
    [talk] = query(database_url, "SELECT sum(m.sum), sum(m.count) FROM aggregate_metrics m WHERE m.metric = 'tTalk'")
    [(offered,)] = query(database_url, "SELECT sum(count) FROM aggregate_metrics WHERE metric = 'nOffered'")
    groups = [name for (name,) in query(database_url, "SELECT DISTINCT dimension FROM aggregate_groups")]
    [buckets] = query(database_url, "SELECT count(*), min(interval_start) FROM aggregate_buckets")
    [ratios] = query(database_url, "SELECT ratio, numerator, denominator, target, sum FROM aggregate_metrics "
                                   "WHERE metric = 'oServiceLevel' LIMIT 1")
    metrics = [metric for conversation in small_org.all() for participant in conversation["participants"]
               for session in participant["sessions"] for metric in session.get("metrics", ())
               if "2024-05-01" <= metric["emitDate"] < "2024-05-02"]
    assert tuple(talk) == (sum(m["value"] for m in metrics if m["name"] == "tTalk"),
                           sum(1 for m in metrics if m["name"] == "tTalk"))
    assert offered == sum(m["value"] for m in metrics if m["name"] == "nOffered")
    assert sorted(groups) == ["mediaType", "queueId"]  # the API adds mediaType to the group, as its sample shows
    assert buckets[0] > 8 and str(buckets[1]).startswith("2024-05-01")
    assert ratios[3] == 0.8 and ratios[4] is None and ratios[1] <= ratios[2]  # sparse: no sum for a ratio metric


def test_querying_an_overlapping_interval_replaces_its_buckets(serve, small_org, sqlite_url):
    server = serve(small_org)
    assert run_cli(server, *AGGREGATES, "--db", sqlite_url).exit_code == 0
    first = stored(sqlite_url, "aggregates")
    overlapping = list(AGGREGATES)
    overlapping[2] = "2024-05-01T12:00:00Z/2024-05-02T12:00:00Z"
    assert run_cli(server, *overlapping, "--db", sqlite_url).exit_code == 0
    second = stored(sqlite_url, "aggregates")
    shared = first.keys() & second.keys()
    assert shared and len(second) > len(first)
    for key in shared:
        assert second[key] == first[key]
    other = run_cli(server, *AGGREGATES[:-2], "--db", sqlite_url)  # another query: its own rows
    assert other.exit_code == 0
    assert len(stored(sqlite_url, "aggregates")) > len(second)


def test_documents_round_trip_and_an_empty_answer_loads_nothing(serve, small_org, sqlite_url):
    server = serve(small_org)
    with client_for(server) as client:
        query = AggregatesQuery(client, ["tHandle", "nOffered"], ["userId"], "P1D")
        documents = list(query.documents(*parse_interval("2024-05-01/2024-05-03")))
        assert documents and list(query.documents(*parse_interval("2023-01-01/2023-01-02"))) == []
    assert run_cli(server, "aggregates", "--interval", "2024-05-01/2024-05-03", "--granularity", "P1D",
                   "--group-by", "userId", "--metrics", "tHandle,nOffered", "--db", sqlite_url).exit_code == 0
    loaded = stored(sqlite_url, "aggregates")
    for document in documents:
        assert list(differences(document, loaded[(document["id"],)])) == []


def test_long_intervals_are_asked_in_whole_buckets(serve, small_org, sqlite_url):
    server = serve(small_org)
    result = run_cli(server, "aggregates", "--interval", "2024-04-01/2024-05-15", "--granularity", "P1D",
                     "--metrics", "nOffered", "--db", sqlite_url)
    assert result.exit_code == 0, result.output
    intervals = [body["interval"] for path, body in server.traffic.bodies if path.endswith("aggregates/query")]
    assert intervals == ["2024-04-01T00:00:00.000Z/2024-05-02T00:00:00.000Z",
                         "2024-05-02T00:00:00.000Z/2024-05-15T00:00:00.000Z"]



def test_fractional_stats_land_in_their_columns(serve, small_org, database_url):
    """StatisticalSummary: max, min, sum, current, ratio, numerator, denominator and target are doubles;
    count, countNegative, countPositive, p95, p99 and calculatedMetricValue int64 (the reference, 2(c))."""
    doubles = {"max": 1.5, "min": 0.25, "sum": 1234.75, "current": 2.5, "ratio": 0.8125, "numerator": 13.5,
               "denominator": 16.625, "target": 0.8}
    integers = {"count": 3, "countNegative": 1, "countPositive": 2, "p95": 7, "p99": 9, "calculatedMetricValue": 42}
    stats = {**doubles, **integers}
    response = {"results": [{"group": {"queueId": "q1", "mediaType": "voice"}, "data": [{
        "interval": "2024-05-01T00:00:00.000Z/2024-05-02T00:00:00.000Z",
        "metrics": [{"metric": "tTalk", "stats": stats}], "views": [{"name": "short", "stats": stats}]}]}]}
    server = serve(small_org)
    server.on("POST /api/v2/analytics/conversations/aggregates/query", lambda _payload, _query: (200, {}, response))
    result = run_cli(server, "aggregates", "--interval", "2024-05-01/2024-05-02", "--metrics", "tTalk",
                     "--group-by", "queueId", "--db", database_url)
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output
    columns = "max, min, sum, current, ratio, numerator, denominator, target, count, count_negative, " \
              "count_positive, p95, p99, calculated_metric_value, _extras"
    expected = (*doubles.values(), *integers.values(), None)
    assert query(database_url, f"SELECT {columns} FROM aggregate_metrics") == [expected]
    assert query(database_url, f"SELECT {columns} FROM aggregate_views") == [expected]
    [document] = stored(database_url, "aggregates").values()
    assert document["metrics"][0]["stats"] == stats


def test_unknown_metrics_and_dimensions_are_refused_like_the_api_does(serve, small_org, sqlite_url):
    server = serve(small_org)
    result = run_cli(server, "aggregates", "--interval", "2024-05-01/2024-05-02", "--metrics", "nOffered,tTalkTime",
                     "--db", sqlite_url)
    assert result.exit_code == 1 and "HTTP 400" in result.output and "tTalkTime" in result.output
    result = run_cli(server, "aggregates", "--interval", "2024-05-01/2024-05-02", "--metrics", "nOffered",
                     "--group-by", "queue", "--db", sqlite_url)
    assert result.exit_code == 1 and "HTTP 400" in result.output and "'queue'" in result.output

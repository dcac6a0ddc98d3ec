"""The client against the fake server: tokens, retries, rate limits, timeouts, errors that explain."""

import time

import pytest

from genesys.client import DETAIL_PERMISSION
from genesys.errors import ApiError, PermissionDenied, RateLimited, Unavailable
from genesys.limiter import RateLimiter
from genesys.testing import FakeOptions, Faults
from genesys.testing.server import AGGREGATE, ALL_PERMISSIONS, QUEUE

from .conftest import client_for

QUERY = "/api/v2/analytics/conversations/details/query"
BODY = {"interval": "2024-05-01T00:00:00.000Z/2024-05-02T00:00:00.000Z", "paging": {"pageSize": 10, "pageNumber": 1}}


def test_one_token_serves_many_calls(serve, small_org):
    server = serve(small_org)
    with client_for(server) as client:
        for _ in range(5):
            assert len(client.post(QUERY, BODY)["conversations"]) == 10
    assert len(server.traffic.tokens_issued) == 1


def test_a_token_is_renewed_before_it_expires(serve, small_org):
    server = serve(small_org, FakeOptions(token_lifetime=1))
    with client_for(server, token_renew_margin=0.9) as client:  # renew after half a second
        client.post(QUERY, BODY)
        time.sleep(0.6)
        client.post(QUERY, BODY)
    assert len(server.traffic.tokens_issued) == 2
    assert server.traffic.statuses[401] == 0  # renewed before the server refused it


def test_a_401_renews_the_token_once(serve, small_org):
    server = serve(small_org, FakeOptions(token_max_calls=3))
    with client_for(server) as client:
        for _ in range(7):
            client.post(QUERY, BODY)
    assert len(server.traffic.tokens_issued) == 3
    assert server.traffic.statuses[401] == 2


def test_a_revoked_token_is_replaced(serve, small_org):
    server = serve(small_org, faults=Faults().add("revoke"))
    with client_for(server) as client:
        assert client.post(QUERY, BODY)["totalHits"] == 144
    assert len(server.traffic.tokens_issued) == 2


def test_wrong_credentials_are_explained(serve, small_org):
    server = serve(small_org, FakeOptions(client_secret="the-real-one"))
    server.options.client_secret = "a-wrong-one"  # what the client will send
    with client_for(server) as client:
        server.options.client_secret = "the-real-one"
        with pytest.raises(PermissionDenied) as caught:
            client.post(QUERY, BODY)
    message = str(caught.value)
    assert "refused the client credentials" in message and "invalid_client" in message
    assert "GENESYS_CLIENT_SECRET" in message and "a-wrong-one" not in message


def test_429_honours_retry_after(serve, small_org):
    server = serve(small_org, faults=Faults().add("429", times=2, retry_after=1))
    waits = []
    with client_for(server) as client:
        client.transport.sleep = waits.append
        assert client.post(QUERY, BODY)["totalHits"] == 144
    assert waits == [1.0, 1.0]
    assert client.counters.rate_limited == 2


def test_a_retry_after_over_the_cap_fails_clearly(serve, small_org):
    server = serve(small_org, faults=Faults().add("429", retry_after=3600))
    with client_for(server, max_retry_after=180) as client, pytest.raises(RateLimited) as caught:
        client.post(QUERY, BODY)
    assert "told to wait 3600 s, more than the 180 s" in str(caught.value)
    assert "GENESYS_MAX_RETRY_AFTER" in str(caught.value)


def test_endless_429s_give_up(serve, small_org):
    server = serve(small_org, faults=Faults().add("429", times=10, retry_after=1))
    with client_for(server, max_rate_limit_waits=3) as client, pytest.raises(RateLimited, match="after 3 waits"):
        client.transport.sleep = lambda seconds: None
        client.post(QUERY, BODY)


def test_bursts_of_5xx_back_off_exponentially(serve, small_org):
    server = serve(small_org, faults=Faults().add("503", times=2).add("502").add("504"))
    waits = []
    with client_for(server, backoff_base=1.0, backoff_max=60) as client:
        client.transport.sleep = waits.append
        assert client.post(QUERY, BODY)["totalHits"] == 144
    assert len(waits) == 4
    for attempt, wait in enumerate(waits):  # half fixed, half jitter
        assert 2 ** attempt / 2 <= wait <= 2 ** attempt


def test_5xx_retries_are_bounded(serve, small_org):
    server = serve(small_org, faults=Faults().add("503", times=10))
    with client_for(server, max_retries=3) as client, pytest.raises(Unavailable) as caught:
        client.post(QUERY, BODY)
    assert "HTTP 503" in str(caught.value) and "gave up after 4 attempts" in str(caught.value)
    assert server.traffic.statuses[503] == 4


def test_dropped_connections_are_retried(serve, small_org):
    server = serve(small_org, faults=Faults().add("drop", times=2))
    with client_for(server) as client:
        assert client.post(QUERY, BODY)["totalHits"] == 144
    assert client.counters.retried == 2


def test_every_call_has_a_timeout(serve, small_org):
    server = serve(small_org, FakeOptions(stall_seconds=1.0), Faults().add("stall"))
    with client_for(server, read_timeout=0.2) as client:
        assert client.post(QUERY, BODY)["totalHits"] == 144
    assert client.counters.retried == 1
    server = serve(small_org, FakeOptions(stall_seconds=1.0), Faults().add("stall", times=3))
    with client_for(server, read_timeout=0.2, max_retries=1) as client, pytest.raises(Unavailable, match="timed out"):
        client.post(QUERY, BODY)


def test_a_400_shows_the_api_message(serve, small_org):
    server = serve(small_org)
    with client_for(server) as client, pytest.raises(ApiError) as caught:
        client.post(QUERY, {"interval": "2024-05-01T00:00:00Z/2024-06-15T00:00:00Z"})
    assert caught.value.status == 400
    assert "does not exceed 31 days" in str(caught.value)
    assert server.traffic.statuses[400] == 1  # never retried


def test_403_names_the_missing_permission(serve, small_org):
    server = serve(small_org, FakeOptions(permissions=ALL_PERMISSIONS - {AGGREGATE, QUEUE}))
    with client_for(server) as client:
        with pytest.raises(PermissionDenied) as caught:
            client.get("/api/v2/routing/queues", permission="routing:queue:view")
        assert "403" in str(caught.value) and "needs the permission routing:queue:view" in str(caught.value)
        client.post(QUERY, BODY, permission=DETAIL_PERMISSION)  # the granted ones still work


def test_the_limiter_keeps_under_the_rate():
    now = [0.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(60, burst=5, clock=lambda: now[0], sleep=sleep)
    for _ in range(65):
        limiter.acquire()
    # 5 at once, then one a second: 65 requests need 60 seconds, never more than 60 in any minute
    assert now[0] == pytest.approx(60.0)
    assert len(slept) == 60 and all(wait == pytest.approx(1.0) for wait in slept)


def test_the_fake_limits_requests_per_token_like_the_api(serve, small_org):
    """300 a minute per token by the reference (2(e)); here 5 a second, so the test stays fast."""
    server = serve(small_org, FakeOptions(token_rate_limit=5, token_rate_window=1.0))
    with client_for(server) as client:  # its own limiter allows far more (FAST)
        for _ in range(8):
            assert client.post(QUERY, BODY)["totalHits"] == 144
    assert server.traffic.statuses[429] >= 1 and client.counters.rate_limited >= 1
    assert client.counters.requests == 8 + server.traffic.statuses[429] + 1  # the token call too


def test_job_results_refuse_a_page_size_under_one(serve, small_org):
    server = serve(small_org)
    with client_for(server) as client:
        job = client.post("/api/v2/analytics/conversations/details/jobs", {"interval": BODY["interval"]})["jobId"]
        while client.get(f"/api/v2/analytics/conversations/details/jobs/{job}")["state"] != "FULFILLED":
            pass
        with pytest.raises(ApiError) as caught:
            client.get(f"/api/v2/analytics/conversations/details/jobs/{job}/results", {"pageSize": 0})
    assert caught.value.status == 400 and "pageSize" in str(caught.value)


def test_the_31_day_limit_is_the_details_query_s_only(serve, small_org):
    """The reference gives the 31-day limit for the details query (2(a)); none for jobs or aggregates."""
    long = "2024-04-01T00:00:00.000Z/2024-05-15T00:00:00.000Z"
    server = serve(small_org)
    with client_for(server) as client:
        with pytest.raises(ApiError, match="does not exceed 31 days"):
            client.post(QUERY, {"interval": long})
        assert client.post("/api/v2/analytics/conversations/details/jobs", {"interval": long})["jobId"]
        assert client.post("/api/v2/analytics/conversations/aggregates/query",
                           {"interval": long, "metrics": ["nOffered"]})["results"]


def test_a_401_with_a_fresh_token_is_about_authentication_not_permissions(serve, small_org):
    server = serve(small_org, FakeOptions(token_max_calls=0))  # every token is refused: a revoked client
    with client_for(server) as client, pytest.raises(PermissionDenied) as caught:
        client.post(QUERY, BODY, permission=DETAIL_PERMISSION)
    message = str(caught.value)
    assert caught.value.status == 401 and "401 Unauthorized even with a fresh token" in message
    assert "permission" not in message and "role" not in message
    assert "GENESYS_CLIENT_ID" in message and "GENESYS_REGION" in message
    assert len(server.traffic.tokens_issued) == 2

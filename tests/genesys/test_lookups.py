"""flatten genesys users / queues: every page by nextUri, names for ids, tables that mirror the org."""

import pytest

from flattener.compare import differences
from genesys.errors import ApiError
from genesys.lookups import LOOKUPS, entities
from genesys.testing import FakeOptions
from genesys.testing.server import ALL_PERMISSIONS, QUEUE

from .conftest import client_for, run_cli, stored


def test_users_are_read_page_by_page_in_every_state(serve, small_org, database_url):
    server = serve(small_org)
    result = run_cli(server, "users", "--page-size", "7", "--db", database_url)
    assert result.exit_code == 0, result.output
    assert "loaded 40 users" in result.output
    assert server.traffic.calls["GET /api/v2/users"] == 6
    users = stored(database_url, "users")
    for user in small_org.users:
        assert list(differences(user, users[(user["id"],)])) == []
    assert {user["state"] for user in users.values()} == {"active", "inactive", "deleted"}
    every_user_id = {participant["userId"] for conversation in small_org.all()
                     for participant in conversation["participants"] if participant.get("userId")}
    assert every_user_id <= {key[0] for key in users}  # every agent of a conversation has a name


def test_queues_that_are_gone_are_removed(serve, small_org, sqlite_url):
    server = serve(small_org)
    assert run_cli(server, "queues", "--page-size", "3", "--db", sqlite_url).exit_code == 0
    assert len(stored(sqlite_url, "queues")) == 8
    deleted = small_org.queues.pop()
    renamed = small_org.queues[0] = {**small_org.queues[0], "name": "Support (EMEA)"}
    result = run_cli(server, "queues", "--db", sqlite_url)
    assert result.exit_code == 0 and "removed 1 queues no longer listed" in result.output
    queues = stored(sqlite_url, "queues")
    assert len(queues) == 7 and (deleted["id"],) not in queues
    assert queues[(renamed["id"],)]["name"] == "Support (EMEA)"


def test_queues_need_their_permission(serve, small_org, sqlite_url):
    server = serve(small_org, FakeOptions(permissions=ALL_PERMISSIONS - {QUEUE}))
    result = run_cli(server, "queues", "--db", sqlite_url)
    assert result.exit_code == 1
    assert "403 Forbidden" in result.output and "needs the permission routing:queue:view" in result.output


def test_pages_without_next_uri_are_followed_by_page_number():
    """Some listings leave nextUri out; pageNumber and pageCount still tell what is left."""
    listing = [{"entities": [{"id": str(number)}], "pageNumber": number, "pageCount": 3} for number in (1, 2, 3)]
    asked = []

    class Client:
        def get(self, path, params, permission):
            asked.append((path, params["pageNumber"]))
            return listing[params["pageNumber"] - 1]

    pages = list(entities(Client(), LOOKUPS["queues"], page_size=1))
    assert [page[0]["id"] for page in pages] == ["1", "2", "3"]
    assert asked == [("/api/v2/routing/queues", 1), ("/api/v2/routing/queues", 2), ("/api/v2/routing/queues", 3)]


def test_the_fake_lists_users_by_state_like_the_api(serve, small_org):
    """GET /api/v2/users lists active users unless `state` says otherwise (the reference, 2(g))."""
    server = serve(small_org)
    with client_for(server) as client:
        def listed(**params):
            return [user["state"] for user in client.get("/api/v2/users", {"pageSize": 100, **params})["entities"]]
        assert set(listed()) == {"active"} and len(listed()) < len(small_org.users)
        assert set(listed(state="deleted")) == {"deleted"}
        assert len(listed(state="any")) == len(small_org.users)
        with pytest.raises(ApiError, match="state"):
            listed(state="retired")

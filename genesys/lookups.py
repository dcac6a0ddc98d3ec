"""Users and routing queues, so reports can show names for the ids in conversations.

Both endpoints page by pageNumber and give a `nextUri` until the last page. A complete listing
replaces the table: entities that are no longer listed (a deleted queue) are removed, so the
table mirrors the org. Users are listed in every state (active, inactive, deleted): the people
who handled old conversations may have left.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .client import QUEUE_PERMISSION, GenesysClient

USERS_PATH = "/api/v2/users"
QUEUES_PATH = "/api/v2/routing/queues"


@dataclass(frozen=True)
class Lookup:
    name: str
    path: str
    permission: str | None
    params: tuple = ()


LOOKUPS = {
    "users": Lookup("users", USERS_PATH, None, (("state", "any"),)),
    "queues": Lookup("queues", QUEUES_PATH, QUEUE_PERMISSION),
}


def entities(client: GenesysClient, lookup: Lookup, page_size: int = 100) -> Iterator[list[dict]]:
    """Pages of entities, following nextUri (or pageNumber up to pageCount when nextUri is absent)."""
    path, params = lookup.path, {"pageSize": page_size, "pageNumber": 1, **dict(lookup.params)}
    while True:
        page = client.get(path, params, permission=lookup.permission)
        yield page.get("entities") or []
        if not page.get("entities"):
            return
        if page.get("nextUri"):
            path, params = page["nextUri"], None
        elif page.get("pageNumber") and page.get("pageCount") and page["pageNumber"] < page["pageCount"]:
            path, params = lookup.path, {"pageSize": page_size, "pageNumber": page["pageNumber"] + 1,
                                         **dict(lookup.params)}
        else:
            return

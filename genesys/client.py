"""The Genesys Cloud Platform API v2, as the calls this tool makes: JSON in, JSON out, errors explained.

Each call names the permission it needs, so a 403 can tell the user which one their OAuth
client's role lacks instead of a bare status. A 401 renews the token and tries once more (tokens
can be revoked or expire early); a second 401 is about the client itself, not its role. A 400
shows the API's own message, which is where the interval and paging limits are explained.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

import requests

from .auth import TokenProvider
from .config import Settings
from .errors import ApiError, PermissionDenied
from .transport import Transport, api_message

DETAIL_PERMISSION = "analytics:conversationDetail:view (or analytics:agentConversationDetail:view)"
AVAILABILITY_PERMISSION = "analytics:conversationDetail:view"
AGGREGATE_PERMISSION = "analytics:conversationAggregate:view"
QUEUE_PERMISSION = "routing:queue:view"


class GenesysClient:
    def __init__(self, settings: Settings, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.settings = settings
        self.transport = Transport(settings, session, sleep)
        self.tokens = TokenProvider(settings, self.transport)
        self.sleep = sleep  # for those who poll through this client (jobs)

    @property
    def counters(self):
        return self.transport.counters

    def get(self, path: str, params: dict | None = None, permission: str | None = None) -> dict:
        return self.call("GET", path, permission, params=params)

    def post(self, path: str, body: dict, permission: str | None = None) -> dict:
        return self.call("POST", path, permission, json=body)

    def delete(self, path: str, permission: str | None = None) -> dict:
        return self.call("DELETE", path, permission)

    def call(self, method: str, path: str, permission: str | None = None, **arguments) -> dict:
        """Make one API call; `path` may be absolute (/api/v2/...) or a nextUri the API gave."""
        url = urljoin(self.settings.api_url + "/", path.lstrip("/"))
        for attempt in (1, 2):
            authorization = self.tokens.authorization()
            response = self.transport.send(method, url, headers={"Authorization": authorization,
                                                                 "Accept": "application/json"}, **arguments)
            if response.status_code == 401 and attempt == 1:
                self.tokens.invalidate(authorization)  # expired or revoked early: one fresh token, one more try
                continue
            break
        return self._result(method, url, response, permission)

    def _result(self, method: str, url: str, response: requests.Response, permission: str | None) -> dict:
        status = response.status_code
        where = f"{method} {urlsplit(url).path}"
        said = api_message(response)
        if 200 <= status < 300:
            if not response.content:
                return {}
            try:
                body = response.json()
            except ValueError:
                raise ApiError(f"{where}: HTTP {status} but the body is not JSON", status=status) from None
            return body if isinstance(body, dict) else {"entities": body}
        needs = f" The OAuth client's role needs the permission {permission}." if permission else ""
        if status == 401:  # authentication: a missing role is a 403
            raise PermissionDenied(
                f"{where}: 401 Unauthorized even with a fresh token ({said or 'no reason given'}): the API does not "
                "accept this OAuth client's tokens. Check that the client (GENESYS_CLIENT_ID) still exists and is "
                "active, that its secret was not reset, and that GENESYS_REGION is the region of its org.",
                status=status, api_message=said)
        if status == 403:
            raise PermissionDenied(f"{where}: 403 Forbidden: {said or 'permission denied'}.{needs}",
                                   status=status, api_message=said)
        raise ApiError(f"{where}: HTTP {status} {response.reason}: {said or 'no message'}", status=status,
                       api_message=said)

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> GenesysClient:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

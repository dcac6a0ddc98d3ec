"""OAuth client credentials: one token per run, cached, renewed before it expires and on a 401.

The token call is `POST {login}/oauth/token` with HTTP Basic auth of the client id and secret and
`grant_type=client_credentials`; the answer carries no refresh token, so renewing means asking
again. The token itself lives only in this object and in the Authorization header.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .config import Settings
from .errors import ApiError, PermissionDenied
from .transport import Transport, api_message


class TokenProvider:
    def __init__(self, settings: Settings, transport: Transport, clock: Callable[[], float] = time.monotonic):
        self.settings, self.transport, self.clock = settings, transport, clock
        self._token: str | None = None
        self._type = "Bearer"
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self.issued = 0  # how many tokens this run asked for

    def authorization(self) -> str:
        """The Authorization header value, fetching or renewing the token when needed."""
        with self._lock:
            if self._token is None or self.clock() >= self._expires_at:
                self._fetch()
            return f"{self._type} {self._token}"

    def invalidate(self, authorization: str) -> None:
        """Forget the token sent in `authorization` (it got a 401), unless it was already replaced."""
        with self._lock:
            if self._token is not None and authorization == f"{self._type} {self._token}":
                self._token = None

    def _fetch(self) -> None:
        settings = self.settings
        url = settings.login_url + "/oauth/token"
        asked_at = self.clock()
        response = self.transport.send("POST", url, limited=False, data={"grant_type": "client_credentials"},
                                       auth=(settings.client_id, settings.client_secret.reveal()),
                                       headers={"Accept": "application/json"})
        if response.status_code in (400, 401, 403):
            raise PermissionDenied(
                f"Genesys login at {settings.login_url} refused the client credentials (HTTP {response.status_code}: "
                f"{api_message(response) or 'no reason given'}): check GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and "
                "that GENESYS_REGION is the org's region; the OAuth client must use the Client Credentials grant",
                status=response.status_code, api_message=api_message(response))
        if response.status_code != 200:
            raise ApiError(f"Genesys login at {settings.login_url} answered HTTP {response.status_code}: "
                           f"{api_message(response) or response.reason}", status=response.status_code)
        try:
            body = response.json()
            token, lifetime = body["access_token"], float(body.get("expires_in", 86400))
        except (ValueError, KeyError, TypeError):
            raise ApiError(f"Genesys login at {settings.login_url} answered without an access token") from None
        self._token = token
        self._type = "Bearer" if str(body.get("token_type", "bearer")).lower() == "bearer" else body["token_type"]
        # renew early: by the margin, but never sooner than half-way through a short-lived token
        self._expires_at = asked_at + max(lifetime - settings.token_renew_margin, lifetime / 2)
        self.issued += 1

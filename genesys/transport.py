"""One HTTP call, made patiently: a timeout on every call, the rate limiter, and bounded retries.

What comes back is the first response that retrying cannot improve (2xx, 4xx other than 429,
5xx other than 502/503/504), or an error once the retries are spent. Only the method, path and
status are ever logged: never a header, so never a token or a secret.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from .config import Settings
from .errors import RateLimited, Unavailable
from .limiter import RateLimiter
from .retry import RETRIED_STATUSES, Backoff, retry_after_seconds

log = logging.getLogger("genesys.http")


@dataclass
class Counters:
    """What a run cost, for its summary line."""

    requests: int = 0
    rate_limited: int = 0
    retried: int = 0
    waited: float = 0.0


class Transport:
    def __init__(self, settings: Settings, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep, backoff: Backoff | None = None):
        self.settings = settings
        self.http = session or requests.Session()
        self.sleep = sleep
        self.backoff = backoff or Backoff(settings.backoff_base, settings.backoff_max)
        self.limiter = RateLimiter(settings.requests_per_minute, sleep=sleep)
        self.counters = Counters()

    def send(self, method: str, url: str, *, limited: bool = True, **arguments) -> requests.Response:
        """`arguments` go to requests (headers, json, data, params); `limited` applies the rate limiter."""
        settings = self.settings
        path = urlsplit(url).path
        failures = rate_limited = 0
        while True:
            if limited:
                self.limiter.acquire()
            self.counters.requests += 1
            started = time.monotonic()
            try:
                response = self.http.request(method, url, timeout=(settings.connect_timeout, settings.read_timeout),
                                             **arguments)
            except (requests.ConnectionError, requests.Timeout) as error:
                reason, where = _reason(error), f"{method} {_origin(url)}{path}"  # the host it tried, too
                if failures >= settings.max_retries:
                    raise Unavailable(f"{where}: {reason}; gave up after {failures + 1} attempts "
                                      f"(GENESYS_MAX_RETRIES={settings.max_retries})") from None
                self._wait(self.backoff.delay(failures), f"{where}: {reason}")
                failures += 1
                continue
            log.debug("%s %s -> %s in %.3f s", method, path, response.status_code, time.monotonic() - started)
            status = response.status_code
            if status == 429:
                wait = retry_after_seconds(response.headers.get("Retry-After"))
                if wait is None:
                    wait = self.backoff.delay(min(rate_limited, 5))
                if wait > settings.max_retry_after:
                    raise RateLimited(f"{method} {path}: rate limited (429) and told to wait {wait:.0f} s, more than "
                                      f"the {settings.max_retry_after:.0f} s this client waits "
                                      "(GENESYS_MAX_RETRY_AFTER): a daily or org limit is probably exhausted; "
                                      "try again later", status=429, api_message=api_message(response))
                if rate_limited >= settings.max_rate_limit_waits:
                    raise RateLimited(f"{method} {path}: still rate limited (429) after {rate_limited} waits "
                                      "(GENESYS_MAX_RATE_LIMIT_WAITS): another client may share this OAuth "
                                      "client's limit", status=429, api_message=api_message(response))
                rate_limited += 1
                self.counters.rate_limited += 1
                self._wait(wait, f"{method} {path}: rate limited (429)")
                continue
            if status in RETRIED_STATUSES:
                if failures >= settings.max_retries:
                    raise Unavailable(f"{method} {path}: HTTP {status} {response.reason}; gave up after "
                                      f"{failures + 1} attempts (GENESYS_MAX_RETRIES={settings.max_retries})",
                                      status=status, api_message=api_message(response))
                wait = self.backoff.delay(failures)
                self._wait(wait, f"{method} {path}: HTTP {status}")
                failures += 1
                continue
            return response

    def _wait(self, seconds: float, why: str) -> None:
        log.info("%s: retrying in %.1f s", why, seconds)
        self.counters.retried += 1
        self.counters.waited += seconds
        self.sleep(seconds)

    def close(self) -> None:
        self.http.close()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _reason(error: Exception) -> str:
    if isinstance(error, requests.Timeout):
        return "timed out"
    return "connection failed (" + type(error).__name__ + ")"


def api_message(response: requests.Response) -> str | None:
    """The API's own words: ErrorBody.message, or the OAuth error's description."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:300] or None
    if not isinstance(body, dict):
        return None
    if body.get("message"):
        return str(body["message"])[:500]
    if body.get("error"):  # an OAuth error: its code, and its description when there is one
        description = body.get("error_description") or body.get("description")
        return (f"{body['error']}: {description}" if description else str(body["error"]))[:500]
    return None



"""A client-side rate limiter, so one run stays under the per-token request rate by itself.

Genesys counts requests per token (300 a minute by default [community]); going over earns 429s
that cost far more time than spacing requests out. A token bucket allows a short burst and then
one request per 1/rate seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    def __init__(self, requests_per_minute: float, burst: int = 10,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        if requests_per_minute <= 0:
            raise ValueError("requests_per_minute must be positive")
        self.interval = 60.0 / requests_per_minute
        self.capacity = float(max(1, burst))
        self.clock, self.sleep = clock, sleep
        self.tokens = self.capacity
        self.updated = clock()
        self.lock = threading.Lock()

    def acquire(self) -> None:
        """Wait until one more request fits under the rate, then take its place."""
        with self.lock:
            now = self.clock()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) / self.interval)
            self.updated = now
            self.tokens -= 1
            wait = -self.tokens * self.interval if self.tokens < 0 else 0.0
        if wait > 0:
            self.sleep(wait)

"""How long to wait before trying a call again: Retry-After for 429s, exponential back-off otherwise.

The policy follows what Genesys's own SDKs do (see the reference, section 2(e)): honour
Retry-After on a 429 but give up when it asks for more than a cap (long waits mean a daily
limit, where failing clearly beats hanging for hours); back off exponentially, with jitter, on
502/503/504 and connection errors, a bounded number of times. 400s are never retried.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

RETRIED_STATUSES = frozenset({502, 503, 504})


def retry_after_seconds(header: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: an integer (what Genesys sends) or an HTTP date; None if absent or unreadable."""
    if not header:
        return None
    text = header.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class Backoff:
    """Exponential delays with 'equal jitter': half of each delay fixed, half random.

    The fixed half guarantees the server real rest; the random half keeps many clients that
    failed together from coming back together."""

    def __init__(self, base: float, cap: float, rng: random.Random | None = None):
        self.base, self.cap = base, cap
        self.rng = rng or random.Random()

    def delay(self, attempt: int) -> float:
        """The wait before retry number `attempt` (0 for the first retry)."""
        ceiling = min(self.cap, self.base * 2 ** attempt)
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

"""The synchronous details query over any interval: windows, pages, the paging cap, de-duplication.

`POST /api/v2/analytics/conversations/details/query` takes at most 31 days and lets paging reach
100,000 results (both [observed], both settings). The interval is cut into windows (7 days by
default); a window whose totalHits is over the cap, or that the API refuses to page further, is
split in two at a UTC midnight, recursively. The API matches conversations that started on a day
*touched* by the interval, so each window keeps only the conversations that started inside it:
windows never share a conversation, and one seen twice inside a window (pages shift while the
org takes calls) is skipped.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .client import DETAIL_PERMISSION, GenesysClient
from .errors import ApiError, GenesysError
from .intervals import format_instant, format_interval, halves, parse_instant, windows

QUERY_PATH = "/api/v2/analytics/conversations/details/query"
log = logging.getLogger("genesys.details")


@dataclass
class DetailsPage:
    window: tuple[datetime, datetime]
    number: int
    total_hits: int
    conversations: list[dict]      # those that started inside the window
    last: bool                     # the window's last page

    @property
    def source(self) -> str:
        return f"details {format_interval(*self.window)} page {self.number}"


@dataclass
class DetailsQuery:
    client: GenesysClient
    window: timedelta = timedelta(days=7)
    page_size: int = 100
    paging_cap: int = 100_000
    query: dict = field(default_factory=dict)   # filters, order ... merged into every request body

    def pages(self, start: datetime, end: datetime) -> Iterator[DetailsPage]:
        """Every page of every window, in time order; each window's pages end with `last=True`."""
        pending = [(window, None) for window in windows(start, end, self.window)[::-1]]
        while pending:
            window, parent_hits = pending.pop()
            split = yield from self._window(window, parent_hits)
            if split:
                parts, hits = split
                pending.extend((part, hits) for part in parts[::-1])

    def _window(self, window: tuple[datetime, datetime], parent_hits: int | None):
        """Page through one window; return its halves (and its totalHits) instead when it must be split."""
        number, total = 1, None
        while True:
            try:
                body = self._page(window, number)
            except ApiError as error:
                if error.status == 400 and number > 1 and "pagination" in (error.api_message or "").lower():
                    enforced = _cap_in(error.api_message) or (number - 1) * self.page_size
                    if enforced < self.paging_cap:  # the API's cap is lower than we were told: split before it
                        log.info("the API refuses paging past %d results, not %d", enforced, self.paging_cap)
                        self.paging_cap = enforced
                    if parent_hits is not None and total >= parent_hits:  # the API counts whole days
                        raise self._too_many(window, total) from None
                    log.info("%s: paging refused past %d results; splitting", format_interval(*window),
                             (number - 1) * self.page_size)
                    return self._split(window, total)
                raise
            total = int(body.get("totalHits") or 0)
            if number == 1 and total > self.paging_cap:
                if parent_hits is not None and total >= parent_hits:  # the API counts whole days
                    raise self._too_many(window, total)
                return self._split(window, total)
            conversations = body.get("conversations") or []
            last = not conversations or number * self.page_size >= total
            low, high = format_instant(window[0]), format_instant(window[1])
            inside = [conversation for conversation in conversations
                      if not conversation.get("conversationStart") or low <= _start(conversation) < high]
            yield DetailsPage(window, number, total, inside, last)
            if last:
                return None
            number += 1

    def _split(self, window, total):
        parts = halves(*window)
        if parts is None:
            raise self._too_many(window, total)
        return parts, total

    def _too_many(self, window, total) -> GenesysError:
        return GenesysError(f"{format_interval(*window)} matches {total} conversations, more than the details query "
                            f"can page through ({self.paging_cap}), and splitting it does not help: export it with "
                            "`flatten genesys job` instead")

    def _page(self, window, number) -> dict:
        body = {"order": "asc", "orderBy": "conversationStart", **self.query, "interval": format_interval(*window),
                "paging": {"pageSize": self.page_size, "pageNumber": number}}
        return self.client.post(QUERY_PATH, body, permission=DETAIL_PERMISSION)


def _cap_in(message: str | None) -> int | None:
    """The limit in the API's 400 "Pagination may not exceed 100000 results.", if it says one."""
    match = re.search(r"exceed\s+(\d[\d,]*)\s+results", message or "", re.IGNORECASE)
    return int(match.group(1).replace(",", "")) if match else None


def _start(conversation: dict) -> str:
    """conversationStart in the canonical form, for comparing with window bounds as text."""
    return format_instant(parse_instant(conversation["conversationStart"]))

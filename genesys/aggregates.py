"""Conversation aggregates as documents: one per (query, group, time bucket), with a key that repeats.

The aggregates response has no ids: `results[]` hold a `group` map and `data[]` buckets, each with
an `interval` and `metrics[]` whose `stats` are sparse. Each bucket becomes one document keyed by a
hash of the query (metrics, groupBy, filter, granularity: not the interval), the group and the
bucket's interval. Running the same query over an overlapping interval therefore replaces the
buckets it read again instead of adding copies, while a different query (other metrics, other
grouping) keeps its own rows, told apart by `queryId`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .client import AGGREGATE_PERMISSION, GenesysClient
from .intervals import format_instant, format_interval, parse_duration, parse_instant, windows

AGGREGATES_PATH = "/api/v2/analytics/conversations/aggregates/query"


def _digest(value, length: int) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:length]


@dataclass
class AggregatesQuery:
    client: GenesysClient
    metrics: list[str]
    group_by: list[str] = field(default_factory=list)
    granularity: str | None = None                       # ISO-8601 duration; None: one bucket per request
    filter: dict | None = None
    time_zone: str | None = None
    window: timedelta = timedelta(days=31)               # the longest interval one request is given

    @property
    def query_id(self) -> str:
        return _digest({"metrics": sorted(self.metrics), "groupBy": sorted(self.group_by),
                        "granularity": self.granularity, "filter": self.filter, "timeZone": self.time_zone}, 16)

    def documents(self, start: datetime, end: datetime) -> Iterator[dict]:
        """Every bucket of every group, one request per window (windows are whole buckets)."""
        for window in self._windows(start, end):
            yield from self.bucket_documents(self.client.post(AGGREGATES_PATH, self.body(*window),
                                                              permission=AGGREGATE_PERMISSION))

    def body(self, start: datetime, end: datetime) -> dict:
        body = {"interval": format_interval(start, end), "metrics": list(self.metrics)}
        optional = {"granularity": self.granularity, "groupBy": list(self.group_by) or None, "filter": self.filter,
                    "timeZone": self.time_zone}
        body.update({name: value for name, value in optional.items() if value})
        return body

    def bucket_documents(self, response: dict) -> Iterator[dict]:
        """The response's buckets as documents. An empty result may come as {} or {"results": []}."""
        for result in response.get("results") or ():
            group = result.get("group") or {}
            for data in result.get("data") or ():
                start, end = (parse_instant(part) for part in data["interval"].split("/"))
                document = {"id": _digest([self.query_id, group, data["interval"]], 32), "queryId": self.query_id,
                            "granularity": self.granularity, "group": group,
                            "intervalStart": format_instant(start), "intervalEnd": format_instant(end), **data}
                yield {name: value for name, value in document.items() if value is not None}

    def _windows(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Without granularity the interval is one bucket and cannot be cut; with it, cut at whole buckets."""
        if not self.granularity:
            return [(start, end)]
        bucket = parse_duration(self.granularity)
        size = bucket * max(1, self.window // bucket)
        return windows(start, end, size)

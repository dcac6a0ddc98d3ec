"""The data of a fake Genesys Cloud org, and the answers the analytics endpoints compute from it.

Conversations come from `genesys.synthetic` with participant attributes (the jobs API returns
them; the query API strips them, as the real one does). Users and queues are the synthesizer's
pools, so every userId and queueId in a conversation resolves to a name. Aggregates are computed
from the same conversations, so a test can check the numbers.
"""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict
from datetime import datetime, timedelta

from ..intervals import DAY, floor_day, format_instant, format_interval, parse_duration, parse_instant
from ..synthetic import Synthesizer, default_start

FIRST_NAMES = ("Jordan", "Avery", "Riley", "Morgan", "Casey", "Quinn", "Jamie", "Taylor", "Alex", "Sam")
LAST_NAMES = ("Smith", "Garcia", "Chen", "Okafor", "Novak", "Silva", "Murphy", "Kowalski", "Haddad", "Larsen")
QUEUE_NAMES = ("Support", "Billing", "Sales", "Retention", "Technical", "Claims", "Returns", "VIP", "Outbound",
               "Escalations")
SERVICE_LEVEL_MS = 20_000  # oServiceLevel: answered within 20 s counts as within target
SERVICE_LEVEL_TARGET = 0.8


class FakeOrg:
    """Conversations kept in conversationStart order; a change replaces a conversation's dict whole,
    so a job's snapshot (a list of references) keeps seeing the version it was given."""

    def __init__(self, synthesizer: Synthesizer, conversations=(), data_availability: datetime | None = None):
        self.synthesizer = synthesizer
        self.lock = threading.RLock()
        self._by_id: dict[str, dict] = {}
        self._order: list[tuple[str, str]] = []  # (conversationStart, conversationId), sorted
        for conversation in conversations:
            self.put(conversation)
        self.data_availability = data_availability
        self.users = [self._user(number, user_id) for number, user_id in enumerate(synthesizer.user_ids)]
        self.queues = [self._queue(number, queue_id) for number, queue_id in enumerate(synthesizer.queue_ids)]

    @classmethod
    def generate(cls, count: int, seed: int = 0, start: datetime | None = None,
                 spacing: timedelta = timedelta(minutes=2), data_availability: datetime | None = None) -> FakeOrg:
        synthesizer = Synthesizer(seed)
        conversations = synthesizer.conversations(count, start or default_start(), spacing, attributes=True)
        return cls(synthesizer, conversations, data_availability)

    # -- the data ----------------------------------------------------------------------------

    def put(self, conversation: dict) -> None:
        """Add a conversation, or replace the stored version of it."""
        with self.lock:
            conversation_id = conversation["conversationId"]
            old = self._by_id.get(conversation_id)
            if old is not None:
                self._order.pop(bisect.bisect_left(self._order, (old["conversationStart"], conversation_id)))
            bisect.insort(self._order, (conversation["conversationStart"], conversation_id))
            self._by_id[conversation_id] = conversation

    def add(self, count: int, start: datetime, spacing: timedelta = timedelta(minutes=2)) -> list[dict]:
        """New conversations, as the org takes more calls."""
        made = list(self.synthesizer.conversations(count, start, spacing, attributes=True))
        for conversation in made:
            self.put(conversation)
        return made

    def finish(self, conversation_id: str, evaluate: bool = True) -> dict:
        """A conversation in progress ends (and is evaluated): its record changes after it was first read."""
        with self.lock:
            finished = self.synthesizer.finish(self._by_id[conversation_id], evaluate=evaluate)
            self.put(finished)
            return finished

    def in_progress(self) -> list[str]:
        with self.lock:
            return [key for key, conversation in self._by_id.items() if "conversationEnd" not in conversation]

    def get(self, conversation_id: str) -> dict:
        return self._by_id[conversation_id]

    def all(self) -> list[dict]:
        with self.lock:
            return [self._by_id[key] for _, key in self._order]

    def __len__(self) -> int:
        return len(self._by_id)

    # -- details query and jobs ---------------------------------------------------------------

    def started_between(self, start: datetime, end: datetime) -> list[dict]:
        """Conversations whose conversationStart is in [start, end), in start order."""
        low, high = format_instant(start), format_instant(end)
        with self.lock:
            first = bisect.bisect_left(self._order, (low, ""))
            last = bisect.bisect_left(self._order, (high, ""))
            return [self._by_id[key] for _, key in self._order[first:last]]

    def query_matches(self, start: datetime, end: datetime, day_matching: bool = True) -> list[dict]:
        """What the details query matches: conversations that started on a (UTC) day touched by the
        interval, per the API's description; or, without `day_matching`, that started in it."""
        if day_matching:
            start, end = floor_day(start), floor_day(end - timedelta(microseconds=1)) + DAY
        return self.started_between(start, end)

    def job_matches(self, start: datetime, end: datetime) -> list[dict]:
        """What a details job matches: conversations with activity during the interval, and only
        those the datalake holds (started before the data availability date)."""
        low, high = format_instant(start), format_instant(end)
        available = format_instant(self.data_availability) if self.data_availability else None
        with self.lock:
            found = []
            for conversation_start, key in self._order:
                if conversation_start >= high or (available and conversation_start >= available):
                    break
                conversation = self._by_id[key]
                ended = conversation.get("conversationEnd")
                if ended is None or ended >= low:
                    found.append(conversation)
            return found

    # -- aggregates ----------------------------------------------------------------------------

    def aggregate(self, interval: str, metrics: list[str], group_by: list[str], granularity: str | None,
                  predicate=None) -> dict:
        """ConversationAggregateQueryResponse computed from the session metrics emitted in the interval.

        Like the real sample, every group carries mediaType even when not grouped by it, and
        empty buckets are left out."""
        start, end = (parse_instant(part) for part in interval.split("/"))
        step = parse_duration(granularity) if granularity else end - start
        wanted = set(metrics) | ({"tAnswered"} if "oServiceLevel" in metrics else set())
        cells: dict[tuple, dict[int, dict[str, list[int]]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(list)))
        low, high = format_instant(start), format_instant(end)
        for conversation in self.started_between(start - timedelta(days=2), end):
            for participant in conversation["participants"]:
                for session in participant["sessions"]:
                    dimensions = _dimensions(conversation, participant, session)
                    if predicate is not None and not predicate(dimensions):
                        continue
                    group = tuple(sorted((name, dimensions[name]) for name in {*group_by, "mediaType"}
                                         if dimensions.get(name) is not None))
                    for metric in session.get("metrics", ()):
                        emitted = metric["emitDate"]
                        if metric["name"] in wanted and low <= emitted < high:
                            bucket = int((parse_instant(emitted) - start) // step)
                            cells[group][bucket][metric["name"]].append(metric["value"])
        results = []
        for group in sorted(cells):
            data = []
            for bucket in sorted(cells[group]):
                values = cells[group][bucket]
                bucket_start = start + step * bucket
                entries = [{"metric": name, "stats": _stats(name, values[name])} for name in metrics
                           if values.get(name) and name != "oServiceLevel"]
                if "oServiceLevel" in metrics and values.get("tAnswered"):
                    answered = values["tAnswered"]
                    within = sum(1 for value in answered if value <= SERVICE_LEVEL_MS)
                    entries.append({"metric": "oServiceLevel", "stats": {
                        "ratio": round(within / len(answered), 4), "numerator": within,
                        "denominator": len(answered), "target": SERVICE_LEVEL_TARGET}})
                if entries:
                    data.append({"interval": format_interval(bucket_start, min(bucket_start + step, end)),
                                 "metrics": entries})
            if data:
                results.append({"group": dict(group), "data": data})
        return {"results": results} if results else {}

    # -- users and queues -----------------------------------------------------------------------

    def _user(self, number: int, user_id: str) -> dict:
        first, last = FIRST_NAMES[number % 10], LAST_NAMES[number // 10 % 10]
        email = f"{first}.{last}{number}@example.com".lower()
        state = "inactive" if number % 9 == 0 else "deleted" if number % 11 == 10 else "active"  # agents who left
        division = self.synthesizer.division_ids[number % len(self.synthesizer.division_ids)]
        return {"id": user_id, "name": f"{first} {last}",
                "division": {"id": division, "name": f"Division {number % 3}",
                             "selfUri": f"/api/v2/authorization/divisions/{division}"},
                "email": email, "state": state, "title": "Support Agent",
                "username": email, "version": 1 + number % 5, "acdAutoAnswer": number % 2 == 0,
                "selfUri": f"/api/v2/users/{user_id}"}

    def _queue(self, number: int, queue_id: str) -> dict:
        division = self.synthesizer.division_ids[number % len(self.synthesizer.division_ids)]
        return {"id": queue_id, "name": QUEUE_NAMES[number % len(QUEUE_NAMES)] + ("" if number < 10 else f" {number}"),
                "division": {"id": division, "name": f"Division {number % 3}",
                             "selfUri": f"/api/v2/authorization/divisions/{division}"},
                "dateCreated": "2022-01-10T14:03:22.000Z", "dateModified": "2024-04-02T09:41:10.000Z",
                "memberCount": 5 + number, "userMemberCount": 5 + number, "joinedMemberCount": 3 + number,
                "scoringMethod": "TimestampAndPriority", "skillEvaluationMethod": "BEST",
                "selfUri": f"/api/v2/routing/queues/{queue_id}"}


def query_variant(conversation: dict) -> dict:
    """A record as the details query returns it: participants carry no attributes (jobs return them)."""
    return {**conversation, "participants": [{key: value for key, value in participant.items() if key != "attributes"}
                                             for participant in conversation.get("participants", ())]}


def _dimensions(conversation: dict, participant: dict, session: dict) -> dict:
    """The dimension values one session contributes to, for grouping and filtering."""
    queue_id = next((segment["queueId"] for segment in session.get("segments", ()) if segment.get("queueId")), None)
    wrap_up = next((segment["wrapUpCode"] for segment in session.get("segments", ()) if segment.get("wrapUpCode")),
                   None)
    return {"conversationId": conversation["conversationId"], "mediaType": session.get("mediaType"),
            "direction": session.get("direction"), "originatingDirection": conversation.get("originatingDirection"),
            "purpose": participant.get("purpose"), "userId": participant.get("userId"), "queueId": queue_id,
            "wrapUpCode": wrap_up, "divisionId": ",".join(conversation.get("divisionIds", ())) or None}


def _stats(metric: str, values: list[int]) -> dict:
    """Sparse stats: counts for n* metrics; max, min, count and sum for durations."""
    if metric.startswith("n"):
        return {"count": sum(values)}
    return {"max": max(values), "min": min(values), "count": len(values), "sum": sum(values)}

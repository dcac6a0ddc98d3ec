"""Realistic synthetic conversation detail records, for the fake API server, tests and benchmarks.

Shapes follow ../shared/genesys (the SDK models and the hand-assembled examples): a customer, often
an IVR with a flow and its outcomes, an ACD queue and one or two agents, each with sessions,
segments and metrics. Real-data quirks are reproduced on purpose: conversations still in progress
(no conversationEnd, a last segment without segmentEnd), the same metric name and value twice in a
session, two segments with the same start and end. About 25 rows per conversation in the
conversation mapping. Deterministic for a given seed.
"""

from __future__ import annotations

import copy
import random
import uuid
from datetime import UTC, datetime, timedelta

MEDIA = ("voice", "voice", "voice", "chat", "message", "email", "callback")
DISCONNECTS = ("endpoint", "peer", "client", "transfer", "timeout", "system")
WRAPUPS = ("ee3b5cfd-0c2b-4a26-b3f5-6c6bb3b2ac01", "0e6f8c9a-7b55-4e1e-9a31-2f1f5a4d2b02", "ORPHANED")
FLOW_OUTCOMES = ("billing", "support", "sales")


def iso(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}Z"


class Synthesizer:
    """Makes conversations from a seed; ids of queues, users and divisions come from small pools
    so that reports group them meaningfully."""

    def __init__(self, seed: int = 0, queues: int = 8, users: int = 40, divisions: int = 3):
        self.rng = random.Random(seed)
        self.queue_ids = [self._uuid() for _ in range(queues)]
        self.user_ids = [self._uuid() for _ in range(users)]
        self.division_ids = [self._uuid() for _ in range(divisions)]
        self.flow_id = self._uuid()

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def conversation(self, start: datetime, attributes: bool = False, in_progress: bool | None = None) -> dict:
        """One conversation starting at `start`. `attributes` adds participant attributes (jobs API)."""
        rng = self.rng
        media = rng.choice(MEDIA)
        if in_progress is None:
            in_progress = rng.random() < 0.05
        clock = _Clock(start, rng)
        conversation_id = self._uuid()
        queue_id = rng.choice(self.queue_ids)
        conversation = {
            "conversationId": conversation_id,
            "conversationStart": iso(start),
            "conversationInitiator": "customer" if media != "callback" else "agent",
            "customerParticipation": True,
            "divisionIds": rng.sample(self.division_ids, rng.choice((1, 1, 2))),
            "originatingDirection": "inbound" if rng.random() < 0.8 else "outbound",
            "participants": [],
        }
        if media == "voice":
            conversation["mediaStatsMinConversationMos"] = round(rng.uniform(3.2, 4.9), 6)
            conversation["mediaStatsMinConversationRFactor"] = round(rng.uniform(70, 93.2), 6)
        participants = conversation["participants"]
        customer_session = self._uuid()
        participants.append(self._customer(media, customer_session, clock, attributes))
        if media == "voice" and rng.random() < 0.6:
            participants.append(self._ivr(media, customer_session, clock))
        participants.append(self._acd(media, customer_session, queue_id, clock))
        for _ in range(1 if rng.random() < 0.85 else 2):
            participants.append(self._agent(media, customer_session, queue_id, clock))
        end = clock.now
        if in_progress:
            last = participants[-1]["sessions"][-1]["segments"][-1]
            last.pop("segmentEnd", None)
            last.pop("disconnectType", None)
        else:
            conversation["conversationEnd"] = iso(end)
            participants[0]["sessions"][0]["segments"][-1]["segmentEnd"] = iso(end)
        if not in_progress and rng.random() < 0.1:
            conversation["evaluations"] = [self._evaluation(queue_id, end)]
        if not in_progress and rng.random() < 0.05:
            conversation["surveys"] = [self._survey(queue_id, end)]
        if media in ("message", "chat") and not in_progress and rng.random() < 0.2:
            conversation["resolutions"] = [{"eventTime": iso(end + timedelta(hours=48)), "queueId": queue_id,
                                            "userId": rng.choice(self.user_ids), "nNextContactAvoided": 1}]
        return conversation

    def conversations(self, count: int, start: datetime, spacing: timedelta = timedelta(seconds=30),
                      attributes: bool = False):
        for number in range(count):
            yield self.conversation(start + spacing * number, attributes=attributes)

    def finish(self, conversation: dict, after: timedelta = timedelta(minutes=3), evaluate: bool = True) -> dict:
        """The same conversation read again later: a copy that has ended `after` its last segment
        started, and (with `evaluate`) been evaluated. What a sync's look-back must pick up."""
        finished = copy.deepcopy(conversation)
        last = finished["participants"][-1]["sessions"][-1]["segments"][-1]
        end = datetime.fromisoformat(last["segmentStart"].replace("Z", "+00:00")) + after
        last.setdefault("segmentEnd", iso(end))
        last.setdefault("disconnectType", "client")
        finished.setdefault("conversationEnd", iso(end))
        if evaluate:
            queue_id = next((segment["queueId"] for participant in finished["participants"]
                             for session in participant["sessions"] for segment in session["segments"]
                             if segment.get("queueId")), self.queue_ids[0])
            finished["evaluations"] = [*finished.get("evaluations", ()), self._evaluation(queue_id, end)]
        return finished

    # -- participants ----------------------------------------------------------------------

    def _session(self, media: str, direction: str, **fields) -> dict:
        session = {"mediaType": media, "sessionId": self._uuid(), "direction": direction, **fields}
        if media == "voice":
            session.setdefault("ani", "tel:+1614555" + f"{self.rng.randrange(10000):04d}")
            session.setdefault("dnis", "tel:+18005550199")
            session["provider"] = "Edge"
        elif media in ("chat", "message"):
            session["provider"] = "Webchat Provider" if media == "chat" else "PureCloud Messaging"
            if media == "message":
                session["messageType"] = self.rng.choice(("webmessaging", "sms", "whatsapp"))
        return session

    def _customer(self, media, session_id, clock, attributes) -> dict:
        rng = self.rng
        session = self._session(media, "inbound", remoteNameDisplayable="Mobile Number, Ohio")
        session["sessionId"] = session_id
        start = clock.now
        session["segments"] = [{"segmentStart": iso(start), "segmentEnd": iso(start), "segmentType": "interact",
                                "disconnectType": rng.choice(DISCONNECTS), "conference": False}]
        if media == "voice":
            session["mediaEndpointStats"] = [{
                "codecs": ["opus"] if rng.random() < 0.5 else ["PCMU", "opus"],
                "eventTime": iso(start + timedelta(seconds=rng.randrange(60, 900))),
                "maxLatencyMs": rng.randrange(20, 400),
                "minMos": round(rng.uniform(3.5, 4.9), 6),
                "minRFactor": round(rng.uniform(70, 93), 6),
                "receivedPackets": rng.randrange(1000, 90000),
                "discardedPackets": rng.randrange(0, 40),
            }]
            session["protocolCallId"] = self._uuid()
        session["metrics"] = [{"emitDate": iso(start), "name": "nConnected", "value": 1}]
        participant = {"participantId": self._uuid(), "participantName": "Customer " + str(rng.randrange(1000)),
                       "purpose": "customer", "sessions": [session]}
        if attributes:
            participant["attributes"] = {"AccountNumber": str(rng.randrange(100000, 999999)),
                                         "IntentSelected": rng.choice(FLOW_OUTCOMES)}
        return participant

    def _ivr(self, media, peer, clock) -> dict:
        rng = self.rng
        start = clock.now
        end = clock.advance(5, 90)
        outcome = rng.choice(FLOW_OUTCOMES)
        session = self._session(media, "inbound", peerId=peer)
        session["flow"] = {
            "flowId": self.flow_id, "flowName": "Main IVR", "flowType": "INBOUNDCALL", "flowVersion": "12.0",
            "entryType": "dnis", "entryReason": "tel:+18005550199", "exitReason": "TRANSFER",
            "transferType": "ACD", "transferTargetName": "Support", "issuedCallback": False,
            "startingLanguage": "en-us", "endingLanguage": "en-us",
            "outcomes": [{"flowOutcome": outcome, "flowOutcomeId": self._uuid(), "flowOutcomeValue": "SUCCESS",
                          "flowOutcomeStartTimestamp": iso(start), "flowOutcomeEndTimestamp": iso(end)}],
        }
        session["segments"] = [{"segmentStart": iso(start), "segmentEnd": iso(end), "segmentType": "ivr",
                                "disconnectType": "transfer", "conference": False}]
        session["metrics"] = [{"emitDate": iso(end), "name": "tIvr", "value": _ms(start, end)}]
        return {"participantId": self._uuid(), "participantName": "Main IVR", "purpose": "ivr", "sessions": [session]}

    def _acd(self, media, peer, queue_id, clock) -> dict:
        start = clock.now
        end = clock.advance(2, 240)
        session = self._session(media, "inbound", peerId=peer, requestedRoutings=["Standard"], usedRouting="Standard")
        session["segments"] = [{"segmentStart": iso(start), "segmentEnd": iso(end), "segmentType": "interact",
                                "queueId": queue_id, "disconnectType": "transfer", "conference": False}]
        session["metrics"] = [
            {"emitDate": iso(start), "name": "nOffered", "value": 1},
            {"emitDate": iso(end), "name": "tAcd", "value": _ms(start, end)},
        ]
        return {"participantId": self._uuid(), "participantName": "Support", "purpose": "acd", "sessions": [session]}

    def _agent(self, media, peer, queue_id, clock) -> dict:
        rng = self.rng
        user_id = rng.choice(self.user_ids)
        alert_start = clock.now
        talk_start = clock.advance(2, 20)
        segments = [{"segmentStart": iso(alert_start), "segmentEnd": iso(talk_start), "segmentType": "alert",
                     "queueId": queue_id, "conference": False}]
        talk_end = clock.advance(30, 900)
        segments.append({"segmentStart": iso(talk_start), "segmentEnd": iso(talk_end), "segmentType": "interact",
                         "queueId": queue_id, "conference": False})
        held = 0
        if rng.random() < 0.3:
            hold_end = clock.advance(10, 120)
            held = _ms(talk_end, hold_end)
            segments.append({"segmentStart": iso(talk_end), "segmentEnd": iso(hold_end), "segmentType": "hold",
                             "queueId": queue_id, "conference": False})
            talk_end = hold_end
        if rng.random() < 0.03:  # the same start and end twice happens in real data
            segments.append(dict(segments[-1]))
        wrap_end = clock.advance(5, 120)
        segments.append({"segmentStart": iso(talk_end), "segmentEnd": iso(wrap_end), "segmentType": "wrapup",
                         "queueId": queue_id, "wrapUpCode": rng.choice(WRAPUPS), "disconnectType": "client",
                         "conference": False})
        talk = _ms(talk_start, talk_end) - held
        metrics = [
            {"emitDate": iso(talk_start), "name": "tAlert", "value": _ms(alert_start, talk_start)},
            {"emitDate": iso(talk_start), "name": "tAnswered", "value": _ms(alert_start, talk_start)},
            {"emitDate": iso(talk_end), "name": "tTalk", "value": talk},
            {"emitDate": iso(talk_end), "name": "tTalkComplete", "value": talk},
            {"emitDate": iso(wrap_end), "name": "tAcw", "value": _ms(talk_end, wrap_end)},
            {"emitDate": iso(wrap_end), "name": "tHandle", "value": _ms(talk_start, wrap_end)},
        ]
        if held:
            metrics.append({"emitDate": iso(talk_end), "name": "tHeld", "value": held})
        if rng.random() < 0.05:  # the same metric name and value twice in one session
            metrics.append(dict(metrics[0]))
        session = self._session(media, "inbound", peerId=peer, selectedAgentId=user_id, segments=segments,
                                metrics=metrics)
        if rng.random() < 0.3:
            session["proposedAgents"] = [{"agentRank": 1, "proposedAgentId": user_id}]
        return {"participantId": self._uuid(), "participantName": "Agent " + user_id[:4], "purpose": "agent",
                "userId": user_id, "sessions": [session]}

    def _evaluation(self, queue_id, end) -> dict:
        rng = self.rng
        return {"evaluationId": self._uuid(), "evaluatorId": rng.choice(self.user_ids), "formId": self._uuid(),
                "formName": "Quality form", "eventTime": iso(end + timedelta(hours=3)), "queueId": queue_id,
                "userId": rng.choice(self.user_ids), "evaluationStatus": "Finished", "released": True,
                "deleted": False, "rescored": False, "systemSubmitted": False, "assigneeApplicable": True,
                "oTotalScore": rng.randrange(40, 101), "oTotalCriticalScore": rng.randrange(70, 101)}

    def _survey(self, queue_id, end) -> dict:
        rng = self.rng
        return {"surveyId": self._uuid(), "surveyFormId": self._uuid(), "surveyFormName": "NPS",
                "surveyStatus": "Finished", "surveyType": "Web", "eventTime": iso(end + timedelta(hours=1)),
                "surveyCompletedDate": iso(end + timedelta(hours=1)), "queueId": queue_id,
                "userId": rng.choice(self.user_ids), "surveyPromoterScore": rng.randrange(0, 11),
                "oSurveyTotalScore": rng.randrange(0, 101)}


class _Clock:
    """Time moving forward through one conversation."""

    def __init__(self, start: datetime, rng: random.Random):
        self.now, self.rng = start, rng

    def advance(self, low: float, high: float) -> datetime:
        self.now += timedelta(milliseconds=self.rng.randrange(int(low * 1000), int(high * 1000)))
        return self.now


def _ms(start: datetime, end: datetime) -> int:
    return int((end - start) / timedelta(milliseconds=1))


def default_start() -> datetime:
    return datetime(2024, 5, 1, tzinfo=UTC)

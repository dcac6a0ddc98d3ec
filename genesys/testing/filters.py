"""The analytics filter grammar, evaluated: enough of it for a fake server to honour what a client sends.

A filter is {type: and|or, predicates: [...], clauses: [filter, ...]}; a predicate names a
dimension with an operator (matches, exists, notExists) and a value. Conversation filters test
the conversation's own dimensions; segment filters hold when one segment (seen with its session
and participant) satisfies the whole filter. Metric and property predicates are refused, so a
test never silently gets unfiltered data.
"""

from __future__ import annotations

from collections.abc import Callable

CONVERSATION_DIMENSIONS = {"divisionId": "divisionIds"}  # dimension -> field, where the names differ


def compile_filters(query: dict) -> Callable[[dict], bool] | None:
    """One predicate over a conversation for the query's conversationFilters and segmentFilters (ANDed)."""
    conversation_tests = [compile_predicate(spec) for spec in query.get("conversationFilters") or ()]
    segment_tests = [compile_predicate(spec) for spec in query.get("segmentFilters") or ()]
    if not conversation_tests and not segment_tests:
        return None

    def wanted(conversation: dict) -> bool:
        context = {dimension: conversation.get(name) for dimension, name in CONVERSATION_DIMENSIONS.items()}
        context = {**conversation, **context}
        if not all(test(context) for test in conversation_tests):
            return False
        segments = list(_segment_contexts(conversation))
        return all(any(test(segment) for segment in segments) for test in segment_tests)

    return wanted


def compile_predicate(spec: dict) -> Callable[[dict], bool]:
    """A filter (and/or of predicates and clauses) as a test of one context: a dict of dimension values."""
    if not isinstance(spec, dict) or spec.get("type") not in ("and", "or"):
        raise ValueError("a filter needs type 'and' or 'or'")
    tests = [_predicate(predicate) for predicate in spec.get("predicates") or ()]
    tests += [compile_predicate(clause) for clause in spec.get("clauses") or ()]
    combine = all if spec["type"] == "and" else any
    return lambda context: combine(test(context) for test in tests)


def _predicate(predicate: dict) -> Callable[[dict], bool]:
    if predicate.get("type", "dimension") != "dimension" or "dimension" not in predicate:
        raise ValueError("the fake server evaluates dimension predicates only")
    dimension, operator, value = predicate["dimension"], predicate.get("operator", "matches"), predicate.get("value")
    if operator == "exists":
        return lambda context: context.get(dimension) not in (None, [], "")
    if operator == "notExists":
        return lambda context: context.get(dimension) in (None, [], "")
    if operator != "matches":
        raise ValueError(f"unknown operator {operator!r}")

    def matches(context: dict) -> bool:
        have = context.get(dimension)
        return value in have if isinstance(have, list) else have == value

    return matches


def _segment_contexts(conversation: dict):
    for participant in conversation.get("participants", ()):
        people = {key: value for key, value in participant.items() if not isinstance(value, (list, dict))}
        for session in participant.get("sessions", ()):
            media = {key: value for key, value in session.items() if not isinstance(value, (list, dict))}
            for segment in session.get("segments", ()):
                yield {**people, **media, **segment}

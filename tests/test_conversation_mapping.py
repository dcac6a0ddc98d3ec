"""The Genesys conversation mapping stores every field of the conversation detail record, exactly.

Driven by genesys/conversation-fields.json: a field added to that inventory is checked for a
column and generated into the round-trip documents with no new code here.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flattener import Flattener, Loader, Rebuilder, open_plan, read_documents, verify
from flattener.codecs import Boolean, CsvList, Float, Integer, String, Timestamp
from flattener.compare import differences
from flattener.plan import ARRAY, CHILD, INLINE, LIST, MAP, OBJECT, SCALAR

from .conftest import ROOT, SAMPLES, assert_round_trips
from .strategies import documents, unique_keys

INVENTORY = json.loads((ROOT / "genesys" / "conversation-fields.json").read_text())
MODELS = INVENTORY["models"]
PLAN = open_plan("conversation")
ROOT_MODELS = ("AnalyticsConversation", "AnalyticsConversationWithoutAttributes")


def expected_codec(spec: dict):
    """The codec class a scalar of the inventory must be stored with."""
    kind, fmt = spec["jsonType"], spec.get("format")
    if kind == "string":
        return (Timestamp,) if fmt == "date-time" else (String,)
    if kind == "integer":
        return (Integer, {"int32": 32, "int64": 64}[fmt])
    return {"number": (Float,), "boolean": (Boolean,)}[kind]


def assert_codec(codec, spec: dict, where: str):
    expected = expected_codec(spec)
    assert isinstance(codec, expected[0]), f"{where}: stored as {codec.name}, the inventory says {spec}"
    if expected[0] is Integer:
        assert codec.bits == expected[1], f"{where}: stored as {codec.name}, the inventory says {spec.get('format')}"


def inventory_fields(model: str, path: str = "$"):
    """(JSON path, field spec, nested model or None) for every field of a model, recursively."""
    for spec in MODELS[model]["fields"]:
        where = f"{path}.{spec['name']}"
        ref = spec.get("ref") or (spec.get("items") or {}).get("ref")
        yield where, spec, ref
        if ref:
            yield from inventory_fields(ref, where + ("[*]" if spec.get("isArray") else ""))


@pytest.mark.parametrize("root_model", ROOT_MODELS)
def test_every_inventory_field_has_a_column_of_its_type(root_model):
    def check(model, node, path):
        for spec in MODELS[model]["fields"]:
            where = f"{path}.{spec['name']}"
            field = node.fields.get(spec["name"])
            assert field is not None, f"{where} ({model}) is not in mappings/conversation.yaml"
            ref = spec.get("ref") or (spec.get("items") or {}).get("ref")
            if ref and spec.get("isArray"):
                assert field.kind == CHILD and field.table.kind == ARRAY, f"{where}: expected a child table"
                check(ref, field.table.node, where + "[*]")
            elif ref:
                assert field.kind == INLINE or (field.kind == CHILD and field.table.kind == OBJECT), where
                check(ref, field.node if field.kind == INLINE else field.table.node, where)
            elif spec.get("isMap"):
                assert field.kind == CHILD and field.table.kind == MAP, f"{where}: expected a key/value table"
                assert_codec(field.table.columns[field.table.value].codec, spec["mapValue"], where)
            elif spec.get("isArray"):
                if field.kind == SCALAR:
                    assert isinstance(field.codec, CsvList), f"{where}: expected a list column"
                    assert_codec(field.codec.item, spec["items"], where)
                else:
                    assert field.kind == CHILD and field.table.kind == LIST, f"{where}: expected a list"
                    assert_codec(field.table.columns[field.table.value].codec, spec["items"], where)
            else:
                assert field.kind == SCALAR, f"{where}: expected a column"
                assert_codec(field.codec, spec, where)

    check(root_model, PLAN.root.node, "$")


def test_the_inventory_lists_at_least_the_224_fields_of_the_15_record_models():
    """Our copy of the inventory is not a truncated one (the jobs variants only add participant attributes).

    A field added later is welcome: the tests above and below take it up with no change here.
    """
    not_records = {"AnalyticsConversationQueryResponse", "AnalyticsConversationAsyncQueryResponse", "AggregationResult",
                   "AggregationResultEntry", "AnalyticsConversation", "AnalyticsParticipant"}
    records = [model for model in MODELS if model not in not_records]
    assert len(records) >= 15
    assert sum(len(MODELS[model]["fields"]) for model in records) >= 224


# -- documents generated from the inventory ---------------------------------------------------

instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
texts = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=10)


def value_of(spec: dict, fill: bool):
    kind, fmt = spec["jsonType"], spec.get("format")
    if spec.get("isMap"):
        return st.dictionaries(texts, value_of(spec["mapValue"], fill), min_size=int(fill), max_size=3)
    if spec.get("isArray"):
        return st.lists(value_of(spec["items"], fill), min_size=int(fill), max_size=2)
    if spec.get("ref"):
        return model_documents(spec["ref"], fill)
    if kind == "string" and fmt == "date-time":
        return instants.map(Timestamp().render)
    if kind == "string":
        enum = spec.get("enum")
        return st.sampled_from(enum) | texts if enum else texts  # new enum values do appear
    if kind == "integer":
        bits = {"int32": 32, "int64": 64}[fmt]
        return st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    if kind == "number":  # -0.0 would be kept in _extras (SQLite drops its sign); Genesys never sends it
        return st.floats(allow_nan=False, allow_infinity=False).map(lambda number: number + 0.0)
    assert kind == "boolean", spec
    return st.booleans()


def model_documents(model: str, fill: bool):
    """Documents of a model from the inventory: with `fill`, every field present at every level."""
    fields = {spec["name"]: value_of(spec, fill) for spec in MODELS[model]["fields"]}
    if fill:
        return st.fixed_dictionaries(fields)
    return st.fixed_dictionaries({}, optional=fields)


def conversations(fill: bool = True):
    return model_documents("AnalyticsConversation", fill).map(lambda document: unique_keys(PLAN, document))


@settings(max_examples=30)
@given(conversations())
def test_full_conversations_fill_every_inventory_field(conversation):
    """Every field of every level is present, and flattening puts each in a column, not in extras."""
    present = set()

    def walk(value, path):
        if isinstance(value, dict):
            for key, item in value.items():
                present.add(f"{path}.{key}")
                walk(item, f"{path}.{key}")
        elif isinstance(value, list):
            for item in value:
                walk(item, path + "[*]")

    walk(conversation, "$")
    for where, _, _ in inventory_fields("AnalyticsConversation"):
        assert where in present, where
    flat = Flattener(PLAN).flatten(conversation)
    for table in PLAN.tables:
        if table.extras is not None:
            assert all(row[table.extras] is None for row in flat.rows[table.number]), table.name
    (_, rebuilt), = Rebuilder(PLAN).documents(flat.rows)
    assert list(differences(conversation, rebuilt)) == []


def test_inventory_conversations_round_trip_through_the_database(database_url, make_store):
    store = make_store(PLAN, database_url)

    @settings(max_examples=25)
    @given(st.lists(conversations(fill=True) | conversations(fill=False).filter(lambda c: "conversationId" in c),
                    min_size=1, max_size=3, unique_by=lambda conversation: conversation["conversationId"]))
    def check(batch):
        assert_round_trips(store, batch)

    check()


@settings(max_examples=40)
@given(documents(PLAN, max_items=2))
def test_conversations_with_fields_genesys_adds_later_rebuild_exactly(conversation):
    """Unknown fields at any level (documents() adds some) are kept in _extras."""
    flat = Flattener(PLAN).flatten(conversation)
    (_, rebuilt), = Rebuilder(PLAN).documents(flat.rows)
    assert list(differences(conversation, rebuilt)) == []


# -- the API's own payloads -------------------------------------------------------------------

EXAMPLES = sorted((SAMPLES / "genesys").glob("details-*.json"))


def test_example_payloads_load_from_their_envelopes_and_verify(database_url, make_store):
    store = make_store(PLAN, database_url)
    with store.session() as session:
        session.create_tables()
        loader = Loader(session)
        for path in EXAMPLES:
            loader.add_records(str(path), read_documents(str(path), PLAN.envelope))
        loader.flush()
        session.commit()
    with store.session() as session:
        verdicts = [verdict for path in EXAMPLES for verdict in verify(session, str(path),
                                                                    read_documents(str(path), PLAN.envelope))]
        attributes = session.connection.exec_driver_sql(
            "SELECT name, value FROM participant_attributes ORDER BY attribute_ordinal").all()
    assert len(verdicts) == 4 and all(verdict.problems == [] for verdict in verdicts)
    assert [tuple(row) for row in attributes] == [("AccountNumber", "100234"), ("IntentSelected", "billing")]


def test_segments_without_end_and_repeated_metrics_load():
    conversation = {
        "conversationId": "c1", "conversationStart": "2024-05-01T08:00:00.000Z",
        "participants": [{"participantId": "p1", "purpose": "agent", "sessions": [{
            "sessionId": "s1", "mediaType": "voice",
            "segments": [{"segmentStart": "2024-05-01T08:00:00.000Z", "segmentEnd": "2024-05-01T08:01:00.000Z",
                          "segmentType": "interact"},
                         {"segmentStart": "2024-05-01T08:00:00.000Z", "segmentEnd": "2024-05-01T08:01:00.000Z",
                          "segmentType": "interact"},
                         {"segmentStart": "2024-05-01T08:01:00.000Z", "segmentType": "wrapup"}],
            "metrics": [{"name": "nConnected", "value": 1, "emitDate": "2024-05-01T08:00:00.000Z"},
                        {"name": "nConnected", "value": 1, "emitDate": "2024-05-01T08:00:00.000Z"}],
        }]}],
    }
    flat = Flattener(PLAN).flatten(conversation)
    assert len(flat.rows[PLAN.table("segments").number]) == 3
    assert len(flat.rows[PLAN.table("metrics").number]) == 2
    (_, rebuilt), = Rebuilder(PLAN).documents(flat.rows)
    assert rebuilt == conversation


def test_reports_find_indexes_on_time_queue_user_media_type_and_purpose():
    from flattener.ddl import build_metadata

    indexed = {(table.name, index.columns.keys()[0])
               for table in build_metadata(PLAN).tables.values() for index in table.indexes}
    required = {("conversations", "conversation_start"), ("conversations", "conversation_end"),
                ("segments", "queue_id"), ("participants", "user_id"), ("sessions", "media_type"),
                ("participants", "purpose")}
    assert required <= indexed
    for table in build_metadata(PLAN).tables.values():  # every queue and user id, wherever it is
        for column in {"queue_id", "user_id"} & set(table.columns.keys()):
            assert (table.name, column) in indexed, f"{table.name}.{column} has no index"

"""A bad mapping fails early, with one line naming the YAML path (and line) of the problem."""

from __future__ import annotations

import textwrap

import jsonschema
import pytest

from flattener import MappingError, compile_plan, open_plan, parse_mapping
from flattener.ddl import create_statements
from flattener.mapping import bundled_mappings, schema
from flattener.plan import snake_case

from .test_roundtrip import EVERYTHING

HEAD = "\nroot:\n  table: t\n  key: id\n  fields:\n    id: string\n"  # lines 2-6 of the mappings below


def plan_of(text: str):
    return compile_plan(parse_mapping(textwrap.dedent(text), "m.yaml"))


def error_of(text: str) -> str:
    with pytest.raises(MappingError) as raised:
        plan_of(text)
    return str(raised.value)


def test_the_shipped_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(schema())


@pytest.mark.parametrize("text, expected", [
    ("""
     root:
       table: t
       key: id
       fields:
         id: strng
     """, "m.yaml:6: root.fields.id: 'strng' is not one of ['string', 'int32', 'int64', 'float', 'boolean', "
          "'timestamp', 'json']"),
    (HEAD + "    n: {type: int64, colum: n2}\n",
     "m.yaml:7: root.fields.n: Additional properties are not allowed ('colum' was unexpected)"),
    (HEAD + "    n: {column: n2}\n", "m.yaml:7: root.fields.n: a field needs one of: type, list, map, object, array"),
    (HEAD + "    n: {type: string, list: string}\n",
     "root.fields.n: Additional properties are not allowed ('list' was unexpected)"),
    ("""
     root:
       table: Things
       key: id
       fields: {id: string}
     """, "m.yaml:3: root.table: 'Things' is not a SQL name (lower-case letters, digits and _, not starting with "
          "a digit)"),
    ("""
     root:
       table: t
       fields: {id: string}
     """, "m.yaml:2: root: 'key' is a required property"),
    (HEAD + "    m: {map: string}\n", "m.yaml:7: root.fields.m: 'table' is a required property"),
    ("""
     root:
       table: t
       key: idd
       fields:
         id: string
     """, "m.yaml:4: root.key: key field 'idd' is not a field of table 't'; did you mean 'id'?"),
    ("""
     root:
       table: t
       key: id
       fields:
         id: json
     """, "root.key: key field 'id' must be one of string, int32, int64, boolean, timestamp"),
    (HEAD + "    aB: string\n    a_b: string\n",
     "m.yaml:8: root.fields.a_b: column 'a_b' of table 't' is already used by root.fields.aB: set another "
          "`column:` name"),
    (HEAD + "    kids: {array: {table: t, fields: {x: string}}}\n",
     "root.fields.kids.array: table name 't' is already used by root"),
    (HEAD + "    kids: {array: {table: k, fields: {id: string}}}\n",
     "m.yaml:7: root.fields.kids.array.fields.id: column 'id' of table 'k' is already used by the parent's key"),
    ("""
     source: {envelope: id}
     root:
       table: t
       key: id
       fields: {id: string}
     """, "source.envelope: the envelope key 'id' is also a field of the root document"),
    ("""
     source: {envelope: items, envelope_members: [total, name]}
     root:
       table: t
       key: id
       fields: {id: string, name: string}
     """, "source.envelope_members: the envelope member 'name' is also a field of the root document"),
    ("""
     source: {envelope_members: [total]}
     root:
       table: t
       key: id
       fields: {id: string}
     """, "source: 'envelope' is a dependency of 'envelope_members'"),
    ("""
     root:
       table: t
       key: id
       indexes: [nope]
       fields: {id: string}
     """, "root.indexes: index column 'nope' is not a column of table 't'"),
    (HEAD + "    o: {object: {table: o, prefix: x_, fields: {a: string}}}\n",
     "root.fields.o.object: an object stored in its own table takes no prefix"),
    (HEAD + "    id: int32\n", "m.yaml:7: not valid YAML: duplicate key 'id'"),
    ("root: [", "m.yaml:1: not valid YAML"),
])
def test_bad_mappings_are_reported_with_their_yaml_path(text, expected):
    assert expected in error_of(text)


def test_yaml_keys_stay_strings():
    """`on`, `no`, `null` and `1` are JSON field names, not YAML 1.1 booleans, nulls or numbers."""
    plan = plan_of("""
        root:
          table: t
          key: id
          fields: {id: string, on: boolean, no: string, null: string, 1: int32}
        """)
    assert list(plan.root.node.fields) == ["id", "on", "no", "null", "1"]
    assert plan.root.column_names == ["id", "on", "no", "null", "f_1", "_extras"]


@pytest.mark.parametrize("name, column", [
    ("mediaStatsMinConversationRFactor", "media_stats_min_conversation_r_factor"),
    ("q850ResponseCodes", "q850_response_codes"),
    ("oTotalScore", "o_total_score"),
    ("HTTPStatus", "http_status"),
    ("conversationId", "conversation_id"),
    ("already_snake", "already_snake"),
    ("with space-and.dot", "with_space_and_dot"),
])
def test_column_names_are_derived_in_snake_case(name, column):
    assert snake_case(name) == column


def test_every_primary_key_starts_with_the_root_key():
    for table in EVERYTHING.tables:
        assert [table.column_names[i] for i in table.primary_key][:1] == ["id"], table.name


def test_ddl_is_deterministic_and_compiles_for_both_dialects():
    for dialect in ("postgresql", "sqlite"):
        first = create_statements(EVERYTHING, dialect)
        assert first == create_statements(compile_plan(EVERYTHING.mapping), dialect)
        assert sum(statement.startswith("CREATE TABLE") for statement in first) == len(EVERYTHING.tables)
    postgres = "\n".join(create_statements(EVERYTHING, "postgresql"))
    assert "at TIMESTAMP WITH TIME ZONE" in postgres and "_extras JSON" in postgres
    assert "CONSTRAINT pk_pieces PRIMARY KEY (id, part_id, code, at)" in postgres
    assert "FOREIGN KEY(id, part_id) REFERENCES parts (id, part_id)" in postgres


@pytest.mark.parametrize("name", bundled_mappings())
def test_every_bundled_mapping_compiles(name):
    """users.yaml once listed an envelope member that is also a user's field, and no engine test noticed."""
    assert open_plan(name).tables

"""Hypothesis strategies that generate documents for any plan.

Documents use every corner the mapping allows: absent keys, explicit nulls, empty arrays and
objects, unmapped fields (where kept), values in other canonical forms (inexact: timestamps with
offsets, the integer 5 in a float field) and, where the mapping keeps invalid values, values of
the wrong type.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import strategies as st

from flattener.codecs import Boolean, CsvList, Float, Integer, Json, String, Timestamp
from flattener.plan import ARRAY, CHILD, INLINE, LIST, MAP, OBJECT, ObjectNode, Plan

texts = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)
keys = st.text(max_size=8)  # JSON keys may hold anything, even NUL and lone surrogates
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=8,
)
instants = st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=st.just(UTC))
offsets = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))


def timestamps(codec: Timestamp, exact_only: bool = False):
    canonical = instants.map(codec.render)
    if exact_only:
        return canonical
    other_forms = st.one_of(
        st.tuples(instants, offsets).map(lambda pair: pair[0].astimezone(pair[1]).isoformat()),
        instants.map(lambda i: f"{i.year:04d}-{i.month:02d}-{i.day:02d}T{i.hour:02d}:{i.minute:02d}:{i.second:02d}Z"),
        instants.map(lambda instant: instant.isoformat(sep=" ", timespec="microseconds")[:26]),
        instants.map(lambda instant: instant.isoformat(timespec="milliseconds")),
    )
    return canonical | other_forms


def scalar_values(codec, exact_only: bool = False):
    """Values a column of this codec stores: exact ones, and (unless exact_only) inexact ones."""
    if isinstance(codec, String):
        return texts
    if isinstance(codec, Integer):
        exact = st.integers(codec.low, codec.high)
        return exact if exact_only else exact | st.integers(-(2**53), 2**53).map(float).filter(
            lambda f: codec.low <= f <= codec.high)
    if isinstance(codec, Float):
        exact = st.floats(allow_nan=False, allow_infinity=False)
        return exact if exact_only else exact | st.integers(-(2**60), 2**60)
    if isinstance(codec, Boolean):
        return st.booleans()
    if isinstance(codec, Timestamp):
        return timestamps(codec, exact_only)
    if isinstance(codec, Json):
        return json_values
    if isinstance(codec, CsvList):
        return st.lists(scalar_values(codec.item, exact_only), max_size=4)
    raise TypeError(codec)


def documents(plan: Plan, max_items: int = 3):
    return _object(plan.root.node, max_items, plan.root.key_names).map(lambda document: unique_keys(plan, document))


def _object(node: ObjectNode, max_items: int, key_names=()):
    """Every field drawn, then a random few left out and a random few set to null: documents are
    rich by default, and still cover absent and null keys."""
    values = {}
    for name, field in node.fields.items():
        if name in key_names:
            values[name] = scalar_values(field.codec, exact_only=True)
        else:
            values[name] = _value(field, max_items)
            if node.keep_invalid:
                values[name] = values[name] | _wrong_shape(field)
    optional = [name for name in node.fields if name not in key_names]
    some = st.sets(st.sampled_from(optional)) if optional else st.just(set())
    unknown = st.just({}) if node.reject_extras else st.dictionaries(
        keys.filter(lambda key: key not in node.fields), json_values, max_size=2)

    def build(parts):
        drawn, left_out, nulled, extras = parts
        document = {name: None if name in nulled else value for name, value in drawn.items() if name not in left_out}
        return {**extras, **document}

    return st.tuples(st.fixed_dictionaries(values), some, some, unknown).map(build)


def _wrong_shape(field):
    """Values a lenient node must keep raw: anything for a scalar, another JSON type for a container."""
    if field.kind == INLINE or (field.kind == CHILD and field.table.kind in (OBJECT, MAP)):
        return json_values.filter(lambda value: type(value) is not dict)
    if field.kind == CHILD:
        return json_values.filter(lambda value: type(value) is not list)
    return json_values


def _value(field, max_items: int):
    if field.kind == INLINE:
        return _object(field.node, max_items)
    if field.kind != CHILD:
        return scalar_values(field.codec)
    table = field.table
    if table.kind == ARRAY:
        return st.lists(_object(table.node, max_items, table.key_names), max_size=max_items)
    if table.kind == OBJECT:
        return _object(table.node, max_items, table.key_names)
    items = st.none() | scalar_values(table.columns[table.value].codec)
    if table.kind == LIST:
        return st.lists(items, max_size=max_items)
    assert table.kind == MAP
    return st.dictionaries(texts, items, max_size=max_items)


def unique_keys(plan: Plan, document: dict) -> dict:
    """Give natural and composite key fields values unique in the document, as their mapping demands."""
    counter = iter(range(1, 1_000_000))
    base = datetime(2024, 5, 1, tzinfo=UTC)

    def fresh(codec):
        number = next(counter)
        if isinstance(codec, Timestamp):
            return codec.render(base + timedelta(seconds=number))
        return number if isinstance(codec, Integer) else f"k{number}"

    def walk(node: ObjectNode, obj: dict):
        for name, field in node.fields.items():
            value = obj.get(name)
            if field.kind == INLINE and type(value) is dict:
                walk(field.node, value)
            elif field.kind == CHILD and field.table.node is not None:
                table = field.table
                elements = value if type(value) is list else [value]
                for element in elements:
                    if type(element) is not dict:
                        continue
                    if table.unique_fields:
                        for key_name in table.key_names:
                            element[key_name] = fresh(table.node.fields[key_name].codec)
                    walk(table.node, element)

    walk(plan.root.node, document)
    return document

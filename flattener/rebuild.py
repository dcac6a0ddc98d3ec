"""Rows -> documents, following the plan: the inverse of `flatten`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from . import jsontext
from .codecs import Codec
from .plan import ARRAY, CHILD, INLINE, LIST, OBJECT, SCALAR, ObjectNode, Plan, Table, key_getter


class Rebuilder:
    def __init__(self, plan: Plan):
        self.plan = plan
        self._keys = [key_getter(table.primary_key) for table in plan.tables]
        self._shapes = {id(node): _Shape(node) for node in plan.nodes()}

    def documents(self, rows: Sequence[Sequence[Sequence]]) -> Iterator[tuple[tuple, dict]]:
        """(root key, document) for each root row.

        `rows[table.number]` holds that table's rows for these documents, each table's rows in
        document order (sorted by the table's `order_by` columns)."""
        children = [_group(table, rows[table.number]) for table in self.plan.tables]
        root = self.plan.root
        key_of = self._keys[root.number]
        for row in rows[root.number]:
            key = key_of(row)
            yield key, self._object(root, row, key, children)

    def _object(self, table: Table, row, key: tuple, children: list) -> dict:
        document = self._fill(table.node, row, key, children)
        extras = row[table.extras]
        if extras is not None:
            _merge(document, jsontext.loads(extras))
        return document

    def _fill(self, node: ObjectNode, row, key: tuple, children: list) -> dict:
        shape = self._shapes[id(node)]
        obj = {name: row[column] for name, column in shape.plain if row[column] is not None}
        for name, column, decode in shape.decoded:
            stored = row[column]
            if stored is not None:
                obj[name] = decode(stored)
        for name, inner in shape.inline:
            value = self._fill(inner, row, key, children)
            if value:
                obj[name] = value
        for name, table in shape.children:
            group = children[table.number].get(key)
            if group:
                obj[name] = self._child(table, group, children)
        return obj

    def _child(self, table: Table, group: list, children: list):
        kind = table.kind
        if kind is ARRAY:
            key_of = self._keys[table.number]
            return [self._object(table, row, key_of(row), children) for row in group]
        if kind is OBJECT:
            row = group[0]
            return self._object(table, row, self._keys[table.number](row), children)
        decode = table.columns[table.value].codec.decode
        value = table.value
        if kind is LIST:
            return [None if row[value] is None else decode(row[value]) for row in group]
        map_key = table.map_key  # a MAP table
        return {row[map_key]: None if row[value] is None else decode(row[value]) for row in group}


class _Shape:
    """A node's fields by how they are rebuilt: columns read as they are, columns that need
    decoding, nested objects of the same row, child tables. Sessions map 89 fields and hold about
    ten, so the common case is one dict comprehension."""

    def __init__(self, node: ObjectNode):
        scalars = [(name, field) for name, field in node.fields.items() if field.kind is SCALAR]
        self.plain = [(name, field.column) for name, field in scalars if type(field.codec).decode is Codec.decode]
        self.decoded = [(name, field.column, field.codec.decode) for name, field in scalars
                        if type(field.codec).decode is not Codec.decode]
        self.inline = [(name, field.node) for name, field in node.fields.items() if field.kind is INLINE]
        self.children = [(name, field.table) for name, field in node.fields.items() if field.kind is CHILD]


def _group(table: Table, rows) -> dict:
    """A child table's rows by their parent's key (the first `inherited` columns)."""
    if table.parent is None:
        return {}
    width = table.inherited
    groups: dict = {}
    for row in rows:
        parent_key = tuple(row[:width])
        group = groups.get(parent_key)
        if group is None:
            groups[parent_key] = [row]
        else:
            group.append(row)
    return groups


def _merge(target: dict, extras: dict) -> None:
    """Lay what the extras column kept over the object rebuilt from columns."""
    for name, value in extras.items():
        if type(value) is dict and type(target.get(name)) is dict:
            _merge(target[name], value)
        else:
            target[name] = value

"""Rows -> documents, following the plan: the inverse of `flatten`."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

from .plan import ARRAY, INLINE, LIST, OBJECT, SCALAR, ObjectNode, Plan, Table


class Rebuilder:
    def __init__(self, plan: Plan):
        self.plan = plan

    def documents(self, rows: Sequence[Sequence[Sequence]]) -> Iterator[tuple[tuple, dict]]:
        """(root key, document) for each root row.

        `rows[table.number]` holds that table's rows for these documents, each table's rows in
        document order (sorted by the table's `order_by` columns)."""
        children = [_group(table, rows[table.number]) for table in self.plan.tables]
        root = self.plan.root
        for row in rows[root.number]:
            key = tuple([row[i] for i in root.primary_key])
            yield key, self._object(root, row, key, children)

    def _object(self, table: Table, row, key: tuple, children: list) -> dict:
        document = self._fill(table.node, row, key, children)
        extras = row[table.extras]
        if extras is not None:
            _merge(document, json.loads(extras))
        return document

    def _fill(self, node: ObjectNode, row, key: tuple, children: list) -> dict:
        obj = {}
        for name, field in node.fields.items():
            kind = field.kind
            if kind is SCALAR:
                stored = row[field.column]
                if stored is not None:
                    obj[name] = field.codec.decode(stored)
            elif kind is INLINE:
                inner = self._fill(field.node, row, key, children)
                if inner:
                    obj[name] = inner
            else:
                table = field.table
                group = children[table.number].get(key)
                if group:
                    obj[name] = self._child(table, group, children)
        return obj

    def _child(self, table: Table, group: list, children: list):
        kind = table.kind
        if kind is ARRAY:
            return [self._object(table, row, tuple([row[i] for i in table.primary_key]), children) for row in group]
        if kind is OBJECT:
            row = group[0]
            return self._object(table, row, tuple([row[i] for i in table.primary_key]), children)
        decode = table.columns[table.value].codec.decode
        value = table.value
        if kind is LIST:
            return [None if row[value] is None else decode(row[value]) for row in group]
        map_key = table.map_key  # a MAP table
        return {row[map_key]: None if row[value] is None else decode(row[value]) for row in group}


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

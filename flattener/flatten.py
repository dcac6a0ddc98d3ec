"""Document -> rows, following the plan. The inverse is `rebuild`.

Each row ends with an extras column: the JSON of whatever about the object its typed columns
cannot express (unmapped fields, explicit nulls, empty arrays and objects, values kept raw, the
original text of inexact values). Rebuilding merges it back, which makes the round trip exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import jsontext
from .codecs import Inexact, InvalidValue, String, describe
from .errors import DocumentError, json_path
from .plan import ARRAY, INLINE, LIST, MAP, OBJECT, SCALAR, ObjectNode, Plan, Table, key_getter

_MAP_KEY = String()


@dataclass(eq=False, slots=True)
class FlatDocument:
    key: tuple  # the root key, as stored
    rows: list[list[list]]  # rows[table.number]: the rows of that table, in document order
    kept: list[str] = field(default_factory=list)  # invalid values kept raw (policy `invalid: keep`)


class Flattener:
    def __init__(self, plan: Plan):
        self.plan = plan
        self._kept: list[str] = []
        self._blanks = [(None,) * (table.width - table.inherited) for table in plan.tables]
        self._keys = [key_getter(table.primary_key) for table in plan.tables]
        self._stores = {id(node): {name: field.codec.store(field.column) for name, field in node.fields.items()
                                   if field.kind is SCALAR} for node in plan.nodes()}

    def flatten(self, document) -> FlatDocument:
        if type(document) is not dict:
            raise DocumentError((), f"expected a JSON object (a document), got {describe(document)}")
        self._kept = []
        rows = [[] for _ in self.plan.tables]
        key = self._row(self.plan.root, document, (), None, (), rows, set())
        return FlatDocument(key, rows, self._kept)

    def key_of(self, document) -> tuple:
        """The stored root key of a document, without flattening the rest of it."""
        if type(document) is not dict:
            raise DocumentError((), f"expected a JSON object (a document), got {describe(document)}")
        root = self.plan.root
        values = []
        for name in root.key_names:
            value = document.get(name)
            if value is None:
                raise DocumentError((name,), f"the key field of table {root.name!r} is missing or null")
            try:
                values.append(root.node.fields[name].codec.encode(value))
            except Inexact as approximation:
                values.append(approximation.stored)
            except InvalidValue as error:
                raise DocumentError((name,), str(error)) from None
        return tuple(values)

    def _row(self, table: Table, obj: dict, parent_key: tuple, position, path: tuple, rows, seen: set) -> tuple:
        row = [*parent_key, *self._blanks[table.number]]
        if position is not None:
            row[table.position] = position
        pending: list = []
        extras = self._fill(obj, table.node, row, path, pending)
        if extras:
            try:
                row[table.extras] = jsontext.dumps(extras)
            except jsontext.InvalidJson as error:
                raise DocumentError(path, str(error)) from None
        key = self._keys[table.number](row)
        if table.key_names and (table.unique_fields or None in key):
            self._check_key(table, key, obj, path, seen)
        rows[table.number].append(row)
        for child, value, child_path in pending:
            self._children(child, value, key, child_path, rows, seen)
        return key

    def _check_key(self, table: Table, key: tuple, obj: dict, path: tuple, seen: set) -> None:
        for name in table.key_names:
            if obj.get(name) is None:
                raise DocumentError(path + (name,), f"the key field of table {table.name!r} is missing or null")
        if table.unique_fields:
            marker = (table.number, key)
            if marker in seen:
                names = ", ".join(table.key_names)
                raise DocumentError(path, f"duplicate key in table {table.name!r}: another element has the same "
                                          f"{names} ({', '.join(map(str, key))})")
            seen.add(marker)

    def _fill(self, obj: dict, node: ObjectNode, row: list, path: tuple, pending: list) -> dict | None:
        """Put the object's values into the row; return what must go to the extras column, if anything."""
        extras = None
        fields = node.fields
        stores = self._stores[id(node)]
        for name, value in obj.items():
            store = stores.get(name)
            if store is not None and store(value, row):  # the common case: a value its column holds exactly
                continue
            field_ = fields.get(name)
            if field_ is not None and field_.kind is SCALAR and value is not None:
                try:
                    row[field_.column] = field_.codec.encode(value)
                    continue
                except Inexact as approximation:
                    row[field_.column] = approximation.stored
                except InvalidValue as error:
                    self._invalid(node, field_.is_key, path + (name,), str(error))
            if extras is None:
                extras = {}
            if field_ is None:
                if node.reject_extras:
                    raise DocumentError(path + (name,), "field not in the mapping, which rejects unmapped fields "
                                                        "(add it to the mapping, or set `extras: keep`)")
                extras[name] = value
            elif value is None:  # a json column's store() already took JSON null
                extras[name] = None
            elif field_.kind is SCALAR:  # inexact, or invalid and kept: the original goes beside it
                extras[name] = value
            elif field_.kind is INLINE:
                if type(value) is dict:
                    inner = self._fill(value, field_.node, row, path + (name,), pending)
                    if inner or not value:
                        extras[name] = inner or {}
                else:
                    self._invalid(node, False, path + (name,), f"expected an object, got {describe(value)}")
                    extras[name] = value
            else:
                self._child_value(node, field_.table, name, value, path, pending, extras)
        return extras or None

    def _child_value(self, node: ObjectNode, table: Table, name: str, value, path: tuple, pending: list,
                     extras: dict) -> None:
        """Check a child table's value now (a bad one may be kept raw in this row); make its rows later,
        once this row's key is known."""
        kind = table.kind
        try:
            if kind is OBJECT:
                if type(value) is not dict:
                    raise InvalidValue(f"expected an object, got {describe(value)}")
            elif kind is ARRAY:
                if type(value) is not list:
                    raise InvalidValue(f"expected an array, got {describe(value)}")
                for position, element in enumerate(value):
                    if type(element) is not dict:
                        raise InvalidValue(f"item {position}: expected an object, got {describe(element)}")
            else:
                if type(value) is not (dict if kind is MAP else list):
                    raise InvalidValue(f"expected {'an object' if kind is MAP else 'an array'}, got {describe(value)}")
                original = value
                value, inexact = _encode_items(table.columns[table.value].codec, value)
                if inexact:
                    extras[name] = original
        except InvalidValue as error:
            self._invalid(node, False, path + (name,), str(error))
            extras[name] = value
            return
        if value or kind is OBJECT:
            pending.append((table, value, path + (name,)))
        else:
            extras[name] = [] if kind in (ARRAY, LIST) else {}

    def _invalid(self, node: ObjectNode, is_key: bool, path: tuple, message: str) -> None:
        if is_key or not node.keep_invalid:
            raise DocumentError(path, message)
        self._kept.append(f"{json_path(path)}: {message}")

    def _children(self, table: Table, value, parent_key: tuple, path: tuple, rows, seen: set) -> None:
        kind = table.kind
        if kind is ARRAY:
            for position, element in enumerate(value):
                self._row(table, element, parent_key, position, path + (position,), rows, seen)
        elif kind is OBJECT:
            self._row(table, value, parent_key, None, path, rows, seen)
        elif kind is LIST:
            out = rows[table.number]
            for position, stored in enumerate(value):
                out.append([*parent_key, position, stored])
        else:  # MAP: (key, stored value) pairs
            out = rows[table.number]
            for position, (key, stored) in enumerate(value):
                out.append([*parent_key, position, key, stored])


def _encode_items(codec, items) -> tuple[list, bool]:
    """Array items, or a map's (key, value) pairs, encoded -> (stored, whether any is inexact)."""
    is_map = type(items) is dict
    stored, inexact = [], False
    for where, item in (items.items() if is_map else enumerate(items)):
        try:
            if is_map:
                _MAP_KEY.encode(where)
            value = None if item is None else codec.encode(item)
        except Inexact as approximation:
            value, inexact = approximation.stored, True
        except InvalidValue as error:
            raise InvalidValue(f"{'key ' + repr(where) if is_map else 'item ' + str(where)}: {error}") from None
        stored.append((where, value) if is_map else value)
    return stored, inexact

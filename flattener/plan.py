"""What a mapping means in SQL: tables, columns and keys, and the tree tying JSON keys to them.

Every child table starts with a copy of its parent's primary key, and every primary key starts
with the root document's key, so one indexed predicate per table finds a whole document.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass, field
from operator import itemgetter

from .codecs import Codec, Integer, Json, String, codec_for, list_codec_for
from .mapping import ArraySpec, Envelope, ListSpec, Mapping, MapSpec, ObjectSpec, ScalarSpec, TableSpec, load_mapping

ROOT, ARRAY, OBJECT, LIST, MAP = "root", "array", "object", "list", "map"
SCALAR, INLINE, CHILD = "scalar", "inline", "child"
KEY_TYPES = ("string", "int32", "int64", "boolean", "timestamp")
MAX_NAME = 63  # PostgreSQL truncates longer identifiers silently


def snake_case(name: str) -> str:
    """`mediaStatsMinConversationRFactor` -> `media_stats_min_conversation_r_factor`."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    text = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()
    return text if text and not text[0].isdigit() else "f_" + text


def short_name(name: str) -> str:
    """A constraint or index name within PostgreSQL's limit, still unique."""
    if len(name) <= MAX_NAME:
        return name
    return name[: MAX_NAME - 9] + "_" + hashlib.sha1(name.encode()).hexdigest()[:8]


@dataclass(eq=False)
class Column:
    name: str
    codec: Codec
    nullable: bool = True
    index: bool = False


@dataclass(eq=False)
class Field:
    """One JSON key of an object and where its value goes."""

    kind: str  # SCALAR: a column of the row; INLINE: a nested object in the same row; CHILD: a child table
    key: str
    column: int = -1
    codec: Codec | None = None
    node: ObjectNode | None = None
    table: Table | None = None
    is_key: bool = False


@dataclass(eq=False)
class ObjectNode:
    """A JSON object whose scalar fields land in one row."""

    fields: dict[str, Field]
    reject_extras: bool
    keep_invalid: bool


@dataclass(eq=False)
class Table:
    name: str
    kind: str
    number: int
    json_path: str  # where its rows come from in the document, e.g. $.participants[*]
    parent: Table | None = None
    columns: list[Column] = field(default_factory=list)
    inherited: int = 0  # the first `inherited` columns copy the parent's primary key
    primary_key: tuple[int, ...] = ()
    key_names: tuple[str, ...] = ()  # JSON keys of the fields in this table's own key
    unique_fields: bool = False  # a natural or composite key: duplicates in a document are errors
    position: int | None = None  # the array index of the element
    extras: int | None = None  # JSON of what the typed columns cannot hold
    node: ObjectNode | None = None  # root, array and object tables
    map_key: int | None = None  # map tables: the key
    value: int | None = None  # list and map tables: the value
    indexes: list[tuple[str, ...]] = field(default_factory=list)
    children: list[Table] = field(default_factory=list)

    @property
    def width(self) -> int:
        return len(self.columns)

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def order_by(self) -> tuple[int, ...]:
        """Columns that put rows in order: documents by their key; elements by their parent's key
        and then their position in the array."""
        if self.parent is None:
            return self.primary_key
        tail = (self.position,) if self.position is not None else ()
        return tuple(range(self.inherited)) + tail


@dataclass(eq=False)
class Plan:
    mapping: Mapping
    tables: list[Table]
    root: Table

    @property
    def envelope(self) -> Envelope | None:
        return self.mapping.envelope

    def table(self, name: str) -> Table:
        return next(table for table in self.tables if table.name == name)

    def nodes(self):
        """Every object node of every table, nested objects in the same row included."""
        def walk(node: ObjectNode):
            yield node
            for field_ in node.fields.values():
                if field_.kind is INLINE:
                    yield from walk(field_.node)

        for table in self.tables:
            if table.node is not None:
                yield from walk(table.node)


def open_plan(reference: str) -> Plan:
    """The plan of a mapping file, or of a bundled mapping by name."""
    return compile_plan(load_mapping(reference))


def compile_plan(mapping: Mapping) -> Plan:
    builder = _Builder(mapping)
    root = builder.table(mapping.root, ROOT, None, "$")
    envelope = mapping.envelope
    if envelope is not None:
        for path, what, name in [(("source", "envelope"), "key", envelope.key)] + [
                (("source", "envelope_members"), "member", member) for member in sorted(envelope.members)]:
            if name in mapping.root.fields:
                raise mapping.error(path, f"the envelope {what} {name!r} is also a field of the root document, so a "
                                          "document could not be told from an envelope")
    return Plan(mapping, builder.tables, root)


class _Builder:
    def __init__(self, mapping: Mapping):
        self.mapping = mapping
        self.tables: list[Table] = []
        self.origins: dict[str, tuple] = {}
        self.column_origins: dict[tuple[int, str], tuple] = {}

    def error(self, path, message):
        return self.mapping.error(path, message)

    def new_table(self, name: str, kind: str, parent: Table | None, path: tuple, json_path: str) -> Table:
        if name in self.origins:
            raise self.error(path, f"table name {name!r} is already used by {_yaml(self.origins[name])}")
        self.origins[name] = path
        table = Table(name=name, kind=kind, number=len(self.tables), json_path=json_path, parent=parent)
        self.tables.append(table)
        if parent is not None:
            for position in parent.primary_key:
                inherited = parent.columns[position]
                self.add_column(table, Column(inherited.name, inherited.codec, nullable=False), path, inherited=True)
            table.inherited = len(parent.primary_key)
            parent.children.append(table)
        return table

    def add_column(self, table: Table, column: Column, path: tuple, inherited: bool = False) -> int:
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", column.name) or len(column.name) > MAX_NAME:
            raise self.error(path, f"column name {column.name!r} is not a SQL name of at most {MAX_NAME} characters: "
                                   "set `column:`")
        for existing in table.columns:
            if existing.name == column.name:
                where = self.column_origins[(table.number, column.name)]
                source = _yaml(where) if where else "the parent's key, which every child table starts with"
                raise self.error(path, f"column {column.name!r} of table {table.name!r} is already used by {source}: "
                                       "set another `column:` name")
        self.column_origins[(table.number, column.name)] = None if inherited else path
        table.columns.append(column)
        return len(table.columns) - 1

    def table(self, spec: TableSpec, kind: str, parent: Table | None, json_path: str) -> Table:
        table = self.new_table(spec.name, kind, parent, spec.path, json_path)
        if kind == ARRAY:
            name = spec.position or f"{spec.name}_ordinal"
            table.position = self.add_column(table, Column(name, Integer(32), nullable=False), spec.path)
        deferred: list[tuple[Field, object, str]] = []
        table.node = self.node(spec, table, "", deferred, json_path)
        table.extras = self.add_column(table, Column(self.mapping.extras_column, Json()), spec.path)
        self.set_primary_key(table, spec)
        self.set_indexes(table, spec)
        for child_field, child_spec, child_path in deferred:
            child_field.table = self.child(child_spec, table, child_path)
        return table

    def node(self, spec: TableSpec, table: Table, prefix: str, deferred: list, json_path: str) -> ObjectNode:
        node = ObjectNode(fields={}, reject_extras=spec.extras == "reject", keep_invalid=spec.invalid == "keep")
        for key, field_spec in spec.fields.items():
            if isinstance(field_spec, ScalarSpec):
                codec = codec_for(field_spec.type, field_spec.precision)
                node.fields[key] = self.scalar(table, key, field_spec, codec, prefix)
            elif isinstance(field_spec, ListSpec) and field_spec.table is None:
                node.fields[key] = self.scalar(table, key, field_spec, list_codec_for(field_spec.items), prefix)
            elif isinstance(field_spec, ObjectSpec) and field_spec.table.name is None:
                inner = field_spec.table
                inner_prefix = prefix + (inner.prefix if inner.prefix is not None else snake_case(key) + "_")
                node.fields[key] = Field(INLINE, key, node=self.node(inner, table, inner_prefix, deferred,
                                                                     f"{json_path}.{key}"))
                table.indexes.extend(inner.indexes)
            else:
                node.fields[key] = Field(CHILD, key)
                deferred.append((node.fields[key], field_spec, f"{json_path}.{key}"))
        return node

    def scalar(self, table: Table, key: str, spec, codec: Codec, prefix: str) -> Field:
        name = spec.column or prefix + snake_case(key)
        column = self.add_column(table, Column(name, codec, index=spec.index), spec.path)
        return Field(SCALAR, key, column=column, codec=codec)

    def set_primary_key(self, table: Table, spec: TableSpec) -> None:
        key = spec.key
        own = tuple(self.key_column(table, spec, name) for name in key.fields)
        inherited = tuple(range(table.inherited))
        if key.kind == "natural":
            root_key = inherited[: len(self.tables[0].primary_key)] if table.parent else ()
            table.primary_key = root_key + own
        elif key.kind == "composite":
            table.primary_key = inherited + own
        elif key.kind == "ordinal":
            table.primary_key = inherited + (table.position,)
        else:  # one object per parent
            table.primary_key = inherited
        table.key_names = key.fields
        table.unique_fields = table.parent is not None and key.kind in ("natural", "composite")

    def key_column(self, table: Table, spec: TableSpec, name: str) -> int:
        field_spec = spec.fields.get(name)
        path = spec.path + ("key",)
        if field_spec is None:
            hint = difflib.get_close_matches(name, list(spec.fields), n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            raise self.error(path, f"key field {name!r} is not a field of table {table.name!r}{suggestion}")
        if not isinstance(field_spec, ScalarSpec) or field_spec.type not in KEY_TYPES:
            raise self.error(path, f"key field {name!r} must be one of {', '.join(KEY_TYPES)}")
        key_field = table.node.fields[name]
        key_field.is_key = True
        table.columns[key_field.column].nullable = False
        return key_field.column

    def set_indexes(self, table: Table, spec: TableSpec) -> None:
        table.indexes.extend(spec.indexes)
        names = set(table.column_names)
        for index in table.indexes:
            for name in index:
                if name not in names:
                    raise self.error(spec.path + ("indexes",), f"index column {name!r} is not a column of table "
                                                              f"{table.name!r} (columns: {', '.join(sorted(names))})")
        table.indexes.extend((column.name,) for column in table.columns if column.index)

    def child(self, spec, parent: Table, json_path: str) -> Table:
        if isinstance(spec, ArraySpec):
            return self.table(spec.table, ARRAY, parent, json_path + "[*]")
        if isinstance(spec, ObjectSpec):
            return self.table(spec.table, OBJECT, parent, json_path)
        kind, tail = (LIST, "[*]") if isinstance(spec, ListSpec) else (MAP, ".*")
        table = self.new_table(spec.table, kind, parent, spec.path, json_path + tail)
        position = spec.position or f"{spec.table}_ordinal"
        table.position = self.add_column(table, Column(position, Integer(32), nullable=False), spec.path)
        if isinstance(spec, MapSpec):
            table.map_key = self.add_column(table, Column(spec.key_column, String(), nullable=False), spec.path)
            table.value = self.add_column(table, Column(spec.value_column, codec_for(spec.values)), spec.path)
            table.primary_key = tuple(range(table.inherited)) + (table.map_key,)
        else:
            table.value = self.add_column(table, Column(spec.value_column, codec_for(spec.items)), spec.path)
            table.primary_key = tuple(range(table.inherited)) + (table.position,)
            if spec.index:
                table.indexes.append((spec.value_column,))
        return table


def key_getter(columns: tuple[int, ...]):
    """A fast function row -> the tuple of these columns (itemgetter, which for one column returns
    the bare value)."""
    if len(columns) == 1:
        column = columns[0]
        return lambda row: (row[column],)
    return itemgetter(*columns)


def _yaml(path: tuple) -> str:
    return ".".join(str(part) for part in path)


def describe(plan: Plan) -> str:
    """The schema as a Markdown table: what each table holds, its key, and how it joins its parent."""
    lines = ["| table | rows from | primary key | joins its parent on |", "|---|---|---|---|"]
    for table in plan.tables:
        names = table.column_names
        key = ", ".join(names[i] for i in table.primary_key)
        join = f"{table.parent.name} ({', '.join(names[: table.inherited])})" if table.parent else ""
        lines.append(f"| {table.name} | `{table.json_path}` | {key} | {join} |")
    return "\n".join(lines)

"""The mapping language: YAML, checked against the JSON Schema shipped beside this module.

This module only reads and checks the syntax and fills in defaults; what the mapping *means*
(tables, columns, keys) is worked out by `plan`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import jsonschema
import yaml

from .errors import MappingError

SCHEMA_FILE = "mapping.schema.json"


@cache
def schema() -> dict:
    return json.loads(resources.files(__package__).joinpath(SCHEMA_FILE).read_text())


@dataclass(frozen=True)
class Key:
    """How the rows of a table are told apart.

    natural: root key + fields (unique within the document); composite: parent key + fields;
    ordinal: parent key + array position; parent: the parent's key (one row per parent).
    """

    kind: str
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScalarSpec:
    type: str
    path: tuple
    column: str | None = None
    index: bool = False
    precision: int = 3


@dataclass(frozen=True)
class ListSpec:
    items: str
    path: tuple
    column: str | None = None
    table: str | None = None
    value_column: str = "value"
    position: str | None = None
    index: bool = False


@dataclass(frozen=True)
class MapSpec:
    values: str
    table: str
    path: tuple
    key_column: str = "key"
    value_column: str = "value"
    position: str | None = None


@dataclass(frozen=True)
class TableSpec:
    """An object of the document: the root, an array element, or a nested object."""

    name: str | None  # None: a nested object whose columns go into the parent's row
    key: Key
    fields: dict
    extras: str
    invalid: str
    path: tuple
    position: str | None = None
    prefix: str | None = None
    indexes: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class ObjectSpec:
    table: TableSpec


@dataclass(frozen=True)
class ArraySpec:
    table: TableSpec


@dataclass(frozen=True)
class Envelope:
    """How documents sit in an API envelope such as {"conversations": [...], "totalHits": 137}.

    `key` holds the documents; an object made only of `members` (what a paged API's last page may
    be: {"totalHits": 137}) holds none. An object with a field of `document_key` is a document,
    whatever else it holds: a document is never taken for an envelope.
    """

    key: str
    members: frozenset[str] = frozenset()
    document_key: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mapping:
    origin: str
    name: str
    envelope: Envelope | None
    extras_column: str
    foreign_keys: bool
    root: TableSpec
    lines: dict = field(default_factory=dict, repr=False, compare=False)

    def error(self, path: tuple, message: str) -> MappingError:
        return MappingError(self.origin, path, message, self.lines.get(tuple(path)))


class _Loader(yaml.SafeLoader):
    """Mapping keys stay strings: YAML 1.1 would read a JSON field named `on`, `no` or `null` as a
    boolean or None. A key given twice is an error instead of a silent overwrite."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    result = {}
    for key_node, value_node in node.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else loader.construct_object(key_node, deep=True)
        if key in result:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=deep)
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _line_index(node, path=(), lines=None) -> dict:
    """The 1-based line of every YAML path, so errors can point into the file."""
    lines = {} if lines is None else lines
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            _line_index(value_node, path + (key_node.value,), lines)
            lines[path + (key_node.value,)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            _line_index(item, path + (position,), lines)
    return lines


def bundled_mappings() -> list[str]:
    """Names of the mappings shipped in the `mappings` package."""
    try:
        folder = resources.files("mappings")
    except ModuleNotFoundError:
        return []
    return sorted(entry.name[: -len(".yaml")] for entry in folder.iterdir() if entry.name.endswith(".yaml"))


def resolve(reference: str) -> tuple[str, str]:
    """A mapping file path, or the name of a bundled mapping -> (origin, YAML text)."""
    path = Path(reference)
    if path.is_file():
        return str(path), path.read_text(encoding="utf-8")
    if reference in bundled_mappings():
        entry = resources.files("mappings").joinpath(f"{reference}.yaml")
        return f"mappings/{reference}.yaml", entry.read_text(encoding="utf-8")
    known = ", ".join(bundled_mappings()) or "none"
    raise MappingError(reference, (), f"no such mapping file, and not a bundled mapping name (bundled: {known})")


def load_mapping(reference: str) -> Mapping:
    origin, text = resolve(reference)
    return parse_mapping(text, origin)


def parse_mapping(text: str, origin: str = "<mapping>") -> Mapping:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        raise MappingError(origin, (), f"not valid YAML: {problem}", mark.line + 1 if mark else None) from None
    finally:
        loader.dispose()
    lines = _line_index(node) if node is not None else {}
    _validate(data, origin, lines)
    return _build(data, origin, lines)


def _validate(data, origin: str, lines: dict) -> None:
    validator = jsonschema.Draft202012Validator(schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is None:
        return
    path = tuple(error.absolute_path)
    raise MappingError(origin, path, _explain(error), lines.get(path))


def _explain(error: jsonschema.ValidationError) -> str:
    if error.validator == "oneOf" and set(error.validator_value[0]) == {"required"}:
        kinds = "type, list, map, object, array"
        if error.context and all(e.validator == "required" for e in error.context):
            return f"a field needs one of: {kinds}"
        return f"a field takes only one of: {kinds}"
    if error.validator == "pattern" and "a-z_" in error.validator_value:
        return f"{error.instance!r} is not a SQL name (lower-case letters, digits and _, not starting with a digit)"
    if error.validator == "not" and "prefix" in json.dumps(error.validator_value):
        return "an object stored in its own table takes no prefix"
    return error.message


def _names(value) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _indexes(value) -> tuple[tuple[str, ...], ...]:
    return tuple(_names(item) for item in value or ())


def _build(data: dict, origin: str, lines: dict) -> Mapping:
    extras = data.get("extras", "keep")
    invalid = data.get("invalid", "reject")
    root_data = data["root"]
    root = _table(root_data, ("root",), Key("natural", _names(root_data["key"])), extras, invalid)
    return Mapping(
        origin=origin,
        name=data.get("name", Path(origin).stem),
        envelope=_envelope(data.get("source") or {}, root.key.fields),
        extras_column=data.get("extras_column", "_extras"),
        foreign_keys=data.get("foreign_keys", False),
        root=root,
        lines=lines,
    )


def _envelope(source: dict, document_key: tuple[str, ...]) -> Envelope | None:
    if "envelope" not in source:
        return None
    return Envelope(source["envelope"], frozenset(source.get("envelope_members", ())), document_key)


def _array_key(value) -> Key:
    if value is None or value == "ordinal":
        return Key("ordinal")
    if isinstance(value, dict):
        (kind, names), = value.items()
        return Key(kind, _names(names))
    return Key("natural", _names(value))


def _table(data: dict, path: tuple, key: Key, extras: str, invalid: str) -> TableSpec:
    extras = data.get("extras", extras)
    invalid = data.get("invalid", invalid)
    fields = {name: _field(spec, path + ("fields", name), extras, invalid) for name, spec in data["fields"].items()}
    return TableSpec(
        name=data.get("table"),
        key=key,
        fields=fields,
        extras=extras,
        invalid=invalid,
        path=path,
        position=data.get("position"),
        prefix=data.get("prefix"),
        indexes=_indexes(data.get("indexes")),
    )


def _field(spec, path: tuple, extras: str, invalid: str):
    if isinstance(spec, str):
        return ScalarSpec(type=spec, path=path)
    if "type" in spec:
        return ScalarSpec(type=spec["type"], path=path, column=spec.get("column"), index=spec.get("index", False),
                          precision=spec.get("precision", 3))
    if "list" in spec:
        return ListSpec(items=spec["list"], path=path, column=spec.get("column"), table=spec.get("table"),
                        value_column=spec.get("value_column", "value"), position=spec.get("position"),
                        index=spec.get("index", False))
    if "map" in spec:
        return MapSpec(values=spec["map"], table=spec["table"], path=path, key_column=spec.get("key_column", "key"),
                       value_column=spec.get("value_column", "value"), position=spec.get("position"))
    if "object" in spec:
        table = spec["object"]
        key = Key("parent")
        return ObjectSpec(_table(table, path + ("object",), key, extras, invalid))
    table = spec["array"]
    return ArraySpec(_table(table, path + ("array",), _array_key(table.get("key")), extras, invalid))

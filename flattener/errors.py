"""The errors a user can get, each rendered as one line that names where the problem is."""

from __future__ import annotations

import re

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def json_path(segments) -> str:
    """`("participants", 0, "sessions")` -> `$.participants[0].sessions`."""
    text = "$"
    for segment in segments:
        if isinstance(segment, int):
            text += f"[{segment}]"
        elif _IDENTIFIER.match(segment):
            text += f".{segment}"
        else:
            text += "[" + repr(segment) + "]"
    return text


class FlattenError(Exception):
    """Base of the errors the command line reports as one line."""

    exit_code = 1  # a data error

    def __reduce__(self):
        """Rebuilt from its fields, not from its message, when it crosses from a worker process."""
        return _rebuild, (type(self), self.args, self.__dict__)


def _rebuild(kind: type, args: tuple, fields: dict) -> FlattenError:
    error = Exception.__new__(kind, *args)
    Exception.__init__(error, *args)
    error.__dict__.update(fields)
    return error


class MappingError(FlattenError):
    """The mapping itself is wrong. Raised before any database is touched."""

    exit_code = 2  # a usage error: the command was given a bad mapping

    def __init__(self, origin: str, path: tuple, message: str, line: int | None = None):
        self.origin, self.path, self.message, self.line = origin, tuple(path), message, line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.origin + (f":{self.line}" if self.line else "")
        yaml_path = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in self.path).replace(".[", "[")
        return f"{where}: {yaml_path}: {self.message}" if yaml_path else f"{where}: {self.message}"


class DocumentError(FlattenError):
    """A document does not fit the mapping. `path` is the JSON path inside the document."""

    def __init__(self, path: tuple, message: str):
        self.path, self.message = tuple(path), message
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{json_path(self.path)}: {self.message}"


class InputError(FlattenError):
    """A file cannot be read as JSON documents, or one of its documents does not fit the mapping."""

    def __init__(self, source: str, message: str, record: int | None = None, line: int | None = None,
                 column: int | None = None):
        self.source, self.message, self.record, self.line, self.column = source, message, record, line, column
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.record is not None:
            where.append(f"record {self.record}")
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column {self.column}")
        return f"{self.source}: " + (", ".join(where) + ": " if where else "") + self.message


class DatabaseError(FlattenError):
    """The database cannot be reached, or does not hold what the mapping expects."""


class DatabaseURLError(DatabaseError):
    """The database URL is not one flatten can use."""

    exit_code = 2  # a usage error: the command was given a bad option

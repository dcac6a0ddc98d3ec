"""Column types as codecs: how one JSON value is kept in one SQL column, and read back exactly.

`encode` turns a JSON value into what the database driver receives; `decode` turns what the
driver returns into the identical JSON value. A value that its column cannot hold exactly does
not get stored silently changed:

- `Inexact` carries the nearest storable value (a timestamp in another ISO-8601 form, the
  integer 5 in a float column). The flattener stores it, so SQL sees the right value, and keeps
  the original beside it, so the rebuild is exact.
- `InvalidValue` means there is nothing faithful to store (a malformed timestamp, text in an
  integer column). The mapping's `invalid` policy chooses between an error and keeping the raw
  value beside a NULL column.

Codecs behave the same on every database, so a document that loads into SQLite also loads into
PostgreSQL: text with a NUL character, which PostgreSQL cannot store, is invalid everywhere.
"""

from __future__ import annotations

import csv
import io
import math
import re
from datetime import UTC, datetime

import sqlalchemy as sa

from . import jsontext


class InvalidValue(ValueError):
    """The value cannot be stored in the column at all."""


class Inexact(Exception):
    """The column can only hold an approximation of the value: `stored`."""

    def __init__(self, stored):
        super().__init__(stored)
        self.stored = stored


def describe(value) -> str:
    """Name a JSON value by its JSON type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {shown!r}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


class Codec:
    """One column type. Subclasses define `name`, `sql_type`, `encode` and `decode`."""

    name: str
    copy_type = "text"  # the PostgreSQL type its stored values travel as in binary COPY
    to_copy = None  # a function stored value -> what binary COPY needs, where they differ

    def sql_type(self) -> sa.types.TypeEngine:
        raise NotImplementedError

    def encode(self, value):
        raise NotImplementedError

    def decode(self, stored):
        return stored

    def store(self, column: int):
        """A function (value, row) -> bool for the flattener's hot loop: it puts an exactly storable
        value in row[column] and says True; False leaves the value to `encode` and its exceptions."""
        encode = self.encode

        def store(value, row) -> bool:
            try:
                row[column] = encode(value)
            except (Inexact, InvalidValue):
                return False
            return True

        return store

    def read(self, column, dialect: str):
        """The SQL expression whose result `decode` expects."""
        return column

    def __repr__(self) -> str:
        return self.name


class String(Codec):
    name = "string"

    def sql_type(self):
        return sa.Text()

    def encode(self, value):
        if type(value) is not str:
            raise InvalidValue(f"expected a string, got {describe(value)}")
        if "\x00" in value:
            raise InvalidValue("text with a NUL character (\\u0000) cannot be stored in a SQL text column")
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidValue("text with an unpaired surrogate escape cannot be stored as UTF-8") from None
        return value

    def to_text(self, stored) -> str:
        return stored

    def from_text(self, text: str):
        return text

    def store(self, column: int):
        def store(value, row) -> bool:  # plain ASCII text without NUL: stored as it is
            if type(value) is str and value.isascii() and "\x00" not in value:
                row[column] = value
                return True
            return False

        return store


class Integer(Codec):
    def __init__(self, bits: int):
        self.bits = bits
        self.name = f"int{bits}"
        self.copy_type = f"int{bits // 8}"
        self.low, self.high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1

    def sql_type(self):
        return sa.Integer() if self.bits == 32 else sa.BigInteger()

    def encode(self, value):
        kind = type(value)
        if kind is int:
            if self.low <= value <= self.high:
                return value
            raise InvalidValue(f"{value} is out of range for {self.name}")
        if kind is float and value.is_integer() and self.low <= value <= self.high:
            raise Inexact(int(value))
        raise InvalidValue(f"expected an integer, got {describe(value)}")

    def to_text(self, stored) -> str:
        return str(stored)

    def from_text(self, text: str):
        return int(text)

    def store(self, column: int):
        low, high = self.low, self.high

        def store(value, row) -> bool:
            if type(value) is int and low <= value <= high:
                row[column] = value
                return True
            return False

        return store


class Float(Codec):
    name = "float"
    copy_type = "float8"

    def sql_type(self):
        return sa.Double()

    def encode(self, value):
        kind = type(value)
        if kind is float:
            if value == 0.0 and math.copysign(1.0, value) < 0:
                raise Inexact(0.0)  # SQLite drops the sign of -0.0
            if not math.isfinite(value):
                raise InvalidValue(f"{value} is not a finite number")
            return value
        if kind is int:
            try:
                raise Inexact(float(value))
            except OverflowError:
                raise InvalidValue(f"{value} is out of range for a double") from None
        raise InvalidValue(f"expected a number, got {describe(value)}")

    def decode(self, stored):
        value = float(stored)
        if not math.isfinite(value):  # only a write from outside flatten can put one there
            raise ValueError(f"{value} in a float column is not a JSON number")
        return value

    def to_text(self, stored) -> str:
        return repr(stored)

    def from_text(self, text: str):
        return float(text)


class Boolean(Codec):
    name = "boolean"
    copy_type = "bool"

    def sql_type(self):
        return sa.Boolean(create_constraint=False)

    def encode(self, value):
        if type(value) is bool:
            return value
        raise InvalidValue(f"expected true or false, got {describe(value)}")

    def decode(self, stored):
        return bool(stored)  # SQLite returns 0/1

    def to_text(self, stored) -> str:
        return "true" if stored else "false"

    def from_text(self, text: str):
        return text == "true"


class Timestamp(Codec):
    """An ISO-8601 instant in a real timestamp column.

    The canonical text form is UTC with `precision` fractional digits and a `Z`
    (`2021-04-01T12:27:53.386Z` for 3). Other ISO-8601 forms are `Inexact`: the column holds the
    instant (truncated to `precision`), the original text is kept for the rebuild.
    """

    name = "timestamp"
    copy_type = "timestamptz"
    to_copy = staticmethod(datetime.fromisoformat)  # the canonical UTC text -> an aware datetime
    _pg_formats = {0: 'YYYY-MM-DD"T"HH24:MI:SS"Z"', 3: 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"',
                   6: 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'}

    def __init__(self, precision: int = 3):
        self.precision = precision
        # The canonical form's length and separators: `2021-04-01T12:27:53.386Z` is 24 long, with
        # "--T::." at every third position from 4. Checked by slicing, three times faster than a regex.
        self._length = 20 + (precision + 1 if precision else 0)
        self._separators = "--T::." if precision else "--T::"
        self._separators_end = 3 * len(self._separators) + 2

    def sql_type(self):
        return sa.DateTime(timezone=True)

    def encode(self, value):
        if type(value) is not str:
            raise InvalidValue(f"expected an ISO-8601 timestamp string, got {describe(value)}")
        try:
            instant = datetime.fromisoformat(value)  # also checks the calendar: no 2021-02-30
        except ValueError:
            if value[-1:] != "z":  # RFC 3339 allows a lower-case z (kept as written: not the canonical form)
                raise InvalidValue(f"{value!r} is not an ISO-8601 timestamp (expected the form "
                                   f"{self.example()})") from None
            return self.encode(value[:-1] + "+00:00")
        if self._canonical(value):
            return value  # fromisoformat accepted it, so the other characters are ASCII digits
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=UTC)
        try:
            raise Inexact(self.render(instant.astimezone(UTC)))
        except OverflowError:
            raise InvalidValue(f"{value!r} is outside the range of a timestamp") from None

    def _canonical(self, value: str) -> bool:
        return len(value) == self._length and value[-1] == "Z" and value[4:self._separators_end:3] == self._separators

    def store(self, column: int):
        canonical, parse = self._canonical, datetime.fromisoformat

        def store(value, row) -> bool:
            if type(value) is str and canonical(value):
                try:
                    parse(value)
                except ValueError:
                    return False
                row[column] = value
                return True
            return False

        return store

    def render(self, instant: datetime) -> str:
        text = (f"{instant.year:04d}-{instant.month:02d}-{instant.day:02d}T"
                f"{instant.hour:02d}:{instant.minute:02d}:{instant.second:02d}")
        if self.precision:
            text += "." + f"{instant.microsecond:06d}"[: self.precision]
        return text + "Z"

    def example(self) -> str:
        return self.render(datetime(2021, 4, 1, 12, 27, 53, 386123, tzinfo=UTC))

    def read(self, column, dialect):
        if dialect == "postgresql":
            return sa.func.to_char(sa.func.timezone("UTC", column), self._pg_formats[self.precision])
        return column


class Json(Codec):
    """Any JSON value, as JSON text (PostgreSQL `json`, which keeps the text as given, unlike `jsonb`)."""

    name = "json"  # travels as text in binary COPY: the binary form of json is its text

    def sql_type(self):
        # SQLite gives a column declared JSON numeric affinity, which turns the text "0" into 0
        # and long integers into floats; TEXT keeps JSON text as written.
        return sa.JSON().with_variant(sa.Text(), "sqlite")

    def encode(self, value):
        try:
            return jsontext.dumps(value)
        except jsontext.InvalidJson as error:
            raise InvalidValue(str(error)) from None

    def decode(self, stored):
        return jsontext.loads(stored)

    def read(self, column, dialect):
        return sa.cast(column, sa.Text()) if dialect == "postgresql" else column


class CsvList(Codec):
    """An array of scalars as one RFC 4180 CSV text column.

    `[]` is stored as the empty string and `[""]` as `""`, so they stay distinct; an absent key
    is SQL NULL.
    """

    def __init__(self, item: String | Integer | Float | Boolean):
        self.item = item
        self.name = f"list of {item.name}"

    def sql_type(self):
        return sa.Text()

    def encode(self, value):
        if type(value) is not list:
            raise InvalidValue(f"expected an array, got {describe(value)}")
        texts, inexact = [], False
        for position, element in enumerate(value):
            try:
                stored = self.item.encode(element)
            except Inexact as approximation:
                stored, inexact = approximation.stored, True
            except InvalidValue as error:
                raise InvalidValue(f"item {position}: {error}") from None
            texts.append(self.item.to_text(stored))
        text = write_csv_record(texts)
        if inexact:
            raise Inexact(text)
        return text

    def decode(self, stored):
        return [self.item.from_text(text) for text in read_csv_record(stored)]


_NEEDS_QUOTES = re.compile('[,"\r\n]')


def write_csv_record(fields: list[str]) -> str:
    """RFC 4180, as the csv module writes it; fields needing no quotes are simply joined (fast path)."""
    if fields != [""] and not any(_NEEDS_QUOTES.search(field) for field in fields):
        return ",".join(fields)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(fields)
    return buffer.getvalue()[:-2]


def read_csv_record(text: str) -> list[str]:
    if '"' not in text:  # nothing was quoted: a plain split (fast path)
        return text.split(",") if text else []
    records = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    return records[0] if records else []


SCALAR_TYPES = ("string", "int32", "int64", "float", "boolean", "timestamp", "json")
LIST_ITEM_TYPES = ("string", "int32", "int64", "float", "boolean")


def codec_for(type_name: str, precision: int = 3) -> Codec:
    """The codec of a mapping's scalar type name."""
    if type_name == "timestamp":
        return Timestamp(precision)
    return {
        "string": String,
        "int32": lambda: Integer(32),
        "int64": lambda: Integer(64),
        "float": Float,
        "boolean": Boolean,
        "json": Json,
    }[type_name]()


def list_codec_for(item_type: str) -> CsvList:
    return CsvList(codec_for(item_type))

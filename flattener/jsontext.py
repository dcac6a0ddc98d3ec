"""JSON text in and out, exactly: one strict parser, and writers that never change a value.

Parsing is msgspec's decoder, exact for integers of any size and for every float, and several
times faster than the standard library's. Where it refuses a text, the standard library's scanner,
made strict, decides: it accepts lone surrogate escapes (`"\\ud800"`), which msgspec refuses, and
its errors say what is wrong. Both refuse NaN, Infinity and numbers too large for a double.
(orjson and ijson were measured to turn integers beyond 64 bits into floats, so neither parses.)

Output of rebuilt documents uses orjson, six times faster than json.dumps, where it is exact: it
refuses integers beyond 64 bits and lone surrogates (json.dumps writes those), and it would write
NaN as null, which rebuilt documents cannot hold: the codecs refuse non-finite numbers on the way
out of the database as they do on the way in.
"""

from __future__ import annotations

import json
import math

import msgspec
import orjson


class InvalidJson(ValueError):
    """A value that JSON text cannot hold (NaN, infinity, a non-JSON Python object)."""


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text} is too large for a double")
    return value


STRICT = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)
FAST = msgspec.json.Decoder()  # what it accepts, it decodes as STRICT does (tests/test_jsontext.py)


def loads(text: str):
    """Parse JSON text: one value, nothing else but white space."""
    try:
        return FAST.decode(text)
    except msgspec.DecodeError:
        return STRICT.decode(text)


def dumps(value) -> str:
    """Compact JSON text that any database can store."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (ValueError, TypeError) as error:
        raise InvalidJson(f"not representable as JSON: {error}") from None
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # unpaired surrogates survive only as \u escapes
            text = json.dumps(value, separators=(",", ":"))
    return text


def output_bytes(document) -> bytes:
    """One rebuilt document as compact UTF-8 JSON."""
    try:
        return orjson.dumps(document)
    except TypeError:  # an integer beyond 64 bits, a lone surrogate: the standard library writes them
        return dumps(document).encode("utf-8")

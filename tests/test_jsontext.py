"""JSON text in and out never changes a value: the strict parser, the stored form, the output."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flattener import jsontext
from flattener.codecs import Float, Json
from flattener.compare import strictly_equal

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=15,
)


@given(values)
def test_output_parses_back_to_the_same_value(value):
    """orjson where it is exact; integers beyond 64 bits and lone surrogates go through json.dumps."""
    assert strictly_equal(json.loads(jsontext.output_bytes(value)), value)
    assert strictly_equal(jsontext.loads(jsontext.dumps(value)), value)


def test_output_falls_back_where_orjson_cannot_be_exact():
    for value in ({"big": 2**64}, {"small": -(2**63) - 1}, {"surrogate": "\ud800"}):
        assert strictly_equal(json.loads(jsontext.output_bytes(value)), value)


@pytest.mark.parametrize("text", ['{"a": NaN}', '{"a": Infinity}', '{"a": -Infinity}', '{"a": 1e400}'])
def test_the_strict_parser_refuses_what_is_not_a_json_number(text):
    with pytest.raises(ValueError):
        jsontext.loads(text)


def test_non_finite_numbers_written_from_outside_are_refused_on_the_way_out():
    """A database edited by hand could hold NaN; rebuilding refuses it rather than print null."""
    with pytest.raises(ValueError):
        Float().decode(math.nan)
    with pytest.raises(ValueError):
        Json().decode('{"a": NaN}')


def test_nan_cannot_be_stored():
    with pytest.raises(jsontext.InvalidJson):
        jsontext.dumps({"a": math.nan})


number_texts = st.one_of(
    st.from_regex(r"-?(0|[1-9][0-9]{0,40})(\.[0-9]{1,40})?([eE][+-]?[0-9]{1,4})?", fullmatch=True),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers().map(str),
)
escaped_texts = st.lists(st.integers(0, 0x10FFFF).map(lambda code: f"\\u{code:04x}" if code < 0x10000 else chr(code))
                         | st.sampled_from(['\\"', "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t", "a", "é"]),
                         max_size=6).map(lambda parts: '"' + "".join(parts) + '"')


@given(st.one_of(number_texts, escaped_texts, values.map(json.dumps), values.map(lambda v: json.dumps(v, indent=1)),
                 st.tuples(escaped_texts, number_texts).map(lambda pair: f'{{{pair[0]}: {pair[1]}, {pair[0]}: 1}}')))
def test_the_fast_parser_decodes_exactly_as_the_strict_one(text):
    """msgspec decodes what it accepts to strictly the values the standard library's scanner gives
    (big integers, float rounding, -0.0, escapes, repeated keys); what it refuses goes to the scanner."""
    try:
        strict = jsontext.STRICT.decode(text)
    except ValueError:
        strict = ValueError
    try:
        fast = jsontext.FAST.decode(text)
    except Exception:
        return  # refused: `loads` asks the strict scanner
    assert strict is not ValueError, f"msgspec accepted {text!r}, which the strict scanner refuses"
    assert strictly_equal(fast, strict)


def test_what_the_fast_parser_refuses_the_strict_one_decides():
    assert jsontext.loads('"\\ud800"') == "\ud800"
    assert jsontext.loads('[123456789012345678901234567890]') == [123456789012345678901234567890]
    with pytest.raises(json.JSONDecodeError):
        jsontext.loads('{"a": 1,}')

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

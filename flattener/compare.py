"""Strict equality of JSON values, reporting where two documents differ.

Python's `==` says `1 == 1.0 == True` and `0.0 == -0.0`; JSON does not. Here types must match
exactly, arrays are compared in order, and objects by their keys (JSON objects are unordered).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from .codecs import describe
from .errors import json_path


def differences(expected, actual, path: tuple = ()) -> Iterator[str]:
    """Each difference as `<JSON path>: <what differs>`."""
    if type(expected) is not type(actual):
        yield f"{json_path(path)}: expected {describe(expected)}, got {describe(actual)}"
    elif type(expected) is dict:
        for name, value in expected.items():
            if name not in actual:
                yield f"{json_path(path + (name,))}: missing (expected {describe(value)})"
            else:
                yield from differences(value, actual[name], path + (name,))
        for name, value in actual.items():
            if name not in expected:
                yield f"{json_path(path + (name,))}: unexpected {describe(value)}"
    elif type(expected) is list:
        for position, (left, right) in enumerate(zip(expected, actual)):
            yield from differences(left, right, path + (position,))
        if len(expected) != len(actual):
            yield f"{json_path(path)}: expected {len(expected)} items, got {len(actual)}"
    elif type(expected) is float:
        if expected != actual or math.copysign(1.0, expected) != math.copysign(1.0, actual):
            yield f"{json_path(path)}: expected {expected!r}, got {actual!r}"
    elif expected != actual:
        yield f"{json_path(path)}: expected {describe(expected)}, got {describe(actual)}"


def strictly_equal(expected, actual) -> bool:
    return next(differences(expected, actual), None) is None

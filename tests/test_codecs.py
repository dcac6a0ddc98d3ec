"""Each column type's encode/decode pair, in memory and through real SQLite and PostgreSQL columns."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from flattener.codecs import Boolean, CsvList, Float, Inexact, Integer, InvalidValue, Json, String, Timestamp
from flattener.compare import strictly_equal

text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
instants = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC))


def canonical(instant: datetime, precision: int = 3) -> str:
    return Timestamp(precision).render(instant)


# Valid values of each codec: decode(encode(value)) is the value itself.
EXACT = {
    "string": (String(), text),
    "int32": (Integer(32), st.integers(-(2**31), 2**31 - 1)),
    "int64": (Integer(64), st.integers(-(2**63), 2**63 - 1)),
    "float": (Float(), st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: math.copysign(1, f) > 0 or f)),
    "boolean": (Boolean(), st.booleans()),
    "timestamp": (Timestamp(), instants.map(canonical)),
    "timestamp6": (Timestamp(6), instants.map(lambda i: canonical(i, 6))),
    "timestamp0": (Timestamp(0), instants.map(lambda i: canonical(i, 0))),
    "json": (Json(), json_values),
    "list of string": (CsvList(String()), st.lists(text)),
    "list of int64": (CsvList(Integer(64)), st.lists(st.integers(-(2**63), 2**63 - 1))),
    "list of float": (CsvList(Float()), st.lists(st.floats(allow_nan=False, allow_infinity=False).filter(
        lambda f: math.copysign(1, f) > 0 or f))),
    "list of boolean": (CsvList(Boolean()), st.lists(st.booleans())),
}


@pytest.mark.parametrize("name", sorted(EXACT))
def test_exact_values_round_trip(name):
    codec, values = EXACT[name]

    @given(values)
    def check(value):
        assert strictly_equal(codec.decode(codec.encode(value)), value)

    check()


@pytest.mark.parametrize("codec, value, stored", [
    (Float(), -0.0, 0.0),
    (Float(), 5, 5.0),
    (Integer(32), 7.0, 7),
    (Integer(64), -3.0, -3),
    (Timestamp(), "2021-04-01T14:27:53.386+02:00", "2021-04-01T12:27:53.386Z"),
    (Timestamp(), "2021-04-01T12:27:53Z", "2021-04-01T12:27:53.000Z"),
    (Timestamp(), "2021-04-01T12:27:53.386123Z", "2021-04-01T12:27:53.386Z"),
    (Timestamp(), "2021-04-01 12:27:53.386", "2021-04-01T12:27:53.386Z"),
    (Timestamp(), "2021-04-01", "2021-04-01T00:00:00.000Z"),
    (Timestamp(), "2021-04-01t12:27:53.386z", "2021-04-01T12:27:53.386Z"),  # RFC 3339 allows lower case
    (Timestamp(0), "2021-04-01T12:27:53.999Z", "2021-04-01T12:27:53Z"),
    (CsvList(Float()), [1, 2.5], "1.0,2.5"),
])
def test_inexact_values_store_the_nearest_value(codec, value, stored):
    with pytest.raises(Inexact) as raised:
        codec.encode(value)
    assert raised.value.stored == stored
    assert codec.decode(raised.value.stored) == codec.decode(stored)


@pytest.mark.parametrize("codec, value, message", [
    (String(), 5, "expected a string, got the number 5"),
    (String(), "a\x00b", "NUL character"),
    (String(), "\ud800", "unpaired surrogate"),
    (Integer(32), 2**31, "out of range for int32"),
    (Integer(64), 2**63, "out of range for int64"),
    (Integer(64), True, "expected an integer, got true"),
    (Integer(64), 1.5, "expected an integer"),
    (Integer(64), "12", "expected an integer, got the string '12'"),
    (Float(), "1.5", "expected a number"),
    (Float(), False, "expected a number, got false"),
    (Float(), 10**400, "out of range for a double"),
    (Float(), math.inf, "not a finite number"),
    (Boolean(), 1, "expected true or false"),
    (Timestamp(), "2021-04-2T15:30:51.418Z", "'2021-04-2T15:30:51.418Z' is not an ISO-8601 timestamp"),
    (Timestamp(), "2021-02-30T00:00:00.000Z", "is not an ISO-8601 timestamp"),
    (Timestamp(), "2021-04-01T12:27:53.386\u0661Z", "is not an ISO-8601 timestamp"),
    (Timestamp(), 1617280073, "expected an ISO-8601 timestamp string"),
    (Json(), math.nan, "not representable as JSON"),
    (CsvList(String()), "a,b", "expected an array"),
    (CsvList(Integer(32)), [1, "2"], "item 1: expected an integer"),
    (CsvList(String()), [None], "item 0: expected a string, got null"),
])
def test_invalid_values_are_refused_with_a_reason(codec, value, message):
    with pytest.raises(InvalidValue) as raised:
        codec.encode(value)
    assert message in str(raised.value)


def test_csv_keeps_empty_lists_and_empty_strings_apart():
    codec = CsvList(String())
    stored = {repr(value): codec.encode(value) for value in ([], [""], ["", ""], [","], ['"'], ["\n"], ["\r\n"])}
    assert len(set(stored.values())) == len(stored)
    assert codec.encode([]) == "" and codec.encode([""]) == '""'
    assert codec.encode(["a,b", 'say "hi"']) == '"a,b","say ""hi"""'


def test_timestamp_precision_sets_the_canonical_form():
    assert Timestamp(0).encode("2021-04-01T12:27:53Z") == "2021-04-01T12:27:53Z"
    assert Timestamp(6).encode("2021-04-01T12:27:53.386123Z") == "2021-04-01T12:27:53.386123Z"
    with pytest.raises(Inexact):
        Timestamp(3).encode("2021-04-01T12:27:53Z")


# -- through real columns ---------------------------------------------------------------------

@given(data=st.data())
def _through_database(engine, data):
    metadata = sa.MetaData()
    names = sorted(EXACT)
    sa.Table("codec_values", metadata, *(sa.Column(f"c{i}", EXACT[n][0].sql_type()) for i, n in enumerate(names)))
    values = [data.draw(EXACT[name][1], label=name) for name in names]
    with engine.begin() as connection:
        metadata.drop_all(connection)
        metadata.create_all(connection)
        clause = sa.table("codec_values", *(sa.column(f"c{i}") for i in range(len(names))))
        driver = connection.connection.driver_connection
        statement = str(sa.insert(clause).compile(dialect=connection.dialect))
        encoded = [EXACT[name][0].encode(value) for name, value in zip(names, values)]
        if connection.dialect.name == "postgresql":
            from psycopg import sql
            with driver.cursor() as cursor, cursor.copy(sql.SQL("COPY codec_values FROM STDIN")) as copy:
                copy.write_row(encoded)
        else:
            driver.execute(statement, encoded)
        dialect = connection.dialect.name
        selected = [sa.type_coerce(EXACT[name][0].read(clause.c[f"c{i}"], dialect), sa.types.NullType())
                    for i, name in enumerate(names)]
        row = connection.execute(sa.select(*selected)).one()
    for name, value, stored in zip(names, values, row):
        assert strictly_equal(EXACT[name][0].decode(stored), value), name


def test_codec_pairs_through_real_columns(database_url):
    from flattener.store import create_engine

    engine = create_engine(database_url)
    try:
        _through_database(engine)
    finally:
        engine.dispose()


def test_timestamps_sort_and_compare_as_instants_in_sql(database_url):
    """The typed column holds the instant: SQL ordering and date arithmetic work."""
    from flattener.store import create_engine

    engine = create_engine(database_url)
    codec = Timestamp()
    base = datetime(2021, 4, 1, 12, 0, tzinfo=UTC)
    values = [codec.render(base + timedelta(milliseconds=ms)) for ms in (999, 1, 1000, 10)]
    try:
        with engine.begin() as connection:
            metadata = sa.MetaData()
            table = sa.Table("instants", metadata, sa.Column("at", codec.sql_type()))
            metadata.create_all(connection)
            connection.execute(sa.insert(sa.table("instants", sa.column("at"))), [{"at": v} for v in values])
            read = sa.type_coerce(codec.read(table.c.at, connection.dialect.name), sa.types.NullType())
            ordered = [row[0] for row in connection.execute(sa.select(read).order_by(table.c.at))]
    finally:
        engine.dispose()
    assert ordered == sorted(values)


def canonical_pattern(precision: int) -> re.Pattern:
    fraction = f"[.][0-9]{{{precision}}}" if precision else ""
    return re.compile(f"[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}T[0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}{fraction}Z")


CANONICAL = {precision: canonical_pattern(precision) for precision in (0, 3, 6)}
near_timestamps = st.one_of(
    instants.map(lambda instant: instant.isoformat()),
    st.builds(lambda instant, cut, extra: (canonical(instant)[:cut] + extra + canonical(instant)[cut:]),
              instants, st.integers(0, 24), st.text(st.sampled_from("0123456789-T:.Z W,+\u0661\uff10"), max_size=3)),
    st.text(st.sampled_from("0123456789-T:.Z W,+"), min_size=18, max_size=28),
)


@pytest.mark.parametrize("precision", [0, 3, 6])
@given(value=near_timestamps)
def test_the_fast_canonical_check_agrees_with_a_strict_pattern(precision, value):
    """Timestamp.encode decides 'canonical' by length and separators after fromisoformat; a strict
    regular expression must agree, on valid, near-valid and week-date forms alike."""
    codec = Timestamp(precision)
    try:
        stored = codec.encode(value)
        canonical_by_codec = stored == value
    except (Inexact, InvalidValue):
        canonical_by_codec = False
    try:
        datetime.fromisoformat(value)
        valid = True
    except ValueError:
        valid = False
    assert canonical_by_codec == bool(valid and CANONICAL[precision].fullmatch(value))


@given(st.lists(text))
def test_csv_fast_path_writes_what_the_csv_module_writes(items):
    import csv
    import io

    from flattener.codecs import read_csv_record, write_csv_record

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(items)
    assert write_csv_record(items) == buffer.getvalue()[:-2]
    assert read_csv_record(write_csv_record(items)) == items


any_value = st.one_of(
    json_values, st.floats(), st.integers(-(2**70), 2**70), st.sampled_from([-0.0, 0.0, "", "\x00", "é", "\ud800"]),
    instants.map(canonical), instants.map(lambda i: canonical(i, 6)), instants.map(lambda i: canonical(i, 0)),
    st.sampled_from(["2021-02-30T10:00:00.000Z", "2021-04-2T15:30:51.418Z", "2021-04-01T12:27:53.386+00:00"]))


@given(st.sampled_from(sorted(EXACT)), any_value)
def test_the_fast_store_agrees_with_encode(name, value):
    """store(), the flattener's fast path, takes a value only where encode keeps it exactly, and then
    stores what encode returns. (It may leave more to encode: non-ASCII text, which encode checks.)"""
    codec = EXACT[name][0]
    row = [None]
    taken = codec.store(0)(value, row)
    try:
        encoded, exact = codec.encode(value), True
    except (Inexact, InvalidValue):
        exact = False
    if taken:
        assert exact and strictly_equal(row[0], encoded)

"""Documents are found in every file layout, read as a stream, and parsed exactly."""

from __future__ import annotations

import gzip
import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flattener import InputError
from flattener.compare import strictly_equal
from flattener.mapping import Envelope
from flattener.sources import JsonStream, read_documents

from .strategies import json_values, keys

ITEMS = Envelope("items", frozenset({"totalHits", "cursor"}), document_key=("id",))


def is_plain_document(document: dict) -> bool:
    """Neither an envelope nor one in the making (see the tests of envelopes below)."""
    return not ({"items"} | ITEMS.members) & set(document)


docs = st.lists(st.dictionaries(keys, json_values, max_size=4).filter(is_plain_document), max_size=5)


def layouts(documents: list[dict]) -> dict[str, str]:
    return {
        "array": json.dumps(documents, indent=1),
        "ndjson": "".join(json.dumps(document) + "\n" for document in documents),
        "concatenated": " ".join(json.dumps(document, indent=2) for document in documents),
        "envelope": json.dumps({"before": [1, {"x": "y"}], "items": documents, "totalHits": 5}, indent=1),
        "envelope pages": "\n".join(json.dumps({"items": [document], "cursor": "c"}) for document in documents),
    }


def read(text: str, envelope=ITEMS, chunk_size=7, texts=False) -> list:
    """The documents, parsed by the stream or, read as texts, afterwards (as worker processes do)."""
    stream = JsonStream(io.BytesIO(text.encode("utf-8")), "test.json", envelope, chunk_size, texts)
    return [record.parsed("test.json") for record in stream.records()]


@given(docs, st.integers(1, 64), st.booleans())
def test_every_layout_yields_the_same_documents(documents, chunk_size, texts):
    """Tiny chunks put every buffer boundary inside strings, numbers, escapes and literals."""
    for name, text in layouts(documents).items():
        assert strictly_equal(read(text, chunk_size=chunk_size, texts=texts), documents), name


def test_ndjson_lines_are_taken_whole_as_texts():
    text = '{"a": 1}\n  {"b": [2, 3]}  \r\n{"c":\n 4}\n{"items": [{"d": 5}]}\n{"e": "\\u0069tems"}\n'
    stream = JsonStream(io.BytesIO(text.encode()), "t", ITEMS, 1 << 20, texts=True)
    records = list(stream.records())
    assert [(r.number, r.line, r.column, r.text, r.document) for r in records] == [
        (1, 1, 1, '{"a": 1}', None), (2, 2, 3, '{"b": [2, 3]}', None), (3, 3, 1, '{"c":\n 4}', None),
        (4, 5, 1, None, {"d": 5}),  # an envelope: its items are parsed to be found
        (5, 6, 1, None, {"e": "items"})]  # an escape may spell the envelope's key: parsed to be sure


def test_errors_in_a_text_name_the_line_and_column():
    stream = JsonStream(io.BytesIO(b'{"a": 1}\n  {"a": 1e400}\n'), "t.json", None, texts=True)
    second = list(stream.records())[1]
    with pytest.raises(InputError, match=r"^t.json: record 2, line 2, column 3: malformed JSON: the number 1e400"):
        second.parsed("t.json")


@given(st.dictionaries(keys, json_values, max_size=4).filter(is_plain_document), st.integers(1, 64))
def test_a_bare_document_is_one_record(document, chunk_size):
    assert strictly_equal(read(json.dumps(document, indent=2), chunk_size=chunk_size), [document])


def test_numbers_split_by_a_chunk_boundary_are_read_whole():
    """A chunk ending in "0." once made the reader take 0 for 0.25 (found by Hypothesis)."""
    text = '{"total": 10.25e-3, "items": [{"a": 1}, 2.5e10, -7], "next": -12.5}'
    for chunk_size in range(1, len(text) + 1):
        stream = JsonStream(io.BytesIO(text.encode()), "t", ITEMS, chunk_size)
        assert [record.document for record in stream.records()] == [{"a": 1}, 2.5e10, -7], chunk_size


def test_multibyte_characters_split_by_a_chunk_boundary_are_read_whole():
    text = '[{"name": "Zoë 🎧 日本"}, {"name": "ü"}]'
    for chunk_size in range(1, 12):
        stream = JsonStream(io.BytesIO(text.encode()), "t", None, chunk_size)
        assert [record.document for record in stream.records()] == json.loads(text), chunk_size


def test_records_know_their_number_and_line():
    text = '{"a": 1}\n\n{"a": 2}\n{"a":\n 3}\n'
    stream = JsonStream(io.BytesIO(text.encode()), "t", None, 4)
    assert [(r.number, r.line, r.document) for r in stream.records()] == [(1, 1, {"a": 1}), (2, 3, {"a": 2}),
                                                                          (3, 4, {"a": 3})]


def test_values_are_parsed_exactly():
    text = '{"big": 123456789012345678901234567890, "neg": -0.0, "one": 1.0, "s": "\\ud800\\u00e9\\u0000"}'
    (document,) = read(text)
    assert document["big"] == 123456789012345678901234567890
    assert strictly_equal(document, {"big": 123456789012345678901234567890, "neg": -0.0, "one": 1.0,
                                     "s": "\ud800\u00e9\x00"})


@pytest.mark.parametrize("text, message", [
    ('{"a": 1,}', "record 1, line 1, column 9: malformed JSON: expected a property name in double quotes, found '}'"),
    ('{"id": "a", "x": tru}', "record 1, line 1, column 18: malformed JSON: Expecting value"),
    ('[{"a": 1} {"a": 2}]', "record 1, line 1, column 11: malformed JSON: expected ',' or ']' after an array item"),
    ('{"a": NaN}', "malformed JSON: NaN is not valid JSON"),
    ('{"a": 1e400}', "the number 1e400 is too large for a double"),
    ('{"a": "unterminated', "malformed JSON: Unterminated string"),
    ('[{"a": 1}', "malformed JSON: expected ',' or ']' after an array item, found the end of the input"),
    ('{"items": [{"a": 1}], "total": }', "malformed JSON: Expecting value"),
    ('{"a": 1}\n{"a": 2}\n{"a": \n  ]}', "record 3, line 4, column 3: malformed JSON: Expecting value"),
])
@pytest.mark.parametrize("texts", [False, True])
def test_malformed_json_is_reported_where_it_is(text, message, texts):
    with pytest.raises(InputError) as raised:
        read(text, chunk_size=3, texts=texts)
    assert message in str(raised.value)
    assert str(raised.value).startswith("test.json: ")


def test_text_that_is_not_utf8_is_refused():
    with pytest.raises(InputError, match="not UTF-8 text"):
        list(JsonStream(io.BytesIO(b'{"a": "\xff"}'), "t", None).records())


def test_a_byte_order_mark_is_skipped():
    assert list(r.document for r in JsonStream(io.BytesIO(b'\xef\xbb\xbf{"a": 1}'), "t", None).records()) == [{"a": 1}]


def test_files_gzip_and_errors(tmp_path):
    plain, packed = tmp_path / "d.json", tmp_path / "d.json.gz"
    plain.write_text('[{"a": 1}, {"a": 2}]')
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert [r.document for r in read_documents(str(plain))] == [{"a": 1}, {"a": 2}]
    assert [r.document for r in read_documents(str(packed))] == [{"a": 1}, {"a": 2}]
    with pytest.raises(InputError, match="missing.json: cannot open"):
        list(read_documents(str(tmp_path / "missing.json")))


def test_a_large_envelope_streams_in_bounded_memory():
    """The buffer never holds much more than a chunk plus one document."""
    item = {"id": "x" * 50, "values": list(range(20))}
    text = json.dumps({"items": [item] * 2000, "totalHits": 2000})
    stream = JsonStream(io.BytesIO(text.encode()), "t", ITEMS, chunk_size=4096)
    largest = 0
    count = 0
    for _ in stream.records():
        count += 1
        largest = max(largest, len(stream.text))
    assert count == 2000
    assert len(text) > 50 * 4096 and largest < 3 * 4096


@pytest.mark.parametrize("texts", [False, True])
def test_many_documents_on_one_line_are_read_in_one_pass(texts):
    """Concatenated JSON without newlines: each value is parsed, none fills its line."""
    documents = [{"n": number, "s": "x" * (number % 7)} for number in range(3000)]
    text = "".join(json.dumps(document) for document in documents) + "\n" + json.dumps({"last": True}) + "\n"
    assert read(text, chunk_size=4096, texts=texts) == [*documents, {"last": True}]


# -- envelopes, and documents that look like them ---------------------------------------------

def read_after(text: str, after_a_document: bool, texts: bool) -> list:
    """Read as the first object of its file (scanned as a stream), or after a bare document (parsed
    whole: that file is NDJSON), as text or parsed."""
    prefix = '{"id": "first"}\n' if after_a_document else ""
    documents = read(prefix + text, texts=texts)
    return documents[1:] if after_a_document else documents


@pytest.mark.parametrize("after_a_document", [False, True])
@pytest.mark.parametrize("texts", [False, True])
def test_a_page_of_only_envelope_members_holds_no_documents(after_a_document, texts):
    """The details query's page past the end is {"totalHits": 137}; a jobs page may be only a cursor."""
    text = '{"totalHits": 137}\n{"cursor": "c2", "totalHits": 0}\n{"items": [], "totalHits": 0}\n{"id": 7}\n'
    assert read_after(text, after_a_document, texts) == [{"id": 7}]


@pytest.mark.parametrize("after_a_document", [False, True])
@pytest.mark.parametrize("texts", [False, True])
@pytest.mark.parametrize("text", ['{}', '{"totalHits": 1, "other": 2}', '{"items": 3}'])
def test_an_object_that_is_not_an_envelope_is_a_document(text, after_a_document, texts):
    """Never skipped: the mapping then says what is wrong with it (its key is missing)."""
    assert read_after(text, after_a_document, texts) == [json.loads(text)]


@pytest.mark.parametrize("after_a_document", [False, True])
@pytest.mark.parametrize("texts", [False, True])
def test_a_document_with_a_field_named_like_the_envelope_is_a_document(after_a_document, texts):
    """It once lost the document and loaded the field's items instead, and verify agreed."""
    text = '{"id": "doc", "items": [{"id": "not a document"}], "totalHits": 1}'
    assert read_after(text, after_a_document, texts) == [json.loads(text)]


def test_an_envelope_that_turns_out_to_have_a_document_key_is_an_error():
    """Streamed, its items are read before the key is seen: too late to take it as a document."""
    with pytest.raises(InputError, match=r"record 1, line 1, column \d+: an object holding documents under 'items' "
                                         r"also has the document key 'id': it is neither an envelope nor a document"):
        read('{"items": [{"id": "x"}], "id": "doc"}')
    assert read('{"id": 0}\n{"items": [{"id": "x"}], "id": "doc"}') == [  # parsed whole, it is a document
        {"id": 0}, {"items": [{"id": "x"}], "id": "doc"}]

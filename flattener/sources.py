"""Documents from files, read as a stream.

A file may hold a bare document, a JSON array of documents, NDJSON (or any whitespace-separated
JSON values), or API envelopes such as {"conversations": [...], "totalHits": 137} whose key the
mapping names. Memory holds one chunk of the file and the document being read, whatever the
file's size.

Parsing is `jsontext`'s, exact for integers of any size and for every string escape. This module
finds where each document starts and ends. Read with `texts=True`, it gives each document's text
instead, for worker processes to parse: a document that fills its line (NDJSON) is then only
checked by a validating scanner, twenty times cheaper than parsing it.
"""

from __future__ import annotations

import codecs
import contextlib
import gzip
import json
import re
import sys
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass

import msgspec

from . import jsontext
from .errors import InputError
from .mapping import Envelope

CHUNK_SIZE = 1 << 20
_NON_SPACE = re.compile(r"[^ \t\n\r]")
_VALUE = msgspec.json.Decoder(msgspec.Raw)  # checks that a text is one JSON value, building nothing
_SLACK = 12  # an error this close to the end of the buffer may only mean the document goes on


@dataclass(slots=True)
class Record:
    number: int  # 1-based position of the document in its file
    line: int  # the line where it starts
    document: object = None
    text: str | None = None  # instead of `document`, when read with texts=True: exactly one JSON value
    column: int = 1  # where the text starts on its line

    def parsed(self, source: str):
        """The document, parsing its text if need be (errors name the file, record, line and column)."""
        if self.text is None:
            return self.document
        try:
            return jsontext.loads(self.text)
        except json.JSONDecodeError as error:
            position, message = error.pos, error.msg
        except ValueError as error:  # NaN, Infinity, a number too large for a double
            position, message = 0, str(error)
        except RecursionError:
            position, message = 0, "nested too deeply"
        newlines = self.text.count("\n", 0, position)
        column = position - self.text.rfind("\n", 0, position) if newlines else self.column + position
        raise InputError(source, f"malformed JSON: {message}", record=self.number, line=self.line + newlines,
                         column=column) from None


def read_documents(source: str, envelope: Envelope | None = None, chunk_size: int = CHUNK_SIZE,
                   on_read: Callable[[int], None] | None = None, texts: bool = False) -> Iterator[Record]:
    """Records of a file (`-` is standard input; a `.gz` name is gunzipped). `on_read` is told how
    many bytes of the file each read consumed (for a progress bar). With `texts`, records carry
    the text of their document where they can, to be parsed later."""
    name = source_name(source)
    try:
        opened = contextlib.nullcontext(sys.stdin.buffer) if source == "-" else (
            gzip.open(source, "rb") if source.endswith(".gz") else open(source, "rb"))
    except OSError as error:
        raise InputError(name, f"cannot open: {error.strerror or error}") from None
    with opened as binary:
        stream = JsonStream(binary, name, envelope, chunk_size, texts)
        if on_read is not None:
            stream.on_read = _file_position_reporter(binary, on_read)
        yield from stream.records()


def source_name(source: str) -> str:
    """How errors name a file given on the command line (`-` is standard input)."""
    return "<stdin>" if source == "-" else source


def _file_position_reporter(binary, on_read: Callable[[int], None]) -> Callable[[], None]:
    """Report progress through the file on disk, so a gzipped file advances by compressed bytes."""
    raw = getattr(binary, "fileobj", None) or binary
    last = [0]

    def report() -> None:
        try:
            position = raw.tell()
        except (OSError, ValueError):  # a pipe: no position to report
            return
        on_read(position - last[0])
        last[0] = position

    return report


class JsonStream:
    def __init__(self, binary, name: str, envelope: Envelope | None, chunk_size: int = CHUNK_SIZE,
                 texts: bool = False):
        self.binary, self.name, self.envelope, self.chunk_size, self.texts = binary, name, envelope, chunk_size, texts
        if envelope is not None:  # the names a text must spell to be an envelope, plainly or with escapes
            names = (envelope.key, *envelope.members)
            self.envelope_names = [json.dumps(name, ensure_ascii=False) for name in names]
            self.escaped_slash_may_spell = any("/" in name for name in names)
        self.utf8 = codecs.getincrementaldecoder("utf-8-sig")()
        self.text = ""
        self.pos = 0
        self.hold: int | None = None  # keep the text from here on: it may have to be read again
        self.eof = False
        self.line, self.line_pos, self.column_base = 1, 0, 0  # line number at line_pos; column of text[0]
        self.record = 0
        self.not_alone_before = 0  # no value starting before here fills the rest of its line
        self.streaming_envelopes = True
        self.on_read: Callable[[], None] | None = None

    # -- the buffer -------------------------------------------------------------------------

    def _more(self) -> bool:
        """Append the next chunk, dropping what was consumed. False, with the buffer untouched, at the
        end of the input (callers may hold offsets into it)."""
        if self.eof:
            return False
        try:
            while True:  # a read may end inside a multi-byte character and decode to nothing yet
                data = self.binary.read(max(self.chunk_size, len(self.text) - self.pos))
                text = self.utf8.decode(data, final=not data)
                if text or not data:
                    break
        except UnicodeDecodeError as error:
            raise self._error(len(self.text), f"not UTF-8 text ({error.reason})") from None
        except (OSError, EOFError) as error:
            raise self._error(len(self.text), f"cannot read: {error}") from None
        self.eof = not data
        if self.on_read is not None:
            self.on_read()
        if not text:
            return False
        keep = self.pos if self.hold is None else self.hold
        if keep:
            self._count_lines(keep)
            newline = self.text.rfind("\n", 0, keep)
            self.column_base = keep - newline - 1 if newline >= 0 else self.column_base + keep
            self.text = self.text[keep:]
            self.pos -= keep
            self.line_pos -= keep
            self.not_alone_before -= keep
            if self.hold is not None:
                self.hold -= keep
        self.text += text
        return True

    def _count_lines(self, pos: int) -> None:
        if pos > self.line_pos:
            self.line += self.text.count("\n", self.line_pos, pos)
            self.line_pos = pos

    def _error(self, pos: int, message: str) -> InputError:
        self._count_lines(pos)
        line = self.line + self.text.count("\n", self.line_pos, pos) if pos >= self.line_pos else self.line
        return InputError(self.name, message, record=self.record or None, line=line, column=self._column(pos))

    def _column(self, pos: int) -> int:
        newline = self.text.rfind("\n", 0, pos)
        return pos - newline if newline >= 0 else self.column_base + pos + 1

    def _peek(self) -> str | None:
        """The next character that is not white space, or None at the end of the input."""
        while True:
            match = _NON_SPACE.search(self.text, self.pos)
            if match:
                self.pos = match.start()
                return self.text[self.pos]
            self.pos = len(self.text)
            if not self._more():
                return None

    def _value(self):
        """Parse the JSON value that starts at the next non-space character."""
        if self._peek() is None:
            raise self._error(self.pos, "malformed JSON: unexpected end of the input")
        while True:
            try:
                value, end = jsontext.STRICT.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as error:
                incomplete = error.msg.startswith("Unterminated string") or error.pos >= len(self.text) - _SLACK
                if incomplete and self._more():
                    continue
                raise self._error(error.pos, f"malformed JSON: {error.msg}") from None
            except ValueError as error:  # NaN, Infinity, a number too large for a double
                raise self._error(self.pos, f"malformed JSON: {error}") from None
            except RecursionError:
                raise self._error(self.pos, "malformed JSON: nested too deeply") from None
            if end > len(self.text) - _SLACK and self._more():
                continue  # a number near the end of the buffer ("0." of "0.5") may go on in the next chunk
            self.pos = end
            return value

    def _expect(self, char: str, what: str) -> None:
        found = self._peek()
        if found != char:
            raise self._error(self.pos, f"malformed JSON: expected {what}, found "
                                        + ("the end of the input" if found is None else repr(found)))
        self.pos += 1

    # -- documents --------------------------------------------------------------------------

    def records(self) -> Iterator[Record]:
        while (char := self._peek()) is not None:
            if char == "[":
                self.pos += 1
                yield from self._array_items()
            elif char == "{" and self.envelope is not None:
                yield from self._object_or_envelope()
            else:
                yield self._record(alone=True)

    def _record(self, alone: bool = False) -> Record:
        """The next value as a record. `alone`: the value may fill the rest of its line, as in NDJSON;
        then the line is taken whole if it is exactly one JSON value, which msgspec's scanner tells
        (and decodes) several times faster than the standard library parses it."""
        self.record += 1
        self._count_lines(self.pos)
        line, start = self.line, self.pos
        whole = self._whole_line(_VALUE if self.texts else jsontext.FAST) if alone else None
        if self.texts:
            column = self._column(start)
            return Record(self.record, line, text=self._text() if whole is None else whole[1], column=column)
        return Record(self.record, line, self._value() if whole is None else whole[0])

    def _whole_line(self, decoder: msgspec.json.Decoder) -> tuple[object, str] | None:
        """(value, text) of the rest of the line if the decoder takes it as one JSON value, moving
        past it; else None. What it learns is kept, so that many values on one long line (JSON
        concatenated without newlines) do not each scan the line again."""
        if self.pos < self.not_alone_before:
            return None
        end = self.text.find("\n", self.pos)
        if end < 0:
            self.not_alone_before = len(self.text)
            return None
        text = self.text[self.pos:end].rstrip(" \t\r")
        try:
            value = decoder.decode(text)
        except msgspec.DecodeError:
            self.not_alone_before = end
            return None
        self.pos += len(text)
        return value, text

    def _text(self) -> str:
        """The text of the JSON value at the next non-space character, found by parsing it (and parsed
        again by whoever uses the text: layouts other than NDJSON pay twice)."""
        self.hold = self.pos  # the buffer keeps the value's text while it is parsed
        self._value()
        start, self.hold = self.hold, None
        return self.text[start:self.pos]

    def _array_items(self) -> Iterator[Record]:
        if self._peek() == "]":
            self.pos += 1
            return
        while True:
            yield self._record()
            char = self._peek()
            if char == "]":
                self.pos += 1
                return
            self._expect(",", "',' or ']' after an array item")

    def _object_or_envelope(self) -> Iterator[Record]:
        """A top-level object: a document, or an envelope holding documents (or none; see `Envelope`).

        Envelopes are streamed item by item. Once a file has shown bare documents (NDJSON), each
        further object is parsed whole and then checked, which reads it once instead of twice; read
        as text, it is parsed only if its text may name the envelope's key or members."""
        if not self.streaming_envelopes:
            record = self._record(alone=True)
            if record.text is not None:
                if not self._may_be_envelope(record.text):
                    yield record
                    return
                record = Record(record.number, record.line, record.parsed(self.name))
            envelope = self._envelope_of(record.document)
            if envelope is None:
                yield record
                return
            self.record -= 1
            for item in envelope:
                self.record += 1
                yield Record(self.record, record.line, item)
            return
        self.hold = self.pos
        try:
            is_document = yield from self._envelope_items()
        except InputError as error:
            if error.record is not None:
                raise
            # the error is in the next record, or in an envelope of records from the next one on
            raise InputError(error.source, error.message, self.record + 1, error.line, error.column) from None
        if is_document:  # read again, whole
            self.pos, self.hold = self.hold, None
            self.streaming_envelopes = False
            yield self._record(alone=True)

    def _envelope_items(self) -> Generator[Record, None, bool]:
        """Read a top-level object member by member, streaming its documents if it is an envelope;
        return whether it is a document instead."""
        self.pos += 1
        members, only_envelope_members = 0, True
        while self._peek() != "}":
            if members:
                self._expect(",", "',' or '}' after an object member")
            name = self._member_name()
            if name in self.envelope.document_key:
                return True
            if name == self.envelope.key and self._peek() == "[":
                self.hold = None
                self.pos += 1
                yield from self._array_items()
                self._rest_of_envelope()
                return False
            only_envelope_members = only_envelope_members and name in self.envelope.members
            self._value()
            members += 1
        if not members or not only_envelope_members:  # {} is an empty document
            return True
        self.pos += 1  # an envelope with no documents, such as {"totalHits": 137}
        self.hold = None
        return False

    def _envelope_of(self, document) -> list | tuple | None:
        """The documents of an envelope already parsed, or None if it is a document."""
        if type(document) is not dict or any(name in document for name in self.envelope.document_key):
            return None
        items = document.get(self.envelope.key)
        if type(items) is list:
            return items
        if document and self.envelope.members.issuperset(document):
            return ()
        return None

    def _may_be_envelope(self, text: str) -> bool:
        """Whether a JSON text may have a member named like the envelope's key or members."""
        return (any(name in text for name in self.envelope_names) or "\\u" in text
                or (self.escaped_slash_may_spell and "\\/" in text))

    def _member_name(self) -> str:
        if self._peek() != '"':
            self._expect('"', "a property name in double quotes")
        name = self._value()
        self._expect(":", "':' after a property name")
        return name

    def _rest_of_envelope(self) -> None:
        """Skip the envelope's other members (totalHits, cursor ...): they are not documents. One named
        like a document's key means the object was a document after all: too late to keep it whole."""
        while self._peek() != "}":
            self._expect(",", "',' or '}' after an object member")
            if (name := self._member_name()) in self.envelope.document_key:
                raise self._error(self.pos, f"an object holding documents under {self.envelope.key!r} also has the "
                                          f"document key {name!r}: it is neither an envelope nor a document")
            self._value()
        self.pos += 1

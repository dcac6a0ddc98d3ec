"""Documents from files, read as a stream.

A file may hold a bare document, a JSON array of documents, NDJSON (or any whitespace-separated
JSON values), or API envelopes such as {"conversations": [...], "totalHits": 137} whose key the
mapping names. Memory holds one chunk of the file and the document being read, whatever the
file's size.

Parsing is left to the standard library's JSON scanner: it is exact for integers of any size and
for every string escape (ijson's C backend and orjson were measured to turn big integers into
floats or errors, and to mis-decode lone surrogates). This module only finds where each document
starts and ends.
"""

from __future__ import annotations

import codecs
import contextlib
import gzip
import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from . import jsontext
from .errors import InputError

CHUNK_SIZE = 1 << 20
_NON_SPACE = re.compile(r"[^ \t\n\r]")
_SLACK = 12  # an error this close to the end of the buffer may only mean the document goes on


@dataclass(slots=True)
class Record:
    number: int  # 1-based position of the document in its file
    line: int  # the line where it starts
    document: object


def read_documents(source: str, envelope: str | None = None, chunk_size: int = CHUNK_SIZE,
                   on_read: Callable[[int], None] | None = None) -> Iterator[Record]:
    """Records of a file (`-` is standard input; a `.gz` name is gunzipped). `on_read` is told how
    many bytes of the file each read consumed (for a progress bar)."""
    name = "<stdin>" if source == "-" else source
    try:
        opened = contextlib.nullcontext(sys.stdin.buffer) if source == "-" else (
            gzip.open(source, "rb") if source.endswith(".gz") else open(source, "rb"))
    except OSError as error:
        raise InputError(name, f"cannot open: {error.strerror or error}") from None
    with opened as binary:
        stream = JsonStream(binary, name, envelope, chunk_size)
        if on_read is not None:
            stream.on_read = _file_position_reporter(binary, on_read)
        yield from stream.records()


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
    def __init__(self, binary, name: str, envelope: str | None, chunk_size: int = CHUNK_SIZE):
        self.binary, self.name, self.envelope, self.chunk_size = binary, name, envelope, chunk_size
        self.utf8 = codecs.getincrementaldecoder("utf-8-sig")()
        self.text = ""
        self.pos = 0
        self.hold: int | None = None  # keep the text from here on: it may have to be read again
        self.eof = False
        self.line, self.line_pos, self.column_base = 1, 0, 0  # line number at line_pos; column of text[0]
        self.record = 0
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
        newline = self.text.rfind("\n", 0, pos)
        column = pos - newline if newline >= 0 else self.column_base + pos + 1
        return InputError(self.name, message, record=self.record or None, line=line, column=column)

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
                yield self._record()

    def _record(self) -> Record:
        self.record += 1
        self._count_lines(self.pos)
        line = self.line
        return Record(self.record, line, self._value())

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
        """A top-level object: an envelope if it has the envelope key holding an array, else a document.

        Envelopes are streamed item by item. Once a file has shown bare documents (NDJSON), each
        further object is parsed whole and then checked, which reads it once instead of twice."""
        if not self.streaming_envelopes:
            record = self._record()
            items = record.document.get(self.envelope) if type(record.document) is dict else None
            if type(items) is not list:
                yield record
                return
            self.record -= 1
            for item in items:
                self.record += 1
                yield Record(self.record, record.line, item)
            return
        self.hold = self.pos
        self.pos += 1
        if self._peek() != "}":
            while True:
                if self._member_name() == self.envelope and self._peek() == "[":
                    self.hold = None
                    self.pos += 1
                    yield from self._array_items()
                    self._rest_of_envelope()
                    return
                self._value()
                if self._peek() == "}":
                    break
                self._expect(",", "',' or '}' after an object member")
        self.pos, self.hold = self.hold, None
        self.streaming_envelopes = False
        yield self._record()

    def _member_name(self) -> str:
        if self._peek() != '"':
            self._expect('"', "a property name in double quotes")
        name = self._value()
        self._expect(":", "':' after a property name")
        return name

    def _rest_of_envelope(self) -> None:
        """Skip the envelope's other members (totalHits, cursor ...): they are not documents."""
        while self._peek() != "}":
            self._expect(",", "',' or '}' after an object member")
            self._member_name()
            self._value()
        self.pos += 1

"""JSON Lines and top-level JSON arrays read as a stream of records, in two passes.

Parsing a whole export with ``json.loads`` holds every post as a Python dict, and the grid
of strings built from them a second time: 200,000 tweets of a 75 MB JSON Lines file took
1.2 GB that way. Here the first pass parses one record at a time and keeps only the union
of the (flattened) field names, the record count and what was dropped; the second pass,
run by :meth:`RawTable.chunks <core.ingest.formats.RawTable.chunks>` as the post table
is built, parses the records again and yields them a chunk at a time as rows of that
header. Parsing twice costs one more pass of ``json.loads`` (C code); memory stays at the
decoded text plus one chunk.

Lines end at ``"\\n"``, ``"\\r\\n"`` or a lone ``"\\r"`` (old Mac files; JSON strings
cannot hold a raw one), as the delimited-text reader splits them. ``str.splitlines``, used
before, also splits at U+2028, U+2029, U+0085 and other separators, which a JSON writer may
leave raw inside strings (Python's ``json.dumps(..., ensure_ascii=False)`` does), so a post
holding one of them was dropped as an invalid line.

A top-level array is walked element by element with
:meth:`json.JSONDecoder.raw_decode`; every element gives the records
:func:`~core.ingest.formats_json.find_records` finds in it (a post, an X archive's
``{"tweet": {...}}``, a Reddit thing, a nested page). A top-level object holding the list
(an X API page ``{"data": [...], "includes": {...}}``, ``{"statuses": [...]}``) is read the
same way: a first pass finds which member holds the posts (:func:`object_outline`, keeping
only the first element of each array member), then its elements are streamed
(:func:`object_items`). Any other document (a single post, a Reddit listing) is parsed whole.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator

from core.errors import InputFileError
from core.ingest.formats import RawTable
from core.ingest.formats_csv import _text_lines
from core.ingest.formats_json import (
    _flatten,
    _is_container,
    _json_str,
    find_records,
    page_record,
    page_users,
    records_member,
)

_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")
_EOL = re.compile(r"\r\n?|\n")

#: Characters an array element may span before a parse error counts as one (a broken
#: document is then parsed whole for its message, instead of adding piece after piece).
MAX_ELEMENT_CHARS = 16 << 20

#: Characters after an element within which it may still go on in the next piece (a number).
_NUMBER_TAIL = 64

#: One item of a record stream: the records found in one line or array element, or
#: ``None`` for a line that is not valid JSON (with its 1-based line number).
Item = tuple[int, list[dict] | None]


def text_lines(text: str) -> Iterator[str]:
    """The lines of ``text`` split at ``"\\n"``, ``"\\r\\n"`` and a lone ``"\\r"`` (endings dropped)."""
    pos = 0
    for end in _EOL.finditer(text):
        yield text[pos : end.start()]
        pos = end.end()
    if pos < len(text):
        yield text[pos:]


def byte_lines(data: bytes, encoding: str) -> Iterator[str]:
    """The lines of ``data`` decoded one at a time, split as :func:`text_lines` splits them, a
    leading BOM dropped (the delimited-text reader's :func:`~core.ingest.formats_csv._text_lines`,
    endings removed): the same lines as :func:`text_lines` of the decoded text, without holding
    that text (a Python string of text with one emoji takes 4 bytes a character: 277 MB for a
    75 MB file)."""
    for line in _text_lines(data, encoding, 0):  # never None from offset 0
        yield line.removesuffix("\n").removesuffix("\r")


def jsonl_items(lines: Iterable[str]) -> Iterator[Item]:
    """The records of each non-blank line of JSON Lines, in order.

    Args:
        lines: the file's lines (:func:`text_lines` or :func:`byte_lines`).

    Yields:
        ``(line_number, records)``: ``records`` is ``None`` for a line that is not valid
        JSON; a line holding a container (an X API page, a Reddit listing) gives all its
        records; a line that is not an object gives ``[]``.

    Raises:
        RecursionError: a line nested deeper than the parser can go.
    """
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            yield number, None
            continue
        if isinstance(obj, dict):
            yield number, find_records(obj) if _is_container(obj) else [obj]
        else:
            yield number, []


def byte_pieces(data: bytes, encoding: str, size: int = 1 << 20) -> Iterator[str]:
    """``data`` decoded ``size`` characters at a time, a leading BOM dropped."""
    stream = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")
    first = True
    while piece := stream.read(size):
        if first:
            piece, first = piece.lstrip("\ufeff"), False
        yield piece


class _Reader:
    """A JSON text read from consecutive pieces, one value at a time (only the current value
    and the rest of its piece are held)."""

    def __init__(self, pieces: Iterable[str]):
        self.pieces = iter(pieces)
        self.buf, self.pos, self.more = "", 0, True

    def fill(self) -> bool:
        piece = next(self.pieces, None) if self.more else None
        if piece is None:
            self.more = False
            return False
        self.buf, self.pos = self.buf[self.pos:] + piece, 0
        return True

    def skip_space(self) -> None:
        while True:
            self.pos = _SPACE.match(self.buf, self.pos).end()
            if self.pos < len(self.buf) or not self.fill():
                return

    def expect(self, char: str) -> bool:
        self.skip_space()
        if self.buf.startswith(char, self.pos):
            self.pos += 1
            return True
        return False

    def peek(self) -> str:
        self.skip_space()
        return self.buf[self.pos : self.pos + 1]

    def value(self):
        """The next JSON value, read on into the next pieces while it is incomplete."""
        self.skip_space()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError:
                # the value may go on in the next piece (a broken one stops at the cap)
                if len(self.buf) - self.pos <= MAX_ELEMENT_CHARS and self.fill():
                    continue
                raise
            # a number may go on in the next piece ("3." then "25"): read on near the end
            if end + _NUMBER_TAIL < len(self.buf) or not self.fill():
                break
        self.pos = end
        return value

    def elements(self) -> Iterator:
        """The elements of the array that starts here, one at a time."""
        if not self.expect("["):
            raise json.JSONDecodeError("Expecting '['", self.buf, self.pos)
        if self.expect("]"):
            return
        while True:
            yield self.value()
            if self.expect(","):
                continue
            if self.expect("]"):
                return
            raise json.JSONDecodeError("Expecting ',' delimiter", self.buf, self.pos)

    def members(self) -> Iterator[str]:
        """The keys of the object that starts here; the caller reads each one's value (with
        :meth:`value` or :meth:`elements`) before asking for the next key."""
        if not self.expect("{"):
            raise json.JSONDecodeError("Expecting '{'", self.buf, self.pos)
        if self.expect("}"):
            return
        while True:
            key = self.value() if self.peek() == '"' else None
            if not isinstance(key, str) or not self.expect(":"):
                raise json.JSONDecodeError("Expecting a property name and ':'", self.buf, self.pos)
            yield key
            if self.expect(","):
                continue
            if self.expect("}"):
                return
            raise json.JSONDecodeError("Expecting ',' delimiter", self.buf, self.pos)

    def end(self) -> None:
        self.skip_space()
        if self.pos < len(self.buf):
            raise json.JSONDecodeError("Extra data", self.buf, self.pos)


def array_items(pieces: Iterable[str]) -> Iterator[Item]:
    """The records of each element of a top-level JSON array, in order.

    Args:
        pieces: the document's text in consecutive pieces (``[text]``, or
            :func:`byte_pieces`); only the current element is held whole.

    Yields:
        ``(element_number, records)`` (1-based element number).

    Raises:
        json.JSONDecodeError: the text is not one JSON array (positions are relative to
            the piece being read: callers parse the whole text again for the message).
        RecursionError: an element nested deeper than the parser can go.
    """
    reader = _Reader(pieces)
    for number, element in enumerate(reader.elements(), start=1):
        yield number, find_records([element])
    reader.end()


def object_outline(pieces: Iterable[str]) -> tuple[str, dict, int] | None:
    """Which member of a top-level JSON object holds its list of posts, read as a stream.

    The object's members are read one at a time; an array member keeps only its first
    element (the others are read and dropped), any other member is kept whole. The member is
    chosen by :func:`~core.ingest.formats_json.records_member`, the rule
    :func:`~core.ingest.formats_json.find_records` applies to a parsed object.

    Returns:
        ``(key, users, skip)``: the member to stream; for an X API page, ``{user id: user}``
        from ``includes.users`` (else ``{}``); and how many earlier members of that name to
        skip (``json.loads`` keeps the last of repeated names). None when no member is such a
        list (a single post, a Reddit listing): the caller parses the document whole.

    Raises:
        json.JSONDecodeError: the text is not one JSON object (e.g. JSON Lines).
        RecursionError: a member nested deeper than the parser can go.
    """
    reader = _Reader(pieces)
    outline: dict = {}
    seen: Counter[str] = Counter()
    for key in reader.members():
        seen[key] += 1
        if reader.peek() == "[":
            elements = reader.elements()
            first = next(elements, None)
            for _ in elements:  # read to the array's end, keeping nothing
                pass
            outline[key] = [] if first is None else [first]
        else:
            outline[key] = reader.value()
    reader.end()
    key = records_member(outline)
    if key is None:
        return None
    return key, page_users(outline) if key == "data" else {}, seen[key] - 1


def object_items(pieces: Iterable[str], key: str, users: dict, skip: int = 0) -> Iterator[Item]:
    """The records of each element of the array member ``key`` of a top-level JSON object
    (:func:`object_outline` chose it), in order; the other members, and the first ``skip``
    members named ``key``, are read and dropped.

    Yields:
        ``(element_number, records)``: for ``"data"`` (an X API page) the element with its
        author joined from ``users`` (:func:`~core.ingest.formats_json.page_record`, as the
        whole-document reader joins it); for any other member the records it finds in it.

    Raises:
        json.JSONDecodeError, RecursionError: as :func:`object_outline`.
    """
    reader = _Reader(pieces)
    for name in reader.members():
        if name != key or skip > 0:
            skip -= name == key
            reader.value()
            continue
        for number, item in enumerate(reader.elements(), start=1):
            yield number, page_record(item, users) if key == "data" else find_records([item])
    reader.end()


def streamed_table(items: Callable[[], Iterator[Item]], fmt: str, name: str) -> tuple[RawTable, int, int | None]:
    """A :class:`RawTable` whose rows are parsed again from ``items()`` chunk by chunk.

    The first pass (here) reads every record once for the header (the union of the
    flattened field names, in first-seen order), the number of records and the invalid
    items; the table's :attr:`~core.ingest.formats.RawTable.source` runs ``items()``
    again and yields rows of that header (``_json_str`` of each value, ``""`` where a
    record lacks the field) and 1-based record numbers, ``size`` rows at a time.

    Returns:
        ``(table, items_read, first_invalid)``: the non-blank items read and the number of
        the first invalid one (``None`` when none). ``table.dropped["invalid JSON line"]``
        counts the invalid ones; the caller decides what they mean for the file.

    Raises:
        RecursionError, json.JSONDecodeError: as ``items()`` raises them (first pass).
    """
    header: dict[str, None] = {}
    n_records = 0
    read = 0
    invalid = 0
    first_invalid: int | None = None
    for number, records in items():
        read += 1
        if records is None:
            invalid += 1
            first_invalid = first_invalid or number
            continue
        for record in records:
            n_records += 1
            for key in _flatten(record):
                header.setdefault(key, None)
    names = list(header)
    dropped: Counter[str] = Counter({"invalid JSON line": invalid} if invalid else {})
    table = RawTable(names, [], [], fmt, rows_read=n_records + invalid, dropped=dropped, files=[name])

    def source(size: int) -> Iterator[tuple[list[list[str]], list[int]]]:
        rows: list[list[str]] = []
        numbers: list[int] = []
        done = 0
        for _, records in items():
            for record in records or ():
                flat = _flatten(record)
                rows.append([_json_str(flat.get(k)) for k in names])
                done += 1
                numbers.append(done)
                if len(rows) >= size:
                    yield rows, numbers
                    rows, numbers = [], []
        if done != n_records:  # the text is immutable: only a bug gets here
            raise InputFileError(f"{name} gave {done} records on the second reading and {n_records} on the first.")
        if rows:
            yield rows, numbers

    table.source = source
    return table, read, first_invalid

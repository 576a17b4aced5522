"""From a file (path, bytes or upload) to a grid of strings: header + records.

Formats: delimited text (CSV/TSV/TXT, delimiter sniffed among ``,`` ``\\t``
``;`` ``|``), XLSX (first sheet with a known header), JSON and JSONL (lists of
records, X API v1.1/v2 pages with ``includes.users`` joined as ``author.*``,
Reddit listings, twarc2 pages), and the X/Twitter account archive
(``tweets.js``: a ``window.YTD.tweets.part0 = [...]`` JavaScript prefix, with
its ``tweets-part1.js``... siblings, or the archive ``.zip``).

Every cell comes back as ``str`` (``""`` when missing): numbers are never
parsed here, so IDs keep all their digits.
Delimited text and XLSX are read here; JSON, JSONL, the X archive and zip files in
:mod:`core.ingest.formats_json` (its names are re-exported here).
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from core.errors import InputFileError
from core.ingest.columns import count_known
from core.ingest.decode import decode_bytes

logger = logging.getLogger(__name__)

csv.field_size_limit(2**30)

DELIMITERS = (",", "\t", ";", "|")
_HEADER_SEARCH_LINES = 10
_YTD_RE = re.compile(r"^\s*window\.YTD\.[\w$.]+\s*=\s*")
_PART_RE = re.compile(r"^(?P<base>.+?)(?:-part(?P<n>\d+))?\.js$", re.IGNORECASE)
_RECORD_KEYS = ("statuses", "tweets", "posts", "items", "results", "records", "rows", "entries",
                "children", "comments", "submissions")


@dataclass
class RawTable:
    """A file read as a grid of strings, before column roles are applied.

    Attributes:
        header: source column names (whitespace and BOMs stripped; empty names
            become ``column_<n>``; repeated names get ``.2``, ``.3``).
        rows: data records, each a ``list[str]`` (may be ragged for
            delimited files: fitted to the header later).
        row_numbers: 1-based record number of each row in the export (header
            excluded; dropped records keep their numbers).
        format: ``"csv"``, ``"tsv"``, ``"xlsx"``, ``"json"``, ``"jsonl"`` or
            ``"x-archive"``.
        encoding: Python codec name, None for XLSX.
        delimiter: the delimiter, None for non-delimited formats.
        header_row: 0-based line (row for XLSX) of the header, None for JSON.
        rows_read: records read after the header, dropped ones included.
        dropped: ``{reason: count}`` of records dropped while reading.
        warnings: messages for the analyst.
        files: names of the files read (several for a split X archive).
    """

    header: list[str]
    rows: list[list[str]]
    row_numbers: list[int]
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    header_row: int | None = None
    rows_read: int = 0
    dropped: Counter = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    #: For delimited text read as a stream: ``source(size)`` yields ``(rows, row_numbers)``
    #: chunks and, once exhausted, has set ``rows_read``, ``dropped`` and ``warnings``.
    source: Callable[[int], Iterator[tuple[list[list[str]], list[int]]]] | None = field(default=None, repr=False)

    def chunks(self, size: int) -> Iterator[tuple[list[list[str]], list[int]]]:
        """The records ``size`` at a time, as ``(rows, row_numbers)``, in file order.

        A streamed table (delimited text) parses its records only now, so the
        whole file is never held as one grid of strings; ``rows_read``,
        ``dropped`` and ``warnings`` are complete once the chunks are exhausted.

        Raises:
            InputFileError: a record that cannot be parsed (named by its number).
        """
        size = max(1, int(size))
        if self.source is not None:
            yield from self.source(size)
            return
        for start in range(0, len(self.rows), size):
            yield self.rows[start : start + size], self.row_numbers[start : start + size]


# ---------------------------------------------------------------- loading


def load_source(source, *, filename: str | None, max_mb: float) -> tuple[bytes, str, Path | None]:
    """The bytes of a source, its display name and its path (None for uploads).

    Args:
        source: a path (``str``/``os.PathLike``), ``bytes``, or a file-like
            object with ``getvalue()``/``read()`` (e.g. a Streamlit upload).
        filename: the upload's file name (its extension picks the format).
        max_mb: size limit in MB (10**6 bytes).

    Raises:
        InputFileError: missing file, folder, empty file or over the limit.
    """
    limit = int(max_mb * 1_000_000)
    path: Path | None = None
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        name = filename or path.name
        if not path.exists():
            raise InputFileError(f"{path} does not exist. Check the path and try again.")
        if path.is_dir():
            raise InputFileError(f"{path} is a folder. Choose one export file inside it.")
        size = path.stat().st_size
        _check_size(name, size, limit, max_mb)
        data = path.read_bytes()
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        name = filename or "the uploaded file"
    elif hasattr(source, "getvalue") or hasattr(source, "read"):
        name = filename or getattr(source, "name", None) or "the uploaded file"
        size = getattr(source, "size", None)
        if isinstance(size, int):
            _check_size(name, size, limit, max_mb)
        data = source.getvalue() if hasattr(source, "getvalue") else source.read()
        if isinstance(data, str):
            data = data.encode("utf-8")
    else:
        raise TypeError(f"read_posts needs a path, bytes or a file-like object. Got {type(source).__name__}.")
    _check_size(name, len(data), limit, max_mb)
    if not data.strip():
        raise InputFileError(f"{name} is empty. Export the posts again and choose the new file.")
    return data, name, path


def _check_size(name: str, size: int, limit: int, max_mb: float) -> None:
    if size > limit:
        raise InputFileError(
            f"{name} is {size / 1_000_000:.1f} MB, over the {max_mb:g} MB limit.",
            hint="Split the export, or raise the limit (environment variable SIEVE_MAX_UPLOAD_MB, "
            "or --max-mb on the command line).",
        )


# ---------------------------------------------------------------- dispatch


def read_table(data: bytes, name: str, path: Path | None) -> RawTable:
    """Read the bytes of an export as a :class:`RawTable` (format sniffed from content and name).

    Raises:
        InputFileError: for files that are not a table of posts.
    """
    ext = PurePosixPath(name.lower()).suffix
    if data[:4] == b"PK\x03\x04":
        return _read_zip(data, name)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise InputFileError(
            f"{name} is an old Excel workbook (.xls). Open it in Excel or LibreOffice and save it as "
            ".xlsx or 'CSV UTF-8', then upload that file."
        )
    if ext in (".xlsx", ".xlsm"):
        raise InputFileError(f"{name} is named like an Excel workbook but is not one (it is not a zip file).")
    if data[:5] == b"%PDF-" or data[:8] == b"\x89PNG\r\n\x1a\n" or data[:3] == b"\xff\xd8\xff":
        raise InputFileError(f"{name} is a PDF or an image, not a table of posts. Upload a CSV, XLSX or JSON export.")
    decoded = decode_bytes(data, name=name)
    text = decoded.text
    head = text.lstrip()[:200]
    notes = list(decoded.notes)
    if decoded.rejected:
        tried = ", ".join(f"{codec} ({why})" for codec, why in decoded.rejected)
        notes.append(f"Decoded as {decoded.encoding} after rejecting {tried}.")
    # exact to decode again from the bytes as a stream when nothing but a BOM was changed
    stream = (data, decoded.encoding) if not decoded.notes and decoded.encoding in _STREAM_CODECS else None
    if _YTD_RE.match(head) or ext == ".js":
        table = _read_x_archive([(name, text)], name)
        if path is not None:
            table = _read_archive_parts(path, name, table, decoded.encoding)
    elif head.startswith(("[", "{")) or ext in (".json", ".jsonl", ".ndjson"):
        table = _read_json(text, name, ext, stream=stream)
    else:
        decoded.text = ""
        table = _read_delimited(text, name, ext, stream=stream, notes=notes)
        del text
        table.encoding = decoded.encoding
        return table
    table.encoding = decoded.encoding
    table.warnings.extend(notes)
    return table


# ---------------------------------------------------------------- delimited text


def _line_offsets(text: str, n: int) -> list[int]:
    offsets, pos = [0], 0
    for _ in range(n):
        nl = text.find("\n", pos)
        if nl < 0:
            break
        pos = nl + 1
        offsets.append(pos)
    return offsets


def _clean_header(cells: list[str]) -> list[str]:
    out: list[str] = []
    seen: Counter[str] = Counter()
    for j, cell in enumerate(cells):
        name = cell.replace("\ufeff", "").replace("\u200b", "").strip() or f"column_{j + 1}"
        seen[name] += 1
        out.append(name if seen[name] == 1 else f"{name}.{seen[name]}")
    return out


def sniff_delimited(text: str, ext: str = "") -> tuple[str, int, bool]:
    """Choose the delimiter and header line of delimited text.

    For each candidate delimiter the first 10 lines are searched for the line
    with the most known column names (:data:`core.ingest.columns.KNOWN_NAMES`);
    the candidates are ranked by that count, then by how many of the next
    200 records have as many fields as that header, then by the number of
    fields (``.tsv`` files prefer the tab on ties, others the comma).

    Returns:
        ``(delimiter, header_line, skip_initial_space)``: the header line is a
        0-based line index; ``skip_initial_space`` is True when the header
        separates names with a delimiter and a space (``Tweet ID, Tweet Text``).
    """
    offsets = _line_offsets(text, _HEADER_SEARCH_LINES)
    lines = [text[offsets[i]: (offsets[i + 1] - 1 if i + 1 < len(offsets) else None)].rstrip("\r")
             for i in range(min(len(offsets), _HEADER_SEARCH_LINES))]
    first_content = next((i for i, line in enumerate(lines) if line.strip()), 0)
    prefs = list(DELIMITERS)
    if ext in (".tsv", ".tab"):
        prefs.remove("\t")
        prefs.insert(0, "\t")
    best: tuple | None = None
    choice = (",", first_content, False)
    for rank, delim in enumerate(prefs):
        known_line, known = first_content, 0
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                cells = next(csv.reader([line], delimiter=delim), [])
            except csv.Error:  # a carriage return inside a quoted cell
                cells = line.split(delim)
            k = count_known(cells)
            if k > known:
                known_line, known = i, k
        skip = bool(re.search(re.escape(delim) + r" \S", lines[known_line])) if lines else False
        reader = csv.reader(io.StringIO(text[offsets[known_line]: offsets[known_line] + 300_000], newline=""),
                            delimiter=delim, skipinitialspace=skip)
        counts: list[int] = []
        try:
            header = next(reader, [])
            for row in reader:
                if row:
                    counts.append(len(row))
                if len(counts) >= 200:
                    break
        except csv.Error:  # this delimiter cannot even parse the sample
            continue
        if counts and len(counts) > 1:
            counts = counts[:-1]  # the sample may cut the last record short
        width = len(header)
        consistent = (sum(1 for c in counts if c == width) / len(counts)) if counts else 1.0
        score = (known, round(consistent, 2) if width > 1 else 0.0, width, -rank)
        if best is None or score > best:
            best, choice = score, (delim, known_line, skip)
    return choice


# XLSX, JSON, JSONL, X archive and zip readers (imported last: those modules import this one)
from core.ingest.formats_csv import _STREAM_CODECS, _read_delimited, _swallows_records, _text_lines  # noqa: F401
from core.ingest.formats_json import (  # noqa: F401
    _flatten,
    _is_container,
    _json_str,
    _page_records,
    _part_key,
    _read_archive_parts,
    _read_json,
    _read_x_archive,
    _read_zip,
    _records_table,
    find_records,
)
from core.ingest.formats_xlsx import _cell_str, _read_xlsx  # noqa: F401

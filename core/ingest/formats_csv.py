"""Delimited text (CSV/TSV/TXT) as a streamed :class:`core.ingest.formats.RawTable`.

The delimiter and header line are sniffed on the decoded text
(:func:`core.ingest.formats.sniff_delimited`); the records are then decoded and
parsed from the bytes chunk by chunk (:meth:`RawTable.chunks`), so a large
export is never held as one decoded string, nor as one grid of strings.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator

from core.errors import InputFileError
from core.ingest.columns import normalise_name
from core.ingest.formats import RawTable, _clean_header, _line_offsets, sniff_delimited


def _swallows_records(cell: str, delim: str, width: int) -> bool:
    """True when a multi-line cell contains lines that look like whole records (an unbalanced quote)."""
    if width < 2:
        return cell.count("\n") > 50
    lines = cell.splitlines()[1:]
    suspicious = sum(1 for line in lines if line.count(delim) >= width - 1)
    return suspicious >= 1 and suspicious >= 0.5 * len(lines) or cell.count("\n") > 50


#: Codecs whose text is parsed from the bytes as a stream (the whole decoded text is not kept);
#: UTF-16/32 exports (rare, and cut to an even length when decoded) are parsed from the text.
_STREAM_CODECS = ("utf-8", "utf-8-sig", "gb18030", "cp1252")
#: Characters of the decoded text the delimiter and header sniffing look at.
_SNIFF_CHARS = 4_000_000


def _text_lines(data: bytes, encoding: str, skip_chars: int) -> Iterator[str] | None:
    """The lines of ``data`` decoded as a stream (``newline=""``: split at ``\n``, ``\r\n`` and
    ``\r``, endings kept, as :class:`io.StringIO` does), a leading BOM dropped as
    :func:`core.ingest.decode.decode_bytes` drops it, the first ``skip_chars`` characters
    (the lines above the header) skipped; None when that offset is not a line start."""
    stream = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")
    lines = iter(stream)
    first = next(lines, "")
    if encoding != "utf-8-sig":
        first = first.lstrip("\ufeff")
    skipped = 0
    while skipped + len(first) <= skip_chars and skipped < skip_chars:
        skipped += len(first)
        first = next(lines, "")
        if not first:
            break
    if skipped != skip_chars:
        return None

    def gen() -> Iterator[str]:
        if first:
            yield first
        yield from lines

    return gen()


def _read_delimited(text: str, name: str, ext: str, *, stream: tuple[bytes, str] | None = None,
                    notes: list[str] | None = None) -> RawTable:
    """Delimited text as a streamed :class:`RawTable` (records parsed by :meth:`RawTable.chunks`).

    ``stream``: ``(bytes, codec)`` that decode to ``text`` exactly; the records are then
    decoded and parsed from the bytes chunk by chunk and ``text`` is not kept.
    ``notes``: the decoder's warnings, listed after the reader's own.
    """
    delim, header_line, skip = sniff_delimited(text[:_SNIFF_CHARS], ext)
    offset = _line_offsets(text, header_line)[header_line] if header_line else 0
    lines = _text_lines(*stream, offset) if stream is not None else None
    if lines is None:
        # newline="": lines end at \n, \r\n or \r as with open(..., newline=""), which csv expects
        lines = io.StringIO(text[offset:], newline="")
    reader = csv.reader(lines, delimiter=delim, skipinitialspace=skip)
    try:
        header = _clean_header(next(reader))
    except StopIteration:
        raise InputFileError(f"{name} has no header row and no records.") from None
    fmt = "tsv" if delim == "\t" else "csv"
    table = RawTable(header, [], [], fmt, delimiter=delim, header_row=header_line, files=[name])

    def records(size: int) -> Iterator[tuple[list[list[str]], list[int]]]:
        norm_header = [normalise_name(h) for h in header]
        rows: list[list[str]] = []
        numbers: list[int] = []
        dropped: Counter[str] = Counter()
        record = 0
        long_records: list[int] = []
        try:
            for row in reader:
                record += 1
                if not row or not any(c.strip() for c in row):
                    dropped["blank row"] += 1
                    continue
                if (len(row) >= len(header) and len(row[0]) < 200 and normalise_name(row[0]) == norm_header[0]
                        and [normalise_name(c) for c in row[: len(header)]] == norm_header):
                    dropped["repeated header row"] += 1
                    continue
                if len(long_records) < 3 and any("\n" in c and _swallows_records(c, delim, len(header))
                                                 for c in row):
                    long_records.append(record)
                rows.append(row)
                numbers.append(record)
                if len(rows) >= size:
                    yield rows, numbers
                    rows, numbers = [], []
        except csv.Error as exc:
            raise InputFileError(
                f"{name} cannot be read as delimited text at record {record + 1}: {exc}.",
                hint="Check that quotes are balanced, or export the file again.",
            ) from None
        warnings: list[str] = []
        if header_line:
            warnings.append(
                f"The header is on line {header_line + 1}; the {header_line} line(s) above it were skipped."
            )
        if dropped["repeated header row"]:
            warnings.append(
                f"{dropped['repeated header row']} repeated header row(s) inside the file were dropped "
                "(a crawler that appends on every run)."
            )
        for rec in long_records:
            warnings.append(
                f"Record {rec} holds line breaks followed by what look like further records: a quote may be "
                "unbalanced there, which merges records. Check the file near that record."
            )
        table.rows_read, table.dropped = record, dropped
        table.warnings[:0] = warnings + list(notes or [])  # before any a caller added (a zip's note)
        if rows:
            yield rows, numbers

    table.source = records
    return table

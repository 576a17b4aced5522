"""XLSX workbooks as a :class:`RawTable` (first sheet with a known header).

Split out of :mod:`core.ingest.formats`, which re-exports every name here.
"""

from __future__ import annotations

import io
import math
import zipfile
from collections import Counter
from collections.abc import Iterator

from core.errors import InputFileError
from core.ingest.columns import count_known, normalise_name
from core.ingest.formats import _HEADER_SEARCH_LINES, RawTable, _clean_header


def _cell_str(value) -> str:
    import datetime as _dt

    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        # floats past 2**53 have lost digits: keep their float form (1.71234567890123e+18) so
        # that a spreadsheet-mangled ID is recognised, instead of inventing trailing digits
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        return repr(value)
    if isinstance(value, _dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    return str(value)


def _open_workbook(data: bytes, name: str):
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError) as exc:
        raise InputFileError(f"{name} cannot be opened as an Excel workbook ({exc}). Save it again as .xlsx.") \
            from None


def _trimmed_rows(sheet, min_row: int = 1) -> Iterator[list[str]]:
    """The sheet's rows from ``min_row`` (1-based) as strings, trailing empty cells cut."""
    for values in sheet.iter_rows(min_row=min_row, values_only=True):
        row = [_cell_str(v) for v in values]
        yield row[: max((j + 1 for j, c in enumerate(row) if c.strip()), default=0)]


def _header_search(sheet) -> tuple[int, int] | None:
    """``(header_row, known names)`` of a sheet (0-based row; the row with the most known
    column names among the first lines, else its first non-empty row); None when empty."""
    known_row, known, first = None, 0, None
    for i, row in enumerate(_trimmed_rows(sheet)):
        if row and first is None:
            first = i
        if i < _HEADER_SEARCH_LINES:
            k = count_known(row)
            if k > known:
                known_row, known = i, k
        elif first is not None:
            break
    if first is None:
        return None
    return (first if known_row is None else known_row), known


def _read_xlsx(data: bytes, name: str) -> RawTable:
    """The first sheet with a known header (else the first with data) as a streamed table.

    The sheets are searched for the header first (their first lines only); the chosen
    sheet's records are then read row by row as :meth:`RawTable.chunks` asks for them, from
    the workbook opened again (``read_only``): the sheet is never one grid of strings.
    ``rows_read``, ``dropped`` and the repeated-header warning are complete once the
    chunks are exhausted.

    Raises:
        InputFileError: not a workbook, or no sheet holds data.
    """
    workbook = _open_workbook(data, name)
    chosen = None
    try:
        for sheet in workbook.worksheets:
            found = _header_search(sheet)
            if found is None:
                continue
            header_row, known = found
            if chosen is None or (known > 0 and chosen[2] == 0):
                chosen = (sheet.title, header_row, known,
                          next(_trimmed_rows(sheet, min_row=header_row + 1), []))
            if known > 0:
                break
        sheets = len(workbook.sheetnames)
    finally:
        workbook.close()
    if chosen is None:
        raise InputFileError(f"{name} is an Excel workbook with no data in any sheet.")
    title, header_row, _, header_cells = chosen
    warnings: list[str] = []
    if sheets > 1:
        warnings.append(f"Read the sheet {title!r} of {sheets} sheets.")
    if header_row:
        warnings.append(f"The header is on row {header_row + 1}; the {header_row} row(s) above it were skipped.")
    header = _clean_header(header_cells)
    table = RawTable(header, [], [], "xlsx", header_row=header_row, warnings=list(warnings), files=[name])

    def records(size: int) -> Iterator[tuple[list[list[str]], list[int]]]:
        norm_header = [normalise_name(h) for h in header]
        rows: list[list[str]] = []
        numbers: list[int] = []
        dropped: Counter[str] = Counter()
        blank = 0  # blank rows since the last non-blank one: trailing ones are the sheet's formatting
        last = 0
        workbook = _open_workbook(data, name)
        try:
            for record, row in enumerate(_trimmed_rows(workbook[title], min_row=header_row + 2), start=1):
                if not any(c.strip() for c in row):
                    blank += 1
                    continue
                if blank:
                    dropped["blank row"] += blank
                    blank = 0
                if [normalise_name(c) for c in row[: len(header)]] == norm_header:
                    dropped["repeated header row"] += 1
                    continue
                rows.append(row)
                numbers.append(record)
                last = record
                if len(rows) >= size:
                    yield rows, numbers
                    rows, numbers = [], []
        finally:
            workbook.close()
        if dropped["repeated header row"]:  # after the sheet's own warnings, before any a caller added
            table.warnings.insert(len(warnings), f"{dropped['repeated header row']} repeated header row(s) "
                                  "inside the sheet were dropped.")
        table.rows_read, table.dropped = last, +dropped
        if rows:
            yield rows, numbers

    table.source = records
    return table

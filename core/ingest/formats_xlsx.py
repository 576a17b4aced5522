"""XLSX workbooks as a :class:`RawTable` (first sheet with a known header).

Split out of :mod:`core.ingest.formats`, which re-exports every name here.
"""

from __future__ import annotations

import io
import math
import zipfile
from collections import Counter

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


def _read_xlsx(data: bytes, name: str) -> RawTable:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError) as exc:
        raise InputFileError(f"{name} cannot be opened as an Excel workbook ({exc}). Save it again as .xlsx.") \
            from None
    warnings: list[str] = []
    chosen = None
    try:
        for sheet in workbook.worksheets:
            grid = [[_cell_str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
            grid = [row[: max((j + 1 for j, c in enumerate(row) if c.strip()), default=0)] for row in grid]
            if not any(grid):
                continue
            known_row, known = next((i for i, r in enumerate(grid) if r), 0), 0
            for i, row in enumerate(grid[:_HEADER_SEARCH_LINES]):
                k = count_known(row)
                if k > known:
                    known_row, known = i, k
            if chosen is None or (known > 0 and chosen[2] == 0):
                chosen = (sheet.title, grid, known, known_row)
            if known > 0:
                break
    finally:
        workbook.close()
    if chosen is None:
        raise InputFileError(f"{name} is an Excel workbook with no data in any sheet.")
    title, grid, _, header_row = chosen
    if len(workbook.sheetnames) > 1:
        warnings.append(f"Read the sheet {title!r} of {len(workbook.sheetnames)} sheets.")
    header = _clean_header(grid[header_row])
    norm_header = [normalise_name(h) for h in header]
    rows, numbers = [], []
    dropped: Counter[str] = Counter()
    for record, row in enumerate(grid[header_row + 1:], start=1):
        if not any(c.strip() for c in row):
            dropped["blank row"] += 1
            continue
        if [normalise_name(c) for c in row[: len(header)]] == norm_header:
            dropped["repeated header row"] += 1
            continue
        rows.append(row)
        numbers.append(record)
    # blank rows after the last record are the sheet's formatting, not records
    trailing = len(grid) - header_row - 1 - (numbers[-1] if numbers else 0)
    dropped["blank row"] -= trailing
    if dropped["blank row"] <= 0:
        del dropped["blank row"]
    if header_row:
        warnings.append(f"The header is on row {header_row + 1}; the {header_row} row(s) above it were skipped.")
    if dropped["repeated header row"]:
        warnings.append(f"{dropped['repeated header row']} repeated header row(s) inside the sheet were dropped.")
    return RawTable(header, rows, numbers, "xlsx", header_row=header_row,
                    rows_read=(numbers[-1] if numbers else 0), dropped=dropped, warnings=warnings, files=[name])

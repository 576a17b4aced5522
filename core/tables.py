"""Tables into files, the format decided once by the file's suffix.

Every command that writes rows (``rerank --out``, ``cluster --out``, ``timeline
--out``, judgement exports) goes through :func:`write_table`:

* ``.csv`` / ``.tsv``: UTF-8 **with BOM** (``utf-8-sig``, so Excel, WPS and
  LibreOffice open Chinese text correctly), RFC 4180 quoting and ``\\r\\n``
  line ends; a missing value is an empty cell. Text cells are neutralised against
  formula injection (:func:`neutralise`) unless ``formula_safe=False``.
* ``.jsonl`` / ``.json`` / ``.ndjson``: JSON Lines, UTF-8 without BOM, one object
  per row, characters not ``\\u``-escaped; NaN and ``<NA>`` become ``null``,
  NumPy numbers plain numbers, anything else JSON cannot hold its ``str()``.
* ``.parquet``: Apache Parquet through pandas (pyarrow), dtypes kept.

Formula-injection neutralisation (OWASP "CSV Injection"): a text cell that
begins with ``=``, ``+``, ``-``, ``@``, tab or carriage return could be run as
a formula by a spreadsheet, so it is prefixed with an apostrophe ``'`` (which
spreadsheets show as "this is text"). To make this reversible, a text cell that
already begins with an apostrophe is prefixed too; :func:`unneutralise` removes
a leading apostrophe only when the character after it is one of
``= + - @ \\t \\r '``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from core.errors import MissingDependencyError, SieveError

#: File suffix -> table format.
SUFFIX_FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".json": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
}
#: Characters that make a spreadsheet cell a formula (plus the escape itself).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_ESCAPED = FORMULA_TRIGGERS + ("'",)


def neutralise(cell: str) -> str:
    """Prefix ``'`` to a text cell that a spreadsheet would read as a formula.

    >>> neutralise("=HYPERLINK(1)"), neutralise("'quoted"), neutralise("台风")
    ("'=HYPERLINK(1)", "''quoted", '台风')
    """
    return "'" + cell if cell.startswith(_ESCAPED) else cell


def unneutralise(cell: str) -> str:
    """Undo :func:`neutralise`: drop a leading ``'`` only where Sieve added it.

    >>> unneutralise("'=1"), unneutralise("''quoted"), unneutralise("'tis")
    ('=1', "'quoted", "'tis")
    """
    return cell[1:] if cell.startswith("'") and cell[1:2] in _ESCAPED and len(cell) > 1 else cell


def is_missing(value) -> bool:
    """True for None, NaN, ``pd.NA`` and ``NaT`` (and False for lists, dicts and other values)."""
    if value is None:
        return True
    if isinstance(value, (list, dict, tuple)):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def table_format(path: str | os.PathLike, *, allowed: Iterable[str] | None = None, option: str = "--out") -> str:
    """The table format of ``path`` from its suffix (``"csv"``, ``"tsv"``, ``"jsonl"``, ``"parquet"``).

    Args:
        path: the output file.
        allowed: the suffixes this command accepts (default every key of :data:`SUFFIX_FORMATS`).
        option: how the message names the file's option.

    Raises:
        SieveError: naming the file and the suffixes accepted.
    """
    allowed = tuple(allowed) if allowed is not None else tuple(SUFFIX_FORMATS)
    suffix = Path(path).suffix.lower()
    if suffix not in allowed or suffix not in SUFFIX_FORMATS:
        raise SieveError(f"{option} {str(path)!r}: the file name must end in {_or(allowed)}. "
                         f"Got {suffix or 'no extension'!r}.")
    return SUFFIX_FORMATS[suffix]


def _or(items: Iterable[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _json_value(value):
    if is_missing(value):
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def write_jsonl(records: Iterable[dict], path: str | os.PathLike) -> Path:
    """Write dicts as JSON Lines (UTF-8, no BOM, ``ensure_ascii=False``, ``\\n`` line ends).

    Missing values become ``null`` and NumPy scalars plain numbers; a value JSON
    cannot hold (a timestamp) is written as its ``str()``. The folder is created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for record in records:
            obj = {str(k): _json_value(v) for k, v in record.items()}
            fh.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
    return path


def write_table(
    table: pd.DataFrame,
    path: str | os.PathLike,
    *,
    formula_safe: bool = True,
    plain_columns: Iterable[str] = (),
    float_format: str | None = None,
    format: str | None = None,
) -> Path:
    """Write ``table`` in the format its file suffix names (see the module docstring).

    Args:
        table: the rows to write, columns in order; the index is not written.
        path: output file; its folder is created.
        formula_safe: CSV/TSV only: neutralise every text cell (:func:`neutralise`),
            except in numeric columns and ``plain_columns`` (default True: post text is data,
            never a formula, in every table a spreadsheet may open).
        plain_columns: columns never neutralised (IDs known to be digits, flags).
        float_format: CSV/TSV only: ``printf`` format of floats (e.g. ``"%.6g"``);
            default Python's shortest round-trip form.
        format: ``"csv"``, ``"tsv"``, ``"jsonl"`` or ``"parquet"`` whatever the suffix
            (default: from the suffix, :func:`table_format`).

    Returns:
        The path written.

    Raises:
        SieveError: for a suffix that is not a table format.
        MissingDependencyError: ``.parquet`` without pyarrow.
    """
    path = Path(path)
    fmt = format or table_format(path)
    if fmt not in SUFFIX_FORMATS.values():
        raise SieveError(f"The table format must be one of {_or(sorted(set(SUFFIX_FORMATS.values())))}. "
                         f"Got {format!r} instead.")
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "jsonl":
        return write_jsonl(table.to_dict(orient="records"), path)
    if fmt == "parquet":
        try:
            table.to_parquet(path, index=False)
        except ImportError as exc:
            raise MissingDependencyError(
                f"Writing {path} as Parquet needs pyarrow. Run: pip install pyarrow, or choose .csv or .jsonl."
            ) from exc
        return path
    out = table
    if formula_safe:
        plain = set(plain_columns)
        out = table.copy()
        for column in out.columns:
            if column in plain or pd.api.types.is_numeric_dtype(out[column]):
                continue
            out[column] = out[column].map(lambda v: None if is_missing(v) else neutralise(str(v)))
    out.to_csv(path, index=False, sep="\t" if fmt == "tsv" else ",", encoding="utf-8-sig",
               lineterminator="\r\n", float_format=float_format)
    return path

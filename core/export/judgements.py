"""Judgements (every annotator's grades) as CSV and JSONL.

One row per (dataset, query, post, annotator) with :data:`JUDGEMENT_COLUMNS`:
``grade`` 1-5 (empty/``null`` = skip), ``gain`` = grade - 1, ``unsure``
(CSV ``1``/``0``, JSONL ``true``/``false``), ``note``, ``graded_at`` (UTC
ISO-8601), ``source``, and the post ``text`` when the post table was given.

CSV: UTF-8 **with BOM** (``utf-8-sig``), so Excel, WPS and LibreOffice open
Chinese text correctly by default; comma-separated, RFC 4180 quoting. Every
text cell is neutralised against formula injection (OWASP "CSV Injection"; see
:mod:`core.tables`: a cell starting with ``= + - @``, tab, carriage return or
``'`` gets a leading ``'``, removed again on import). Numeric columns
(``grade``, ``gain``, ``unsure``) are written as plain digits and never escaped.

JSONL: UTF-8 without BOM, one JSON object per line, no escaping (JSON is
never evaluated as a formula).

Reading and importing are :mod:`core.export.imports` (re-exported here).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from core.export.imports import (  # noqa: F401  (re-exported: older imports)
    ImportReport,
    import_judgements,
    import_qrels,
    read_judgements,
)
from core.labels.grades import GRADE_COLUMNS
from core.tables import FORMULA_TRIGGERS, is_missing, neutralise, unneutralise, write_jsonl, write_table  # noqa: F401

#: Column order of judgement exports (``text`` only when posts are given): the label store's
#: grade columns with ``gain`` (= grade - 1) after ``grade``.
JUDGEMENT_COLUMNS: tuple[str, ...] = tuple(
    name for column in GRADE_COLUMNS for name in ((column, "gain") if column == "grade" else (column,))
)
#: Columns written as plain digits, never neutralised.
_NUMERIC = frozenset({"grade", "gain", "unsure"})


def judgements_frame(
    store,
    dataset: str,
    *,
    query: str | None = None,
    posts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The store's current grades as an export table.

    Args:
        store: a :class:`core.labels.store.LabelStore`.
        dataset: dataset hash.
        query: only this query text (optional).
        posts: the post table (``core.schema``); adds a ``text`` column.

    Returns:
        DataFrame with :data:`JUDGEMENT_COLUMNS` (+ ``text``): ``grade`` and
        ``gain`` Int64 (``<NA>`` for skips), ``unsure`` bool.
    """
    df = store.grades(dataset, query)
    df["gain"] = (df["grade"] - 1).astype("Int64")
    df = df[list(JUDGEMENT_COLUMNS)]
    if posts is not None:
        texts = dict(zip(posts["post_id"].astype(str), posts["text"]))
        df = df.assign(text=df["post_id"].map(texts))
    return df.reset_index(drop=True)


def write_judgements_csv(judgements: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write judgements as CSV in UTF-8 with BOM, every text cell neutralised.

    Args:
        judgements: as returned by :func:`judgements_frame`.
        path: output file (its folder is created).

    Returns:
        The path written.
    """
    flags = judgements
    if "unsure" in judgements.columns:
        unsure = judgements["unsure"].map(lambda v: pd.NA if is_missing(v) or v == "" else int(bool(v)))
        flags = judgements.assign(unsure=unsure.astype("Int64"))
    return write_table(flags, path, format="csv", formula_safe=True, plain_columns=_NUMERIC)


def write_judgements_jsonl(judgements: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write judgements as JSON Lines (UTF-8, no BOM, ``ensure_ascii=False``).

    Missing values become ``null``; ``grade``/``gain`` ints, ``unsure`` bool.
    """
    def typed(key, value):
        if is_missing(value):
            return None
        if key in ("grade", "gain"):
            return int(value)
        return bool(value) if key == "unsure" else str(value)

    return write_jsonl(({k: typed(k, v) for k, v in record.items()}
                        for record in judgements.to_dict(orient="records")), path)

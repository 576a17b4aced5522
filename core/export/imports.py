"""Reading judgements back and importing them (or TREC qrels) into a label store.

Reads what :mod:`core.export.judgements` writes: CSV text cells are
un-neutralised (:func:`core.tables.unneutralise`), a CSV that a spreadsheet
re-saved without the BOM, or in GB18030, is read too; JSONL one object per line.
An import writes only grades that differ from the store's current ones and
reports the grades it replaced, so they can be imported back (an undo).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from core.errors import ColumnError, InputFileError, SieveError
from core.labels.grades import GRADE_SCALE
from core.tables import SUFFIX_FORMATS, unneutralise

logger = logging.getLogger(__name__)

#: Columns read as numbers, never un-neutralised.
_NUMERIC = frozenset({"grade", "gain", "unsure"})


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputFileError(f"The file {path} does not exist. Check the path.") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError:
            raise InputFileError(
                f"The file {path} is neither UTF-8 nor GB18030 text. Save it as 'CSV UTF-8' and try again."
            ) from None
        logger.warning("%s is not UTF-8; read it as GB18030 (a spreadsheet re-saved it?)", path)
        return text


def _normalise(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    if "post_id" not in df.columns or ("query_id" not in df.columns and "query" not in df.columns):
        raise ColumnError(
            f"The judgements file {path} needs the columns post_id and query_id (or query); "
            f"it has {', '.join(map(str, df.columns))}. Export judgements from Sieve to see the layout."
        )
    if "grade" not in df.columns:
        if "gain" not in df.columns:
            raise ColumnError(f"The judgements file {path} has neither a grade nor a gain column.")
        df["grade"] = pd.to_numeric(df["gain"], errors="coerce") + 1
    raw = df["grade"].astype(object)
    empty = raw.isna() | (raw.astype(str).str.strip() == "")
    grades = pd.to_numeric(raw.where(~empty, None), errors="coerce")
    bad = ~empty & grades.isna()
    bad |= grades.notna() & ~grades.isin(list(GRADE_SCALE))
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise InputFileError(
            f"{path}, data row {i + 1}, column grade: expected an integer 1-5 or empty (skip); "
            f"found {df['grade'].iloc[i]!r}."
        )
    df["grade"] = grades.astype("Int64")
    if "gain" in df.columns:  # Sieve writes both; a spreadsheet edit may have changed only one
        gains = pd.to_numeric(df["gain"].astype(object).where(df["gain"].astype(str).str.strip() != "", None),
                              errors="coerce")
        clash = gains.notna() & df["grade"].notna() & (gains != df["grade"].astype("float64") - 1)
        if clash.any():
            i = int(clash.to_numpy().nonzero()[0][0])
            raise InputFileError(
                f"{path}, data row {i + 1}: the columns grade and gain disagree (grade "
                f"{int(df['grade'].iloc[i])} means gain {int(df['grade'].iloc[i]) - 1}; found gain "
                f"{df['gain'].iloc[i]!r}). Correct one of them, or delete the gain column to import the grades."
            )
    df["gain"] = (df["grade"] - 1).astype("Int64")
    if "unsure" in df.columns:
        df["unsure"] = df["unsure"].map(
            lambda v: str(v).strip().lower() in ("1", "true", "yes", "y") if v is not None else False
        ).astype(bool)
    else:
        df["unsure"] = False
    for column in ("dataset", "query_id", "query", "post_id", "annotator", "note", "graded_at", "source"):
        if column in df.columns:
            df[column] = df[column].map(lambda v: None if v is None or pd.isna(v) or v == "" else str(v))
    return df


def read_judgements(path: str | os.PathLike, *, format: str | None = None) -> pd.DataFrame:
    """Read a judgements CSV or JSONL written by Sieve (or laid out the same way).

    CSV text cells are un-neutralised (see the module docstring); a CSV that a
    spreadsheet re-saved without the BOM, or in GB18030, is read too.

    Args:
        path: the file.
        format: ``"csv"`` or ``"jsonl"``; default from the extension
            (``.jsonl``/``.json`` -> JSONL, else CSV).

    Returns:
        DataFrame with the file's columns; ``grade``/``gain`` Int64 (<NA> = skip),
        ``unsure`` bool, IDs as str.

    Raises:
        InputFileError: unreadable file, bad JSON line, or a grade outside 1-5
            (naming the row).
        ColumnError: when ``post_id`` or ``query_id``/``query`` is missing.
    """
    path = Path(path)
    fmt = (format or ("jsonl" if SUFFIX_FORMATS.get(path.suffix.lower()) == "jsonl" else "csv")).lower()
    text = _read_text(path)
    if fmt == "jsonl":
        records = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputFileError(f"{path}, line {lineno}: not valid JSON ({exc.msg}).") from None
            if not isinstance(obj, dict):
                raise InputFileError(f"{path}, line {lineno}: expected a JSON object per line.")
            records.append(obj)
        df = pd.DataFrame.from_records(records)
    elif fmt == "csv":
        rows = list(csv.reader(io.StringIO(text, newline="")))
        if not rows:
            raise InputFileError(f"The judgements file {path} is empty.")
        header = [unneutralise(h.strip()) for h in rows[0]]
        body = []
        for i, row in enumerate(rows[1:], start=2):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise InputFileError(
                    f"{path}, line {i}: expected {len(header)} cells like the header, found {len(row)}."
                )
            body.append([cell if col in _NUMERIC else unneutralise(cell) for col, cell in zip(header, row)])
        df = pd.DataFrame(body, columns=header, dtype=object)
    else:
        raise SieveError(f"The judgements format must be 'csv' or 'jsonl'. Got {format!r} instead.")
    if df.empty:
        raise InputFileError(f"The judgements file {path} holds no rows.")
    return _normalise(df, path)


@dataclass
class ImportReport:
    """What an import did.

    Attributes:
        n_rows: rows (or qrels lines) read.
        n_written: grades written (each also added to the history).
        n_unchanged: rows equal to the current grade (not rewritten, so
            importing the same file twice adds no history).
        datasets: dataset hashes touched.
        annotators: annotators touched.
        source: the ``source`` recorded with the grades.
        replaced: the current grades the import replaced with a different value, as
            judgement rows (:data:`JUDGEMENT_COLUMNS` less ``gain``, plus ``new_grade``):
            what was there before, so it can be written out and imported back (an undo).
    """

    n_rows: int = 0
    n_written: int = 0
    n_unchanged: int = 0
    datasets: list[str] = field(default_factory=list)
    annotators: list[str] = field(default_factory=list)
    source: str = ""
    replaced: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return asdict(self)


def _blank(value) -> str | None:
    """``None`` for None, NaN/NA and ""; else the value as str."""
    if value is None or value == "" or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(value)


def _same(current: dict | None, grade, unsure: bool, note) -> bool:
    return (
        current is not None
        and (None if pd.isna(current["grade"]) else int(current["grade"])) == grade
        and bool(current["unsure"]) == bool(unsure)
        and _blank(current["note"]) == _blank(note)
    )


def import_judgements(
    store,
    judgements: pd.DataFrame,
    *,
    dataset: str | None = None,
    annotator: str | None = None,
    source: str = "import",
    keep_times: bool = True,
) -> ImportReport:
    """Write judgements (from :func:`read_judgements`) into a label store.

    Each row becomes a grade of its (dataset, query, post, annotator), written
    with :meth:`LabelStore.set_grades` (transactions of 1,000 grades, each
    also added to the history); rows equal to the current grade are skipped.
    Rows are written in ``graded_at`` order, so the latest row wins.

    Args:
        store: a :class:`core.labels.store.LabelStore`.
        judgements: table with ``post_id``, ``query_id`` and/or ``query``,
            ``grade`` (Int64, <NA> = skip) and optionally ``dataset``,
            ``annotator``, ``unsure``, ``note``, ``graded_at``.
        dataset: dataset hash for every row (overrides the file's column;
            required when the file has none).
        annotator: annotator for rows without one (default ``"import"``).
        source: recorded with each grade, e.g. ``"import:judgements.csv"``.
        keep_times: keep the file's ``graded_at`` (default) instead of now.

    Returns:
        An :class:`ImportReport`.

    Raises:
        ColumnError: when no dataset is given and the table has no dataset column.
    """
    df = judgements.copy()
    if dataset is not None:
        df["dataset"] = dataset
    if "dataset" not in df.columns or df["dataset"].isna().any():
        raise ColumnError(
            "The judgements have no dataset for some rows. Name the dataset (--dataset) to import them into."
        )
    default_annotator = annotator or "import"
    if "annotator" not in df.columns:
        df["annotator"] = default_annotator
    df["annotator"] = df["annotator"].fillna(default_annotator)
    for column in ("query", "query_id", "note", "graded_at"):
        if column not in df.columns:
            df[column] = None
    if keep_times and df["graded_at"].notna().any():
        df = df.sort_values("graded_at", kind="stable", na_position="first")
    report = ImportReport(n_rows=len(df), source=source)
    current: dict[tuple, dict] = {}
    for ds in df["dataset"].unique():
        for rec in store.grades(ds).to_dict(orient="records"):
            current[(ds, rec["query_id"], rec["post_id"], rec["annotator"])] = rec
    from core.ids import query_id_for

    pending = []
    for i, rec in enumerate(df.to_dict(orient="records"), start=1):
        grade = None if pd.isna(rec["grade"]) else int(rec["grade"])
        if not _blank(rec["query_id"]) and not _blank(rec["query"]):
            raise ColumnError(f"Judgement row {i} (post {rec['post_id']!r}) has neither a query_id nor a query.")
        qid = _blank(rec["query_id"]) or query_id_for(rec["query"])
        key = (rec["dataset"], qid, str(rec["post_id"]), rec["annotator"])
        before = current.get(key)
        if _same(before, grade, rec.get("unsure", False), rec["note"]):
            report.n_unchanged += 1
            continue
        if before is not None:
            report.replaced.append({
                "dataset": key[0], "query_id": qid, "query": before["query"], "post_id": key[2],
                "annotator": key[3], "grade": None if pd.isna(before["grade"]) else int(before["grade"]),
                "unsure": bool(before["unsure"]), "note": _blank(before["note"]),
                "graded_at": before["graded_at"], "source": before["source"], "new_grade": grade,
            })
        pending.append({
            "dataset": rec["dataset"], "query": _blank(rec["query"]), "post_id": str(rec["post_id"]),
            "grade": grade, "annotator": rec["annotator"], "note": _blank(rec["note"]),
            "unsure": bool(rec.get("unsure", False)), "query_id": qid,
            "at": _blank(rec["graded_at"]) if keep_times else None,
        })
    report.n_written = store.set_grades(pending, source=source)
    report.datasets = sorted(df["dataset"].unique().tolist())
    report.annotators = sorted(df["annotator"].unique().tolist())
    return report


def import_qrels(
    store,
    qrels: Mapping[str, Mapping[str, int]],
    *,
    dataset: str,
    annotator: str,
    queries: Mapping[str, str] | None = None,
    source: str = "import:qrels",
) -> ImportReport:
    """Write TREC qrels into a label store as grades ``gain + 1``.

    Args:
        store: a :class:`core.labels.store.LabelStore`.
        qrels: ``{q_id: {post_id: gain}}`` with gains 0-4.
        dataset: dataset hash the posts belong to.
        annotator: the name the grades are recorded under (qrels carry none).
        queries: optional ``{q_id: query text}``; an unknown query is stored
            with its ID as text until a later grade names its text.
        source: recorded with each grade.

    Returns:
        An :class:`ImportReport`.

    Raises:
        SieveError: for a gain outside 0-4 (such qrels cannot become 1-5
            grades; evaluate them directly with ``evaluate --qrels``).
    """
    for qid, docs in qrels.items():
        for doc, gain in docs.items():
            if not 0 <= int(gain) <= 4:
                raise SieveError(
                    f"The qrels gain {gain} of post {doc!r} for query {qid!r} is outside 0-4, the range of "
                    "Sieve's grades 1-5 (gain = grade - 1). Such qrels can be used as they are with "
                    "'python -m core evaluate --qrels FILE', but not imported as grades."
                )
    known = store.queries(dataset) if dataset in set(store.datasets()["dataset"]) else None
    texts = dict(zip(known["query_id"], known["query"])) if known is not None else {}
    rows = [
        {"dataset": dataset, "query_id": str(q), "query": (queries or {}).get(q) or texts.get(q) or str(q),
         "post_id": str(d), "annotator": annotator, "grade": int(g) + 1, "unsure": False, "note": None,
         "graded_at": None}
        for q, docs in qrels.items() for d, g in docs.items()
    ]
    df = pd.DataFrame(rows)
    df["grade"] = df["grade"].astype("Int64")
    return import_judgements(store, df, source=source, keep_times=False)

"""Qrels and runs, as ranx keeps them: built from grades and rankings, read and written as TREC files.

Vocabulary (ranx's): ``qrels = {q_id: {doc_id: gain}}`` (int gains; 0 or less
is not relevant), ``run = {q_id: {doc_id: score}}`` (higher is better).

* qrels from grades (:func:`grades_to_qrels`): an analyst's grade 1-5 becomes
  gain ``grade - 1`` (0-4); a run from rankings (:func:`ranking_to_run`).
* TREC qrels file: one line per judged post, ``q_id 0 doc_id gain`` (4 fields
  separated by whitespace; the second is the unused "iteration" column). The
  gain is an integer; 0 or less means not relevant.
* TREC run file: one line per retrieved post, ``q_id Q0 doc_id rank score
  run_name``, rank 1 = best, scores decreasing down the ranks.

Files are UTF-8 without BOM (a BOM on the first line is tolerated on read).
IDs cannot contain whitespace in these formats; writing one raises.

Both ``core.evaluate`` (metrics) and ``core.export`` (files, bundles) build on
this module; ``core.export.trec`` re-exports its readers and writers.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from core.errors import InputFileError, SieveError

logger = logging.getLogger(__name__)

#: The grade -> gain mapping of label-store grades, as recorded in every result.
GAIN_MAPPING_GRADES = "gain = grade - 1 (grades 1-5 -> gains 0-4)"
#: How a TREC qrels file's numbers are used.
GAIN_MAPPING_TREC = "gain as written in the qrels file"
#: Default relevance threshold for label-store grades: grade >= 4, i.e. gain >= 3.
DEFAULT_REL_LEVEL_GRADES = 3
#: Default relevance threshold for TREC qrels files: gain >= 1 (trec_eval's).
DEFAULT_REL_LEVEL_TREC = 1


def grades_to_qrels(grades: pd.DataFrame, *, gain: str = "grade-1") -> dict[str, dict[str, int]]:
    """Qrels from label-store grades: one gain per (query, post).

    Args:
        grades: either the store's grades (one row per annotator, columns
            ``query_id, post_id, annotator, grade``; aggregated first with
            :func:`core.labels.aggregate.aggregate_grades`) or an aggregate
            (one row per ``query_id, post_id``, column ``grade``). Rows without
            a grade (skips) are left out: those posts stay unjudged.
        gain: ``"grade-1"`` (the only mapping: grade 1-5 -> gain 0-4).

    Returns:
        ``{query_id: {post_id: gain}}`` with int gains 0-4.

    Raises:
        SieveError: for another ``gain`` or a table without the needed columns.
    """
    if gain != "grade-1":
        raise SieveError(f"The gain mapping must be 'grade-1'. Got {gain!r} instead.")
    if "annotator" in grades.columns:
        from core.labels.aggregate import aggregate_grades

        grades = aggregate_grades(grades)
    missing = [c for c in ("query_id", "post_id", "grade") if c not in grades.columns]
    if missing:
        raise SieveError(f"The grades table lacks the column(s) {', '.join(missing)}.")
    qrels: dict[str, dict[str, int]] = {}
    for qid, pid, grade in grades[["query_id", "post_id", "grade"]].itertuples(index=False):
        if pd.isna(grade):
            continue
        qrels.setdefault(str(qid), {})[str(pid)] = int(grade) - 1
    return qrels


def ranking_to_run(rankings, *, query_ids: Mapping[str, str] | None = None) -> dict[str, dict[str, float]]:
    """A TREC-style run from one or several ``core.rerank.pipeline.Ranking``.

    Duck-typed: any object with ``.query`` (text) and ``.to_run()`` (``{post_id:
    score}``) works. The query ID is ``query_ids[query]`` when given, else
    :func:`core.ids.query_id_for` (the label store's ID).

    Returns:
        ``{q_id: {post_id: score}}``; NaN scores (unscored posts) are dropped.
    """
    from core.ids import query_id_for

    if hasattr(rankings, "to_run"):
        rankings = [rankings]
    run: dict[str, dict[str, float]] = {}
    for ranking in rankings:
        qid = (query_ids or {}).get(ranking.query) or query_id_for(ranking.query)
        scores = {str(p): float(s) for p, s in ranking.to_run().items() if s is not None and not math.isnan(s)}
        run.setdefault(qid, {}).update(scores)
    return run


def _check_id(kind: str, value, path: Path) -> str:
    text = str(value)
    if not text or any(ch.isspace() for ch in text):
        raise SieveError(
            f"Cannot write {path}: the {kind} {text!r} is empty or contains whitespace, which the TREC "
            "format cannot hold. Use IDs without spaces (post IDs from Sieve's ingest have none)."
        )
    return text


def _lines(path: Path):
    try:
        with open(path, encoding="utf-8-sig", newline=None) as fh:
            yield from enumerate(fh, start=1)
    except FileNotFoundError:
        raise InputFileError(f"The file {path} does not exist. Check the path.") from None
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"The file {path} is not UTF-8 text ({exc.reason} at byte {exc.start}). "
            "Save it as UTF-8 and try again."
        ) from None


def write_qrels(qrels: Mapping[str, Mapping[str, int]], path: str | os.PathLike) -> Path:
    """Write TREC qrels, ``q_id 0 doc_id gain`` per line, sorted by query then post ID.

    Args:
        qrels: ``{q_id: {doc_id: gain}}``; gains are written as integers.
        path: output file (its folder is created).

    Returns:
        The path written.

    Raises:
        SieveError: for an ID with whitespace or a non-integer gain.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for qid in sorted(qrels, key=str):
        q = _check_id("query ID", qid, path)
        for doc in sorted(qrels[qid], key=str):
            gain = qrels[qid][doc]
            if float(gain) != int(gain):
                raise SieveError(f"Cannot write {path}: the gain {gain!r} of post {doc!r} is not an integer.")
            out.append(f"{q} 0 {_check_id('post ID', doc, path)} {int(gain)}\n")
    path.write_text("".join(out), encoding="utf-8")
    return path


def read_qrels(path: str | os.PathLike) -> dict[str, dict[str, int]]:
    """Read a TREC qrels file (``q_id iter doc_id gain``).

    Blank lines are skipped. A post judged twice for one query keeps the last line.

    Returns:
        ``{q_id: {doc_id: gain}}`` with int gains, as written (no mapping).

    Raises:
        InputFileError: naming the file and line when a line does not have 4
            fields or its gain is not an integer.
    """
    path = Path(path)
    qrels: dict[str, dict[str, int]] = {}
    for lineno, line in _lines(path):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 4:
            raise InputFileError(
                f"{path}, line {lineno}: a TREC qrels line has 4 fields 'q_id 0 doc_id gain'; "
                f"found {len(fields)}: {line.strip()[:80]!r}. Is this a run file? Use it as --run."
            )
        qid, _, doc, gain = fields
        try:
            value = int(gain)
        except ValueError:
            try:
                as_float = float(gain)
            except ValueError:
                as_float = math.nan
            if not as_float.is_integer():
                raise InputFileError(
                    f"{path}, line {lineno}: the gain (4th field) must be an integer; found {gain!r}."
                ) from None
            value = int(as_float)
        qrels.setdefault(qid, {})[doc] = value
    if not qrels:
        raise InputFileError(f"The qrels file {path} holds no judgement lines.")
    return qrels


def write_run(
    run: Mapping[str, Mapping[str, float]],
    path: str | os.PathLike,
    *,
    name: str = "sieve",
    k: int | None = None,
) -> Path:
    """Write a TREC run, ``q_id Q0 doc_id rank score run_name`` per line.

    Within a query, posts are ranked by score, highest first (ties keep the
    order of ``run``); NaN scores (unscored posts) are left out. Scores are
    written with :func:`repr` so they read back exactly.

    Args:
        run: ``{q_id: {doc_id: score}}``.
        path: output file (its folder is created).
        name: the run tag (6th field), e.g. the mode name; whitespace becomes ``_``.
        k: keep only the top ``k`` posts per query (default all).

    Returns:
        The path written.

    Raises:
        SieveError: for a query or post ID with whitespace.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tag = re.sub(r"\s+", "_", str(name).strip()) or "sieve"
    if tag != name:
        logger.info("run name %r written as %r (TREC run tags cannot hold whitespace)", name, tag)
    out = []
    for qid in sorted(run, key=str):
        q = _check_id("query ID", qid, path)
        items = [(str(d), float(s)) for d, s in run[qid].items() if not math.isnan(float(s))]
        items.sort(key=lambda item: -item[1])
        for rank, (doc, score) in enumerate(items[:k] if k else items, start=1):
            out.append(f"{q} Q0 {_check_id('post ID', doc, path)} {rank} {score!r} {tag}\n")
    path.write_text("".join(out), encoding="utf-8")
    return path


def read_runs(path: str | os.PathLike) -> dict[str, dict[str, dict[str, float]]]:
    """Read a TREC run file, grouped by run tag (a file may hold several runs).

    Returns:
        ``{run_name: {q_id: {doc_id: score}}}`` in file order.

    Raises:
        InputFileError: naming the file and line for a line without 6 fields
            or with a non-numeric score.
    """
    path = Path(path)
    runs: dict[str, dict[str, dict[str, float]]] = {}
    for lineno, line in _lines(path):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 6:
            raise InputFileError(
                f"{path}, line {lineno}: a TREC run line has 6 fields 'q_id Q0 doc_id rank score run_name'; "
                f"found {len(fields)}: {line.strip()[:80]!r}. Is this a qrels file? Use it as --qrels."
            )
        qid, _, doc, _, score, tag = fields
        try:
            value = float(score)
        except ValueError:
            raise InputFileError(
                f"{path}, line {lineno}: the score (5th field) must be a number; found {score!r}."
            ) from None
        runs.setdefault(tag, {}).setdefault(qid, {})[doc] = value
    if not runs:
        raise InputFileError(f"The run file {path} holds no lines.")
    return runs


def read_run(path: str | os.PathLike) -> dict[str, dict[str, float]]:
    """Read a TREC run file holding one run.

    Returns:
        ``{q_id: {doc_id: score}}``.

    Raises:
        InputFileError: as :func:`read_runs`, or when the file holds several run tags.
    """
    runs = read_runs(path)
    if len(runs) > 1:
        raise InputFileError(
            f"The run file {path} holds {len(runs)} runs ({', '.join(runs)}); read it with read_runs()."
        )
    return next(iter(runs.values()))

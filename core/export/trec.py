"""TREC qrels and run files, as trec_eval and ranx read them.

* qrels: one line per judged post, ``q_id 0 doc_id gain`` (4 fields separated
  by whitespace; the second is the unused "iteration" column). The gain is an
  integer; 0 or less means not relevant. Sieve writes ``gain = grade - 1``
  (0-4) from its 1-5 grades.
* run: one line per retrieved post, ``q_id Q0 doc_id rank score run_name``,
  rank 1 = best, scores decreasing down the ranks.

Files are UTF-8 without BOM (a BOM on the first line is tolerated on read).
IDs cannot contain whitespace in these formats; writing one raises.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path

from core.errors import InputFileError, SieveError

logger = logging.getLogger(__name__)


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

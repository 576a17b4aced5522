"""What a grade is: the 1-5 scale, the columns of a grade table, and the checks every write passes.

:class:`core.labels.store.LabelStore` and :mod:`core.labels.assign` validate
through these functions; exports, aggregation and the Grade page read the scale
from :data:`GRADE_SCALE`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import pandas as pd

from core.errors import SieveError

#: The grade scale (grade -> meaning): 1 = not relevant ... 5 = perfectly relevant; the qrels gain
#: is ``grade - 1`` (:func:`core.evaluate.trec.grades_to_qrels`). The one definition of the scale.
GRADE_SCALE: dict[int, str] = {
    1: "not relevant",
    2: "marginally relevant",
    3: "relevant",
    4: "highly relevant",
    5: "perfectly relevant",
}
#: Lowest and highest grade an analyst can give.
MIN_GRADE, MAX_GRADE = min(GRADE_SCALE), max(GRADE_SCALE)

#: Columns of the DataFrame returned by :meth:`LabelStore.grades`, in order.
GRADE_COLUMNS: tuple[str, ...] = (
    "dataset",
    "query_id",
    "query",
    "post_id",
    "annotator",
    "grade",
    "unsure",
    "note",
    "graded_at",
    "source",
)

#: Columns of :meth:`LabelStore.history`.
HISTORY_COLUMNS: tuple[str, ...] = (
    "seq",
    "dataset",
    "query_id",
    "post_id",
    "annotator",
    "action",
    "grade",
    "unsure",
    "note",
    "graded_at",
    "source",
)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _as_time(at: datetime | str | None) -> str:
    if at is None:
        return _now()
    if isinstance(at, datetime):
        if at.tzinfo is None:
            at = at.replace(tzinfo=timezone.utc)
        return at.astimezone(timezone.utc).isoformat(timespec="microseconds")
    text = str(at).strip()
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise SieveError(
            f"The grading time must be an ISO-8601 time such as 2025-01-31T08:00:00+00:00. Got {at!r} instead."
        ) from None
    return text


def _check_grade(grade) -> int | None:
    if grade is None:
        return None
    try:
        if pd.isna(grade):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(grade, str):
        grade = grade.strip()
        if grade == "":
            return None
        grade = int(grade) if grade.lstrip("-").isdigit() else grade
    try:
        value = int(grade)
    except (TypeError, ValueError):
        raise SieveError(
            f"A grade must be an integer from {MIN_GRADE} to {MAX_GRADE}, or None to skip. Got {grade!r} instead."
        ) from None
    if value != grade or not MIN_GRADE <= value <= MAX_GRADE:
        raise SieveError(
            f"A grade must be an integer from {MIN_GRADE} to {MAX_GRADE}, or None to skip. Got {grade!r} instead."
        )
    return value


def _check_text(name: str, value) -> str:
    if value is None or not str(value).strip():
        raise SieveError(f"The {name} of a grade must be a non-empty string. Got {value!r} instead.")
    return str(value)


@dataclass(frozen=True)
class GradeKey:
    """What one grade is about: ``(dataset, query_id, post_id, annotator)``."""

    dataset: str
    query_id: str
    post_id: str
    annotator: str

"""One grade per (query, post) from several annotators, and their agreement.

Aggregation rule (:func:`aggregate_grades`), stated once here and shown in
the UI:

1. Each annotator counts with their latest grade only (the store keeps the
   latest; older ones are history).
2. Skips (no grade) are not grades.
3. Grades flagged "unsure" are left out, unless every grade of the post is
   unsure; then the unsure grades are used and the aggregate is flagged unsure.
4. The aggregate is the **low median** of the remaining grades
   (:func:`statistics.median_low`): the middle grade, and for an even count the
   lower of the two middle grades, so a disagreement never raises relevance
   and the result is always a grade someone gave. Example: 3, 4 -> 3;
   2, 4, 5 -> 4; 2, 5 -> 2.
5. A post that everyone skipped has no aggregate (``<NA>``) and counts as
   unjudged in evaluation.

Agreement (:func:`krippendorff_alpha`): Krippendorff's alpha with the ordinal
difference function (Krippendorff, "Content Analysis", 2nd ed., 2004, ch. 11;
the ``krippendorff`` package), over the latest non-skip grades of every
annotator (unsure ones included: they are still that person's judgement).
"""

from __future__ import annotations

import logging
import statistics
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from core.errors import MissingDependencyError, SieveError
from core.labels.grades import GRADE_SCALE

logger = logging.getLogger(__name__)

#: One sentence for the UI and every export's provenance.
AGGREGATION_RULE = (
    "low median of each annotator's latest grade, leaving out skips and grades flagged unsure "
    "(unless all grades of the post are unsure); for an even count the lower middle grade"
)

#: Columns of :func:`aggregate_grades`' result.
AGGREGATE_COLUMNS: tuple[str, ...] = (
    "query_id",
    "query",
    "post_id",
    "grade",
    "unsure",
    "n_grades",
    "n_annotators",
    "n_skips",
    "n_unsure",
    "min_grade",
    "max_grade",
)


def _latest(grades: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("query_id", "post_id", "annotator", "grade") if c not in grades.columns]
    if missing:
        raise SieveError(
            f"The grades table lacks the column(s) {', '.join(missing)}. "
            "Pass the table returned by LabelStore.grades() or read from a judgements file."
        )
    df = grades.copy()
    if "unsure" not in df.columns:
        df["unsure"] = False
    if "graded_at" in df.columns:
        df = df.sort_values("graded_at", kind="stable")
    return df.drop_duplicates(["query_id", "post_id", "annotator"], keep="last")


def aggregate_grades(grades: pd.DataFrame) -> pd.DataFrame:
    """Aggregate grade per (query, post) by the rule in this module's docstring.

    Args:
        grades: one row per grade with columns ``query_id, post_id, annotator,
            grade`` (1-5 or missing for a skip) and optionally ``query``,
            ``unsure`` and ``graded_at`` (when an annotator has several rows the
            latest ``graded_at``, else the last row, counts), e.g.
            :meth:`core.labels.store.LabelStore.grades`.

    Returns:
        DataFrame with :data:`AGGREGATE_COLUMNS`, one row per (query, post):
        ``grade`` Int64 1-5 (``<NA>`` when everyone skipped), ``unsure`` bool
        (the aggregate rests on unsure grades only), ``n_grades`` grades used,
        ``n_annotators`` annotators with any row, ``n_skips``, ``n_unsure``, and
        ``min_grade``/``max_grade`` over the non-skip grades (the spread shows
        disagreement).

    Raises:
        SieveError: when a needed column is missing.
    """
    df = _latest(grades)
    if "query" not in df.columns:
        df["query"] = df["query_id"]
    rows = []
    for (qid, pid), group in df.groupby(["query_id", "post_id"], sort=True):
        graded = group[group["grade"].notna()]
        values = graded["grade"].astype(int).tolist()
        sure = graded.loc[~graded["unsure"].astype(bool), "grade"].astype(int).tolist()
        use, unsure = (sure, False) if sure else (values, bool(values))
        rows.append(
            (
                qid,
                group["query"].iloc[0],
                pid,
                statistics.median_low(use) if use else pd.NA,
                unsure,
                len(use),
                group["annotator"].nunique(),
                int(group["grade"].isna().sum()),
                int(graded["unsure"].astype(bool).sum()),
                min(values) if values else pd.NA,
                max(values) if values else pd.NA,
            )
        )
    out = pd.DataFrame(rows, columns=list(AGGREGATE_COLUMNS))
    for column in ("grade", "min_grade", "max_grade"):
        out[column] = out[column].astype("Int64")
    out["unsure"] = out["unsure"].astype(bool)
    return out


@dataclass(frozen=True)
class Agreement:
    """Inter-annotator agreement of a set of grades.

    Attributes:
        alpha: Krippendorff's alpha in [-1, 1] (1 = perfect agreement, 0 = chance),
            or ``None`` when it is undefined (see ``reason``).
        level: the difference function, ``"ordinal"``.
        n_annotators: annotators with at least one non-skip grade.
        n_units: (query, post) pairs graded by two or more annotators (only
            these carry information about agreement).
        reason: why ``alpha`` is ``None``, else ``None``.
    """

    alpha: float | None
    level: str
    n_annotators: int
    n_units: int
    reason: str | None = None

    def to_dict(self) -> dict:
        """A JSON-ready dict of the fields."""
        return asdict(self)


def krippendorff_alpha(grades: pd.DataFrame, *, level: str = "ordinal") -> Agreement:
    """Krippendorff's alpha over the latest non-skip grades of each annotator.

    Args:
        grades: as for :func:`aggregate_grades`.
        level: ``"ordinal"`` (grades 1-5 are ordered, distances depend on how
            often the grades in between are used), or ``"nominal"``/``"interval"``.

    Returns:
        An :class:`Agreement`; ``alpha`` is ``None`` when fewer than two
        annotators graded the same post, or when every grade is the same
        value (expected disagreement 0, alpha 0/0).

    Raises:
        MissingDependencyError: when the ``krippendorff`` package is absent.
        SieveError: when a needed column is missing.
    """
    df = _latest(grades)
    df = df[df["grade"].notna()]
    annotators = sorted(df["annotator"].unique())
    per_unit = df.groupby(["query_id", "post_id"])["annotator"].nunique()
    shared = per_unit[per_unit >= 2].index
    n_units = len(shared)
    if len(annotators) < 2 or n_units == 0:
        return Agreement(None, level, len(annotators), n_units,
                         "needs two or more annotators who graded the same post")
    try:
        import krippendorff
    except ImportError as exc:
        raise MissingDependencyError(
            "Agreement needs the package 'krippendorff'. Run: pip install 'krippendorff>=0.8,<1'"
        ) from exc
    df = df.set_index(["query_id", "post_id"]).loc[shared].reset_index()
    matrix = df.pivot_table(index="annotator", columns=["query_id", "post_id"], values="grade",
                            aggfunc="last").reindex(annotators)
    data = matrix.to_numpy(dtype=float)
    if np.unique(data[~np.isnan(data)]).size < 2:
        return Agreement(None, level, len(annotators), n_units,
                         "every shared post got the same grade, so chance agreement is perfect too")
    alpha = krippendorff.alpha(reliability_data=data, value_domain=list(GRADE_SCALE),
                               level_of_measurement=level)
    return Agreement(float(alpha), level, len(annotators), n_units, None)

"""What a reviewer needs: disagreements, agreement per annotator, and qrels from a
chosen consensus.

* :func:`disagreements`: posts whose current grades differ by 2 or more, or that
  someone flagged unsure, with every annotator's grade side by side.
* :func:`annotator_report`: per annotator, the mean pairwise Krippendorff's alpha
  (ordinal) with each other annotator over the posts both graded, weighted by the
  number of shared posts; grades per hour of active grading; the share of grades
  flagged unsure.
* :func:`consensus_qrels`: one grade per post from the adjudicated grade, the
  majority or the mean (:data:`CONSENSUS_RULES`), to TREC qrels (gain = grade - 1).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd

from core.errors import SieveError
from core.labels.aggregate import aggregate_grades, krippendorff_alpha

#: A pause longer than this (seconds) between two grades is not counted as grading time.
ACTIVE_GAP_S = 300.0
#: How each consensus is made (one sentence each, recorded in provenance).
CONSENSUS_RULES = {
    "adjudicated": "the reviewer's adjudicated grade where there is one, else the majority grade",
    "majority": "the grade most annotators gave (latest, non-skip; ties go to the lower grade); "
                "unsure grades count only when all are unsure",
    "mean": "the mean of the annotators' latest non-skip grades, rounded half up; unsure grades count only "
            "when all are unsure",
}


def _current(grades: pd.DataFrame) -> pd.DataFrame:
    return grades[grades["grade"].notna()].copy()


def disagreements(grades: pd.DataFrame, *, min_spread: int = 2) -> pd.DataFrame:
    """Posts a reviewer should look at.

    Args:
        grades: the label store's grade table (``LabelStore.grades``), current grades.
        min_spread: a post is listed when max - min of its grades is at least this (>= 1).

    Returns:
        One row per (query_id, post_id) listed: ``query_id, query, post_id, spread,
        n_grades, unsure_by`` (comma-separated names), ``reason`` (``"grades differ by N"``
        and/or ``"flagged unsure"``), then one ``grade:<annotator>`` column (Int64) and
        one ``note:<annotator>`` column per annotator. Largest spread first.
    """
    g = _current(grades)
    flagged = grades[grades["unsure"].astype(bool)]
    base = ["query_id", "query", "post_id", "spread", "n_grades", "unsure_by", "reason"]
    if g.empty and flagged.empty:
        return pd.DataFrame(columns=base)
    stats = g.groupby(["query_id", "post_id"])["grade"].agg(lambda s: int(s.max() - s.min()))
    counts = g.groupby(["query_id", "post_id"])["grade"].size()
    unsure = flagged.groupby(["query_id", "post_id"])["annotator"].agg(lambda s: ", ".join(sorted(s)))
    keys = set(stats[stats >= max(1, int(min_spread))].index) | set(unsure.index)
    if not keys:
        return pd.DataFrame(columns=base)
    annotators = sorted(grades["annotator"].unique())
    queries = dict(zip(grades["query_id"], grades["query"], strict=False))
    rows = []
    for qid, pid in keys:
        spread = int(stats.get((qid, pid), 0))
        reasons = [f"grades differ by {spread}"] if spread >= max(1, int(min_spread)) else []
        if (qid, pid) in unsure.index:
            reasons.append("flagged unsure")
        part = grades[(grades["query_id"] == qid) & (grades["post_id"] == pid)].set_index("annotator")
        row = {"query_id": qid, "query": queries.get(qid), "post_id": pid, "spread": spread,
               "n_grades": int(counts.get((qid, pid), 0)), "unsure_by": unsure.get((qid, pid), ""),
               "reason": "; ".join(reasons)}
        for who in annotators:
            row[f"grade:{who}"] = part["grade"].get(who, pd.NA)
            row[f"note:{who}"] = part["note"].get(who) or ""
        rows.append(row)
    out = pd.DataFrame(rows)
    for who in annotators:
        out[f"grade:{who}"] = out[f"grade:{who}"].astype("Int64")
    return out.sort_values(["spread", "query_id", "post_id"], ascending=[False, True, True]).reset_index(drop=True)


def _grades_per_hour(times: pd.Series) -> float | None:
    t = pd.to_datetime(times, utc=True, format="ISO8601").sort_values()
    if len(t) < 2:
        return None
    gaps = t.diff().dt.total_seconds().dropna().clip(upper=ACTIVE_GAP_S)
    active_h = float(gaps.sum()) / 3600.0
    return (len(t) - 1) / active_h if active_h > 0 else None


def annotator_report(grades: pd.DataFrame, history: pd.DataFrame | None = None) -> pd.DataFrame:
    """Agreement, speed and doubt per annotator.

    Args:
        grades: current grades (``LabelStore.grades``).
        history: every write (``LabelStore.history``) for the speed; default: the current
            grades' times.

    Returns:
        One row per annotator: ``annotator, n_graded, n_skipped, share_unsure`` (of graded,
        in [0, 1]), ``alpha_with_others`` (mean pairwise ordinal Krippendorff's alpha
        weighted by shared posts; NaN when no pair has one: fewer than two shared posts
        or no variation), ``n_shared`` (posts graded by this and another annotator),
        ``grades_per_hour`` (grades given over active time, pauses over
        :data:`ACTIVE_GAP_S` not counted; NaN with fewer than two grades).
    """
    cols = ["annotator", "n_graded", "n_skipped", "share_unsure", "alpha_with_others", "n_shared",
            "grades_per_hour"]
    if grades.empty:
        return pd.DataFrame(columns=cols)
    g = _current(grades)
    names = sorted(grades["annotator"].unique())
    pair_alpha: dict[tuple[str, str], tuple[float, int]] = {}
    for a, b in itertools.combinations(names, 2):
        both = g[g["annotator"].isin([a, b])]
        per = both.groupby(["query_id", "post_id"])["annotator"].nunique()
        n = int((per == 2).sum())
        if n >= 2:
            alpha = krippendorff_alpha(both).alpha
            if alpha is not None and not math.isnan(alpha):
                pair_alpha[(a, b)] = (alpha, n)
    times = history[history["action"] == "set"] if history is not None and len(history) else grades
    rows = []
    for who in names:
        mine = grades[grades["annotator"] == who]
        graded = mine[mine["grade"].notna()]
        pairs = [(al, n) for (a, b), (al, n) in pair_alpha.items() if who in (a, b)]
        alpha = (sum(al * n for al, n in pairs) / sum(n for _, n in pairs)) if pairs else np.nan
        keys = set(zip(graded["query_id"], graded["post_id"], strict=False))
        others = g[g["annotator"] != who]
        shared = len(keys & set(zip(others["query_id"], others["post_id"], strict=False)))
        rows.append((who, len(graded), len(mine) - len(graded),
                     float(graded["unsure"].mean()) if len(graded) else np.nan, alpha, shared,
                     _grades_per_hour(times.loc[times["annotator"] == who, "graded_at"]) or np.nan))
    return pd.DataFrame(rows, columns=cols)


def consensus_grades(grades: pd.DataFrame, adjudications: pd.DataFrame | None = None, *,
                     rule: str = "adjudicated") -> pd.DataFrame:
    """One grade per (query, post) by ``rule`` (:data:`CONSENSUS_RULES`).

    Returns:
        DataFrame ``query_id, post_id, grade`` (int 1-5), ``source`` (``"adjudicated"``,
        ``"majority"`` or ``"mean"``); posts everyone skipped are left out.

    Raises:
        SieveError: an unknown rule.
    """
    if rule not in CONSENSUS_RULES:
        raise SieveError(f"The consensus rule must be one of {', '.join(CONSENSUS_RULES)}. Got {rule!r} instead.")
    g = _current(grades)
    rows: dict[tuple[str, str], tuple[int, str]] = {}
    for (qid, pid), part in g.groupby(["query_id", "post_id"]):
        sure = part[~part["unsure"].astype(bool)]
        use = (sure if len(sure) else part)["grade"].astype(int)
        if rule == "mean":
            rows[(qid, pid)] = (math.floor(use.mean() + 0.5), "mean")
        else:
            counts = use.value_counts()
            top = counts[counts == counts.max()].index.min()
            rows[(qid, pid)] = (int(top), "majority")
    if rule == "adjudicated" and adjudications is not None:
        for r in adjudications.itertuples(index=False):
            rows[(r.query_id, str(r.post_id))] = (int(r.grade), "adjudicated")
    return pd.DataFrame([(q, p, gr, s) for (q, p), (gr, s) in sorted(rows.items())],
                        columns=["query_id", "post_id", "grade", "source"])


def consensus_qrels(grades: pd.DataFrame, adjudications: pd.DataFrame | None = None, *,
                    rule: str = "adjudicated") -> tuple[dict[str, dict[str, int]], dict]:
    """TREC qrels (gain = grade - 1) from :func:`consensus_grades`, with their provenance.

    Returns:
        ``(qrels, provenance)``: ``{q_id: {post_id: gain}}`` and a dict ``{"qrels_from":
        rule, "rule": sentence, "n_judged": int, "by_source": {source: count}}``.
    """
    c = consensus_grades(grades, adjudications, rule=rule)
    qrels: dict[str, dict[str, int]] = {}
    for r in c.itertuples(index=False):
        qrels.setdefault(str(r.query_id), {})[str(r.post_id)] = int(r.grade) - 1
    prov = {"qrels_from": rule, "rule": CONSENSUS_RULES[rule], "gain": "grade - 1", "n_judged": len(c),
            "by_source": {k: int(v) for k, v in c["source"].value_counts().items()}}
    return qrels, prov


__all__ = ["ACTIVE_GAP_S", "CONSENSUS_RULES", "aggregate_grades", "annotator_report", "consensus_grades",
           "consensus_qrels", "disagreements"]

"""Metric names in ranx notation (``"ndcg@10"``, ``"precision@5"``, ``"mrr"``) and what they say.

Pure functions over the names; no metric is computed here (see :mod:`core.evaluate.metrics`).
"""

from __future__ import annotations

from collections.abc import Iterable


def cutoff(metric: str) -> int | None:
    """The cut-off k of one metric name: ``"ndcg@10"`` -> 10; ``None`` without a positive ``@k``
    (``"mrr"``, ``"map"``, ``"ndcg@x"``)."""
    _, _, k = str(metric).partition("@")
    return int(k) if k.isdigit() and int(k) > 0 else None


def evaluation_depth(metrics: Iterable[str] | None, default: int = 10) -> int:
    """The cut-off k the Evaluate page reports: the largest ``@k`` among ``metrics``
    (ranx notation, e.g. ``ndcg@10``), or ``default`` when none has one.

    This is the depth of the grading pool (:func:`core.labels.pool.grading_queue`): every post a
    metric@k looks at gets a grade first.
    """
    ks = [k for k in map(cutoff, metrics or ()) if k is not None]
    return max(ks) if ks else default

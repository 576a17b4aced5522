"""Cluster, then rerank: how relevant each cluster is to a query.

Every post is scored once against the query through the reranking engine
(any :class:`core.rerank.base.RelevanceScorer`, e.g. a cached Qwen3 reranker),
then the scores are summarised per cluster.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from core.cluster.names import NOISE_NAME
from core.errors import ColumnError, ParameterError
from core.rerank.base import CancelCallback, ProgressCallback, RelevanceScorer
from core.schema import scorable_mask

logger = logging.getLogger(__name__)

#: Columns of the table :func:`rerank_within_clusters` returns.
CLUSTER_RELEVANCE_COLUMNS = (
    "cluster", "name", "size", "n_scored", "mean_relevance", "max_relevance",
    "top_post_ids", "top_scores", "top_texts",
)


def rerank_within_clusters(
    posts: pd.DataFrame,
    labels: np.ndarray,
    *,
    scorer: RelevanceScorer,
    query: str,
    instruction: str | None = None,
    top_n: int = 3,
    names: dict[int, str] | None = None,
    progress: ProgressCallback | None = None,
    should_cancel: CancelCallback | None = None,
) -> pd.DataFrame:
    """Score every post for ``query`` and report each cluster's relevance.

    Args:
        posts: post table (``core.schema``) with at least ``post_id`` and
            ``text``; rows whose ``scorable`` is False (when the column exists)
            are counted but not scored.
        labels: int array of shape (len(posts),), -1 = noise.
        scorer: the reranking backend.
        query: the analyst's query.
        instruction: the mode's instruction (``None``: the model's default).
        top_n: posts listed per cluster, best first (>= 1).
        names: optional ``{cluster: name}``; default ``"cluster {id}"``.
        progress, should_cancel: passed to ``scorer.predict``.

    Returns:
        DataFrame with columns :data:`CLUSTER_RELEVANCE_COLUMNS`, one row per
        cluster, sorted by mean relevance (best first, NaN last) with noise
        (``name == "unclustered"``) always last. ``mean_relevance`` and
        ``max_relevance`` are float in [0, 1] (the scorer's relevance score),
        NaN for a cluster with no scorable post; ``top_*`` are lists.

    Raises:
        ColumnError: ``posts`` lacks ``post_id`` or ``text``.
        ValueError: ``labels`` does not align with ``posts``, or ``top_n`` < 1.
        core.errors.Cancelled: when ``should_cancel()`` returned True.
    """
    missing = [c for c in ("post_id", "text") if c not in posts.columns]
    if missing:
        raise ColumnError(f"rerank_within_clusters needs the post-table columns {missing}; run ingest first.")
    labels = np.asarray(labels, dtype=np.int64)
    if labels.shape != (len(posts),):
        raise ParameterError(f"labels has shape {labels.shape}; expected ({len(posts)},) to match the posts.")
    if isinstance(top_n, bool) or not isinstance(top_n, (int, np.integer)) or top_n < 1:
        raise ParameterError(f"The 'top_n' parameter must be an int >= 1. Got {top_n!r} instead.")
    texts = posts["text"].fillna("").astype(str).to_numpy()
    ok = texts != ""
    if (scorable := scorable_mask(posts)) is not None:
        ok &= scorable
    scores = np.full(len(posts), np.nan, dtype=np.float32)
    idx = np.flatnonzero(ok)
    if idx.size:
        result = scorer.predict(query, [texts[i] for i in idx], instruction=instruction,
                                progress=progress, should_cancel=should_cancel)
        scores[idx] = np.asarray(result.scores, dtype=np.float32)
    ids = posts["post_id"].astype(str).to_numpy()
    rows = []
    for c in sorted(set(labels.tolist())):
        members = np.flatnonzero(labels == c)
        s = scores[members]
        good = members[~np.isnan(s)]
        best = good[np.argsort(-scores[good], kind="stable")][:top_n]
        rows.append({
            "cluster": int(c),
            "name": NOISE_NAME if c < 0 else (names or {}).get(int(c)) or f"cluster {c}",
            "size": int(members.size),
            "n_scored": int(good.size),
            "mean_relevance": float(np.mean(scores[good])) if good.size else float("nan"),
            "max_relevance": float(np.max(scores[good])) if good.size else float("nan"),
            "top_post_ids": [ids[i] for i in best],
            "top_scores": [float(scores[i]) for i in best],
            "top_texts": [texts[i] for i in best],
        })
    table = pd.DataFrame(rows, columns=list(CLUSTER_RELEVANCE_COLUMNS))
    if table.empty:
        return table
    table["_noise"] = table["cluster"] < 0
    table = table.sort_values(["_noise", "mean_relevance"], ascending=[True, False], na_position="last",
                              kind="stable")
    return table.drop(columns="_noise").reset_index(drop=True)

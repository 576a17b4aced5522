"""Fusion of several rankings or score lists of the same documents.

* :func:`reciprocal_rank_fusion`: Cormack, Clarke & Büttcher, "Reciprocal rank
  fusion outperforms Condorcet and individual rank learning methods", SIGIR 2009:
  ``RRF(d) = sum_r w_r / (k + rank_r(d))`` with 1-based ranks and ``k = 60``.
* :func:`convex_fusion`: score-level fusion, a weighted sum of per-query
  normalised scores (min-max: Lee, SIGIR 1997; "CombSUM" of Fox & Shaw 1994),
  which Bruch, Gai & Ingber ("An analysis of fusion functions for hybrid
  retrieval", ACM TOIS 2023) found to beat RRF for lexical + dense retrieval.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[int]],
    k: int = 60,
    *,
    weights: Sequence[float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Fuse rankings by reciprocal rank.

    Args:
        rankings: each a sequence of document indices, best first (a document
            may be missing from some rankings; it then gets nothing from them).
        k: the RRF constant (default 60, as in the paper); must be >= 0.
        weights: optional weight per ranking (default 1 each).

    Returns:
        ``(indices, scores)``: int64 array of every document that appears in any
        ranking, by fused score descending (ties: first seen first), and the
        float64 fused scores.

    Raises:
        ValueError: for a negative ``k`` or a weight count that does not match.

    Example:
        >>> idx, s = reciprocal_rank_fusion([[0, 1], [1, 2]], k=60)
        >>> idx.tolist()   # 1: 1/62 + 1/61 beats 0: 1/61 beats 2: 1/62
        [1, 0, 2]
    """
    if k < 0:
        raise ValueError(f"The 'k' parameter of reciprocal_rank_fusion must be >= 0. Got {k} instead.")
    if weights is None:
        weights = [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError(
            f"reciprocal_rank_fusion got {len(weights)} weights for {len(rankings)} rankings."
        )
    fused: dict[int, float] = {}
    for ranking, w in zip(rankings, weights):
        for rank, doc in enumerate(ranking, start=1):
            doc = int(doc)
            fused[doc] = fused.get(doc, 0.0) + w / (k + rank)
    if not fused:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    docs = np.fromiter(fused.keys(), dtype=np.int64, count=len(fused))
    scores = np.fromiter(fused.values(), dtype=np.float64, count=len(fused))
    order = np.argsort(-scores, kind="stable")
    return docs[order], scores[order]


def normalise_scores(scores: np.ndarray, method: str = "minmax") -> np.ndarray:
    """Per-query score normalisation for fusion.

    Args:
        scores: float array of shape (n,); NaN entries stay NaN.
        method: ``"minmax"`` ((s - min) / (max - min), in [0, 1]; all 0.5 when
            every score is equal), or ``"zscore"`` ((s - mean) / std).

    Returns:
        float64 array of shape (n,).

    Raises:
        ValueError: for an unknown method.
    """
    s = np.asarray(scores, dtype=np.float64)
    out = np.full_like(s, np.nan)
    ok = ~np.isnan(s)
    if not ok.any():
        return out
    v = s[ok]
    if method == "minmax":
        lo, hi = v.min(), v.max()
        out[ok] = 0.5 if hi <= lo else (v - lo) / (hi - lo)
    elif method == "zscore":
        sd = v.std()
        out[ok] = 0.0 if sd <= 0 else (v - v.mean()) / sd
    else:
        raise ValueError(f"The normalisation must be 'minmax' or 'zscore'. Got {method!r} instead.")
    return out


def convex_fusion(
    score_lists: Sequence[np.ndarray],
    weights: Sequence[float],
    *,
    method: str = "minmax",
) -> np.ndarray:
    """Weighted sum of normalised scores of the same n documents.

    Args:
        score_lists: float arrays of shape (n,) each (e.g. BM25 and cosine).
        weights: one weight per list, >= 0 (normalised to sum to 1).
        method: per-list normalisation, see :func:`normalise_scores`.

    Returns:
        float64 array of shape (n,); with ``"minmax"`` it lies in [0, 1].

    Raises:
        ValueError: for mismatched lengths or weights that do not sum to > 0.
    """
    if len(score_lists) != len(weights) or not score_lists:
        raise ValueError(f"convex_fusion got {len(weights)} weights for {len(score_lists)} score lists.")
    w = np.asarray(weights, dtype=np.float64)
    if (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"The fusion weights must be >= 0 and not all 0. Got {list(weights)} instead.")
    w = w / w.sum()
    n = len(score_lists[0])
    total = np.zeros(n, dtype=np.float64)
    for s, wi in zip(score_lists, w):
        if len(s) != n:
            raise ValueError(f"convex_fusion needs score lists of one length. Got {len(s)} and {n}.")
        total += wi * np.nan_to_num(normalise_scores(s, method), nan=0.0)
    return total

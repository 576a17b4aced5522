"""Maximal marginal relevance (Carbonell & Goldstein, SIGIR 1998).

Greedy re-ordering: at each step pick the document maximising
``lambda * rel(d) - (1 - lambda) * max_{s in selected} cos(d, s)``, so a
document nearly identical to one already chosen is pushed down.
"""

from __future__ import annotations

import numpy as np


def mmr(relevance: np.ndarray, doc_vecs: np.ndarray, lambda_: float, k: int | None = None) -> np.ndarray:
    """Order documents by maximal marginal relevance.

    Args:
        relevance: float array of shape (n,), the relevance scores (put on the
            scale of cosines, e.g. in [0, 1]; they are used as given).
        doc_vecs: float array of shape (n, dim), L2-normalised rows.
        lambda_: trade-off in [0, 1]; 1 = order by relevance only, 0 = by
            novelty only.
        k: how many to select (default: all n).

    Returns:
        int64 array of shape (k,), positions into ``relevance``, in MMR order.
        Ties are broken by the lower position.

    Raises:
        ValueError: for ``lambda_`` outside [0, 1] or mismatched shapes.

    Example:
        >>> v = np.array([[1, 0], [1, 0], [0, 1]], dtype=np.float32)
        >>> mmr(np.array([0.9, 0.8, 0.5]), v, 0.5).tolist()   # the copy of 0 drops last
        [0, 2, 1]
    """
    if not 0.0 <= float(lambda_) <= 1.0:
        raise ValueError(f"The 'lambda_' parameter of mmr must be in [0, 1]. Got {lambda_} instead.")
    rel = np.asarray(relevance, dtype=np.float64)
    vecs = np.asarray(doc_vecs, dtype=np.float32)
    n = rel.shape[0]
    if vecs.shape[0] != n:
        raise ValueError(f"mmr got {n} relevance scores but {vecs.shape[0]} embeddings.")
    k = n if k is None else max(0, min(int(k), n))
    if np.isnan(rel).any():  # unscored documents come last, in position order
        floor = np.nanmin(rel) - 1.0 if (~np.isnan(rel)).any() else 0.0
        rel = np.where(np.isnan(rel), floor, rel)
    max_sim = np.full(n, -np.inf)  # max similarity to the selected set (none yet)
    chosen = np.zeros(n, dtype=bool)
    order: list[int] = []
    for _ in range(k):
        penalty = np.where(np.isfinite(max_sim), max_sim, 0.0)
        gain = lambda_ * rel - (1.0 - lambda_) * penalty
        gain[chosen] = -np.inf
        best = int(np.argmax(gain))  # first maximum = lowest position
        order.append(best)
        chosen[best] = True
        sims = (vecs @ vecs[best]).astype(np.float64)
        max_sim = np.maximum(max_sim, sims)
    return np.asarray(order, dtype=np.int64)

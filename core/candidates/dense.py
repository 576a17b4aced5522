"""Dense retrieval: cosine similarity between L2-normalised embeddings."""

from __future__ import annotations

import numpy as np

from core.candidates.bm25 import _top_k


def cosine_scores(query_vec: np.ndarray, doc_vecs: np.ndarray) -> np.ndarray:
    """Cosine similarity of one query with every document.

    Args:
        query_vec: float array of shape (dim,), L2-normalised (as every
            :class:`core.embed.base.Embedder` returns).
        doc_vecs: float array of shape (n, dim), rows L2-normalised (zero rows
            for empty posts score 0).

    Returns:
        float32 array of shape (n,), in [-1, 1].

    Raises:
        ValueError: when the dimensions differ.
    """
    q = np.asarray(query_vec, dtype=np.float32).reshape(-1)
    d = np.asarray(doc_vecs, dtype=np.float32)
    if d.ndim != 2 or d.shape[1] != q.shape[0]:
        raise ValueError(
            f"The document embeddings must have shape (n, {q.shape[0]}) to match the query. "
            f"Got {d.shape} instead; embed query and posts with the same model."
        )
    return np.clip(d @ q, -1.0, 1.0).astype(np.float32)


def dense_search(query_vec: np.ndarray, doc_vecs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` documents closest to the query by cosine similarity.

    Returns:
        ``(indices, scores)``: int64 array of shape (k,), best first (ties in
        index order), and float32 cosines in [-1, 1].
    """
    scores = cosine_scores(query_vec, doc_vecs)
    idx = _top_k(scores, k)
    return idx, scores[idx]

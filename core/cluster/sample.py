"""Clustering a large table: fit on a sample, place the rest by nearest neighbours.

UMAP's cost grows with the number of points (the neighbour graph and every
optimisation epoch), so above :data:`FIT_SAMPLE` distinct vectors the map is
fitted on a seeded random sample of the distinct vectors, as BERTopic and
UMAP's own ``transform`` do for unseen documents:

1. identical vectors (retweet copies, repeated texts: ``core.embed`` gives
   them the same row) are reduced to one;
2. a sample of :data:`FIT_SAMPLE` distinct vectors goes through the full
   pipeline (:func:`core.cluster.cluster_posts`: UMAP, HDBSCAN or k-means);
3. every other distinct vector takes the :data:`PLACE_K` most similar sample
   points (cosine, on a 64-component PCA of the embeddings fitted on the
   sample: a fast approximation of the embedding space): its map position and
   clustering-space position are their similarity-weighted mean, its cluster
   the similarity-weighted vote of their labels (noise included, so a point
   among noise stays noise);
4. copies get the result of their representative.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from core.errors import Cancelled

logger = logging.getLogger(__name__)

#: Distinct vectors above which the clustering is fitted on a sample of this size.
FIT_SAMPLE = 12_000
#: Sample neighbours used to place (and label) each other point.
PLACE_K = 10
#: PCA components of the space the neighbours are searched in.
PLACE_DIM = 64


def distinct_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(first, inverse)``: positions of the first of each set of identical rows of ``x``
    (ascending), and for every row the index into ``first`` of its set (int64 (n,)).

    Rows are compared by a 128-bit BLAKE2b digest of their bytes (a million 512-d rows
    kept as bytes would take 2 GB; two different rows share a digest with probability
    about 2^-128)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    seen: dict[bytes, int] = {}
    first: list[int] = []
    inverse = np.empty(x.shape[0], dtype=np.int64)
    for i in range(x.shape[0]):
        j = seen.setdefault(hashlib.blake2b(x[i].data, digest_size=16).digest(), len(first))
        if j == len(first):
            first.append(i)
        inverse[i] = j
    return np.asarray(first, dtype=np.int64), inverse


def _pca_basis(x: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    return mean, vt[: min(dim, vt.shape[0])].T


def nearest_in_sample(x: np.ndarray, sample: np.ndarray, k: int = PLACE_K,
                      dim: int = PLACE_DIM, block: int = 1024, *, rows: np.ndarray | None = None,
                      progress: Callable[[int, int], None] | None = None,
                      should_cancel: Callable[[], bool] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most similar rows of ``x[sample]`` for every row of ``x`` (cosine on a PCA).

    Args:
        x: float32 (n, d) L2-normalised vectors.
        sample: int64 positions into ``x`` (m >= k).
        k: neighbours per row.
        dim: PCA components (fitted on the sample) the search runs in.
        block: rows per similarity block (1024: about 0.2 GB for a 12,000-post sample;
            4096 took 1.1 GB more peak RSS for the 60k bench).
        rows: int64 positions into ``x`` to search for (default: every row).
        progress: ``progress(done_rows, total_rows)`` after each block.
        should_cancel: polled before each block.

    Returns:
        ``(idx, sim)``: int64 (r, k) positions into ``sample`` and float32
        (r, k) cosine similarities (in the PCA space), most similar first,
        one row per row of ``rows`` (r = n by default).

    Raises:
        core.errors.Cancelled: ``should_cancel()`` returned True.
    """
    k = int(min(k, len(sample)))
    mean, basis = _pca_basis(x[sample], dim)

    def project(rows: np.ndarray) -> np.ndarray:
        z = (rows - mean) @ basis
        norms = np.linalg.norm(z, axis=1, keepdims=True)
        return np.divide(z, norms, out=np.zeros_like(z), where=norms > 0).astype(np.float32)

    zs = project(x[sample])
    rows = np.arange(x.shape[0]) if rows is None else np.asarray(rows, dtype=np.int64)
    idx = np.empty((len(rows), k), dtype=np.int64)
    sim = np.empty((len(rows), k), dtype=np.float32)
    for start in range(0, len(rows), block):
        if should_cancel and should_cancel():
            raise Cancelled(f"The map was cancelled after placing {start:,} of {len(rows):,} posts.")
        s = project(x[rows[start : start + block]]) @ zs.T
        part = np.argpartition(-s, k - 1, axis=1)[:, :k]
        vals = np.take_along_axis(s, part, axis=1)
        order = np.argsort(-vals, axis=1, kind="stable")
        idx[start : start + block] = np.take_along_axis(part, order, axis=1)
        sim[start : start + block] = np.take_along_axis(vals, order, axis=1)
        if progress:
            progress(min(start + block, len(rows)), len(rows))
    return idx, sim


def place_by_neighbours(values: np.ndarray, idx: np.ndarray, sim: np.ndarray) -> np.ndarray:
    """Similarity-weighted mean of ``values[idx]`` per row: float32 (n, values.shape[1])."""
    w = np.clip(sim, 1e-6, None)
    w = w / w.sum(axis=1, keepdims=True)
    return np.einsum("nk,nkd->nd", w, values[idx]).astype(np.float32)


def vote_by_neighbours(labels: np.ndarray, idx: np.ndarray, sim: np.ndarray) -> np.ndarray:
    """Similarity-weighted majority of ``labels[idx]`` per row (ties: the nearest's label); int64 (n,)."""
    lab = labels[idx]
    w = np.clip(sim, 1e-6, None)
    out = lab[:, 0].copy()
    best = np.zeros(len(out))
    for c in np.unique(lab):
        score = np.where(lab == c, w, 0.0).sum(axis=1)
        better = score > best + 1e-9
        out[better], best[better] = c, score[better]
    return out.astype(np.int64)


def cluster_sampled(x: np.ndarray, *, fit, fit_sample: int = FIT_SAMPLE, random_state: int = 42,
                    min_cluster_size: int | None = None, progress: Callable[[int, int], None] | None = None,
                    should_cancel: Callable[[], bool] | None = None, **params):
    """:func:`core.cluster.cluster_posts` of many vectors, fitted on a sample (module docstring).

    Args:
        x: float32 (n, dim) L2-normalised, non-zero rows.
        fit: the function that clusters the sample (``cluster_posts``).
        fit_sample: distinct vectors the fit sees (>= 30).
        random_state: seed of the sample and of the fit.
        min_cluster_size: the analyst's minimum cluster size over all posts
            (scaled to the sample's share of the distinct vectors), or None.
        progress: ``progress(done, m)`` over the m distinct vectors: the sample counts
            as done once fitted (UMAP reports nothing while it runs), then each block placed.
        should_cancel: polled before the fit and before each block placed.
        **params: the other parameters of ``cluster_posts``.

    Returns:
        ``(result, n_fit)``: the sample's :class:`core.cluster.ClusterResult`
        with its arrays extended to all n rows, and the sample size.

    Raises:
        core.errors.Cancelled: ``should_cancel()`` returned True.
    """
    first, inverse = distinct_rows(x)
    xd = x if len(first) == len(x) else x[first]  # all distinct: no copy
    m = len(first)
    if progress:
        progress(0, m)
    if should_cancel and should_cancel():
        raise Cancelled("The map was cancelled before fitting.")
    rng = np.random.default_rng(random_state)
    sample = np.sort(rng.choice(m, size=min(int(fit_sample), m), replace=False))
    mcs = None
    if min_cluster_size is not None:
        mcs = max(2, round(min_cluster_size * len(sample) / max(1, len(x))))
    res = fit(xd[sample], random_state=random_state, min_cluster_size=mcs, **params)
    labels = np.full(m, -1, dtype=np.int64)
    coords = np.zeros((m, 2), dtype=np.float32)
    noise = np.zeros(m, dtype=bool)
    labels[sample], coords[sample], noise[sample] = res.labels_, res.coords_2d_, res.noise_mask_
    rest = np.setdiff1d(np.arange(m), sample)
    if progress:
        progress(len(sample), m)
    if len(rest):
        placed = (lambda d, _t: progress(len(sample) + d, m)) if progress else None
        idx, sim = nearest_in_sample(xd, sample, rows=rest, progress=placed, should_cancel=should_cancel)
        coords[rest] = place_by_neighbours(res.coords_2d_, idx, sim)
        labels[rest] = vote_by_neighbours(res.labels_, idx, sim)
        noise[rest] = vote_by_neighbours(res.noise_mask_.astype(np.int64), idx, sim).astype(bool)
    splits = tuple(replace(s, members=np.flatnonzero(np.isin(inverse, sample[s.members])))
                   for s in res.splits_)
    logger.info("clustered %d vectors (%d distinct) by fitting on a sample of %d", len(x), m, len(sample))
    out = replace(res, labels_=labels[inverse], coords_2d_=coords[inverse], noise_mask_=noise[inverse],
                  splits_=splits, min_cluster_size=min_cluster_size)
    return out, len(sample)

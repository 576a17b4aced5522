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
   sample: a fast approximation of the embedding space): its cluster is the
   similarity-weighted vote of their labels (noise included, so a point among
   noise stays noise), its map position the similarity-weighted mean of the
   positions of those of them in that cluster (of all of them, a point between
   two clusters' neighbours lands in the empty space between the two);
4. copies get the result of their representative.

The vectors are read a block at a time (:mod:`core.cluster.rows`: an array, or the
dataset store's ``vectors.npy`` read with explicit reads), and each block is placed as
soon as it is read: of all n posts only their 2-D position, label and noise flag are
kept (a million posts: 17 MB), never their vectors or neighbour lists.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import replace

import numpy as np

from core.cluster.rows import as_rows, iter_blocks
from core.errors import Cancelled

logger = logging.getLogger(__name__)

#: Distinct vectors above which the clustering is fitted on a sample of this size.
FIT_SAMPLE = 12_000
#: Sample neighbours used to place (and label) each other point.
PLACE_K = 10
#: PCA components of the space the neighbours are searched in.
PLACE_DIM = 64


def distinct_rows(x) -> tuple[np.ndarray, np.ndarray]:
    """``(first, inverse)``: positions of the first of each set of identical rows of ``x``
    (ascending), and for every row the index into ``first`` of its set (int64 (n,)).

    ``x`` is a float array (n, d) or a row source (:mod:`core.cluster.rows`), read a block
    at a time. Rows are compared by a 128-bit BLAKE2b digest of their float32 bytes, kept
    as an (n, 2) uint64 array (16 MB for a million rows; two different rows share a digest
    with probability about 2^-128)."""
    src = as_rows(x)
    n = src.shape[0]
    digests = np.empty((n, 2), dtype=np.uint64)
    for start, block in iter_blocks(src):
        block = np.ascontiguousarray(block, dtype=np.float32)
        joined = b"".join(hashlib.blake2b(row.data, digest_size=16).digest() for row in block)
        digests[start : start + len(block)] = np.frombuffer(joined, dtype=np.uint64).reshape(-1, 2)
    if not n:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    order = np.lexsort((digests[:, 1], digests[:, 0]))  # stable: equal digests keep row order
    d = digests[order]
    starts = np.ones(n, dtype=bool)
    starts[1:] = (d[1:] != d[:-1]).any(axis=1)
    group = np.cumsum(starts) - 1  # per sorted row: its set, numbered by digest
    firsts = order[starts]  # the first row of each set (stable sort)
    by_row = np.argsort(firsts, kind="stable")  # sets numbered by their first row instead
    rank = np.empty(len(firsts), dtype=np.int64)
    rank[by_row] = np.arange(len(firsts))
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = rank[group]
    return firsts[by_row].astype(np.int64), inverse


def _pca_basis(x: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    return mean, vt[: min(dim, vt.shape[0])].T


def neighbour_blocks(x, sample: np.ndarray, k: int = PLACE_K, dim: int = PLACE_DIM, block: int = 1024, *,
                     rows: np.ndarray | None = None, progress: Callable[[int, int], None] | None = None,
                     should_cancel: Callable[[], bool] | None = None
                     ) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """:func:`nearest_in_sample` one block at a time: yields ``(start, idx, sim)`` for
    ``rows[start : start + block]``, reading only those rows of ``x`` (a row source or an
    array), so nothing of size (n, d) or (n, k) is held. Same arguments as :func:`nearest_in_sample`."""
    src = as_rows(x)
    k = int(min(k, len(sample)))
    xs = src.take(np.asarray(sample, dtype=np.int64))
    mean, basis = _pca_basis(xs, dim)

    def project(vecs: np.ndarray) -> np.ndarray:
        z = (vecs - mean) @ basis
        norms = np.linalg.norm(z, axis=1, keepdims=True)
        return np.divide(z, norms, out=np.zeros_like(z), where=norms > 0).astype(np.float32)

    zs = project(xs)
    del xs
    rows = np.arange(src.shape[0]) if rows is None else np.asarray(rows, dtype=np.int64)
    for start in range(0, len(rows), block):
        if should_cancel and should_cancel():
            raise Cancelled(f"The map was cancelled after placing {start:,} of {len(rows):,} posts.")
        s = project(src.take(rows[start : start + block])) @ zs.T
        part = np.argpartition(-s, k - 1, axis=1)[:, :k]
        vals = np.take_along_axis(s, part, axis=1)
        order = np.argsort(-vals, axis=1, kind="stable")
        yield start, np.take_along_axis(part, order, axis=1).astype(np.int64), np.take_along_axis(vals, order, axis=1)
        if progress:
            progress(min(start + block, len(rows)), len(rows))


def nearest_in_sample(x, sample: np.ndarray, k: int = PLACE_K,
                      dim: int = PLACE_DIM, block: int = 1024, *, rows: np.ndarray | None = None,
                      progress: Callable[[int, int], None] | None = None,
                      should_cancel: Callable[[], bool] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most similar rows of ``x[sample]`` for every row of ``x`` (cosine on a PCA).

    Args:
        x: float32 (n, d) L2-normalised vectors, or a row source (:mod:`core.cluster.rows`).
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
    n_rows = as_rows(x).shape[0] if rows is None else len(rows)
    k = int(min(k, len(sample)))
    idx = np.empty((n_rows, k), dtype=np.int64)
    sim = np.empty((n_rows, k), dtype=np.float32)
    for start, i, s in neighbour_blocks(x, sample, k, dim, block, rows=rows, progress=progress,
                                        should_cancel=should_cancel):
        idx[start : start + len(i)], sim[start : start + len(i)] = i, s
    return idx, sim


def place_by_neighbours(values: np.ndarray, idx: np.ndarray, sim: np.ndarray,
                        among: np.ndarray | None = None) -> np.ndarray:
    """Similarity-weighted mean of ``values[idx]`` per row: float32 (n, values.shape[1]).

    ``among``: bool (n, k), the neighbours to average (at least one per row); default all.
    """
    w = np.clip(sim, 1e-6, None)
    if among is not None:
        w = np.where(among, w, 0.0)
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


def sample_min_cluster_size(min_cluster_size: int | None, n_sample: int, n: int) -> int | None:
    """The analyst's minimum cluster size over ``n`` posts, scaled to a fit on ``n_sample`` of them
    (at least 2; None stays None: the automatic size of the sample)."""
    return None if min_cluster_size is None else max(2, round(min_cluster_size * n_sample / max(1, n)))


def cluster_sampled(x: np.ndarray, *, fit, fit_sample: int = FIT_SAMPLE, random_state: int = 42,
                    min_cluster_size: int | None = None, progress: Callable[[int, int], None] | None = None,
                    should_cancel: Callable[[], bool] | None = None, fit_rows: np.ndarray | None = None,
                    **params):
    """:func:`core.cluster.cluster_posts` of many vectors, fitted on a sample (module docstring).

    Args:
        x: float32 (n, dim) L2-normalised, non-zero rows, or a row source
            (:mod:`core.cluster.rows`: read a block at a time, never whole).
        fit: the function that clusters the sample (``cluster_posts``).
        fit_sample: distinct vectors the fit sees (>= 30).
        random_state: seed of the sample and of the fit.
        min_cluster_size: the analyst's minimum cluster size over all posts
            (scaled to the sample's share of the distinct vectors), or None.
        progress: ``progress(done, m)`` over the m distinct vectors: the sample counts
            as done once fitted (UMAP reports nothing while it runs), then each block placed.
        should_cancel: polled before the fit and before each block placed.
        fit_rows: int64 positions into ``x`` of the posts to fit on instead of the seeded
            sample (copies among them count once); ``fit_sample`` is then unused.
        **params: the other parameters of ``cluster_posts``.

    Returns:
        ``(result, n_fit)``: the sample's :class:`core.cluster.ClusterResult`
        with its arrays extended to all n rows, and the sample size.

    Raises:
        core.errors.Cancelled: ``should_cancel()`` returned True.
    """
    src = as_rows(x)
    n = src.shape[0]
    first, inverse = distinct_rows(src)
    xd = src if len(first) == n else src.subset(first)  # nothing read here
    m = len(first)
    if progress:
        progress(0, m)
    if should_cancel and should_cancel():
        raise Cancelled("The map was cancelled before fitting.")
    if fit_rows is not None:
        sample = np.unique(inverse[np.asarray(fit_rows, dtype=np.int64)])
    else:
        rng = np.random.default_rng(random_state)
        sample = np.sort(rng.choice(m, size=min(int(fit_sample), m), replace=False))
    mcs = sample_min_cluster_size(min_cluster_size, len(sample), n)
    res = fit(xd.take(sample), random_state=random_state, min_cluster_size=mcs,
              fit_sample=max(len(sample), int(fit_sample)), **params)  # the sample is fitted whole
    labels = np.full(m, -1, dtype=np.int64)
    coords = np.zeros((m, 2), dtype=np.float32)
    noise = np.zeros(m, dtype=bool)
    labels[sample], coords[sample], noise[sample] = res.labels_, res.coords_2d_, res.noise_mask_
    rest = np.setdiff1d(np.arange(m), sample)
    if progress:
        progress(len(sample), m)
    if len(rest):
        placed = (lambda d, _t: progress(len(sample) + d, m)) if progress else None
        fit_noise = res.noise_mask_.astype(np.int64)
        # block by block: only the 2-D positions and labels of all posts are kept
        for start, idx, sim in neighbour_blocks(xd, sample, rows=rest, progress=placed,
                                                should_cancel=should_cancel):
            part = rest[start : start + len(idx)]
            labels[part] = vote_by_neighbours(res.labels_, idx, sim)
            # placed among the neighbours of the cluster it joined: a mean over neighbours of two
            # clusters would put it in the empty space between them (a trail of placed points)
            coords[part] = place_by_neighbours(res.coords_2d_, idx, sim,
                                               among=res.labels_[idx] == labels[part][:, None])
            noise[part] = vote_by_neighbours(fit_noise, idx, sim).astype(bool)
    splits = tuple(replace(s, members=np.flatnonzero(np.isin(inverse, sample[s.members])))
                   for s in res.splits_)
    logger.info("clustered %d vectors (%d distinct) by fitting on a sample of %d", n, m, len(sample))
    out = replace(res, labels_=labels[inverse], coords_2d_=coords[inverse], noise_mask_=noise[inverse],
                  splits_=splits, min_cluster_size=min_cluster_size)
    return out, len(sample)

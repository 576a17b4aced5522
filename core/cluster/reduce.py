"""Dimension reduction: UMAP (cosine) for clustering and for the 2D map.

Reference: McInnes, Healy & Melville, "UMAP: Uniform Manifold Approximation
and Projection for Dimension Reduction", arXiv:1802.03426; the "UMAP to a few
dimensions, then HDBSCAN" recipe is BERTopic's (Grootendorst 2022,
arXiv:2203.05794).

The neighbour graph is computed once (exactly for up to
:data:`EXACT_KNN_MAX` posts, with NN-descent above) and shared by the
clustering and the map projections. Small inputs never reach UMAP: below
:data:`UMAP_MIN_N` posts the clustering space is the embedding itself and the
map is a PCA, because a neighbour graph of a dozen points says nothing UMAP
can use (and its spectral initialisation fails on tiny graphs).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

#: Fewest posts for which UMAP is used; smaller inputs use no reduction / PCA.
UMAP_MIN_N = 30
#: Largest input for which the neighbour graph is computed exactly (n x n
#: cosine similarities in blocks); above, pynndescent's NN-descent is used.
EXACT_KNN_MAX = 20000


@dataclass(frozen=True)
class Neighbours:
    """A k-nearest-neighbour graph under cosine distance.

    Attributes:
        indices: int64 array of shape (n, k); row i lists i itself first.
        distances: float32 array of shape (n, k), cosine distances in [0, 2].
        search_index: the NN-descent index when one was built, else ``None``.
    """

    indices: np.ndarray
    distances: np.ndarray
    search_index: object | None = None


def _l2_normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def cosine_neighbours(x: np.ndarray, n_neighbors: int, *, random_state: int = 42) -> Neighbours:
    """The ``n_neighbors``-nearest-neighbour graph of the rows of ``x`` (cosine).

    Args:
        x: float array of shape (n, dim), n >= 2.
        n_neighbors: neighbours per row including the row itself, 2 <= k <= n.
        random_state: seed of NN-descent (used above :data:`EXACT_KNN_MAX` rows).

    Returns:
        A :class:`Neighbours`.
    """
    n = x.shape[0]
    k = int(min(max(2, n_neighbors), n))
    if n > EXACT_KNN_MAX:
        from umap.umap_ import nearest_neighbors

        idx, dist, index = nearest_neighbors(
            np.asarray(x, dtype=np.float32), k, "cosine", {}, False,
            np.random.RandomState(random_state), n_jobs=1,
        )
        return Neighbours(np.asarray(idx, dtype=np.int64), np.asarray(dist, dtype=np.float32), index)
    xn = _l2_normalise(x)
    indices = np.empty((n, k), dtype=np.int64)
    distances = np.empty((n, k), dtype=np.float32)
    block = 1024
    for start in range(0, n, block):
        sim = xn[start : start + block] @ xn.T
        rows = np.arange(sim.shape[0])
        sim[rows, start + rows] = np.inf  # itself first, even among exact duplicates
        part = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sim, part, axis=1), axis=1, kind="stable")
        top = np.take_along_axis(part, order, axis=1)
        indices[start : start + block] = top
        d = 1.0 - np.take_along_axis(sim, top, axis=1)
        d[:, 0] = 0.0
        distances[start : start + block] = np.clip(d, 0.0, 2.0)
    return Neighbours(indices, distances, None)


def pca_reduce(x: np.ndarray, n_components: int, *, random_state: int = 42) -> np.ndarray:
    """Project rows of ``x`` on their first principal components.

    Args:
        x: float array of shape (n, dim), n >= 0.
        n_components: output dimension (>= 1).

    Returns:
        float32 array of shape (n, n_components); columns beyond the rank of
        ``x`` (e.g. for n <= n_components) are zeros; a single row maps to
        the origin.
    """
    n = x.shape[0]
    out = np.zeros((n, n_components), dtype=np.float32)
    if n < 2:
        return out
    centred = np.asarray(x, dtype=np.float64) - np.asarray(x, dtype=np.float64).mean(axis=0)
    # Thin SVD: n is small here (it is only the small-input fallback), so exact is cheap.
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    rank = int(np.sum(s > 1e-9 * max(1.0, float(s[0]) if s.size else 1.0)))
    m = min(n_components, rank)
    if m:
        comps = u[:, :m] * s[:m]
        # Sign convention of sklearn (svd_flip): largest absolute entry of each column positive.
        signs = np.sign(comps[np.abs(comps).argmax(axis=0), np.arange(m)])
        signs[signs == 0] = 1.0
        out[:, :m] = comps * signs
    return out


def umap_reduce(
    x: np.ndarray,
    n_components: int,
    *,
    neighbours: Neighbours | None = None,
    n_neighbors: int = 50,
    min_dist: float = 0.0,
    random_state: int = 42,
    n_epochs: int | None = 200,
) -> np.ndarray:
    """UMAP (cosine) of the rows of ``x`` to ``n_components`` dimensions.

    Args:
        x: float array of shape (n, dim), n >= :data:`UMAP_MIN_N` advised
            (works from n = 4; smaller inputs should use :func:`reduce_embeddings`).
        n_components: output dimension.
        neighbours: a precomputed :func:`cosine_neighbours` graph (reused
            between the clustering and the map projections).
        n_neighbors: neighbours per point, capped at n - 1 (ignored when
            ``neighbours`` is given).
        min_dist: UMAP's ``min_dist`` (0.0 packs clusters tightly: good for
            clustering; ~0.1 reads better on a map).
        random_state: fixed seed, so the same input gives the same output
            (this makes UMAP single-threaded).
        n_epochs: optimisation epochs (default 200; UMAP's own default is
            500 up to 10,000 points, which costs 2.5x the time for no gain
            in cluster quality measured by ``bench/cluster_quality.py``).

    Returns:
        float32 array of shape (n, n_components).
    """
    import umap

    n = x.shape[0]
    if neighbours is None:
        neighbours = cosine_neighbours(x, min(n_neighbors, n - 1), random_state=random_state)
    k = neighbours.indices.shape[1]
    reducer = umap.UMAP(
        n_neighbors=k,
        n_components=n_components,
        metric="cosine",
        min_dist=min_dist,
        random_state=random_state,
        init="spectral" if n >= 100 else "pca",
        precomputed_knn=(neighbours.indices, neighbours.distances, neighbours.search_index),
        n_epochs=n_epochs,
        n_jobs=1,
    )
    with warnings.catch_warnings():
        # "n_jobs value 1 overridden to 1 by setting random_state", and the
        # notice that a precomputed graph without a search index cannot transform.
        warnings.simplefilter("ignore", UserWarning)
        z = reducer.fit_transform(np.asarray(x, dtype=np.float32))
    return np.asarray(z, dtype=np.float32)


def reduce_embeddings(
    x: np.ndarray,
    *,
    n_components: int = 5,
    map_components: int | None = 2,
    n_neighbors: int = 50,
    random_state: int = 42,
) -> tuple[np.ndarray, np.ndarray | None, str]:
    """The clustering space and the 2D map of a set of embeddings.

    Args:
        x: float array of shape (n, dim), rows L2-normalised (zero rows are
            allowed but should be removed by the caller).
        n_components: dimension of the clustering space (default 5).
        map_components: dimension of the map (2), or ``None`` to skip it.
        n_neighbors: UMAP neighbours (default 50), capped at n - 1.
        random_state: fixed seed for UMAP.

    Returns:
        ``(space, map_coords, method)``: ``space`` float32 (n, d) where the
        clusters are found (d = ``n_components`` with UMAP, else the
        embedding dimension); ``map_coords`` float32 (n, ``map_components``)
        or ``None``; ``method`` is ``"umap"``, or ``"none+pca"`` for fewer
        than :data:`UMAP_MIN_N` posts (the embeddings themselves, and a PCA
        map).
    """
    x = np.asarray(x, dtype=np.float32)
    n = x.shape[0]
    if n < UMAP_MIN_N:
        coords = pca_reduce(x, map_components, random_state=random_state) if map_components else None
        return x.copy(), coords, "none+pca"
    graph = cosine_neighbours(x, min(n_neighbors, n - 1), random_state=random_state)
    space = umap_reduce(x, n_components, neighbours=graph, min_dist=0.0, random_state=random_state)
    coords = None
    if map_components:
        coords = umap_reduce(x, map_components, neighbours=graph, min_dist=0.1, random_state=random_state)
    return space, coords, "umap"

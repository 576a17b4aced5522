"""Cluster stage: the map of the conversation.

One folder per step, as in BERTopic (Grootendorst 2022, arXiv:2203.05794):

- :mod:`core.cluster.reduce`: UMAP (cosine) to a few dimensions for clustering
  and to 2D for the map; small inputs skip UMAP;
- :mod:`core.cluster.algorithms`: HDBSCAN (automatic minimum cluster size) or
  KMeans; noise is -1, shown as "unclustered";
- :mod:`core.cluster.keywords`: class-based TF-IDF keywords, never empty;
- :mod:`core.cluster.names`: rename and merge clusters;
- :mod:`core.cluster.then_rerank`: each cluster's relevance to a query.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from core.cluster.algorithms import (
    DominantSplit,
    _check_int,
    assign_noise_to_nearest,
    auto_min_cluster_size,
    hdbscan_labels,
    kmeans_labels,
    relabel_by_size,
)
from core.cluster.algorithms import split_dominant as _split_dominant
from core.cluster.keywords import cluster_keywords
from core.cluster.names import NOISE_NAME, ClusterNames, merge_clusters
from core.cluster.reduce import UMAP_MIN_N, reduce_embeddings
from core.cluster.rows import ArrayRows, NpyFileRows, iter_blocks
from core.cluster.sample import FIT_SAMPLE, cluster_sampled, distinct_rows, sample_min_cluster_size
from core.cluster.then_rerank import rerank_within_clusters
from core.errors import Cancelled, ParameterError

logger = logging.getLogger(__name__)

__all__ = [
    "NOISE_NAME",
    "ClusterNames",
    "ClusterResult",
    "DominantSplit",
    "auto_min_cluster_size",
    "cluster_keywords",
    "cluster_posts",
    "cluster_preview",
    "merge_clusters",
    "rerank_within_clusters",
]

METHODS = ("hdbscan", "kmeans")


@dataclass(frozen=True)
class ClusterResult:
    """What :func:`cluster_posts` found (learned attributes end with ``_``).

    Attributes:
        labels_: int64 array of shape (n,): clusters 0..n_clusters_-1 numbered
            from largest to smallest (with ``fit_rows``: by their size in that
            sample), -1 = noise ("unclustered"; also every empty/zero embedding).
        coords_2d_: float32 array of shape (n, 2), the map (UMAP 2D, or PCA
            below ``reduce.UMAP_MIN_N`` posts); NaN rows for zero embeddings.
        n_clusters_: number of clusters (noise excluded).
        noise_mask_: bool array of shape (n,): the points HDBSCAN left as noise,
            before any ``assign_noise`` (all False for KMeans).
        reduction_: ``"umap"`` or ``"none+pca"`` (small inputs).
        min_cluster_size_: the minimum cluster size used (HDBSCAN), else None.
        k_: the k used (KMeans, capped at the number of distinct points), else None.
        splits_: the splits of a dominant cluster made by
            :func:`core.cluster.algorithms.split_dominant` (HDBSCAN,
            ``split_dominant``), in order; ``members`` index the posts (0..n-1).
            Empty when none was made.
        method, k, min_cluster_size, random_state, assign_noise, n_components,
            split_dominant: the parameters as given.
        fit_sample_: with more than ``fit_sample`` posts, how many distinct
            vectors UMAP and the clustering were fitted on (the others placed
            by :mod:`core.cluster.sample`); None when fitted on all.
    """

    labels_: np.ndarray
    coords_2d_: np.ndarray
    n_clusters_: int
    noise_mask_: np.ndarray
    reduction_: str
    min_cluster_size_: int | None
    k_: int | None
    method: str
    k: int | None
    min_cluster_size: int | None
    random_state: int
    assign_noise: bool
    n_components: int
    splits_: tuple[DominantSplit, ...] = ()
    split_dominant: bool | None = None
    fit_sample_: int | None = None

    @property
    def sizes_(self) -> dict[int, int]:
        """``{cluster: number of posts}``, noise (-1) included when present."""
        ids, counts = np.unique(self.labels_, return_counts=True)
        return {int(i): int(c) for i, c in zip(ids, counts)}


def cluster_posts(
    embeddings: np.ndarray,
    *,
    method: str = "hdbscan",
    k: int | None = None,
    min_cluster_size: int | None = None,
    random_state: int = 42,
    assign_noise: bool = False,
    n_components: int = 5,
    n_neighbors: int = 50,
    split_dominant: bool | None = None,
    fit_sample: int = FIT_SAMPLE,
    progress: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    fit_rows: np.ndarray | None = None,
) -> ClusterResult:
    """Reduce, cluster and map post embeddings.

    Pipeline: zero rows (empty posts) are set aside as noise; the rest go
    through :func:`core.cluster.reduce.reduce_embeddings` (UMAP cosine to
    ``n_components`` dimensions and to 2D, fixed ``random_state``; no
    reduction and a PCA map below 30 posts), then HDBSCAN or KMeans in that
    space; with HDBSCAN, a cluster holding more than half of the clustered
    posts (one event or keyword: its density is flat and HDBSCAN's excess of
    mass keeps it whole) is split into its sub-themes by
    :func:`core.cluster.algorithms.split_dominant`; clusters are renumbered
    by size.

    Args:
        embeddings: float array of shape (n, dim), rows L2-normalised (as
            :func:`core.embed.embed_texts` returns), or a row source of
            :mod:`core.cluster.rows` (e.g. the dataset store's vectors read a
            block at a time, :func:`core.cluster.rows.store_rows`: the
            vectors are never all in memory); n may be 0, 1, 2...
        method: ``"hdbscan"`` (finds the number of clusters; some posts may be
            noise) or ``"kmeans"`` (exactly ``k`` clusters, no noise).
        k: number of clusters for KMeans (required then; capped at n).
        min_cluster_size: HDBSCAN's smallest cluster (>= 2); ``None`` chooses
            :func:`core.cluster.algorithms.auto_min_cluster_size` from n.
        random_state: seed of UMAP and KMeans.
        assign_noise: give each noise point its nearest cluster (centroid in
            the clustering space).
        n_components: dimension of the clustering space (default 5).
        n_neighbors: UMAP neighbours (default 50, capped at n - 1). More than
            UMAP's 15 keeps the global structure topics need; measured with
            ``bench/cluster_quality.py`` on the NLPCC file (KMeans k = 5): ARI
            0.945 with 15, 0.949 with 30, 0.951 with 50.
        split_dominant: split a cluster holding more than half of the
            clustered posts (HDBSCAN only). ``None`` (default): only with the
            automatic minimum cluster size (``min_cluster_size=None``).
        fit_sample: above this many posts, fit on a seeded sample of this many
            distinct vectors and place the rest by their nearest sample points
            (:mod:`core.cluster.sample`; default :data:`core.cluster.sample.FIT_SAMPLE`).
        progress: ``progress(done, total)``: with a sample, over the distinct vectors
            (the sample once fitted, then the others as they are placed); else
            ``(0, n)`` before and ``(n, n)`` after the fit.
        should_cancel: polled before the fit and between placement blocks (UMAP
            itself cannot be interrupted: at most one fit of ``fit_sample`` posts runs on).
        fit_rows: int64 positions (0..n-1) of the posts to fit on instead of a seeded
            sample; the others are placed as above. Repeats, positions out of range and
            rows with a zero embedding are left out (none left: the seeded sample).
            :func:`cluster_preview` of the same rows gives the same fit, and clusters
            keep its numbering (by size among the sample's posts, not among all).

    Returns:
        A :class:`ClusterResult`.

    Raises:
        core.errors.Cancelled: ``should_cancel()`` returned True.
        ValueError: unknown ``method``; ``k`` missing or < 1 for KMeans;
            ``min_cluster_size`` < 2; ``embeddings`` not 2-D.
    """
    if method not in METHODS:
        raise ParameterError(
            f"The 'method' parameter of cluster_posts must be one of {METHODS}. Got {method!r} instead."
        )
    if isinstance(embeddings, (ArrayRows, NpyFileRows)):
        src = embeddings
    else:
        x = np.asarray(embeddings, dtype=np.float32)
        if x.ndim != 2:
            raise ParameterError(f"embeddings must be a 2-D array (n_posts, dim). Got shape {x.shape} instead.")
        src = ArrayRows(x)
    if method == "kmeans" and k is None:
        raise ParameterError(
            "The 'k' parameter of cluster_posts is required with method='kmeans'. Got None instead."
        )
    n = src.shape[0]
    labels = np.full(n, -1, dtype=np.int64)
    coords = np.full((n, 2), np.nan, dtype=np.float32)
    noise = np.zeros(n, dtype=bool)
    # squared norms a block at a time: no (n, dim) temporary (2 GB for a million 512-d rows)
    sq = np.zeros(n, dtype=np.float32)
    for start, block in iter_blocks(src):
        sq[start : start + len(block)] = np.einsum("ij,ij->i", block, block)
    valid = np.flatnonzero(sq > 0)
    del sq
    mcs_used = k_used = None
    splits: tuple[DominantSplit, ...] = ()
    reduction = "none+pca"
    # Validate parameters even when there is too little data to use them.
    if method == "hdbscan" and min_cluster_size is not None:
        _check_int("min_cluster_size", min_cluster_size, 2)
    elif method == "kmeans":
        _check_int("k", k, 1)
    if fit_rows is not None:  # positions among the valid rows; none of them: the seeded sample
        wanted = np.unique(np.asarray(fit_rows, dtype=np.int64))
        at = np.minimum(np.searchsorted(valid, wanted), max(0, valid.size - 1))
        fit_rows = (at[valid[at] == wanted] if valid.size else at[:0]) if len(wanted) else wanted
        fit_rows = fit_rows if len(fit_rows) else None
    if (valid.size > max(int(fit_sample), UMAP_MIN_N) if fit_rows is None
            else 0 < len(fit_rows) < valid.size):
        sampled, n_fit = cluster_sampled(
            src if valid.size == n else src.subset(valid),  # read block by block, never whole
            fit=cluster_posts, fit_sample=int(fit_sample), random_state=random_state,
            min_cluster_size=min_cluster_size, method=method, k=k, assign_noise=assign_noise,
            n_components=n_components, n_neighbors=n_neighbors,
            split_dominant=split_dominant if split_dominant is not None else min_cluster_size is None,
            progress=progress, should_cancel=should_cancel, fit_rows=fit_rows)
        # with fit_rows the sample's numbering stays (the preview's: a cluster keeps its number and colour)
        labels[valid] = relabel_by_size(sampled.labels_) if fit_rows is None else sampled.labels_
        coords[valid] = sampled.coords_2d_
        noise[valid] = sampled.noise_mask_
        splits = tuple(replace(sp, members=valid[sp.members]) for sp in sampled.splits_)
        n_clusters = int(labels.max() + 1) if labels.max() >= 0 else 0
        return replace(sampled, labels_=labels, coords_2d_=coords, noise_mask_=noise, n_clusters_=n_clusters,
                       splits_=splits, random_state=random_state, split_dominant=split_dominant,
                       fit_sample_=n_fit)
    if progress:
        progress(0, n)
    if should_cancel and should_cancel():
        raise Cancelled("The map was cancelled before fitting.")
    if valid.size:
        space, map_xy, reduction = reduce_embeddings(
            src.take(valid), n_components=n_components, map_components=2,
            n_neighbors=n_neighbors, random_state=random_state,
        )
        coords[valid] = map_xy
        if method == "kmeans":
            sub, k_used = kmeans_labels(space, k, random_state=random_state)
        else:
            sub, mcs_used = hdbscan_labels(space, min_cluster_size=min_cluster_size)
            noise[valid] = sub < 0
            if split_dominant or (split_dominant is None and min_cluster_size is None):
                sub, made = _split_dominant(space, sub, mcs_used)
                splits = tuple(replace(s, members=valid[s.members]) for s in made)
            if assign_noise:
                sub = assign_noise_to_nearest(space, sub)
        labels[valid] = relabel_by_size(sub)
    elif method == "hdbscan":
        mcs_used = min_cluster_size if min_cluster_size is not None else auto_min_cluster_size(0)
    n_clusters = int(labels.max() + 1) if n and labels.max() >= 0 else 0
    if progress:
        progress(n, n)
    if method == "hdbscan":
        logger.info("HDBSCAN (min_cluster_size=%s): %d clusters, %d noise of %d posts, %d split(s)",
                    mcs_used, n_clusters, int(np.sum(labels < 0)), n, len(splits))
    return ClusterResult(
        labels_=labels, coords_2d_=coords, n_clusters_=n_clusters, noise_mask_=noise,
        reduction_=reduction, min_cluster_size_=mcs_used, k_=k_used, method=method, k=k,
        min_cluster_size=min_cluster_size, random_state=random_state, assign_noise=assign_noise,
        n_components=n_components, splits_=splits, split_dominant=split_dominant,
    )


def cluster_preview(embeddings, *, n_posts: int, min_cluster_size: int | None = None,
                    split_dominant: bool | None = None, **params) -> ClusterResult:
    """The map of a sample of a larger set, fitted as the full map will fit it.

    ``cluster_posts(all, fit_rows=sample)`` fits UMAP and the clustering on the sample and
    places the other posts; this runs the same fit on the sample alone, so a preview drawn
    before every post is embedded shows the full map's clusters, with the same numbers, at the
    full map's places for the sample's posts.

    Args:
        embeddings: float32 (m, dim) of the sample's posts, in the order of their positions
            in the full set, or a row source (:mod:`core.cluster.rows`).
        n_posts: posts with a non-zero embedding in the full set (the analyst's
            ``min_cluster_size`` is about them: scaled to the sample's share as the full map does).
        min_cluster_size, split_dominant: as in :func:`cluster_posts`, for the full set.
        **params: the other parameters of :func:`cluster_posts` (method, k, assign_noise...).

    Returns:
        A :class:`ClusterResult` over the m sample posts (``fit_sample_`` = m).
    """
    src = embeddings if isinstance(embeddings, (ArrayRows, NpyFileRows)) else ArrayRows(np.asarray(embeddings))
    first, inverse = distinct_rows(src)  # identical vectors count once, as in the full map's fit
    m = len(first)
    params.pop("fit_sample", None)
    res = cluster_posts(src if m == src.shape[0] else src.subset(first),
                        min_cluster_size=sample_min_cluster_size(min_cluster_size, m, n_posts),
                        split_dominant=(split_dominant if split_dominant is not None
                                        else min_cluster_size is None),
                        fit_sample=max(m, FIT_SAMPLE), **params)
    if m < src.shape[0]:  # copies take their first's result
        splits = tuple(replace(sp, members=np.flatnonzero(np.isin(inverse, sp.members))) for sp in res.splits_)
        res = replace(res, labels_=res.labels_[inverse], coords_2d_=res.coords_2d_[inverse],
                      noise_mask_=res.noise_mask_[inverse], splits_=splits)
    return replace(res, min_cluster_size=min_cluster_size, split_dominant=split_dominant, fit_sample_=m)

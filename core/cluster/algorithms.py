"""Clustering algorithms on the reduced space: HDBSCAN or KMeans.

HDBSCAN: Campello, Moulavi & Sander, "Density-Based Clustering Based on
Hierarchical Density Estimates", PAKDD 2013 (scikit-learn's
``sklearn.cluster.HDBSCAN``). Points in no cluster are noise, label ``-1``,
shown to the analyst as "unclustered".
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

from core.errors import ParameterError

logger = logging.getLogger(__name__)

#: Bounds of the automatic minimum cluster size.
AUTO_MIN_CLUSTER_SIZE_BOUNDS = (5, 100)
#: Below this many posts HDBSCAN may answer "one cluster" (allow_single_cluster).
SMALL_N = 30


def auto_min_cluster_size(n: int) -> int:
    """The automatic HDBSCAN minimum cluster size for ``n`` posts.

    ``round(sqrt(n) / 2)`` clipped to [5, 100], and never above ``n // 2``
    (at least 2): 11 for 500 posts, 16 for 1,000, 27 for 3,000, 50 for
    10,000. A size proportional to n (e.g. 1%) loses small topics on big
    files and fragments small files; a fixed size (e.g. 30) cannot suit both
    500 and 50,000 posts. The square root grows with the file but stays far
    below the size of any topic worth a name, and the minimum samples
    (:func:`auto_min_samples`) is kept small so that the choice of the
    minimum cluster size does not also decide how much becomes noise.
    ``bench/cluster_quality.py`` measures it on NLPCC subsamples of 500,
    1,000 and 3,000 posts and on CrisisLex mixes.

    Args:
        n: number of posts (>= 0).

    Returns:
        An int >= 2.
    """
    lo, hi = AUTO_MIN_CLUSTER_SIZE_BOUNDS
    size = int(min(hi, max(lo, round(math.sqrt(max(n, 0)) / 2))))
    return max(2, min(size, n // 2))


def auto_min_samples(min_cluster_size: int) -> int:
    """HDBSCAN's ``min_samples`` used with a given minimum cluster size:
    ``min(min_cluster_size, 10)`` (density estimated from at most 10 neighbours)."""
    return max(1, min(int(min_cluster_size), 10))


def _check_int(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ParameterError(f"The {name!r} parameter must be an int >= {low}. Got {value!r} instead.")
    return int(value)


def hdbscan_labels(
    space: np.ndarray,
    *,
    min_cluster_size: int | None = None,
    min_samples: int | None = None,
) -> tuple[np.ndarray, int]:
    """Cluster points with HDBSCAN.

    Args:
        space: float array of shape (n, d) (the UMAP space; Euclidean distance).
        min_cluster_size: smallest group HDBSCAN reports as a cluster (>= 2);
            ``None`` chooses :func:`auto_min_cluster_size`. Values above n
            are capped at n.
        min_samples: neighbours used to estimate density (``None``:
            :func:`auto_min_samples`).

    Returns:
        ``(labels, min_cluster_size_used)``: labels int64 (n,), clusters
        0..k-1 and -1 for noise.

    Raises:
        ValueError: ``min_cluster_size`` < 2 or not an int.
    """
    from sklearn.cluster import HDBSCAN

    n = space.shape[0]
    if min_cluster_size is None:
        mcs = auto_min_cluster_size(n)
    else:
        mcs = _check_int("min_cluster_size", min_cluster_size, 2)
    if n < 2:
        return np.zeros(n, dtype=np.int64), mcs
    mcs_eff = max(2, min(mcs, n))
    ms = auto_min_samples(mcs_eff) if min_samples is None else _check_int("min_samples", min_samples, 1)
    ms = min(ms, n - 1) if n > 1 else 1
    # With few posts (fewer than two minimum-size clusters, or a handful) "all one topic"
    # must be a possible answer:
    # let HDBSCAN select the single root cluster (it still marks outliers).
    single = n < 2 * mcs_eff or n < SMALL_N
    model = HDBSCAN(min_cluster_size=mcs_eff, min_samples=max(1, ms), allow_single_cluster=single, copy=True)
    labels = model.fit_predict(np.asarray(space, dtype=np.float64))
    return np.asarray(labels, dtype=np.int64), mcs


def kmeans_labels(space: np.ndarray, k: int, *, random_state: int = 42) -> tuple[np.ndarray, int]:
    """Cluster points with KMeans (k-means++, 10 restarts).

    Args:
        space: float array of shape (n, d).
        k: number of clusters (>= 1); capped at the number of distinct points.
        random_state: seed.

    Returns:
        ``(labels, k_used)``: labels int64 (n,) in 0..k_used-1 (no noise).

    Raises:
        ValueError: ``k`` < 1 or not an int.
    """
    from sklearn.cluster import KMeans

    k = _check_int("k", k, 1)
    n = space.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64), 0
    distinct = np.unique(np.round(np.asarray(space, dtype=np.float64), 6), axis=0).shape[0]
    k_used = max(1, min(k, distinct))
    if k_used < k:
        logger.info("k=%d capped at %d (distinct points)", k, k_used)
    if k_used == 1:
        return np.zeros(n, dtype=np.int64), 1
    model = KMeans(n_clusters=k_used, n_init=10, random_state=random_state)
    return np.asarray(model.fit_predict(np.asarray(space, dtype=np.float64)), dtype=np.int64), k_used


def relabel_by_size(labels: np.ndarray) -> np.ndarray:
    """Renumber clusters 0..k-1 from largest to smallest (ties: first seen
    first); noise stays -1.

    Args:
        labels: int array of shape (n,).

    Returns:
        int64 array of shape (n,).
    """
    labels = np.asarray(labels, dtype=np.int64)
    out = np.full_like(labels, -1)
    ids = [c for c in dict.fromkeys(labels.tolist()) if c >= 0]
    sizes = {c: int(np.sum(labels == c)) for c in ids}
    order = sorted(ids, key=lambda c: -sizes[c])  # stable: ties keep first-seen order
    for new, old in enumerate(order):
        out[labels == old] = new
    return out


def assign_noise_to_nearest(space: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Give each noise point (-1) the label of the nearest cluster centroid.

    Args:
        space: float array of shape (n, d), where the clusters were found.
        labels: int array of shape (n,), -1 = noise.

    Returns:
        int64 array of shape (n,); unchanged when there is no cluster at all.
    """
    labels = np.asarray(labels, dtype=np.int64).copy()
    ids = np.unique(labels[labels >= 0])
    noise = np.flatnonzero(labels < 0)
    if ids.size == 0 or noise.size == 0:
        return labels
    centroids = np.stack([space[labels == c].mean(axis=0) for c in ids])
    d = ((space[noise, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
    labels[noise] = ids[np.argmin(d, axis=1)]
    return labels


#: A cluster holding more than this share of the clustered posts is split again
#: by :func:`split_dominant` (automatic mode).
DOMINANT_SHARE = 0.5
#: At most this many successive splits of a dominant cluster.
MAX_SPLIT_ROUNDS = 2


@dataclass(frozen=True)
class DominantSplit:
    """One split made by :func:`split_dominant`.

    Attributes:
        size: posts in the cluster that was split.
        share: its share of the clustered posts (noise excluded), in (0, 1].
        n_parts: clusters it was split into (>= 2).
        members: int64 indices (into the labels) of the posts of the split
            cluster, ascending.
    """

    size: int
    share: float
    n_parts: int
    members: np.ndarray = field(repr=False, compare=False)


def split_dominant(
    space: np.ndarray,
    labels: np.ndarray,
    min_cluster_size: int,
    *,
    max_share: float = DOMINANT_SHARE,
    max_rounds: int = MAX_SPLIT_ROUNDS,
) -> tuple[np.ndarray, list[DominantSplit]]:
    """Split a cluster that holds most of the posts into its sub-themes.

    A file crawled for one event or keyword has an almost flat density: its
    HDBSCAN condensed tree has one long-lived root-like cluster and excess of
    mass (EOM) selects it, giving one cluster of ~95% of the posts. When the
    largest cluster holds more than ``max_share`` of the clustered posts,
    HDBSCAN is run again on that cluster's points alone (same space, same
    ``min_cluster_size``, ``allow_single_cluster=False`` so it must answer
    with the cluster's children). The split is kept only when it gives at least
    two clusters; the cluster's points that HDBSCAN leaves as noise go to the
    nearest sub-cluster centroid (:func:`assign_noise_to_nearest`), so a split
    never changes which posts are clustered. Repeated on the new largest
    cluster at most ``max_rounds`` times. Measured with
    ``bench/cluster_quality.py`` on single-event CrisisLex T26 files
    (information type = truth) and NLPCC/CrisisLex mixes (unchanged).

    Args:
        space: float array of shape (n, d), where ``labels`` were found.
        labels: int array of shape (n,), clusters >= 0, -1 = noise.
        min_cluster_size: the minimum cluster size used for ``labels`` (>= 2).
        max_share: split when the largest cluster's share of the clustered
            posts is above this, in (0, 1].
        max_rounds: most splits (>= 0).

    Returns:
        ``(labels, splits)``: int64 labels of shape (n,) (the split clusters'
        posts get new ids above the old ones; not renumbered by size; noise
        unchanged) and the list of :class:`DominantSplit` made, in order.

    Raises:
        ValueError: ``min_cluster_size`` < 2 or ``max_rounds`` < 0.
    """
    from sklearn.cluster import HDBSCAN

    mcs = _check_int("min_cluster_size", min_cluster_size, 2)
    rounds = _check_int("max_rounds", max_rounds, 0)
    labels = np.asarray(labels, dtype=np.int64).copy()
    splits: list[DominantSplit] = []
    for _ in range(rounds):
        clustered = labels[labels >= 0]
        if clustered.size == 0:
            break
        counts = np.bincount(clustered)
        big = int(counts.argmax())
        share = float(counts[big] / clustered.size)
        if share <= max_share or counts[big] < 2 * mcs:
            break
        members = np.flatnonzero(labels == big)
        sub_space = np.asarray(space[members], dtype=np.float64)
        model = HDBSCAN(min_cluster_size=mcs, min_samples=auto_min_samples(mcs),
                        allow_single_cluster=False, copy=True)
        sub = np.asarray(model.fit_predict(sub_space), dtype=np.int64)
        n_parts = len(np.unique(sub[sub >= 0]))
        if n_parts < 2:
            logger.info("dominant cluster of %d posts (%.0f%%) has no sub-clusters of >= %d posts",
                        members.size, 100 * share, mcs)
            break
        sub = assign_noise_to_nearest(sub_space, sub)
        labels[members] = sub + labels.max() + 1
        splits.append(DominantSplit(size=int(members.size), share=share, n_parts=n_parts, members=members))
        logger.info("split a dominant cluster of %d posts (%.0f%% of the clustered) into %d",
                    members.size, 100 * share, n_parts)
    return labels, splits

"""The Map job: cluster the posts on a 2D map, name the clusters, rerank inside each cluster.

Each function takes plain parameters (the Map page's :class:`dashboard.state.MapParams`),
makes the core call it stands for (``core.cluster``) through the cached loaders in
:mod:`dashboard.resources`, and stores the result in :mod:`dashboard.state`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.cluster import ClusterNames, rerank_within_clusters
from core.embed import CLUSTER_TASK
from dashboard import rerank, resources, state
from dashboard.state import ClusterMap, MapParams, RerankParams, WithinClusters


def made_with(p: MapParams, key: str) -> tuple:
    """What a clustering of the posts named by ``key`` with ``p`` is made from
    (:attr:`dashboard.results.ClusterMap.made_with`)."""
    return (key, state.settings().embedder, p.method, p.k, p.min_cluster_size, p.assign_noise)


def cluster(p: MapParams, posts: pd.DataFrame, mask: np.ndarray, key: str, *, progress_bar=None) -> ClusterMap:
    """Embed (cluster task), cluster and map ``posts``; stored as the Map page's clustering.

    Args:
        p: the Map page's parameters (method, k, minimum cluster size, noise assignment).
        posts: the posts to map (the loaded dataset's rows where ``mask`` is True).
        mask: bool array of shape (n_loaded_posts,) selecting ``posts``.
        key: :func:`dashboard.resources.posts_key` of ``posts``.
        progress_bar: an ``st.progress`` element to move while embedding, then while the
            map is fitted and the posts placed.

    Raises:
        core.errors.SieveError: the embedder cannot load, too few posts to cluster.
    """
    s = state.settings()
    made = made_with(p, key)
    emb = rerank.post_embeddings(task=CLUSTER_TASK, progress_bar=progress_bar)[mask]

    def placed(done: int, total: int) -> None:  # a click elsewhere stops the run here (Streamlit rerun)
        if progress_bar is not None:
            progress_bar.progress(min(1.0, done / max(1, total)),
                                  text=f"Map: {done:,} of {total:,} distinct posts placed")

    result = resources.clusters(key, s.embedder, p.method, p.k, p.min_cluster_size, p.assign_noise, emb,
                                placed)
    kw = resources.keywords(key, f"{made}", posts["text"].astype(str).tolist(), np.asarray(result.labels_))
    found = ClusterMap(made_with=made, result=result, keywords=kw)
    state.work().clusters = found
    return found


def cluster_names(keywords: dict) -> ClusterNames:
    """Readable cluster names from their keywords (:meth:`core.cluster.ClusterNames.from_keywords`)."""
    return ClusterNames.from_keywords(keywords)


def rerank_within(query: str, posts: pd.DataFrame, labels: np.ndarray, *, top_n: int,
                  names: dict) -> WithinClusters:
    """Rerank ``posts`` inside each cluster of the current clustering for ``query``, with the Rerank
    page's mode and instruction (``core.cluster.rerank_within_clusters``); stored as the Map
    page's per-cluster table.

    Args:
        query: the query (stripped).
        posts: the mapped posts; ``labels``: their cluster labels (int array, -1 = noise).
        top_n: best posts kept per cluster (>= 1).
        names: ``{cluster label: name}``.
    """
    rp = state.params(RerankParams)
    mode = rerank.modes().get(rp.mode)
    table = rerank_within_clusters(posts, labels, scorer=resources.scorer_for(state.settings()), query=query,
                                   instruction=(rp.instruction or (mode.instruction if mode else None)),
                                   top_n=top_n, names=names)
    w = state.work()
    found = WithinClusters(query=query, table=table, made_with=w.clusters.made_with if w.clusters else ())
    w.within = found
    return found

"""The Map job: cluster the posts on a 2D map, name the clusters, rerank inside each cluster.

Each function takes plain parameters (the Map page's :class:`dashboard.state.MapParams`),
makes the core call it stands for (``core.cluster``), and stores the result in
:mod:`dashboard.state`. A map is also kept for reuse (another tab, a refresh) until a
session's dataset is replaced (:func:`release_maps`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core.cluster import ClusterNames, cluster_keywords, cluster_posts, rerank_within_clusters
from core.embed import CLUSTER_TASK
from dashboard import rerank, resources, state
from dashboard.state import ClusterMap, MapParams, RerankParams, WithinClusters


def made_with(p: MapParams, key: str) -> tuple:
    """What a clustering of the posts named by ``key`` with ``p`` is made from
    (:attr:`dashboard.results.ClusterMap.made_with`)."""
    return (key, state.settings().embedder, p.method, p.k, p.min_cluster_size, p.assign_noise)


def map_vectors(mask: np.ndarray, progress_bar=None):
    """The vectors of the posts to map (``mask`` over the loaded dataset's rows), as the map reads them.

    For a large dataset whose dense index is built in the background (post vectors, no
    task), a row source over the store's ``vectors.npy`` read a block at a time
    (:func:`core.cluster.rows.store_rows`): a million vectors (2 GB) are never in memory
    at once. Otherwise the float32 array (n_mapped, dim) (an instruction-aware embedder's
    clustering vectors, or a table small enough to embed whole).
    """
    from core.cluster.rows import store_rows
    from core.store.vectors import open_post_vectors

    s = state.settings()
    build = rerank.dense_build()
    if (build is not None and not getattr(resources.embedder_for(s), "uses_task", True)
            and rerank.wait_dense_build(build, progress_bar)):  # the build's own store (shared, already open)
        store = open_post_vectors(resources.embedder_for(s),
                                  state.dataset().posts["text"].fillna("").astype(str).tolist())
        return store_rows(store, np.flatnonzero(mask))
    emb = rerank.post_embeddings(task=CLUSTER_TASK, progress_bar=progress_bar)
    return emb if bool(np.all(mask)) else emb[mask]


@st.cache_resource(show_spinner="Clustering…", max_entries=resources.MAX_DATASETS)
def _map_of(made: tuple, method: str, k: int, min_cluster_size: int, assign_noise: bool, _vectors,
            _texts, _progress=None) -> ClusterMap:
    """The map named by ``made`` (:func:`made_with`) of the vectors ``_vectors()`` returns, shared by
    the sessions showing it (read-only arrays, no copy per session); :func:`release_maps` drops them all."""
    result = cluster_posts(_vectors(), method=method, k=k if method == "kmeans" else None,
                           min_cluster_size=min_cluster_size or None, assign_noise=assign_noise,
                           progress=_progress)
    for arr in (result.labels_, result.coords_2d_, result.noise_mask_):
        arr.setflags(write=False)
    return ClusterMap(made_with=made, result=result, keywords=cluster_keywords(_texts, result.labels_))


def release_maps() -> None:
    """Forget every map kept for reuse (called when a session's dataset is replaced or closed:
    a session's own map lives in its :class:`dashboard.results.DatasetState`, which goes with it)."""
    _map_of.clear()


def cluster(p: MapParams, posts: pd.DataFrame, mask: np.ndarray, key: str, *, progress_bar=None) -> ClusterMap:
    """Embed (cluster task), cluster and map ``posts``; stored as the Map page's clustering.

    The vectors are read a block at a time for a large dataset (:func:`map_vectors`), and
    keywords are counted over every post a chunk at a time (``core.cluster.cluster_keywords``).

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
    made = made_with(p, key)

    def placed(done: int, total: int) -> None:  # a click elsewhere stops the run here (Streamlit rerun)
        if progress_bar is not None:
            progress_bar.progress(min(1.0, done / max(1, total)),
                                  text=f"Map: {done:,} of {total:,} distinct posts placed")

    # the vectors are fetched only when this map is not kept already
    found = _map_of(made, p.method, p.k, p.min_cluster_size, p.assign_noise,
                    lambda: map_vectors(mask, progress_bar), posts["text"].fillna(""), placed)
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

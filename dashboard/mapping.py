"""The Map job: cluster the posts on a 2D map, name the clusters, rerank inside each cluster.

Each function takes plain parameters (the Map page's :class:`dashboard.state.MapParams`),
makes the core call it stands for (``core.cluster``), and stores the result in
:mod:`dashboard.state`. A map is also kept for reuse (another tab, a refresh) until a
session's dataset is replaced (:func:`release_maps`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import NamedTuple

import numpy as np
import pandas as pd
import streamlit as st

from core.cluster import ClusterNames, cluster_keywords, cluster_posts, rerank_within_clusters
from core.cluster.sample import FIT_SAMPLE
from core.embed import CLUSTER_TASK
from core.schema import scorable_mask
from dashboard import rerank, resources, state
from dashboard.state import ClusterEdits, ClusterMap, MapParams, RerankParams, WithinClusters
from dashboard.widgets import escape_markdown


class MapRecipe(NamedTuple):
    """What a map is made from (:attr:`dashboard.results.ClusterMap.made_with`; a tuple, so
    it compares and hashes as one): the posts (:func:`dashboard.resources.posts_key`, which
    starts with the dataset hash), the embedder, and the Map page's parameters."""

    key: str
    embedder: str
    method: str
    k: int | None
    min_cluster_size: int | None
    assign_noise: bool


def made_with(p: MapParams, key: str) -> MapRecipe:
    """What a clustering of the posts named by ``key`` with ``p`` is made from."""
    return MapRecipe(key, state.settings().embedder, p.method, p.k, p.min_cluster_size, p.assign_noise)


def mappable(posts: pd.DataFrame) -> np.ndarray:
    """The posts a map may show: bool (n,), the scorable ones (every post of a table without
    a ``scorable`` column)."""
    ok = scorable_mask(posts)
    return np.ones(len(posts), dtype=bool) if ok is None else ok


def map_build():
    """The loaded dataset's background dense build when the map reads its vectors (a large
    dataset, an embedder whose post vectors are also its clustering vectors), else None."""
    build = rerank.dense_build()
    if build is None or getattr(resources.embedder_for(state.settings()), "uses_task", True):
        return None
    return build


def map_vectors(mask: np.ndarray, progress_bar=None, rows: np.ndarray | None = None):
    """The vectors of the posts to map (``mask`` over the loaded dataset's rows; ``rows``: only
    those positions among them), as the map reads them.

    For a large dataset whose dense index is built in the background (post vectors, no
    task), a row source over the store's ``vectors.npy`` read a block at a time
    (:func:`core.cluster.rows.store_rows`): a million vectors (2 GB) are never in memory
    at once. Without ``rows`` it waits for every post to be embedded. Otherwise the float32
    array (n_mapped, dim) (an instruction-aware embedder's clustering vectors, or a table
    small enough to embed whole).
    """
    from core.cluster.rows import store_rows
    from core.store.vectors import open_post_vectors

    s = state.settings()
    build = map_build()
    positions = np.flatnonzero(mask) if rows is None else np.flatnonzero(mask)[rows]
    if build is not None and (rows is not None or rerank.wait_dense_build(build, progress_bar)):
        store = open_post_vectors(resources.embedder_for(s),  # the build's own store (shared, already open)
                                  state.dataset().posts["text"].fillna("").astype(str).tolist())
        return store_rows(store, positions)
    emb = rerank.post_embeddings(task=CLUSTER_TASK, progress_bar=progress_bar)
    return emb if rows is None and bool(np.all(mask)) else emb[positions]


def full_map_fit_rows(mask: np.ndarray) -> np.ndarray | None:
    """Positions among the mapped posts (``mask``) to fit the full map on: the build's preview
    sample when the map shows every post of it (so the full map keeps the preview's fit), else
    None (a seeded sample of the mapped posts, e.g. inside a narrowed time range)."""
    build = map_build()
    if build is None or not build.preview_is_sample:
        return None  # no build, or its "sample" is every text: the map's own rule applies
    rows = build.preview_positions(np.flatnonzero(mask))
    return rows if len(rows) == len(build.preview) else None


#: Maps kept for reuse (another tab, a refresh), the most recent first out of the door.
MAX_MAPS = 2 * resources.MAX_DATASETS


@st.cache_resource(show_spinner=False)
def _kept() -> tuple[threading.Lock, OrderedDict, dict]:
    """The maps kept by name, their lock, and the per-name locks of maps being computed (one set per
    server; ``st.cache_resource.clear()`` forgets them). Not an ``st.cache_resource`` of the maps
    themselves: a cached function replays the page elements it touched (the progress bar) on a hit,
    and a bar from an earlier run no longer exists (``CacheReplayClosureError`` when the same map was
    asked for again)."""
    return threading.Lock(), OrderedDict(), {}


def _map_of(name: tuple, compute) -> ClusterMap:
    """The map kept under ``name``, else ``compute()``'s, kept (:data:`MAX_MAPS` at most). A second
    session asking for a map being computed waits for it instead of computing it again."""
    lock, maps, computing = _kept()
    with lock:
        if name in maps:
            maps.move_to_end(name)
            return maps[name]
        mine = computing.setdefault(name, threading.Lock())
    with mine:
        try:
            with lock:
                if name in maps:
                    return maps[name]
            found = compute()
            with lock:
                maps[name] = found
                while len(maps) > MAX_MAPS:
                    maps.popitem(last=False)
        finally:  # also when the run was stopped or failed: the next asker computes it
            with lock:
                computing.pop(name, None)
    return found


def _make_map(made: MapRecipe, kind: str, source, texts: pd.Series, progress) -> ClusterMap:
    """The map ``made`` (:func:`made_with`) of kind ``"full"`` or ``"preview"`` of the posts ``source()``
    gives (``(vectors, fit_rows, rows, n_posts)``; ``rows``: their positions in the dataset's table,
    whose texts are ``texts``), with read-only arrays (shared by the sessions showing it)."""
    from core.cluster import cluster_preview

    vectors, fit_rows, rows, n_posts = source()
    params = {"method": made.method, "k": made.k if made.method == "kmeans" else None,
              "assign_noise": made.assign_noise, "progress": progress,
              "min_cluster_size": made.min_cluster_size or None}
    if kind == "preview":
        result = cluster_preview(vectors, n_posts=n_posts, **params)
    else:
        result = cluster_posts(vectors, fit_rows=fit_rows, **params)
    for arr in (result.labels_, result.coords_2d_, result.noise_mask_, rows):
        arr.setflags(write=False)
    texts = (texts if len(rows) == len(texts) else texts.iloc[rows].reset_index(drop=True)).fillna("")
    return ClusterMap(made_with=made, result=result, rows=rows, preview=kind == "preview",
                      keywords=cluster_keywords(texts, result.labels_))


def release_maps(dataset_hash: str | None = None) -> None:
    """Forget the maps kept for reuse of the dataset ``dataset_hash`` (every map when None): called when
    a session's dataset is replaced or closed. A session's own map lives in its
    :class:`dashboard.results.DatasetState`, which goes with it."""
    lock, maps, _ = _kept()
    with lock:
        for name in [n for n in maps if dataset_hash is None or str(n[0].key).startswith(f"{dataset_hash}:")]:
            del maps[name]


def cluster(p: MapParams, posts: pd.DataFrame, mask: np.ndarray, key: str, *, progress_bar=None,
            full: bool = False) -> ClusterMap:
    """Embed (cluster task), cluster and map ``posts``; stored as the Map page's clustering.

    The vectors are read a block at a time for a large dataset (:func:`map_vectors`), and
    keywords are counted over every post a chunk at a time (``core.cluster.cluster_keywords``).
    While a large dataset's posts are still being embedded (:func:`map_build`), and unless
    ``full``, this draws a **preview** instead: the map of the build's random preview sample
    (embedded first, about 30 s after the upload), fitted as the full map will be fitted
    (``core.cluster.cluster_preview``); :attr:`ClusterMap.rows` says which posts it shows.
    With ``full``, it waits for every post to be embedded.

    Args:
        p: the Map page's parameters (method, k, minimum cluster size, noise assignment).
        posts: the posts to map (the loaded dataset's rows where ``mask`` is True).
        mask: bool array of shape (n_loaded_posts,) selecting ``posts``.
        key: :func:`dashboard.resources.posts_key` of ``posts``.
        progress_bar: an ``st.progress`` element to move while embedding, then while the
            map is fitted and the posts placed.
        full: draw the full map even when that means waiting for the dense build.

    Raises:
        core.errors.SieveError: the embedder cannot load, too few posts to cluster.
    """
    made = made_with(p, key)

    def placed(done: int, total: int) -> None:  # a click elsewhere stops the run here (Streamlit rerun)
        if progress_bar is not None:
            progress_bar.progress(min(1.0, done / max(1, total)),
                                  text=f"Map: {done:,} of {total:,} distinct posts placed" if done else
                                  f"Map: fitting UMAP and the clustering on up to {FIT_SAMPLE:,} of {total:,} "
                                  "distinct posts (a minute or two, no progress until it is done)")

    texts = state.dataset().posts["text"]
    build = map_build()
    rows = None
    if build is not None and not full and not build.complete and _wait_preview(build, progress_bar):
        rows = build.preview_positions(np.flatnonzero(mask))
        if len(rows) < PREVIEW_MIN or not build.preview_is_sample:
            rows = None  # too few of the sample in this time range, or not a sample: wait for the full map
    if rows is not None:
        n_posts = int(posts["text"].fillna("").astype(str).str.strip().ne("").sum())
        found = _map_of((made, "preview"), lambda: _make_map(
            made, "preview", lambda: (map_vectors(mask, rows=rows), None, np.flatnonzero(mask)[rows], n_posts),
            texts, placed))
    else:  # the vectors are fetched only when this map is not kept already
        found = _map_of((made, "full"), lambda: _make_map(
            made, "full", lambda: (map_vectors(mask, progress_bar), full_map_fit_rows(mask), np.flatnonzero(mask),
                                   None), texts, placed))
    state.work().clusters = found
    return found


#: Fewest posts of the preview sample inside the map's time range for a preview to be drawn.
PREVIEW_MIN = 200


def _wait_preview(build, progress_bar=None) -> bool:
    """Wait for ``build``'s preview sample to be embedded (moving ``progress_bar``); whether it is.

    Raises:
        the build's own error, when it failed.
    """
    return rerank.wait_build(build.wait_preview, build,
                             "Embedding a random sample of {total:,} posts for a preview map: {done:,} done",
                             progress_bar)


def cluster_names(keywords: dict) -> ClusterNames:
    """Readable cluster names from their keywords (:meth:`core.cluster.ClusterNames.from_keywords`)."""
    return ClusterNames.from_keywords(keywords)


def edits_for(done: ClusterMap) -> ClusterEdits | None:
    """This session's renames and merges of ``done`` (None when it has none: they were made on
    another map, or never)."""
    edits = state.work().cluster_edits
    return edits if edits is not None and edits.version == done.version else None


def shown(done: ClusterMap) -> tuple[np.ndarray, ClusterNames, dict[int, list[str]]]:
    """``(labels, names, keywords)`` of ``done`` as this session edited it (:class:`ClusterEdits`:
    merged clusters take the label they were merged into; typed names over keyword names).

    Returns:
        int64 labels of shape (n,) in the map's row order (-1 = noise), the names, the keywords.
    """
    labels = np.asarray(done.result.labels_)
    edits = edits_for(done)
    if edits is None:
        return labels, cluster_names(done.keywords), done.keywords
    keywords = done.keywords if edits.keywords is None else edits.keywords
    if edits.merged and len(labels):
        lut = np.arange(-1, int(labels.max()) + 1, dtype=np.int64)  # lut[c + 1] = c
        for c, into in edits.merged.items():
            if c + 1 < len(lut):
                lut[c + 1] = into
        labels = lut[labels + 1]
    names = cluster_names(keywords)
    for c, name in edits.names.items():
        names = names.rename(c, name)
    return labels, names, keywords


def shown_version(done: ClusterMap) -> tuple:
    """:attr:`ClusterMap.version` plus this session's merges: what a per-cluster table was made on."""
    edits = edits_for(done)
    return (*done.version, tuple(sorted(edits.merged.items())) if edits is not None else ())


def _edits_of(done: ClusterMap) -> ClusterEdits:
    """:func:`edits_for`, made empty when there are none (edits of another map are dropped)."""
    edits = edits_for(done)
    if edits is None:
        edits = state.work().cluster_edits = ClusterEdits(version=done.version)
    return edits


def rename_cluster(done: ClusterMap, cluster: int, name: str) -> None:
    """Show ``cluster`` of ``done`` as ``name`` in this session.

    Raises:
        core.errors.ParameterError: ``cluster`` is -1 (noise keeps its name) or ``name`` is blank.
    """
    _, names, _ = shown(done)
    renamed = names.rename(cluster, name)  # checks the name
    _edits_of(done).names[int(cluster)] = renamed.name(cluster)


def merge_into_one(done: ClusterMap, clusters: list[int], name: str, texts: pd.Series) -> int:
    """Merge ``clusters`` of ``done`` into the smallest of their ids in this session, and count the
    keywords again over the merged labels (``core.cluster.cluster_keywords``).

    Args:
        texts: the texts of the map's posts, in its row order.
        name: the merged cluster's name; blank keeps the first name typed for one of the merged
            clusters (smallest id first), else the keyword name counted after the merge.

    Returns:
        The merged cluster's id.

    Raises:
        core.errors.ParameterError: fewer than two clusters, noise among them, or an id not on the map.
    """
    from core.errors import ParameterError

    ids = sorted({int(c) for c in clusters})
    if len(ids) < 2:
        raise ParameterError("Choose at least two clusters to merge.")
    labels, names, _ = shown(done)
    merged_labels, merged_names = names.merge(labels, ids, name=name or None)  # checks the ids
    into = ids[0]
    edits = _edits_of(done)
    edits.merged = {c: (into if to in ids else to) for c, to in edits.merged.items()}
    edits.merged.update({c: into for c in ids[1:]})
    edits.keywords = cluster_keywords(texts.fillna("").reset_index(drop=True), merged_labels)
    typed = [edits.names[c] for c in ids if c in edits.names]  # the smallest id's first
    edits.names = {c: v for c, v in edits.names.items() if c not in ids}
    if name.strip():
        edits.names[into] = merged_names.name(into)
    elif typed:  # no new name: keep a name the analyst typed for one of them
        edits.names[into] = typed[0]
    return into


def forget_edits() -> None:
    """Drop this session's renames and merges (the map shows its own clusters again)."""
    state.work().cluster_edits = None


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
    found = WithinClusters(query=query, table=table, made_with=shown_version(w.clusters) if w.clusters else ())
    w.within = found
    return found


def full_map_offer(done: ClusterMap, n_mapped: int, where=st) -> bool:
    """Say what a preview map is and offer the full map (a button, in ``where``); True when pressed.

    Args:
        done: the preview (:attr:`ClusterMap.preview`).
        n_mapped: posts the full map will show.
        where: the Streamlit container to write in (default the page).
    """
    build = map_build()
    shown = len(done.rows)
    if build is None or build.complete:
        where.info(f"Preview: {shown:,} of the {n_mapped:,} posts, drawn at random. Every post is embedded "
                   "now: the full map places all of them.", icon=":material/preview:")
        return where.button("Draw the full map", type="primary", icon=":material/map:", key="map.full")
    if build.error is not None:
        where.warning(f"Preview: {shown:,} of the {n_mapped:,} posts, drawn at random. Embedding the other posts "
                      f"stopped ({escape_markdown(str(build.error))}), so the full map cannot be drawn now.",
                      icon=":material/error:")
        rerank.retry_failed_build(where, key="map.retry")
        return False
    when = rerank.time_left(build)
    where.info(f"Preview: {shown:,} of the {n_mapped:,} posts, drawn at random and embedded first. The full "
               f"map places every post once all are embedded ({build.done:,} of {build.total:,} distinct texts "
               f"so far{when}); "
               "it keeps this preview's clusters and places when no time range narrows the map.",
               icon=":material/preview:")
    return where.button("Wait for the full map", icon=":material/hourglass_top:", key="map.full",
                        help="Waits here with a progress bar; a click elsewhere stops waiting (the embedding "
                             "goes on).")

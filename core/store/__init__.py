"""Per-dataset storage under the data folder: what a reopened dataset reads instead of recomputing.

``<data>/datasets/`` (``Settings.data_dir``, env ``SIEVE_DATA_DIR``) holds:

- ``<export key>/``: the post table as Parquet and the ingest report
  (:mod:`core.store.posts`; key = SHA-256 of the export's bytes and reading options);
- ``bm25-<texts key>/``: the BM25 index (bm25s's sparse matrix;
  :func:`core.candidates.bm25.cached_index`);
- ``dense-<texts key>-<model>/``: the post vectors (memory-mapped float32
  ``.npy``) and their ANN index (:mod:`core.store.vectors`, :mod:`core.store.ann`).

``texts key`` is :func:`core.candidates.bm25.texts_key` of the texts ranked
(a changed export, or duplicates collapsed or not, is another corpus). Every
folder and file is written under a temporary name and renamed into place
(:mod:`core.store.folder`). Deleting the folder only costs recomputation.
"""

from __future__ import annotations

import ctypes
import gc
import logging

logger = logging.getLogger(__name__)


def release_memory() -> None:
    """Drop the in-memory BM25 indexes and open vector stores of every dataset (their
    folders stay) and hand freed memory back to the operating system (glibc
    ``malloc_trim``; a no-op elsewhere) and Arrow's memory pool (which keeps freed
    blocks: 57 MB after a 60,000-post table). Call when a dataset is closed or replaced."""
    import sys

    from core.candidates.bm25 import _cjk_subwords, release_indexes, stem
    from core.store.vectors import release_post_vectors

    release_indexes()
    release_post_vectors()
    stem.cache_clear()
    _cjk_subwords.cache_clear()
    gc.collect()
    if "pyarrow" in sys.modules:
        sys.modules["pyarrow"].default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        logger.debug("malloc_trim is not available here")

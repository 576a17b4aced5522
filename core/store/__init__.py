"""Per-dataset storage under the data folder: what a reopened dataset reads instead of recomputing.

``<data>/datasets/`` (``Settings.data_dir``, env ``SIEVE_DATA_DIR``) holds:

- ``<export key>/``: the post table as Parquet and the ingest report
  (:mod:`core.store.posts`; key = SHA-256 of the export's bytes and reading options);
- ``bm25-<texts key>/``: the BM25 index (bm25s's sparse matrix;
  :func:`core.candidates.bm25.cached_index`);
- ``dense-<texts key>-<model>/``: the post vectors (memory-mapped float32
  ``.npy``) and their ANN index (:mod:`core.store.vectors`, :mod:`core.store.ann`).

``texts key`` is :func:`core.store.folder.texts_key` of the texts ranked
(a changed export, or duplicates collapsed or not, is another corpus). Every
folder and file is written under a temporary name and renamed into place
(:mod:`core.store.folder`). Deleting the folder only costs recomputation; the least
recently used folders are removed beyond ``SIEVE_STORE_MAX_GB`` (:mod:`core.store.usage`).
``core.candidates.index.release_memory()`` drops what is held in memory.
"""

from __future__ import annotations

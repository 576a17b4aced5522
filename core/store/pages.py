"""Resident memory of large arrays: zero arrays that take memory only where written, and
file maps whose pages leave the process once read or written.

A million 512-d post vectors are 2 GB; these keep what a process holds to the rows it
uses (:mod:`core.store.vectors`, :mod:`core.store.ann`, :mod:`core.candidates.index`).
"""

from __future__ import annotations

import logging

import numpy as np

logger = logging.getLogger(__name__)


def sparse_zeros(rows: int, dim: int) -> np.ndarray:
    """float32 zeros (rows, dim) whose memory is taken 4 KB page by page as rows are written.

    For the (n, dim) post vectors of a large table of which only a query's pool is
    embedded. ``np.zeros`` asks for transparent huge pages on large arrays, so writing
    a few hundred scattered rows made nearly all of a 2 GB array resident (2 MB per
    touched page); an anonymous memory map without that advice takes 4 KB per row
    written, reads of unwritten rows take nothing, and it is unmapped when the array
    is garbage-collected. Values are those of ``np.zeros``.
    """
    import mmap

    size = int(rows) * int(dim) * 4
    if size == 0:
        return np.zeros((rows, dim), dtype=np.float32)
    # private, not shared: reading an unwritten page of a shared anonymous map allocates it
    # (shared memory has no zero page), so one pass of ``vectors @ q`` made all 2 GB resident
    buf = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    return np.frombuffer(buf, dtype=np.float32).reshape(rows, dim)


def drop_resident(arr: np.ndarray) -> None:
    """Take a file-backed memory map's pages out of this process's resident memory.

    Pages written or read through a shared file mapping stay mapped, and counted in
    the process's RSS, until it is unmapped: a full dense index of a million posts
    read once (exact search, building the ANN index) would keep 2 GB resident.
    ``madvise(MADV_DONTNEED)`` drops them from the process; they stay in the
    operating system's page cache (a later read maps them again without disk I/O
    while memory allows) and the data is kept (dirty pages of a shared file
    mapping are written back, not discarded). A no-op for an array that is not a
    shared or read-only file map (``np.memmap`` mode ``"r"``, ``"r+"`` or ``"w+"``),
    or where ``madvise`` is not available.
    """
    import mmap

    mm = getattr(arr, "_mmap", None)
    if mm is None or getattr(arr, "mode", None) not in ("r", "r+", "w+") or not hasattr(mmap, "MADV_DONTNEED"):
        return
    try:
        mm.madvise(mmap.MADV_DONTNEED)
    except (OSError, ValueError) as exc:  # a closed map; or a platform that refuses
        logger.debug("madvise(MADV_DONTNEED) refused: %s", exc)

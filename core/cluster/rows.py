"""Post vectors read a block at a time, so the map of a million posts never holds them all.

A million 512-d float32 vectors are 2 GB, and the pages of a memory map that are
read count in the process's resident memory until the map is closed. The map
(:func:`core.cluster.cluster_posts`) therefore reads its vectors through a
*row source*: an object with ``shape`` (n, dim), ``take(positions)`` (a float32
copy of those rows) and ``subset(positions)`` (a row source of those rows, no
copy). Two kinds:

- :class:`ArrayRows`: an array already in memory (small tables, tests);
- :class:`NpyFileRows`: a float32 ``.npy`` file such as the dataset store's
  ``vectors.npy`` (:mod:`core.store.vectors`), read with explicit reads (``seek`` +
  ``readinto`` a block buffer), never memory-mapped, so only the block being
  worked on is resident.

:func:`iter_blocks` walks a source in order; :func:`store_rows` gives the rows of
some posts of an open :class:`core.store.vectors.PostVectors`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

#: Rows read per block when a source is walked in order (8,192 x 512 float32 = 16 MB).
READ_BLOCK = 8192
#: Rows between two wanted file rows that are read and dropped rather than sought over.
_GAP = 32


class ArrayRows:
    """Rows of an array in memory (optionally only the rows at ``index``).

    Args:
        x: float array (m, dim).
        index: int64 positions into ``x`` (default: all rows, in order).
    """

    def __init__(self, x: np.ndarray, index: np.ndarray | None = None) -> None:
        self._x = x
        self._index = None if index is None else np.asarray(index, dtype=np.int64)
        n = x.shape[0] if self._index is None else len(self._index)
        self.shape = (int(n), int(x.shape[1]))

    def take(self, positions: np.ndarray) -> np.ndarray:
        """float32 (len(positions), dim) copy of the rows at ``positions`` (0..n-1)."""
        pos = np.asarray(positions, dtype=np.int64)
        rows = pos if self._index is None else self._index[pos]
        return np.asarray(self._x[rows], dtype=np.float32)

    def subset(self, positions: np.ndarray) -> ArrayRows:
        """The rows at ``positions`` as a row source (no copy of the vectors)."""
        pos = np.asarray(positions, dtype=np.int64)
        return ArrayRows(self._x, pos if self._index is None else self._index[pos])


class NpyFileRows:
    """Rows of a 2-D float32 C-order ``.npy`` file, read with explicit reads (no memory map).

    Args:
        path: the ``.npy`` file.
        index: int64 file rows of the posts (default: every file row, in order); rows may repeat.
        zero: bool (file_rows,): file rows to give as zeros (e.g. not embedded yet), or None.

    Raises:
        ValueError: the file is not a 2-D float32 C-order array.
        OSError: it cannot be opened.
    """

    def __init__(self, path: str | Path, index: np.ndarray | None = None, zero: np.ndarray | None = None) -> None:
        self.path = Path(path)
        with open(self.path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = read_header(fh)
            self._offset = fh.tell()
        if len(shape) != 2 or fortran or np.dtype(dtype) != np.float32:
            raise ValueError(f"{self.path} is not a 2-D float32 C-order array (shape {shape}, {dtype}).")
        self._rows_in_file, self._dim = int(shape[0]), int(shape[1])
        self._index = None if index is None else np.asarray(index, dtype=np.int64)
        self._zero = None if zero is None else np.asarray(zero, dtype=bool)
        n = self._rows_in_file if self._index is None else len(self._index)
        self.shape = (int(n), self._dim)

    def _read(self, file_rows: np.ndarray) -> np.ndarray:
        """float32 (len(file_rows), dim) of ``file_rows`` (any order, repeats allowed)."""
        if not len(file_rows):
            return np.zeros((0, self._dim), dtype=np.float32)
        uniq, back = np.unique(file_rows, return_inverse=True)
        got = np.empty((len(uniq), self._dim), dtype=np.float32)
        row_bytes = self._dim * 4
        # runs of wanted rows less than _GAP apart are read in one call
        breaks = np.flatnonzero(np.diff(uniq) > _GAP) + 1
        with open(self.path, "rb", buffering=0) as fh:
            for part in np.split(np.arange(len(uniq)), breaks):
                lo, hi = int(uniq[part[0]]), int(uniq[part[-1]]) + 1
                whole = hi - lo == len(part)  # every row of the run wanted: read straight into place
                span = got[part[0] : part[-1] + 1] if whole else np.empty((hi - lo, self._dim), dtype=np.float32)
                view, want = memoryview(span).cast("B"), (hi - lo) * row_bytes
                fh.seek(self._offset + lo * row_bytes)
                done = 0
                while done < want:
                    k = fh.readinto(view[done:])
                    if not k:
                        raise OSError(f"{self.path} ended before row {hi:,} (truncated?)")
                    done += k
                if not whole:
                    got[part] = span[uniq[part] - lo]
        if self._zero is not None:
            got[self._zero[uniq]] = 0.0
        return got if len(uniq) == len(file_rows) and np.array_equal(uniq, file_rows) else got[back.reshape(-1)]

    def take(self, positions: np.ndarray) -> np.ndarray:
        """float32 (len(positions), dim) copy of the rows at ``positions`` (0..n-1)."""
        pos = np.asarray(positions, dtype=np.int64)
        return self._read(pos if self._index is None else self._index[pos])

    def subset(self, positions: np.ndarray) -> NpyFileRows:
        """The rows at ``positions`` as a row source (nothing read)."""
        pos = np.asarray(positions, dtype=np.int64)
        sub = NpyFileRows.__new__(NpyFileRows)
        sub.path, sub._offset, sub._rows_in_file, sub._dim = self.path, self._offset, self._rows_in_file, self._dim
        sub._index, sub._zero = (pos if self._index is None else self._index[pos]), self._zero
        sub.shape = (len(sub._index), self._dim)
        return sub


def as_rows(x) -> ArrayRows | NpyFileRows:
    """``x`` as a row source: a source is returned as is, anything else as :class:`ArrayRows` of float32.

    Raises:
        ValueError: an array that is not 2-D.
    """
    if hasattr(x, "take") and hasattr(x, "subset") and hasattr(x, "shape") and not isinstance(x, np.ndarray):
        return x
    arr = np.asarray(x, dtype=np.float32)
    if arr.ndim != 2:
        raise ValueError(f"embeddings must be a 2-D array (n_posts, dim). Got shape {arr.shape} instead.")
    return ArrayRows(arr)


def iter_blocks(rows, block: int = READ_BLOCK) -> Iterator[tuple[int, np.ndarray]]:
    """``(start, float32 (b, dim))`` for consecutive blocks of at most ``block`` rows, in order."""
    n = rows.shape[0]
    for start in range(0, n, block):
        yield start, rows.take(np.arange(start, min(start + block, n)))


def store_rows(store, positions: np.ndarray | None = None):
    """The vectors of the posts at ``positions`` (default all) of an open
    :class:`core.store.vectors.PostVectors`, as a row source: :class:`NpyFileRows` over its
    ``vectors.npy`` when it lives on disk (rows not embedded read as zeros), else a copy in memory."""
    if store.folder is None:
        return ArrayRows(store.vectors(positions))
    index = store.inverse if positions is None else store.inverse[np.asarray(positions, dtype=np.int64)]
    zero = np.zeros(store.n_distinct, dtype=bool)
    zero[store.missing()] = True
    return NpyFileRows(Path(store.folder) / "vectors.npy", index=np.asarray(index, dtype=np.int64),
                       zero=zero if zero.any() else None)

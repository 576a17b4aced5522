"""Stored vectors a damaged disk or a bad write left unusable: found and marked to embed again.

Read from ``vectors.npy`` with plain reads, not through a memory map, so checking a million
rows does not leave them resident in the process (see :mod:`core.store.vectors`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)


def forget_damaged_rows(folder: Path, vecs: np.ndarray, done: np.ndarray, block: int = 8_192) -> None:
    """Mark rows holding NaN or infinity (a damaged disk, a bad write) as not embedded, so they are
    embedded again instead of emptying every ranking they enter.

    Only blocks holding rows marked done are checked, and they are read from the file with plain
    reads, not through the memory map: a page read through the map stays in the process's resident
    memory (a million rows are 2 GB), a page read into a buffer does not."""
    bad = 0
    done_rows = np.flatnonzero(np.asarray(done))
    if not len(done_rows):
        return
    dim = vecs.shape[1]
    with open(folder / "vectors.npy", "rb") as fh:
        version = np.lib.format.read_magic(fh)
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        _, fortran, dtype = read_header(fh)
        if fortran or dtype != np.dtype("<f4"):
            raise ValueError(f"vectors.npy holds {dtype} (Fortran order {fortran}), not C-order float32")
        data_start = fh.tell()
        for start in np.unique(done_rows // block) * block:
            stop = min(start + block, vecs.shape[0])
            fh.seek(data_start + int(start) * dim * 4)
            rows = np.fromfile(fh, dtype=np.float32, count=(stop - start) * dim).reshape(-1, dim)
            broken = np.asarray(done[start:stop]) & ~np.isfinite(rows).all(axis=1)
            if broken.any():
                done[start:stop] = np.asarray(done[start:stop]) & ~broken
                bad += int(broken.sum())
    if bad:
        done.flush()
        logger.warning("%s: %d stored vectors were damaged (not finite); they are embedded again", folder, bad)

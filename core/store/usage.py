"""The disk the stored datasets take, and removing the least recently used ones.

Every dataset opened keeps folders under ``<data>/datasets/`` (:mod:`core.store`): its
post table, its BM25 index and its post vectors with their ANN index, and a time window
of a large dataset is a corpus of its own (its own BM25 index and vectors). A million
posts take about 3 GB (2 GB of them the vectors), and nothing removed them: the data
folder grew with every export and every window an analyst ever opened.

So each folder's last use is its modification time (:func:`mark_used`: set when a folder
is opened or written, and while it is used: each query's search and each chunk a build
embeds), and after a new folder is written :func:`prune` removes
the least recently used folders until the store fits ``Settings.store_max_gb`` (env
``SIEVE_STORE_MAX_GB``, default :data:`core.config.DEFAULT_STORE_MAX_GB`). A folder in use
(:func:`in_use`) is never removed, even when the store stays over the cap: open in this process
(:func:`open_here`), held open by any process on this machine (a second server, the command
line: :mod:`core.store.holders`, checked again under the lock that removes it), or used in the
last :data:`MIN_IDLE_S` seconds (a process on another machine sharing the folder, or between a
folder's write and its first hold). Removing a folder only costs recomputing it when its dataset is
opened again; grades live in the label store, never here.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from core.store import holders
from core.store.folder import remove, store_root

logger = logging.getLogger(__name__)

#: A folder used this recently (seconds) is kept even over the cap: another process may have it open.
MIN_IDLE_S = 3600.0


@dataclass(frozen=True)
class StoredFolder:
    """One folder of the dataset store.

    Attributes:
        path: the folder.
        kind: ``"post table"``, ``"BM25 index"`` or ``"post vectors"`` (with the ANN index).
        bytes: disk space its files take (allocated blocks: a sparse vectors file counts
            only the rows written), int >= 0.
        last_used: when it was last opened or written, seconds since the epoch.
    """

    path: Path
    kind: str
    bytes: int
    last_used: float


def kind_of(name: str) -> str:
    """What a store folder named ``name`` holds (see :mod:`core.store`)."""
    if name.startswith("bm25-"):
        return "BM25 index"
    if name.startswith("dense-"):
        return "post vectors"
    return "post table"


def mark_used(folder: str | Path) -> None:
    """Record that ``folder`` is in use now (its modification time); a missing folder is ignored."""
    try:
        os.utime(folder)
    except OSError:
        pass


def disk_bytes(folder: str | Path) -> int:
    """Bytes of disk the files under ``folder`` take (``st_blocks`` x 512, so a sparse file counts
    the blocks written; the files' lengths where there are no blocks, as on Windows; 0 when it is gone)."""
    total = 0
    for dirpath, _, files in os.walk(folder):
        for name in files:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:  # removed meanwhile
                continue
            blocks = getattr(st, "st_blocks", None)  # absent on Windows: the file's length there
            total += st.st_size if blocks is None else blocks * 512
    return total


def size_text(n_bytes: int) -> str:
    """``n_bytes`` for a person: GB (two decimals) from 1 GB, else MB (one decimal)."""
    return f"{n_bytes / 1e9:,.2f} GB" if n_bytes >= 1e9 else f"{n_bytes / 1e6:,.1f} MB"


def stored_folders(root: str | Path | None = None) -> list[StoredFolder]:
    """The folders of the dataset store (dot names left out: temporaries of writers at work and
    the holders' lock files), least recently used first."""
    out = []
    for entry in store_root(root).iterdir():
        if entry.name.startswith(".") or not entry.is_dir() or entry.is_symlink():
            continue
        try:
            last = entry.stat().st_mtime
        except OSError:
            continue
        out.append(StoredFolder(entry, kind_of(entry.name), disk_bytes(entry), last))
    return sorted(out, key=lambda f: (f.last_used, f.path.name))


#: Callables returning the store folders a later stage holds open (e.g. the BM25 indexes in
#: memory, registered by :mod:`core.candidates.bm25`): this stage cannot import those stages.
_holders: list[Callable[[], Iterable[Path]]] = []


def register_holder(holder: Callable[[], Iterable[Path]]) -> Callable[[], Iterable[Path]]:
    """Count the folders ``holder()`` returns as open in this process (:func:`open_here`); returns ``holder``."""
    if holder not in _holders:
        _holders.append(holder)
    return holder


def open_here() -> set[Path]:
    """Store folders this process holds open: open vector stores and what the registered holders
    return (BM25 indexes in memory), resolved."""
    from core.store import vectors

    folders = {Path(name) for name, store in list(vectors._open.items()) if not store.closed}
    for holder in _holders:
        folders.update(Path(p) for p in holder())
    return {p.resolve() for p in folders}


def in_use(folder: StoredFolder, open_folders: set[Path], now: float, min_idle_s: float = MIN_IDLE_S) -> bool:
    """Whether :func:`prune` must keep ``folder``: among ``open_folders`` (resolved paths, e.g.
    :func:`open_here`), used less than ``min_idle_s`` seconds before ``now``, or held open by a
    process on this machine (:func:`core.store.holders.held`)."""
    return (folder.path.resolve() in open_folders or now - folder.last_used < min_idle_s
            or holders.held(folder.path))


def max_bytes_setting() -> int:
    """The cap from ``Settings.store_max_gb`` (env ``SIEVE_STORE_MAX_GB``), in bytes."""
    from core.config import get_settings

    return int(get_settings().store_max_gb * 1e9)


def prune(root: str | Path | None = None, *, max_bytes: int | None = None, keep: Iterable[Path] | None = None,
          min_idle_s: float = MIN_IDLE_S, now: float | None = None) -> list[StoredFolder]:
    """Remove the least recently used store folders until the store takes at most ``max_bytes``.

    Args:
        root: the folder of dataset folders (default :func:`core.store.folder.store_root`).
        max_bytes: the cap (default :func:`max_bytes_setting`); 0 removes every folder not in use.
        keep: folders never removed (default :func:`open_here`); folders any process holds
            (:mod:`core.store.holders`) are never removed either.
        min_idle_s: folders used more recently than this many seconds are kept too.
        now: the current time (seconds since the epoch; default the clock), for tests.

    Returns:
        The folders removed, least recently used first.
    """
    max_bytes = max_bytes_setting() if max_bytes is None else int(max_bytes)
    kept = {Path(p).resolve() for p in (open_here() if keep is None else keep)}
    now = time.time() if now is None else now
    folders = stored_folders(root)
    total = sum(f.bytes for f in folders)
    removed = []
    for folder in folders:
        if total <= max_bytes:
            break
        if in_use(folder, kept, now, min_idle_s):
            continue
        with holders.removing(folder.path) as free:  # a process that opened it since: it stays
            if not free:
                continue
            remove(folder.path, f"the dataset store is over its cap ({size_text(total)} of "
                                f"{size_text(max_bytes)}) and this is its least recently used folder")
        if folder.path.exists():  # not removed (a read-only disk; remove logged why): not counted
            continue
        total -= folder.bytes
        removed.append(folder)
    holders.clear_orphans(store_root(root))
    return removed


def after_write(folder: str | Path) -> None:
    """Call once a store folder was written (a new folder, or a large file added: the ANN index):
    marks it used and prunes the store it belongs to (its parent folder) to the cap (never raises:
    a failure is logged, the folder is kept)."""
    mark_used(folder)
    try:
        prune(Path(folder).parent)
    except Exception:  # pruning is housekeeping: it must never fail the read or build it follows
        logger.exception("pruning the dataset store failed")

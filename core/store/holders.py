"""Which store folders some process holds open: a lock per folder that every process on the machine sees.

:func:`core.store.usage.prune` must never remove a folder that a process has open: this one's
open vector stores and BM25 indexes (:func:`core.store.usage.open_here`), and those of another
process using the same data folder (a second dashboard server, the command line
``python -m core ...``). The last-use time alone cannot say that: a dataset left open for an
afternoon is not used for hours, yet its next search reads the folder.

So a process holding ``<root>/<name>/`` open holds a shared ``flock`` on
``<root>/.holders/<name>`` (:func:`hold`, released by :meth:`Hold.release`); removing the folder
takes the exclusive lock without waiting (:func:`removing`), so it fails while any process holds
the folder, and a process that opens the folder meanwhile waits until the removal is done and
then finds the folder gone (and rebuilds it) instead of reading half of it. The kernel drops a
process's locks when it exits, however it exits (``SIGKILL`` included), so a dead holder never
blocks removal and a recycled process id means nothing here. A lock file whose folder is gone is
removed (:func:`clear_orphans`); the lock files live beside the folders, never inside one, so
sizes, folder contents and last-use times are unaffected.

Limits: one machine. A data folder shared over NFS or SMB by processes on several machines is
out of scope (``flock`` there is emulated or local to one client): only the idle hour of
:data:`core.store.usage.MIN_IDLE_S` protects such a folder. Without ``fcntl`` (Windows) every
function here is a no-op that reports no holder, with the same fallback. A process forked (not
spawned) while holding a folder shares the lock until it exits: the folder is kept longer, never
removed early.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Self

try:
    import fcntl
except ImportError:  # Windows: no cross-process holder marks (see the module docstring)
    fcntl = None

logger = logging.getLogger(__name__)

#: The folder of lock files, under the store root (a dot name: never listed as a store folder).
HOLDERS_DIR = ".holders"
#: Seconds :func:`hold` waits for a removal of the folder under way (a large folder's delete) before
#: going on without a hold.
WAIT_S = 60.0


def lock_path(folder: str | Path) -> Path:
    """The lock file of store folder ``folder``: ``<root>/.holders/<name>``."""
    folder = Path(folder)
    return folder.parent / HOLDERS_DIR / folder.name


def _lock(path: Path, exclusive: bool, *, create: bool, wait_s: float) -> int | None:
    """A descriptor of ``path`` holding its lock (shared or exclusive), or None when another
    descriptor holds a conflicting one for longer than ``wait_s`` seconds (0: no wait).

    Raises:
        FileNotFoundError: ``path`` is missing and ``create`` is False.
        OSError: the lock file cannot be created or locked (a read-only disk).
    """
    if create:
        path.parent.mkdir(exist_ok=True)
    mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
    deadline = time.monotonic() + wait_s
    while True:
        fd = os.open(path, os.O_RDONLY | (os.O_CREAT if create else 0), 0o666)  # flock needs no write access
        try:
            fcntl.flock(fd, mode)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)
            continue
        except BaseException:
            os.close(fd)
            raise
        try:  # the file may have been removed between open and lock (its folder removed): lock the new one
            mine, now = os.fstat(fd), os.stat(path)
            if (mine.st_dev, mine.st_ino) == (now.st_dev, now.st_ino):
                return fd
        except FileNotFoundError:
            if not create:
                os.close(fd)
                raise
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


class Hold:
    """This process's shared lock on one store folder (see the module docstring); release it with
    :meth:`release` (closing the descriptor, e.g. at exit, releases it too).

    Attributes:
        folder: the store folder held.
        held: whether the lock is taken (False where locks are unavailable or failed).
    """

    def __init__(self, folder: Path, fd: int | None) -> None:
        self.folder = folder
        self._fd = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Drop the lock (idempotent); the lock file stays for the next holder."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at interpreter exit: the kernel drops the lock anyway
            self.release()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def hold(folder: str | Path, *, wait_s: float = WAIT_S) -> Hold:
    """Mark ``folder`` as open in this process for every process on this machine until the
    returned :class:`Hold` is released; take it *before* reading or creating the folder.

    Waits up to ``wait_s`` seconds while another process removes the folder (then the folder is
    gone). Never raises for the lock: where it cannot be taken (no ``fcntl``, a read-only store,
    a removal that takes longer) the hold is empty (``held`` False), logged, and the folder has the
    idle hour's protection only.
    """
    folder = Path(folder)
    if fcntl is None:
        return Hold(folder, None)
    try:
        fd = _lock(lock_path(folder), False, create=True, wait_s=wait_s)
    except OSError as exc:
        logger.warning("cannot mark %s as open (%s): other processes may remove it after an idle hour", folder, exc)
        return Hold(folder, None)
    if fd is None:
        logger.warning("%s was still being removed after %.0f s; opening it without a hold", folder, wait_s)
    return Hold(folder, fd)


def held(folder: str | Path) -> bool:
    """Whether some process on this machine (this one included) holds ``folder`` open (:func:`hold`).

    A snapshot for display: a hold may begin right after; :func:`removing` decides for a removal.
    False where locks are unavailable.
    """
    if fcntl is None:
        return False
    try:
        fd = _lock(lock_path(folder), True, create=False, wait_s=0)
    except OSError:  # no lock file: never held since its last removal
        return False
    if fd is None:
        return True
    os.close(fd)
    return False


@contextlib.contextmanager
def removing(folder: str | Path) -> Iterator[bool]:
    """Exclusive use of ``folder`` for removing it: yields False (do not remove) when some process
    holds it, True otherwise, and then no process can take a hold until the block ends (a
    :func:`hold` meanwhile waits). The lock file is removed at the end when the folder is gone.
    Yields True where locks are unavailable."""
    folder = Path(folder)
    if fcntl is None:
        yield True
        return
    path = lock_path(folder)
    try:
        fd = _lock(path, True, create=True, wait_s=0)
    except OSError as exc:  # a read-only store: no process can hold it either
        logger.debug("cannot lock %s: %s", path, exc)
        fd = -1
    if fd is None or fd < 0:
        yield fd is not None
        return
    try:
        yield True
    finally:
        try:
            if not os.path.lexists(folder):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        finally:
            os.close(fd)


@contextlib.contextmanager
def building(folder: str | Path, what: str, *, wait_s: float = 4 * 3600.0) -> Iterator[bool]:
    """One builder of ``what`` (e.g. ``"ann"``) for ``folder`` at a time on this machine: an exclusive
    lock on ``<root>/.holders/<name>.<what>``, waited for up to ``wait_s`` seconds (another process,
    such as the index build of a server that was stopped and started again, builds it meanwhile:
    look for its result once this yields). Yields whether the lock is held (False: not within
    ``wait_s``, locks unavailable or the store read-only; the caller builds anyway)."""
    folder = Path(folder)
    if fcntl is None:
        yield False
        return
    path = lock_path(folder).with_name(f"{folder.name}.{what}")
    try:
        fd = _lock(path, True, create=True, wait_s=wait_s)
    except OSError as exc:
        logger.debug("cannot lock %s: %s", path, exc)
        fd = None
    try:
        yield fd is not None
    finally:
        if fd is not None:
            os.close(fd)


def clear_orphans(root: str | Path) -> int:
    """Remove the lock files under ``<root>/.holders`` whose folder is gone and that no process
    holds; returns how many."""
    n = 0
    base = Path(root) / HOLDERS_DIR
    if fcntl is None or not base.is_dir():
        return 0
    for path in base.iterdir():
        folder = Path(root) / path.name
        if os.path.lexists(folder):
            continue
        with removing(folder) as free:
            pass
        n += int(free and not path.exists())
    return n

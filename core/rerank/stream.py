"""Rankings that arrive as they are scored, and this machine's measured scoring rate.

:func:`rerank_stream` runs the steps of :func:`core.rerank.pipeline.rerank`
but yields a :class:`~core.rerank.pipeline.Ranking` after each step: first the
first-stage order (nothing scored yet), then after every batch of candidates
the scored ones best first followed by the rest in first-stage order
(``Ranking.complete`` False, ``Ranking.n_scored`` counting up), and last the
complete ranking, equal to what :func:`~core.rerank.pipeline.rerank` returns.
Candidates are scored in first-stage order in batches that start small (the
first top 10 shows within seconds on a CPU) and double. A cancel ends the
stream with the partial ranking of what was scored, saying so in its notes.

:class:`RateBook` keeps the pairs per second measured per scorer (by its score-
cache key) in ``rerank_rates.json`` in the cache folder, so a page can say how
long a run will take before it starts.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from core.config import DEFAULT_RERANK_BUDGET
from core.errors import Cancelled
from core.rerank.cache import scorer_key
from core.rerank.pipeline import Ranking, assemble, prepare

logger = logging.getLogger(__name__)

RATES_FILE = "rerank_rates.json"
_now = time.perf_counter  # the clock batches are timed with (tests replace it)


class RateBook:
    """Scoring rates (pairs per second) measured on this machine, per scorer.

    Args:
        cache_dir: folder of ``rerank_rates.json``; ``None`` keeps the rates in
            memory only.

    Rates are keyed by :func:`core.rerank.cache.scorer_key` (model, revision,
    device, dtype, ...) and updated as an exponential average (weight 0.5 on
    the newest measurement). Only pairs the model really ran count (posts served
    from the score cache are left out when the scorer reports ``misses``).
    """

    def __init__(self, cache_dir: str | Path | None = None) -> None:
        self.path = None if cache_dir is None else Path(cache_dir).expanduser() / RATES_FILE
        self._lock = threading.Lock()
        self._rates: dict[str, float] = {}
        if self.path is not None and self.path.is_file():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self._rates = {str(k): float(v) for k, v in data.items() if float(v) > 0}
            except (OSError, ValueError, TypeError, AttributeError) as exc:
                logger.warning("Ignoring the unreadable rates file %s (%s)", self.path, exc)

    def rate(self, scorer) -> float | None:
        """Measured pairs per second of ``scorer`` here, or None when never measured."""
        return self._rates.get(scorer_key(scorer))

    def estimate(self, scorer, n_pairs: int) -> float | None:
        """Seconds to score ``n_pairs`` (none from the cache) at the measured rate, or None."""
        r = self.rate(scorer)
        return None if r is None else n_pairs / r

    def record(self, scorer, pairs: int, seconds: float) -> None:
        """Add a measurement: ``pairs`` run by the model in ``seconds`` of wall time.

        Measurements under 4 pairs or 0.05 s are too noisy and are ignored.
        """
        if pairs < 4 or seconds < 0.05:
            return
        key, new = scorer_key(scorer), pairs / seconds
        with self._lock:
            old = self._rates.get(key)
            self._rates[key] = new if old is None else 0.5 * old + 0.5 * new
            if self.path is not None:
                try:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    self.path.write_text(json.dumps(self._rates, indent=1), encoding="utf-8")
                except OSError as exc:
                    logger.warning("Could not save the scoring rates to %s (%s)", self.path, exc)


def batch_plan(n: int, *, first: int = 16, largest: int = 64) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` covering ``range(n)``: ``first`` posts, then doubling up to ``largest``.

    Example:
        >>> batch_plan(100, first=8, largest=32)
        [(0, 8), (8, 24), (24, 56), (56, 88), (88, 100)]
    """
    out, start, size = [], 0, max(1, int(first))
    while start < n:
        out.append((start, min(n, start + size)))
        start += size
        size = min(max(size, int(largest)), size * 2)
    return out


def rerank_stream(
    posts: pd.DataFrame,
    query: str,
    *,
    scorer,
    mode=None,
    instruction: str | None = None,
    top_k: int | None = None,
    budget: int = DEFAULT_RERANK_BUDGET,
    embedder=None,
    embeddings: np.ndarray | None = None,
    modes=None,
    first_batch: int = 16,
    largest_batch: int = 64,
    rates: RateBook | None = None,
    progress: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> Iterator[Ranking]:
    """Rerank ``posts`` for ``query``, yielding a better ranking after every batch.

    Arguments as for :func:`core.rerank.pipeline.rerank`, plus:

    Args:
        first_batch: candidates in the first batch (default 16; later batches
            double up to ``largest_batch``, default 64). A scorer whose scores
            depend on the candidate set (the embedded default) gets one batch.
        rates: where to record the measured pairs per second (optional).
        progress: ``progress(done, total)`` in candidates, within batches too.
        should_cancel: polled before and inside every batch; True ends the
            stream with the partial ranking (no exception).

    Yields:
        :class:`~core.rerank.pipeline.Ranking` objects: first the first-stage
        order (``n_scored`` 0), then one per batch (``complete`` False, the
        scored candidates best first, then the pending ones in first-stage
        order with NaN scores), and last the complete ranking -- the same as
        :func:`~core.rerank.pipeline.rerank` gives (a pointwise scorer scores
        each post alone). After a cancel the last ranking yielded is partial
        and its notes say how many candidates were scored.

    Raises:
        SieveError: as :func:`~core.rerank.pipeline.rerank`, before the first yield.
    """
    prep = prepare(posts, query, scorer=scorer, mode=mode, instruction=instruction, top_k=top_k,
                   budget=budget, embedder=embedder, embeddings=embeddings, modes=modes)
    n = len(prep.texts)
    scores = np.full(n, np.nan)
    log_odds: np.ndarray | None = None
    done = np.zeros(n, dtype=bool)
    info = prep.info
    plan = batch_plan(n, first=first_batch, largest=largest_batch) if prep.scorer.pointwise else [(0, n)]
    if not n:  # nothing to score: the (empty) ranking is complete at once
        yield assemble(prep, scores, None, top_k=top_k)
        return
    yield assemble(prep, scores, log_odds, done=done, top_k=top_k)
    for start, stop in plan:
        try:
            if should_cancel is not None and should_cancel():
                raise Cancelled("cancelled between batches")
            misses0 = getattr(prep.scorer, "misses", None)
            t0 = _now()
            res = prep.scorer.predict(
                query, prep.texts[start:stop], instruction=prep.instruction, should_cancel=should_cancel,
                progress=None if progress is None else (lambda d, t, s=start: progress(s + d, n)))
        except Cancelled:
            partial = assemble(prep, scores, log_odds, info=info, done=done, top_k=top_k)
            partial.notes.append(f"Cancelled: {int(done.sum())} of {n} candidates were scored; the other "
                                 f"{n - int(done.sum())} follow in first-stage order without a score.")
            logger.info("rerank of %r cancelled after %d of %d candidates", query, int(done.sum()), n)
            yield partial
            return
        if rates is not None:
            misses = getattr(prep.scorer, "misses", None)
            ran = stop - start if misses0 is None or misses is None else misses - misses0
            rates.record(prep.scorer, ran, _now() - t0)
        scores[start:stop] = res.scores
        if res.log_odds is not None:
            if log_odds is None:
                log_odds = np.full(n, np.nan)
            log_odds[start:stop] = res.log_odds
        info = res.info or info
        done[start:stop] = True
        if progress is not None:
            progress(int(done.sum()), n)
        yield assemble(prep, scores, log_odds, info=info, done=done, top_k=top_k)

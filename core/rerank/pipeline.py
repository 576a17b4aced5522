"""From (posts, query, mode) to a :class:`Ranking`.

Steps (docs/API.md, "core.rerank"; each a named function of
:mod:`core.rerank.steps`, :mod:`core.rerank.mode_part` or :mod:`core.rerank.diversify`):

1. Unscorable posts (empty text, placeholders: ``scorable`` False) are set
   aside with their reason in ``Ranking.unscored``.
2. First stage (:func:`core.candidates.first_stage`): when the table has more
   scorable posts than the budget, BM25 + dense cosine fused by reciprocal rank
   fusion keep the best ``budget`` candidates; otherwise every scorable post is
   a candidate. Their fused order is the "before" order (``first_stage_rank``).
   Above ``core.candidates.index.FULL_EMBED_MAX`` scorable posts, only BM25's
   best posts for the query (and those already embedded) get a vector
   (:func:`core.candidates.index.pool_embeddings`); the rest rank by BM25 alone.
3. The scorer, bound to the whole table first (:meth:`core.rerank.base.RelevanceScorer.bind`:
   a no-op for Qwen3 and vLLM; the embedded default takes its BM25 statistics
   from it), scores the candidates under the mode's instruction.
4. Modes with ``diversify`` re-order the scored list by maximal marginal
   relevance over embeddings (:func:`core.candidates.mmr`; relevance = the
   scores in [0, 1], similarity = cosine), with the weight recorded. It is the only part of a mode a scorer that ignores instructions
   (the embedded default) applies; ``Ranking.notes`` says so.
5. Modes with ``diversify`` then move every duplicate of a higher-ranked post
   below all the distinct posts (:func:`demote_duplicates`): MMR alone keeps
   an identical retweet near its original when both score high (lambda 0.7
   weighs relevance over novelty). Duplicates are posts with the same
   :func:`core.text.tokenize.normalise_for_dedupe` key or in the same ingest
   duplicate group (``dup_of``); the copies keep their relative order and
   ``Ranking.duplicates_moved`` counts them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from core.candidates.index import FULL_EMBED_MAX
from core.config import DEFAULT_RERANK_BUDGET
from core.errors import Cancelled
from core.rerank.base import ScoreResult, ScorerInfo
from core.rerank.diversify import demote_copies, demote_duplicates, diversify
from core.rerank.mode_part import fuse_for_scorer, scorer_note
from core.rerank.modes import Mode, resolve_instruction
from core.rerank.steps import (
    bind_scorer,
    check_arguments,
    choose_candidates,
    embed_for_first_stage,
    order_by_score,
    ranking_table,
    set_aside_unscorable,
)

logger = logging.getLogger(__name__)

__all__ = ["RANKING_COLUMNS", "Prepared", "Ranking", "assemble", "demote_duplicates", "prepare", "rerank",
           "score_candidates"]

#: Columns of ``Ranking.table``, in order.
RANKING_COLUMNS = ("post_id", "rank", "score", "log_odds", "first_stage_rank", "moved", "text")


@dataclass
class Ranking:
    """The reranked posts for one (query, mode) and what produced them.

    Attributes:
        query: the analyst's query.
        mode: the mode name (``"relevance"``, ``"novelty"``, ...).
        instruction: the instruction text given to the scorer (recorded even
            when the scorer ignores it; see ``info.follows_instructions``).
        info: the :class:`ScorerInfo` of the scorer that produced the scores.
        table: one row per scored candidate, best first, columns
            ``post_id`` (str), ``rank`` (int, 1 = best), ``score`` (float, the
            ranking score in [0, 1]: the scorer's relevance score, or, when
            the mode part was fused in, ``(1 - w) * mm(relevance_score) + w *
            mode_score``), ``log_odds`` (float, NaN for scorers without one),
            ``first_stage_rank`` (int, 1-based position in the first-stage
            "before" order), ``moved`` (``first_stage_rank - rank``: > 0 = moved
            up), ``text``; then ``relevance_score`` (the scorer's own score),
            ``mode_score`` (the mode's model-agnostic signal in [0, 1],
            :mod:`core.rerank.mode_part`; NaN when none was applied),
            ``bm25_rank`` and ``dense_rank`` (1-based ranks among all scorable
            posts; 0 when no dense retrieval ran).
        unscored: posts not scored, columns ``post_id``, ``reason``.
        created_at: ISO 8601 UTC time of the ranking.
        notes: sentences for the analyst about how the ranking was made (first
            stage used, instruction ignored, diversification applied).
        diversified: whether MMR re-ordered the list.
        mmr_lambda: the MMR weight used, or ``None``.
        n_candidates: how many candidates the scorer saw.
        n_scorable: how many scorable posts the table has.
        budget: the rerank budget.
        first_stage_method: ``"rrf"``, ``"convex"`` or ``"bm25"``.
        mode_signal: the mode signal fused into ``score`` (``"emotion"``,
            ``"accuracy"``, ``"instruction"``), or ``None``.
        mode_weight: its weight ``w``, or ``None``.
        duplicates_moved: how many duplicates a diversifying mode moved below
            the distinct posts (:func:`demote_duplicates`); 0 otherwise.
        n_scored: candidates scored so far (``n_candidates`` when complete).
        complete: False for a partial ranking (:func:`core.rerank.stream.rerank_stream`
            while it runs, or after a cancel): the scored candidates come
            first, best first; the rest follow in first-stage order with a NaN
            score and log-odds.
    """

    query: str
    mode: str
    instruction: str
    info: ScorerInfo
    table: pd.DataFrame
    unscored: pd.DataFrame
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    notes: list[str] = field(default_factory=list)
    diversified: bool = False
    mmr_lambda: float | None = None
    n_candidates: int = 0
    n_scorable: int = 0
    budget: int = DEFAULT_RERANK_BUDGET
    first_stage_method: str = "rrf"
    duplicates_moved: int = 0
    n_scored: int = 0
    complete: bool = True
    mode_signal: str | None = None
    mode_weight: float | None = None

    def to_run(self) -> dict[str, float]:
        """The ranking as a ranx/TREC run for one query: ``{post_id: score}``.

        Scores are the relevance scores, except for a diversified ranking (or
        one whose duplicates were moved down) whose order is not the score
        order: then ``(n - rank + 1) / n`` (in (0, 1]), so that sorting by
        score gives back the shown order. A partial ranking gives its scored
        candidates only.
        """
        tab = self.table if self.complete else self.table[self.table["score"].notna()]
        if tab.empty:
            return {}
        if self.diversified or self.duplicates_moved:
            n = len(tab)
            return {str(p): float(n - r + 1) / n for p, r in zip(tab["post_id"], tab["rank"])}
        return {str(p): float(s) for p, s in zip(tab["post_id"], tab["score"])}


def _check_cancel(should_cancel: Callable[[], bool] | None) -> None:
    if should_cancel is not None and should_cancel():
        raise Cancelled("Reranking was cancelled.")


@dataclass
class Prepared:
    """What :func:`prepare` hands to scoring and :func:`assemble` (steps 1-2 done, scorer bound).

    Attributes:
        query, mode (the :class:`Mode`), instruction: what is ranked and how.
        scorer: the scorer to call, bound to this table (:meth:`RelevanceScorer.bind`).
        embedder: the embedder for MMR, or None.
        info: the scorer's :class:`ScorerInfo`.
        candidates: the first stage's :class:`core.candidates.Candidates`.
        texts: the candidates' texts, in first-stage order (what the scorer scores).
        ids: every post's ID (str array); ``posts``: the table, index reset.
        unscored_rows: ``(post_id, reason)`` of posts set aside before scoring.
        notes: sentences for :attr:`Ranking.notes` so far.
        budget: the rerank budget.
        bm25: ``bm25(text) -> float (n_candidates,)``: BM25 scores of the candidates from the
            table's own index (for a mode's instruction words).
    """

    query: str
    mode: Mode
    instruction: str
    scorer: object
    embedder: object
    info: ScorerInfo
    candidates: object
    texts: list[str]
    ids: np.ndarray
    posts: pd.DataFrame
    unscored_rows: list[tuple[str, str]]
    notes: list[str]
    budget: int
    bm25: object = None


def prepare(posts: pd.DataFrame, query: str, *, scorer, mode=None, instruction=None, top_k=None, budget=DEFAULT_RERANK_BUDGET,
            embedder=None, embeddings=None, modes=None, should_cancel=None) -> Prepared:
    """Steps 1-2 of :func:`rerank` and the scorer bound to the table: check the arguments, set
    unscorable posts aside, choose the candidates. Arguments and errors as for :func:`rerank`."""
    check_arguments(posts, query, top_k=top_k, budget=budget)
    chosen, instr = resolve_instruction(mode, instruction, modes)
    embedder = scorer.embedder if embedder is None else embedder  # the embedded scorer brings its own
    _check_cancel(should_cancel)
    table = set_aside_unscorable(posts)
    notes: list[str] = []
    embeddings = embed_for_first_stage(table, query, embedder, embeddings, budget=int(budget),
                                       diversify=chosen.diversify, notes=notes, full_embed_max=FULL_EMBED_MAX)
    cands = choose_candidates(table, query, embedder, embeddings, budget=int(budget), notes=notes)
    _check_cancel(should_cancel)
    scorer = bind_scorer(scorer, table, embeddings)
    return Prepared(bm25=table.candidate_bm25(cands.positions), query=query, mode=chosen, instruction=instr,
                    scorer=scorer, embedder=embedder, info=scorer.info, candidates=cands,
                    texts=[table.texts[i] for i in cands.positions], ids=table.ids, posts=table.posts,
                    unscored_rows=table.unscored_rows, notes=notes, budget=int(budget))


def score_candidates(prep: Prepared, *, progress=None, should_cancel=None) -> ScoreResult:
    """Step 3 of :func:`rerank`: the bound scorer scores the candidates under the instruction
    (through the score cache when the scorer is a :class:`core.rerank.cache.CachedScorer`)."""
    result = prep.scorer.predict(prep.query, prep.texts, instruction=prep.instruction, progress=progress,
                                 should_cancel=should_cancel)
    _check_cancel(should_cancel)
    return result


def assemble(prep: Prepared, scores: np.ndarray, log_odds: np.ndarray | None, *, info: ScorerInfo | None = None,
             done: np.ndarray | None = None, top_k: int | None = None, should_cancel=None) -> Ranking:
    """Steps 4-5 of :func:`rerank` and the table, from the candidates' scores.

    Args:
        prep: what :func:`prepare` returned.
        scores: float (n_candidates,) in first-stage order; NaN = not scored.
        log_odds: float (n_candidates,) or None for scorers without one.
        info: the scores' :class:`ScorerInfo` (default: ``prep.info``).
        done: bool (n_candidates,): which candidates the scorer has seen
            (default: all). The others ("pending") follow the scored ones in
            first-stage order, and the ranking is marked incomplete.
        top_k: keep only the ``top_k`` best rows.

    Returns:
        A :class:`Ranking`.
    """
    info = info or prep.info
    n_cand = len(prep.candidates.positions)
    done = np.ones(n_cand, dtype=bool) if done is None else np.asarray(done, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    has_lo = log_odds is not None
    log_odds = np.full(n_cand, np.nan) if log_odds is None else np.asarray(log_odds, dtype=np.float64)
    ok = done & ~np.isnan(scores)
    unscored_rows = list(prep.unscored_rows) + [
        (prep.ids[prep.candidates.positions[i]], "not scored by the model (empty after cleaning)")
        for i in np.flatnonzero(done & ~ok)]
    notes = list(prep.notes)

    # A scorer that cannot read the instruction gets the mode's model-agnostic part instead.
    relevance = scores.copy()
    scores, mode_scores, part = fuse_for_scorer(prep, info, scores, ok)
    _check_cancel(should_cancel)
    order = order_by_score(scores, log_odds if has_lo and part is None else None, ok)
    if not info.follows_instructions:
        notes.append(scorer_note(info, prep.mode, part))
    diversified, lam, moved = False, None, 0
    if prep.mode.diversify and len(order) > 1:
        order, diversified, lam = diversify(prep, order, scores, notes, should_cancel)
        order, moved = demote_copies(prep, order, notes)
    order = np.concatenate([order, np.flatnonzero(~done)]).astype(np.int64)  # pending ones last

    table = ranking_table(prep, order, scores, log_odds, relevance, mode_scores)
    if top_k is not None:
        table = table.head(int(top_k)).reset_index(drop=True)
    cands = prep.candidates
    return Ranking(query=prep.query, mode=prep.mode.name, instruction=prep.instruction, info=info, table=table,
                   unscored=pd.DataFrame(unscored_rows, columns=["post_id", "reason"]), notes=notes,
                   diversified=diversified, mmr_lambda=lam, n_candidates=n_cand, n_scorable=cands.n_scorable,
                   budget=prep.budget, first_stage_method=cands.method, duplicates_moved=moved,
                   n_scored=int(done.sum()), complete=bool(done.all()),
                   mode_signal=None if part is None else part.signal,
                   mode_weight=None if part is None else part.weight)


def rerank(
    posts: pd.DataFrame,
    query: str,
    *,
    scorer,
    mode: str | Mode | None = "relevance",
    instruction: str | None = None,
    top_k: int | None = None,
    budget: int = DEFAULT_RERANK_BUDGET,
    embedder=None,
    embeddings: np.ndarray | None = None,
    modes: dict[str, Mode] | None = None,
    progress: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> Ranking:
    """Rerank ``posts`` for ``query`` under a mode.

    Reads as its steps: :func:`prepare` (check the arguments, set unscorable
    posts aside, choose the candidates, bind the scorer to the table), then
    :func:`score_candidates`, then :func:`assemble` (the mode part fused in,
    diversified, duplicates moved down, the :class:`Ranking` table).

    Args:
        posts: post table (``core.schema``); needs ``post_id`` and ``text``;
            ``scorable`` / ``unscorable_reason`` are honoured when present.
        query: the analyst's query (any language), not empty.
        scorer: a :class:`core.rerank.base.RelevanceScorer`.
        mode: mode name or :class:`Mode` (default ``"relevance"``).
        instruction: explicit instruction text; wins over the mode's.
        top_k: keep only the ``top_k`` best rows in ``table`` (default: all
            scored candidates).
        budget: how many first-stage candidates the scorer scores (>= 1,
            default 200).
        embedder: :class:`core.embed.base.Embedder` for the dense first stage
            and MMR; default: the scorer's own ``embedder`` (the embedded
            scorer's; None for the others: BM25-only first stage, no
            diversification).
        embeddings: optional precomputed float32 (len(posts), dim) embeddings
            of ``posts['text']`` by ``embedder``.
        modes: the available modes (default: built-in modes).
        progress: ``progress(done, total)`` passed to the scorer (pairs).
        should_cancel: polled between steps and passed to the scorer.

    Returns:
        A :class:`Ranking`. :func:`core.rerank.stream.rerank_stream` gives the
        same ranking step by step (partial rankings as batches are scored).

    Raises:
        SieveError: for an empty query, a ``top_k`` or ``budget`` < 1, an
            unknown mode, or a table without ``post_id``/``text`` columns.
        core.errors.Cancelled: when ``should_cancel()`` returned True.
    """
    prep = prepare(posts, query, scorer=scorer, mode=mode, instruction=instruction, top_k=top_k, budget=budget,
                   embedder=embedder, embeddings=embeddings, modes=modes, should_cancel=should_cancel)
    result = score_candidates(prep, progress=progress, should_cancel=should_cancel)
    ranking = assemble(prep, result.scores, result.log_odds, info=result.info, top_k=top_k,
                       should_cancel=should_cancel)
    logger.info("reranked %d candidates for %r with %s (mode %s)", ranking.n_candidates, query,
                ranking.info.model_id, ranking.mode)
    return ranking

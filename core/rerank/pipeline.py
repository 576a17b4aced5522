"""From (posts, query, mode) to a :class:`Ranking`.

Steps (docs/ARCHITECTURE.md, "core.rerank"):

1. Unscorable posts (empty text, placeholders: ``scorable`` False) are set
   aside with their reason in ``Ranking.unscored``.
2. First stage (:func:`core.candidates.first_stage`): when the table has more
   scorable posts than the budget, BM25 + dense cosine fused by reciprocal rank
   fusion keep the best ``budget`` candidates; otherwise every scorable post is
   a candidate. Their fused order is the "before" order (``first_stage_rank``).
3. The scorer scores the candidates under the mode's instruction. A scorer
   that cannot follow instructions (the embedded default) gets the mode's
   model-agnostic signal fused with its relevance score instead
   (:mod:`core.rerank.mode_part`; ``relevance_score`` and ``mode_score``
   columns); ``Ranking.notes`` says which part was used.
4. Modes with ``diversify`` re-order the scored list by maximal marginal
   relevance over embeddings (:func:`core.candidates.mmr`; relevance = the
   scores in [0, 1], similarity = cosine), with the weight recorded.
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
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from core.candidates import embed_posts, first_stage, mmr
from core.candidates.bm25 import cached_index
from core.errors import Cancelled, SieveError
from core.rerank.base import ScorerInfo
from core.rerank.mode_part import apply_mode_part
from core.rerank.modes import Mode, resolve_instruction
from core.text.tokenize import normalise_for_dedupe

logger = logging.getLogger(__name__)

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
            mode_score``), ``log_odds`` (float, NaN for
            scorers without one), ``first_stage_rank`` (int, 1-based position in
            the first-stage "before" order), ``moved`` (``first_stage_rank -
            rank``: > 0 = moved up), ``text``; then ``relevance_score`` (the
            scorer's own score), ``mode_score`` (the mode's model-agnostic
            signal in [0, 1], :mod:`core.rerank.mode_part`; NaN when none was
            applied), ``bm25_rank`` and ``dense_rank`` (1-based ranks among all
            scorable posts; 0 when no dense retrieval ran).
        unscored: posts not scored, columns ``post_id``, ``reason``.
        created_at: ISO 8601 UTC time of the ranking.
        notes: sentences for the analyst about how the ranking was made (first
            stage used, mode part fused, diversification applied).
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
    """

    query: str
    mode: str
    instruction: str
    info: ScorerInfo
    table: pd.DataFrame
    unscored: pd.DataFrame
    created_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    notes: list[str] = field(default_factory=list)
    diversified: bool = False
    mmr_lambda: float | None = None
    n_candidates: int = 0
    n_scorable: int = 0
    budget: int = 200
    first_stage_method: str = "rrf"
    duplicates_moved: int = 0
    mode_signal: str | None = None
    mode_weight: float | None = None

    def to_run(self) -> dict[str, float]:
        """The ranking as a ranx/TREC run for one query: ``{post_id: score}``.

        Scores are the relevance scores, except for a diversified ranking (or
        one whose duplicates were moved down) whose order is not the score
        order: then ``(n - rank + 1) / n`` (in (0, 1]), so that sorting by
        score gives back the shown order.
        """
        tab = self.table
        if tab.empty:
            return {}
        if self.diversified or self.duplicates_moved:
            n = len(tab)
            return {str(p): float(n - r + 1) / n for p, r in zip(tab["post_id"], tab["rank"])}
        return {str(p): float(s) for p, s in zip(tab["post_id"], tab["score"])}


def _check_cancel(should_cancel: Callable[[], bool] | None) -> None:
    if should_cancel is not None and should_cancel():
        raise Cancelled("Reranking was cancelled.")


def _unwrap(scorer):
    """The innermost scorer of a wrapper (``CachedScorer.scorer`` / ``.inner``)."""
    seen = 0
    while seen < 5:
        inner = getattr(scorer, "scorer", None) or getattr(scorer, "inner", None)
        if inner is None or inner is scorer:
            return scorer
        scorer, seen = inner, seen + 1
    return scorer


def _candidate_vectors(cands, embedder, cand_texts: list[str]) -> np.ndarray | None:
    """The candidates' embeddings: the first stage's, else embedded now (disk-cached), else None."""
    if cands.embeddings is not None:
        return np.asarray(cands.embeddings)
    return None if embedder is None else embed_posts(embedder, cand_texts)


def _candidate_bm25(texts: np.ndarray, scorable: np.ndarray, pos: np.ndarray):
    """``bm25(text) -> (len(pos),)``: BM25 scores of the candidates read from the table's
    index (the one the first stage built over the scorable posts; kept in memory)."""
    pool = np.flatnonzero(scorable)
    rows = np.searchsorted(pool, pos)
    return lambda text: cached_index([texts[i] for i in pool]).scores(text)[rows]


def _scorer_note(info: ScorerInfo, chosen: Mode, part) -> str:
    """The note saying which part of the mode the scorer used."""
    head = f"{info.model_id} cannot follow instructions, so the instruction of mode '{chosen.name}' was not given to it"
    if part is not None:
        return f"{head}. {part.note}"
    if chosen.diversify:
        return f"{head} (only its diversification was applied)."
    return f"{head}; this is a plain relevance ranking."


def demote_duplicates(texts: list[str], groups: list[str | None] | None = None) -> tuple[np.ndarray, int]:
    """The order that moves every later duplicate below all distinct posts.

    Post ``i`` duplicates an earlier post when both have the same non-empty
    :func:`core.text.tokenize.normalise_for_dedupe` key of their text, or the
    same non-empty ``groups`` entry (the ingest duplicate group: ``dup_of``,
    or the post's own ID for a group's representative).

    Args:
        texts: the texts in ranked order (best first).
        groups: optional duplicate-group label of each text (None = no group).

    Returns:
        ``(order, n_copies)``: int64 positions into ``texts`` (the first post
        of every duplicate set in its original order, then the later copies in
        their original order) and the number of later copies.

    Example:
        >>> order, n = demote_duplicates(["Donate here", "RT @a: Donate here!", "other"])
        >>> order.tolist(), n
        ([0, 2, 1], 1)
    """
    seen: set[tuple[str, str]] = set()
    firsts: list[int] = []
    copies: list[int] = []
    for i, text in enumerate(texts):
        keys = set()
        key = normalise_for_dedupe(text)
        if key:
            keys.add(("text", key))
        if groups is not None and groups[i]:
            keys.add(("group", str(groups[i])))
        (copies if keys & seen else firsts).append(i)
        seen |= keys
    return np.asarray(firsts + copies, dtype=np.int64), len(copies)


def rerank(
    posts: pd.DataFrame,
    query: str,
    *,
    scorer,
    mode: str | Mode | None = "relevance",
    instruction: str | None = None,
    top_k: int | None = None,
    budget: int = 200,
    embedder=None,
    embeddings: np.ndarray | None = None,
    modes: dict[str, Mode] | None = None,
    progress: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> Ranking:
    """Rerank ``posts`` for ``query`` under a mode.

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
            and MMR; default: the scorer's own ``embedder`` attribute if it has
            one (the embedded scorer), else none (BM25-only first stage, no
            diversification).
        embeddings: optional precomputed float32 (len(posts), dim) embeddings
            of ``posts['text']`` by ``embedder``.
        modes: the available modes (default: built-in modes).
        progress: ``progress(done, total)`` passed to the scorer (pairs).
        should_cancel: polled between steps and passed to the scorer.

    Returns:
        A :class:`Ranking`.

    Raises:
        SieveError: for an empty query, a ``top_k`` or ``budget`` < 1, an
            unknown mode, or a table without ``post_id``/``text`` columns.
        core.errors.Cancelled: when ``should_cancel()`` returned True.
    """
    if not isinstance(query, str) or not query.strip():
        raise SieveError("The query is empty. Type what the posts should be about.")
    if top_k is not None and (not isinstance(top_k, (int, np.integer)) or top_k < 1):
        raise SieveError(f"The 'top_k' parameter of rerank must be an int >= 1. Got {top_k!r} instead.")
    if not isinstance(budget, (int, np.integer)) or budget < 1:
        raise SieveError(f"The rerank budget must be an integer >= 1. Got {budget!r} instead.")
    missing = [c for c in ("post_id", "text") if c not in posts.columns]
    if missing:
        raise SieveError(f"The post table has no column {', '.join(missing)}: read the file with "
                         "core.ingest.read_posts first.")
    chosen, instr = resolve_instruction(mode, instruction, modes)
    if embedder is None:  # the embedded scorer brings its own embedder
        embedder = getattr(_unwrap(scorer), "embedder", None)
    info: ScorerInfo = scorer.info
    notes: list[str] = []
    _check_cancel(should_cancel)

    posts = posts.reset_index(drop=True)
    ids = posts["post_id"].astype(str).to_numpy()
    texts = posts["text"].fillna("").astype(str).to_numpy()
    if "scorable" in posts.columns:
        scorable = posts["scorable"].fillna(False).astype(bool).to_numpy() & np.array([bool(t.strip()) for t in texts])
    else:
        scorable = np.array([bool(t.strip()) for t in texts], dtype=bool)
    reasons = (posts["unscorable_reason"] if "unscorable_reason" in posts.columns
               else pd.Series([None] * len(posts)))
    unscored_rows = [(ids[i], reasons.iloc[i] or ("empty text" if not texts[i].strip() else "not scorable"))
                     for i in np.flatnonzero(~scorable)]

    work = posts.assign(scorable=scorable)
    if embeddings is None and embedder is not None and int(scorable.sum()) > 0:
        need_vecs = int(scorable.sum()) > budget or chosen.diversify
        if need_vecs:
            embeddings = np.zeros((len(posts), getattr(embedder, "dim", 0) or 1), dtype=np.float32)
            idx = np.flatnonzero(scorable)
            vecs = embed_posts(embedder, [texts[i] for i in idx])
            if embeddings.shape[1] != vecs.shape[1]:
                embeddings = np.zeros((len(posts), vecs.shape[1]), dtype=np.float32)
            embeddings[idx] = vecs
    cands = first_stage(work, query, embedder=embedder if embeddings is not None else None,
                        budget=int(budget), embeddings=embeddings)
    _check_cancel(should_cancel)
    if cands.n_scorable > budget:
        notes.append(f"First stage ({'BM25 + dense, reciprocal rank fusion' if cands.method == 'rrf' else cands.method}) "
                     f"kept {len(cands)} of {cands.n_scorable} posts for the scorer (budget {budget}).")
    notes.extend(cands.notes if cands.n_scorable > budget else [])

    pos = cands.positions
    cand_texts = [texts[i] for i in pos]
    inner = _unwrap(scorer)
    if hasattr(inner, "fit") and hasattr(inner, "add_embeddings"):  # the embedded scorer
        # Its scores depend on the table (BM25 statistics, feedback pool), so they are never
        # cached: score with a copy bound to this table, leaving the shared scorer untouched.
        scorer = inner.fit(list(texts[scorable]), None if embeddings is None else embeddings[scorable])
    result = scorer.predict(query, cand_texts, instruction=instr, progress=progress,
                            should_cancel=should_cancel)
    _check_cancel(should_cancel)
    scores = np.asarray(result.scores, dtype=np.float64)
    log_odds = (np.full(len(pos), np.nan) if result.log_odds is None
                else np.asarray(result.log_odds, dtype=np.float64))
    info = result.info or info
    ok = ~np.isnan(scores)
    for i in np.flatnonzero(~ok):
        unscored_rows.append((ids[pos[i]], "not scored by the model (empty after cleaning)"))

    # A scorer that cannot read the instruction gets the mode's model-agnostic part instead.
    relevance, mode_scores, part = scores.copy(), np.full(len(pos), np.nan), None
    if not info.follows_instructions and chosen.signal is not None and ok.any():
        part = apply_mode_part(chosen, instr, scores, cand_texts, embedder=embedder,
                               embeddings=_candidate_vectors(cands, embedder, cand_texts),
                               bm25=_candidate_bm25(texts, scorable, pos))
        if part is not None:
            scores, mode_scores = np.where(ok, part.fused, np.nan), part.scores
        _check_cancel(should_cancel)

    fs_rank = np.arange(1, len(pos) + 1)
    keep = np.flatnonzero(ok)
    # Best first by log-odds when present (it separates scores saturated near 1), else by score;
    # ties keep the first-stage order.
    key = np.where(np.isnan(log_odds[keep]), scores[keep], log_odds[keep]) \
        if result.log_odds is not None and part is None else scores[keep]
    order = keep[np.lexsort((fs_rank[keep], -key))]

    if not info.follows_instructions:
        notes.append(_scorer_note(info, chosen, part))
    diversified, lam = False, None
    if chosen.diversify and len(order) > 1:
        vecs = _candidate_vectors(cands, embedder, cand_texts)
        if vecs is None:
            notes.append(f"Mode '{chosen.name}' asks for diversification, but no embedder was given: skipped.")
        else:
            _check_cancel(should_cancel)
            lam = float(chosen.mmr_lambda)
            rel = np.clip(scores[order], 0.0, 1.0)  # relevance scores are in [0, 1], like the cosines
            order = order[mmr(rel, np.asarray(vecs)[order], lam)]
            diversified = True
            notes.append(f"Diversified by maximal marginal relevance over {getattr(embedder, 'model_id', 'the')} "
                         f"embeddings, lambda = {lam:g} (1 = relevance only, 0 = novelty only).")
    moved = 0
    if chosen.diversify and len(order) > 1:
        groups = None
        if "dup_of" in posts.columns:
            dup_of = posts["dup_of"].to_numpy(dtype=object)
            count = (posts["dup_count"].fillna(1).to_numpy() if "dup_count" in posts.columns
                     else np.ones(len(posts)))
            groups = [str(dup_of[j]) if isinstance(dup_of[j], str) and dup_of[j]
                      else (str(ids[j]) if count[j] > 1 else None) for j in pos[order]]
        new, n_copies = demote_duplicates([cand_texts[i] for i in order], groups)
        if n_copies:
            moved = n_copies
            order = order[new]
            notes.append(f"{n_copies} duplicate(s) of higher-ranked posts (same normalised text or ingest duplicate "
                         f"group) moved below the {len(order) - n_copies} distinct posts.")

    n = len(order)
    table = pd.DataFrame({
        "post_id": ids[pos[order]],
        "rank": np.arange(1, n + 1, dtype=np.int64),
        "score": scores[order],
        "log_odds": log_odds[order],
        "first_stage_rank": fs_rank[order].astype(np.int64),
        "moved": (fs_rank[order] - np.arange(1, n + 1)).astype(np.int64),
        "text": [cand_texts[i] for i in order],
        "relevance_score": relevance[order],
        "mode_score": mode_scores[order],
        "bm25_rank": cands.bm25_rank[order],
        "dense_rank": cands.dense_rank[order],
    })
    if top_k is not None:
        table = table.head(int(top_k)).reset_index(drop=True)
    unscored = pd.DataFrame(unscored_rows, columns=["post_id", "reason"])
    logger.info("reranked %d candidates for %r with %s (mode %s)", n, query, info.model_id, chosen.name)
    return Ranking(query=query, mode=chosen.name, instruction=instr, info=info, table=table,
                   unscored=unscored, notes=notes, diversified=diversified, mmr_lambda=lam,
                   n_candidates=len(pos), n_scorable=cands.n_scorable, budget=int(budget),
                   first_stage_method=cands.method, duplicates_moved=moved,
                   mode_signal=None if part is None else part.signal,
                   mode_weight=None if part is None else part.weight)

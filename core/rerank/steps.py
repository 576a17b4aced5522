"""The named steps of :func:`core.rerank.pipeline.rerank`, each with one job.

Before scoring (:func:`core.rerank.pipeline.prepare`):

* :func:`check_arguments` -- the query, ``top_k``, ``budget`` and the table's columns;
* :func:`set_aside_unscorable` -- empty and placeholder posts leave with their reason;
* :func:`embed_for_first_stage` -- the vectors the dense first stage (and MMR) need;
* :func:`choose_candidates` -- BM25 + dense first stage keeps the best ``budget`` posts;
* :func:`bind_scorer` -- the scorer sees the whole table (:meth:`RelevanceScorer.bind`).

After scoring (:func:`core.rerank.pipeline.assemble`): the mode part
(:func:`core.rerank.mode_part.fuse_for_scorer`), :func:`order_by_score`,
diversification (:mod:`core.rerank.diversify`) and :func:`ranking_table`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.candidates import embed_posts, first_stage
from core.candidates.bm25 import cached_index
from core.candidates.index import FULL_EMBED_MAX, pool_embeddings, take_rows
from core.errors import SieveError
from core.schema import scorable_mask


def check_arguments(posts: pd.DataFrame, query: str, *, top_k, budget) -> None:
    """Raise :class:`SieveError` for an empty query, a ``top_k`` or ``budget`` < 1, or a
    table without ``post_id``/``text``."""
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


@dataclass
class PostTable:
    """The post table split for ranking (:func:`set_aside_unscorable`).

    Attributes:
        posts: the table, index reset.
        ids: str array (n,), every post's ID.
        texts: str array (n,), every post's text ("" for a missing one).
        scorable: bool array (n,): ``scorable`` column (when present) and a non-blank text.
        unscored_rows: ``(post_id, reason)`` of the posts that are not scorable.
    """

    posts: pd.DataFrame
    ids: np.ndarray
    texts: np.ndarray
    scorable: np.ndarray
    unscored_rows: list[tuple[str, str]]

    def candidate_bm25(self, positions: np.ndarray):
        """``bm25(text) -> float (len(positions),)``: BM25 scores of the posts at ``positions``
        from the index over every scorable post (built on first use, then cached)."""
        pool = np.flatnonzero(self.scorable)
        rows = np.searchsorted(pool, positions)
        texts = self.texts

        def bm25(text: str) -> np.ndarray:
            return cached_index([texts[i] for i in pool]).scores(text)[rows]

        return bm25


def set_aside_unscorable(posts: pd.DataFrame) -> PostTable:
    """Step 1 of the pipeline: which posts can be scored, and why the others cannot."""
    posts = posts.reset_index(drop=True)
    ids = posts["post_id"].astype(str).to_numpy()
    texts = posts["text"].fillna("").astype(str).to_numpy()
    has_text = np.array([bool(t.strip()) for t in texts], dtype=bool)
    scorable = has_text if (ok := scorable_mask(posts)) is None else ok & has_text
    reasons = (posts["unscorable_reason"] if "unscorable_reason" in posts.columns
               else pd.Series([None] * len(posts)))
    unscored_rows = [(ids[i], reasons.iloc[i] or ("empty text" if not texts[i].strip() else "not scorable"))
                     for i in np.flatnonzero(~scorable)]
    return PostTable(posts=posts, ids=ids, texts=texts, scorable=scorable, unscored_rows=unscored_rows)


def embed_for_first_stage(table: PostTable, query: str, embedder, embeddings: np.ndarray | None, *,
                          budget: int, diversify: bool, notes: list[str],
                          full_embed_max: int = FULL_EMBED_MAX) -> np.ndarray | None:
    """The float32 (n, dim) embeddings the first stage and MMR use, or None (BM25 only).

    Given ``embeddings`` are used as they are. Without them, every scorable post
    is embedded when the table has more scorable posts than ``budget`` or the
    mode diversifies; above ``full_embed_max`` (default
    ``core.candidates.index.FULL_EMBED_MAX``) scorable posts only BM25's best for
    the query (and those already known) get a vector
    (:func:`core.candidates.index.pool_embeddings`), and a note says so.
    """
    n_scorable = int(table.scorable.sum())
    if embedder is not None and n_scorable > full_embed_max:
        # A large table: do not wait for every post to be embedded (core.candidates.index).
        embeddings, n_emb, _ = pool_embeddings(embedder, table.texts, table.scorable, query, budget=budget,
                                               known=embeddings)
        if n_emb < n_scorable:
            notes.append(f"Dense first stage over {n_emb:,} of {n_scorable:,} posts (BM25's best "
                         "for this query and those already embedded); the others were ranked by BM25 only.")
    elif embeddings is None and embedder is not None and n_scorable > 0 and (n_scorable > budget or diversify):
        idx = np.flatnonzero(table.scorable)
        vecs = embed_posts(embedder, [table.texts[i] for i in idx])
        embeddings = np.zeros((len(table.texts), vecs.shape[1]), dtype=np.float32)
        embeddings[idx] = vecs
    return embeddings


def choose_candidates(table: PostTable, query: str, embedder, embeddings: np.ndarray | None, *, budget: int,
                      notes: list[str]):
    """Step 2: the first stage (:func:`core.candidates.first_stage`) over the scorable posts;
    returns its :class:`core.candidates.Candidates` and notes what it kept."""
    work = table.posts.assign(scorable=table.scorable)
    cands = first_stage(work, query, embedder=embedder if embeddings is not None else None,
                        budget=budget, embeddings=embeddings, texts=table.texts)
    if cands.n_scorable > budget:
        method = "BM25 + dense, reciprocal rank fusion" if cands.method == "rrf" else cands.method
        notes.append(f"First stage ({method}) kept {len(cands)} of {cands.n_scorable} posts for the scorer "
                     f"(budget {budget}).")
        notes.extend(cands.notes)
    return cands


def bind_scorer(scorer, table: PostTable, embeddings: np.ndarray | None):
    """Bind ``scorer`` to every scorable post of the table (:meth:`RelevanceScorer.bind`);
    returns the scorer (a no-op for pointwise scorers, the corpus statistics for the embedded one)."""
    mask = table.scorable
    # the scorable rows' vectors without a dense copy: rows not embedded yet stay untouched zeros
    vecs = None if embeddings is None else (embeddings if mask.all() else take_rows(embeddings, mask))
    return scorer.bind(list(table.texts[mask]), vecs)


def order_by_score(scores: np.ndarray, log_odds: np.ndarray | None, ok: np.ndarray) -> np.ndarray:
    """Positions of the scored candidates (``ok``), best first.

    By log-odds where given (it separates scores saturated near 1; a NaN log-odds
    falls back to the score), else by score; ties keep the first-stage order.

    Returns:
        int64 array of candidate positions (first-stage order = position).
    """
    keep = np.flatnonzero(ok)
    key = scores[keep] if log_odds is None else np.where(np.isnan(log_odds[keep]), scores[keep], log_odds[keep])
    return keep[np.lexsort((keep, -key))]


def ranking_table(prep, order: np.ndarray, scores: np.ndarray, log_odds: np.ndarray, relevance: np.ndarray,
                  mode_scores: np.ndarray) -> pd.DataFrame:
    """The :attr:`core.rerank.pipeline.Ranking.table` for candidates in ``order`` (positions
    into the first-stage order, best first); columns as documented there."""
    pos, cands = prep.candidates.positions, prep.candidates
    n = len(order)
    fs_rank = order + 1
    return pd.DataFrame({
        "post_id": prep.ids[pos[order]],
        "rank": np.arange(1, n + 1, dtype=np.int64),
        "score": scores[order],
        "log_odds": log_odds[order],
        "first_stage_rank": fs_rank.astype(np.int64),
        "moved": (fs_rank - np.arange(1, n + 1)).astype(np.int64),
        "text": [prep.texts[i] for i in order],
        "relevance_score": relevance[order],
        "mode_score": mode_scores[order],
        "bm25_rank": cands.bm25_rank[order],
        "dense_rank": cands.dense_rank[order],
    })

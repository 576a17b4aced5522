"""First stage: cheap candidates for the reranker, and the "before" order.

For a post table larger than the rerank budget, BM25 (:mod:`.bm25`) and dense
cosine (:mod:`.dense`) each rank every scorable post; the two are fused
(:mod:`.fusion`) and the best ``budget`` posts become the candidates the
reranker scores. Their fused order is kept as the "before" order that a
reranked list is compared with (``first_stage_rank``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.candidates.bm25 import BM25Index, cached_index, search_tokens
from core.candidates.dense import cosine_scores, dense_search
from core.candidates.fusion import convex_fusion, normalise_scores, reciprocal_rank_fusion
from core.candidates.mmr import mmr
from core.config import DEFAULT_RERANK_BUDGET
from core.errors import SieveError
from core.schema import scorable_mask

logger = logging.getLogger(__name__)

__all__ = [
    "QUERY_TASK",
    "BM25Index",
    "Candidates",
    "convex_fusion",
    "cosine_scores",
    "dense_search",
    "embed_posts",
    "embed_query",
    "first_stage",
    "mmr",
    "normalise_scores",
    "reciprocal_rank_fusion",
    "search_tokens",
]

#: Task text given to instruction-aware embedders (Qwen3-Embedding) for the query side.
QUERY_TASK = "Given a search query, retrieve social media posts relevant to the query"


def embed_query(embedder, query: str) -> np.ndarray:
    """Embed one query (with :data:`QUERY_TASK`). Returns float32 (dim,), L2-normalised."""
    return np.asarray(embedder.embed([query], task=QUERY_TASK), dtype=np.float32)[0]


def embed_posts(embedder, texts, *, progress=None) -> np.ndarray:
    """Embed post texts through ``core.embed.embed_texts`` (normalised-text dedupe, disk cache).

    Returns:
        float32 array of shape (n, dim), L2-normalised rows.
    """
    from core.embed import embed_texts

    return np.asarray(embed_texts(embedder, list(texts), progress=progress), dtype=np.float32)


@dataclass
class Candidates:
    """The first stage's result.

    Attributes:
        positions: int64 array of shape (m,): row positions into the post
            table (``posts.iloc``), in first-stage order, best first.
        fused_score: float64 array of shape (m,): the first-stage score
            (RRF or convex fusion, see ``method``), descending.
        bm25_rank: int64 array of shape (m,): 1-based rank of each candidate
            by BM25 among all scorable posts (ties in table order).
        dense_rank: int64 array of shape (m,): same for dense cosine; 0 when
            no embedder was used.
        method: ``"rrf"``, ``"convex"`` or ``"bm25"`` (no embedder).
        n_scorable: how many scorable posts competed.
        budget: the budget asked for.
        embeddings: float32 array of shape (m, dim) of the candidates'
            embeddings (in ``positions`` order), or ``None`` without an embedder.
        query_vec: float32 array of shape (dim,), or ``None``.
    """

    positions: np.ndarray
    fused_score: np.ndarray
    bm25_rank: np.ndarray
    dense_rank: np.ndarray
    method: str
    n_scorable: int
    budget: int
    embeddings: np.ndarray | None = None
    query_vec: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.positions.shape[0])


def _ranks(scores: np.ndarray) -> np.ndarray:
    """1-based rank of each entry by descending score (ties in position order)."""
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(scores.shape[0], dtype=np.int64)
    ranks[order] = np.arange(1, scores.shape[0] + 1)
    return ranks


def scorable_texts(posts: pd.DataFrame, *, texts: Sequence[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """The posts :func:`first_stage` searches: int64 row positions of the scorable posts (column
    ``scorable``; else those with non-blank text) and their texts, in row order.

    ``texts``: ``posts['text']`` as ``str`` (``""`` when missing) when the caller holds them
    already (a million texts taken from the table again are a few hundred MB of Python strings).

    Raises:
        SieveError: ``texts`` does not have one text per post.
    """
    texts_all = posts["text"].fillna("").astype(str).tolist() if texts is None else texts
    if len(texts_all) != len(posts):
        raise SieveError(f"first_stage got {len(texts_all)} texts for {len(posts)} posts.")
    ok = scorable_mask(posts)
    if ok is None:
        ok = np.array([bool(t.strip()) for t in texts_all], dtype=bool)
    pool = np.flatnonzero(ok).astype(np.int64)
    return pool, [texts_all[i] for i in pool]


def warm_bm25(posts: pd.DataFrame) -> None:
    """Build (or load) the BM25 index :func:`first_stage` will use for ``posts`` now, so the
    first query does not wait for it (tokenising 1,000 tweets with jieba's dictionary loaded
    first: ~1.6 s on 2 cores)."""
    _, texts = scorable_texts(posts)
    if texts:
        cached_index(texts)


def first_stage(
    posts: pd.DataFrame,
    query: str,
    *,
    embedder=None,
    budget: int = DEFAULT_RERANK_BUDGET,
    embeddings: np.ndarray | None = None,
    fusion: str = "rrf",
    rrf_k: int = 60,
    dense_weight: float = 0.5,
    progress: Callable[[int, int], None] | None = None,
    texts: Sequence[str] | None = None,
) -> Candidates:
    """Retrieve up to ``budget`` candidates from ``posts`` for ``query``.

    Every scorable post (column ``scorable``; all posts when the column is
    absent) is ranked by BM25 over :func:`core.text.tokenize` tokens and, when
    an embedder or embeddings are given, by cosine similarity; the rankings are
    fused and the best ``budget`` kept. When the table has at most ``budget``
    scorable posts, all of them are candidates, still in fused order.

    Args:
        posts: post table (``core.schema``): needs ``text``; ``scorable`` optional.
        query: the analyst's query (any language).
        embedder: a :class:`core.embed.base.Embedder`; ``None`` = BM25 only.
        budget: how many candidates to keep (>= 1; default 200).
        embeddings: optional precomputed float32 (len(posts), dim) embeddings
            of ``posts['text']`` (same model as ``embedder``, which is still
            needed for the query).
        fusion: ``"rrf"`` (reciprocal rank fusion, k=``rrf_k``) or
            ``"convex"`` (min-max normalised scores, weight ``dense_weight`` on
            the cosine), see :mod:`core.candidates.fusion`.
        rrf_k: the RRF constant (default 60, Cormack et al. 2009).
        dense_weight: cosine weight in [0, 1] for ``"convex"``.
        progress: optional ``progress(done, total)`` for the embedding step.
        texts: optional ``posts['text']`` as ``str`` (``""`` for a missing one), when the
            caller already holds them (the rerank pipeline does): a million texts taken
            from the table again are another few hundred MB of Python strings.

    Returns:
        :class:`Candidates`.

    Raises:
        SieveError: for a ``budget`` < 1, an unknown ``fusion``, or embeddings
            whose row count does not match the table.
    """
    if not isinstance(budget, (int, np.integer)) or budget < 1:
        raise SieveError(f"The rerank budget must be an integer >= 1. Got {budget!r} instead.")
    if fusion not in ("rrf", "convex"):
        raise SieveError(f"The first-stage fusion must be 'rrf' or 'convex'. Got {fusion!r} instead.")
    pool, texts = scorable_texts(posts, texts=texts)
    notes: list[str] = []

    bm25 = cached_index(texts).scores(query) if len(pool) else np.zeros(0, dtype=np.float32)
    bm25_rank = _ranks(bm25)

    doc_vecs = qvec = None
    dense = None
    sel = np.arange(len(pool))  # rows of doc_vecs that are the pool
    if embeddings is not None:
        embeddings = np.asarray(embeddings, dtype=np.float32)
        if embeddings.shape[0] != len(posts):
            raise SieveError(
                f"The embeddings have {embeddings.shape[0]} rows but the post table has {len(posts)}: "
                "re-embed the posts of this file."
            )
        doc_vecs, sel = embeddings, pool  # no copy of the pool's rows: a million rows are 2 GB
    elif embedder is not None and len(pool):
        from core.candidates.index import embed_all_posts  # every post: through the dataset store

        doc_vecs = embed_all_posts(embedder, texts, progress=progress)
    if doc_vecs is not None and embedder is not None:
        qvec = embed_query(embedder, query)
        dense = np.concatenate([cosine_scores(qvec, doc_vecs[sel[s : s + 8_192]])
                                for s in range(0, len(sel), 8_192)] or [np.zeros(0, dtype=np.float32)])

    if dense is None:
        method = "bm25"
        fused = bm25.astype(np.float64)
        dense_rank = np.zeros(len(pool), dtype=np.int64)
        notes.append("first stage: BM25 only (no embedder)")
    else:
        dense_rank = _ranks(dense)
        if fusion == "rrf":
            method = "rrf"
            fused = 1.0 / (rrf_k + bm25_rank) + 1.0 / (rrf_k + dense_rank)
        else:
            method = "convex"
            fused = convex_fusion([bm25, dense], [1.0 - dense_weight, dense_weight])
    order = np.argsort(-fused, kind="stable")[: min(int(budget), len(pool))]
    if len(pool) > budget:
        logger.info("first stage (%s): %d of %d scorable posts kept", method, len(order), len(pool))
    return Candidates(
        positions=pool[order],
        fused_score=np.asarray(fused[order], dtype=np.float64),
        bm25_rank=bm25_rank[order],
        dense_rank=dense_rank[order],
        method=method,
        n_scorable=len(pool),
        budget=int(budget),
        embeddings=None if doc_vecs is None else doc_vecs[sel[order]],
        query_vec=qvec,
        notes=notes,
    )

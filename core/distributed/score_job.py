"""Exhaustive scoring: every scorable post for every query x mode, the model's work on Ray.

The batch job behind ``python -m core score``. There is no first stage: every
scorable post of the export is scored for every (query, mode), which is what
pooling and evaluation need (every post gets a score, not only the ``budget``
best of a first stage). The model's work, relevance scores of the posts per
(query, instruction) request, runs through :func:`core.distributed.ray_jobs.score_many`:
one Ray task per chunk of posts when a Ray address is given, the same chunks in
this process otherwise, with identical results.

Each (query, mode) is then finished in this process by the rerank pipeline's own
steps (:func:`core.rerank.pipeline.prepare` and :func:`core.rerank.pipeline.assemble`
with a budget covering every scorable post), so a score here is the score
``rerank`` gives that post for that query and mode with the same budget:

* a scorer that follows instructions (Qwen3, vLLM) is asked once per (query, mode
  instruction); the score is its ``P(yes)`` and posts are ranked by log-odds;
* a scorer that cannot (the embedded default) is asked once per query; the mode's
  model-agnostic part (:mod:`core.rerank.mode_part`: the accuracy or emotion
  signal, fused as ``(1 - w) * mm(relevance) + w * signal`` with the min-max over
  every scorable post) makes the mode's score.

Ranks are by score within each (query, mode), ties in the first-stage order as
in ``rerank``. A mode's diversification (MMR, the ``novelty`` mode) re-orders a
short list and costs O(n^2) over all posts: it is not applied here, so such a
mode's ranks follow its scores (``ScoreTable.notes`` says so).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.distributed.ray_jobs import (
    CHUNK_POSTS,
    ChunkRunner,
    RayEmbedder,
    chunk_bounds,
    keep_here,
    score_many,
)
from core.errors import SieveError

logger = logging.getLogger(__name__)

#: Columns of :attr:`ScoreTable.table`, in order.
SCORE_COLUMNS = ("query_id", "mode", "post_id", "rank", "score", "relevance_score", "mode_score", "log_odds")


@dataclass
class ScoreTable:
    """The result of :func:`score_queries_modes`.

    Attributes:
        table: one row per (query_id, mode, post_id), columns :data:`SCORE_COLUMNS`:
            ``query_id`` / ``mode`` / ``post_id`` (str), ``rank`` (int64, 1 = best within
            the query and mode), ``score`` (float64 in [0, 1], the ranking score, as in
            ``Ranking.table``), ``relevance_score`` (the scorer's own score),
            ``mode_score`` (the mode's model-agnostic signal in [0, 1], NaN when none
            was fused), ``log_odds`` (NaN for scorers without one). Rows are ordered
            by query (file order), mode (as asked), rank.
        model_id: the scorer's model id.
        follows_instructions: whether the scorer read the modes' instructions.
        n_posts: rows of the export; ``n_scored``: scorable posts scored per (query, mode).
        n_requests: (query, instruction) requests sent to the scorer.
        n_tasks: chunks of posts (Ray tasks when ``backend`` is ``"ray"``).
        backend: ``"ray"`` or ``"local"``.
        notes: sentences for the person running the job.
    """

    table: pd.DataFrame
    model_id: str
    follows_instructions: bool
    n_posts: int
    n_scored: int
    n_requests: int
    n_tasks: int
    backend: str
    notes: list[str] = field(default_factory=list)


def worker_name(name: str, scorer) -> str:
    """The name Ray workers load ``scorer`` by: ``name``, except ``"auto"`` (which a worker
    could resolve differently), replaced by what it resolved to here."""
    if str(name).strip().lower() != "auto":
        return str(name).strip()
    return "embedded" if scorer.info.kind == "embedded" else scorer.info.model_id


def score_queries_modes(posts: pd.DataFrame, queries: Sequence[tuple[str, str]], mode_names: Sequence[str], *,
                        scorer_name: str, scorer=None, modes=None, address: str | None = None,
                        chunk_size: int = CHUNK_POSTS, progress: Callable[[int, int], None] | None = None,
                        should_cancel: Callable[[], bool] | None = None) -> ScoreTable:
    """Score every scorable post for every query x mode (module docstring).

    Args:
        posts: the post table (``core.schema``: ``post_id``, ``text``, ``scorable``...).
        queries: ``[(query_id, query)]`` (:func:`core.rerank.cli.read_queries`).
        mode_names: mode names, each known to ``modes``.
        scorer_name: the reranker name for :func:`core.rerank.load_scorer` (``"embedded"``,
            a Qwen3 id or folder, ``"vllm:URL,URL"``, ``"auto"``).
        scorer: the scorer already loaded by that name (default: loaded here).
        modes: the available modes (:func:`core.rerank.modes.load_modes`; default: built-in).
        address: the Ray cluster (``SIEVE_RAY_ADDRESS``); None: in this process.
        chunk_size: posts per task.
        progress: ``progress(done, total)`` in post-requests (posts x requests), as chunks finish
            (the embedding of the posts, for the embedded scorer, counts as one more request).
        should_cancel: polled between chunks.

    Returns:
        A :class:`ScoreTable`.

    Raises:
        SieveError: an unknown mode, no mode, no query, or no scorable post.
        Cancelled: ``should_cancel()`` returned True.
        MissingDependencyError: an address without Ray installed.
    """
    from core.rerank import load_scorer
    from core.rerank.modes import resolve_instruction
    from core.rerank.pipeline import assemble, prepare
    from core.rerank.steps import set_aside_unscorable

    if not queries:
        raise SieveError("No queries to score. Give at least one 'query_id<TAB>query' line.")
    if not mode_names:
        raise SieveError("No modes to score. Give at least one mode (e.g. --modes relevance,accuracy).")
    resolved = {m: resolve_instruction(m, None, modes) for m in dict.fromkeys(mode_names)}
    name = str(scorer_name).strip()
    scorer = load_scorer(name) if scorer is None else scorer
    name = worker_name(name, scorer)
    keep_here("scorer", name, scorer)
    info = scorer.info
    table = set_aside_unscorable(posts)
    rows = np.flatnonzero(table.scorable)
    if len(rows) == 0:
        raise SieveError("The export has no scorable post (every text is empty or a placeholder).")
    texts = [table.texts[i] for i in rows]
    follows = bool(info.follows_instructions)
    embedder = getattr(scorer, "embedder", None) if not follows else None
    requests = list(dict.fromkeys((q, resolved[m][1] if follows else None) for _, q in queries for m in resolved))
    n_tasks = len(chunk_bounds(len(texts), chunk_size))
    total = len(texts) * (len(requests) + (embedder is not None))
    backend = ChunkRunner(address).backend

    vecs = full = None
    if embedder is not None:  # the embedded scorer: the posts' vectors, for its binding and the mode signals
        # Through the embedding cache as the pipeline embeds (one vector per normalised text, the
        # cached ones read back), the missing ones in chunks: Ray tasks, or the same chunks here.
        from core.candidates import embed_posts

        emb_name = str(getattr(embedder, "model_id", "usem3"))
        keep_here("embedder", emb_name, embedder)
        chunked = RayEmbedder(embedder, emb_name, address, chunk_size=chunk_size, should_cancel=should_cancel)
        vecs = embed_posts(chunked, texts, progress=(lambda d, t: progress(d * len(texts) // max(t, 1), total))
                           if progress else None)
        full = np.zeros((len(table.texts), vecs.shape[1]), dtype=np.float32)
        full[rows] = vecs
    base = len(texts) if embedder is not None else 0
    scores, log_odds = score_many(
        name, texts, requests, embeddings=vecs, chunk_size=chunk_size, address=address,
        should_cancel=should_cancel, with_log_odds=True,
        progress=(lambda d, t: progress(base + d * len(requests), total)) if progress else None)
    where = {r: i for i, r in enumerate(requests)}
    column = np.full(len(table.texts), -1, dtype=np.int64)
    column[rows] = np.arange(len(rows))

    notes: list[str] = []
    parts = []
    for qid, query in queries:
        first, _ = resolved[next(iter(resolved))]
        prep = prepare(posts, query, scorer=scorer, mode=first, budget=len(rows), embedder=embedder,
                       embeddings=full, modes=modes, should_cancel=should_cancel)
        cols = column[prep.candidates.positions]
        for mode_name, (chosen, instruction) in resolved.items():
            r = where[(query, instruction if follows else None)]
            lo = log_odds[r, cols].astype(np.float64)
            p = dataclasses.replace(prep, mode=dataclasses.replace(chosen, diversify=False), instruction=instruction)
            ranking = assemble(p, scores[r, cols].astype(np.float64), None if np.isnan(lo).all() else lo, info=info,
                               should_cancel=should_cancel)
            tab = ranking.table
            parts.append(pd.DataFrame({
                "query_id": str(qid), "mode": mode_name, "post_id": tab["post_id"].astype(str),
                "rank": tab["rank"].astype(np.int64), "score": tab["score"].astype(np.float64),
                "relevance_score": tab["relevance_score"].astype(np.float64),
                "mode_score": tab["mode_score"].astype(np.float64), "log_odds": tab["log_odds"].astype(np.float64)}))
    for mode_name, (chosen, _) in resolved.items():
        if chosen.diversify:
            notes.append(f"Mode '{mode_name}' diversifies (MMR) in 'rerank'; exhaustive scoring does not: its ranks "
                         "follow its scores.")
        if not follows and chosen.signal is None and not chosen.diversify and mode_name != "relevance":
            notes.append(f"{info.model_id} cannot follow instructions and mode '{mode_name}' has no model-agnostic "
                         "signal: its scores are the plain relevance scores.")
    out = pd.concat(parts, ignore_index=True).loc[:, list(SCORE_COLUMNS)]
    logger.info("scored %d posts x %d requests (%d chunk(s), %s)", len(rows), len(requests), n_tasks, backend)
    return ScoreTable(table=out, model_id=info.model_id, follows_instructions=follows, n_posts=len(table.texts),
                      n_scored=len(rows), n_requests=len(requests), n_tasks=n_tasks, backend=backend, notes=notes)

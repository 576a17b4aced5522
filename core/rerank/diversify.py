"""Steps 4-5 of :func:`core.rerank.pipeline.rerank` for modes with ``diversify``:
maximal marginal relevance, then duplicates below every distinct post."""

from __future__ import annotations

import numpy as np

from core.candidates import embed_posts, mmr
from core.errors import Cancelled
from core.text.tokenize import normalise_for_dedupe


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


def diversify(prep, order, scores, notes, should_cancel=None):
    """Step 4 of :func:`core.rerank.pipeline.rerank`: MMR over the candidates' embeddings.

    Args:
        prep: the :class:`core.rerank.pipeline.Prepared` run.
        order: int64 candidate positions, best first (scored ones only).
        scores: float (n_candidates,) relevance scores in [0, 1].
        notes: list the sentence for the analyst is appended to.

    Returns:
        ``(order, diversified, mmr_lambda)``.
    """
    vecs = prep.candidates.embeddings
    if vecs is None and prep.embedder is not None:
        vecs = embed_posts(prep.embedder, prep.texts)
    if vecs is None:
        notes.append(f"Mode '{prep.mode.name}' asks for diversification, but no embedder was given: skipped.")
        return order, False, None
    if should_cancel is not None and should_cancel():
        raise Cancelled("Reranking was cancelled.")
    lam = float(prep.mode.mmr_lambda)
    rel = np.clip(scores[order], 0.0, 1.0)  # relevance scores are in [0, 1], like the cosines
    order = order[mmr(rel, np.asarray(vecs)[order], lam)]
    notes.append(f"Diversified by maximal marginal relevance over {getattr(prep.embedder, 'model_id', 'the')} "
                 f"embeddings, lambda = {lam:g} (1 = relevance only, 0 = novelty only).")
    return order, True, lam


def demote_copies(prep, order, notes):
    """Step 5 of :func:`core.rerank.pipeline.rerank`: every duplicate of a higher-ranked
    candidate below the distinct ones (:func:`demote_duplicates` with the ingest
    duplicate groups); returns ``(order, n_moved)``."""
    posts, ids, pos = prep.posts, prep.ids, prep.candidates.positions
    groups = None
    if "dup_of" in posts.columns:
        dup_of = posts["dup_of"].to_numpy(dtype=object)
        count = (posts["dup_count"].fillna(1).to_numpy() if "dup_count" in posts.columns
                 else np.ones(len(posts)))
        groups = [str(dup_of[j]) if isinstance(dup_of[j], str) and dup_of[j]
                  else (str(ids[j]) if count[j] > 1 else None) for j in pos[order]]
    new, n_copies = demote_duplicates([prep.texts[i] for i in order], groups)
    if not n_copies:
        return order, 0
    notes.append(f"{n_copies} duplicate(s) of higher-ranked posts (same normalised text or ingest duplicate "
                 f"group) moved below the {len(order) - n_copies} distinct posts.")
    return order[new], n_copies

"""The grading queue: which posts of a query to grade first (TREC-style pooling).

Pure functions over rankings (:class:`core.rerank.pipeline.Ranking`); the
Grade page and the command line call them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from core.labels.grades import GRADE_SCALE  # noqa: F401  (defined there; older imports read it here)


def grading_queue(rankings_by_mode: dict[str, Any], *, pool_depth: int = 10) -> pd.DataFrame:
    """Order the posts of one query's rankings for grading (TREC-style pooling).

    First the pool: the union of every mode's top ``pool_depth`` posts (the
    depth the metrics are cut at, so every post a metric@k looks at gets a
    grade first; Voorhees & Harman, *TREC*, MIT Press 2005, ch. 2). Inside the
    pool, posts where the modes disagree most come first, then by their best
    rank. Then the rest, ordered the same way. Disagreement is ``rank_change``
    of :func:`core.compare.compare_rankings` (max - min rank over the modes
    that ranked the post; 0 with one mode), so with one mode the queue is the
    ranking itself.

    Args:
        rankings_by_mode: ``{mode: Ranking}`` for one query.
        pool_depth: k of the pool (>= 1), the Evaluate page's k
            (:func:`core.evaluate.names.evaluation_depth`).

    Returns:
        DataFrame with ``post_id, text, best_rank, disagreement, pooled`` and
        one ``rank:<mode>`` column per mode (Int64, <NA> when the mode did not
        rank the post), in queue order, with a fresh RangeIndex. ``pooled`` is
        True for posts in some mode's top ``pool_depth``.
    """
    from core.compare import compare_rankings

    if not rankings_by_mode:
        return pd.DataFrame(columns=["post_id", "text", "best_rank", "disagreement", "pooled"])
    ranks = compare_rankings(rankings_by_mode, k=1).ranks
    rank_cols = [f"rank:{m}" for m in rankings_by_mode]
    out = ranks[["post_id", "text"]].copy()
    out["post_id"] = out["post_id"].astype(str)
    out["best_rank"] = ranks[rank_cols].min(axis=1).astype(int)
    out["disagreement"] = ranks["rank_change"].fillna(0).astype(int)
    # a post's own rank in each mode (not the "absent = list length + 1" filler compare uses)
    own = {m: dict(zip(r.table["post_id"].astype(str), r.table["rank"], strict=False))
           for m, r in rankings_by_mode.items()}
    out["pooled"] = [any((own[m].get(pid) or np.inf) <= max(1, int(pool_depth)) for m in own)
                     for pid in out["post_id"]]
    for c in rank_cols:
        out[c] = ranks[c].round().astype("Int64")
    out = out.sort_values(["pooled", "disagreement", "best_rank", "post_id"],
                          ascending=[False, False, True, True], kind="mergesort").reset_index(drop=True)
    return out

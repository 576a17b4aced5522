"""Compare rankings of the same posts under different modes.

For each pair of rankings (e.g. modes ``relevance`` and ``emotion``):

* Kendall's tau-b (``scipy.stats.kendalltau``, variant ``"b"``, which corrects
  for ties; Kendall, "The treatment of ties in ranking problems", Biometrika
  1945) between the two rank positions of the posts **both rankings scored**
  (the common candidates). Posts that only one ranking holds have no rank in
  the other; giving them a shared "last" rank would add a block of ties that
  says more about the candidate sets than about the orders, so they are left
  out and the size of the common set is reported with tau (NaN when < 2).
* overlap@k: ``|top_k(A) ∩ top_k(B)| / k'`` with ``k' = min(k, len(A), len(B))``,
  in [0, 1] (1 = same top k posts, in any order).

And per post: its rank and score in every mode, its first-stage rank, and the
largest rank change between two modes, with a short "why" for the posts that
moved most.
"""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.errors import SieveError

logger = logging.getLogger(__name__)


@dataclass
class ModeComparison:
    """The result of :func:`compare_rankings`.

    Attributes:
        modes: names of the compared rankings, in the order given.
        k: the cut-off of overlap@k.
        tau: DataFrame (modes x modes) of Kendall's tau-b over common posts
            (1 on the diagonal, NaN when fewer than 2 common posts).
        overlap: DataFrame (modes x modes) of overlap@k in [0, 1].
        pairs: DataFrame, one row per unordered pair: ``mode_a``, ``mode_b``,
            ``tau``, ``p_value`` (two-sided, scipy), ``n_common``,
            ``overlap_at_k``.
        ranks: DataFrame, one row per post ranked in any mode: ``post_id``,
            ``text``, ``rank:<mode>`` (float, NaN when absent), ``score:<mode>``,
            ``first_stage_rank`` (from the first ranking holding the post),
            ``rank_change`` (max rank - min rank over the modes holding it),
            sorted by ``rank_change`` descending.
        movers: the ``n_movers`` rows of ``ranks`` that moved most, with
            ``best_mode``, ``worst_mode`` and ``why`` (one sentence).
    """

    modes: list[str]
    k: int
    tau: pd.DataFrame
    overlap: pd.DataFrame
    pairs: pd.DataFrame
    ranks: pd.DataFrame
    movers: pd.DataFrame = field(default_factory=pd.DataFrame)


def kendall_tau_common(ranks_a: dict[str, int], ranks_b: dict[str, int]) -> tuple[float, float, int]:
    """Kendall's tau-b between two rankings over the posts both hold.

    Args:
        ranks_a, ranks_b: ``{post_id: rank}`` (1 = best).

    Returns:
        ``(tau, p_value, n_common)``; tau in [-1, 1], NaN (and p NaN) when
        fewer than 2 common posts or when one side is constant.
    """
    common = [p for p in ranks_a if p in ranks_b]
    if len(common) < 2:
        return math.nan, math.nan, len(common)
    from scipy.stats import kendalltau

    res = kendalltau([ranks_a[p] for p in common], [ranks_b[p] for p in common], variant="b")
    return float(res.statistic), float(res.pvalue), len(common)


def overlap_at_k(order_a: list[str], order_b: list[str], k: int) -> float:
    """``|top_k(a) ∩ top_k(b)| / min(k, len(a), len(b))``; NaN when either is empty.

    Example:
        >>> overlap_at_k(["a", "b", "c"], ["c", "a", "d"], 2)   # {a, b} ∩ {c, a}
        0.5
    """
    kk = min(k, len(order_a), len(order_b))
    if kk <= 0:
        return math.nan
    return len(set(order_a[:kk]) & set(order_b[:kk])) / kk


def _fmt(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3g}"


def compare_rankings(rankings: dict, *, k: int = 10, n_movers: int = 10) -> ModeComparison:
    """Compare rankings of the same post table.

    Args:
        rankings: ``{name: core.rerank.pipeline.Ranking}`` (usually name = mode);
            at least one.
        k: cut-off of overlap@k (>= 1, default 10).
        n_movers: how many posts to list in ``movers`` (default 10).

    Returns:
        :class:`ModeComparison`.

    Raises:
        SieveError: for no rankings or ``k`` < 1.

    Example:
        >>> cmp = compare_rankings({"relevance": r1, "emotion": r2}, k=10)  # doctest: +SKIP
        >>> cmp.pairs[["mode_a", "mode_b", "tau", "overlap_at_k"]]           # doctest: +SKIP
    """
    if not rankings:
        raise SieveError("There is nothing to compare: rank the posts under at least one mode first.")
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise SieveError(f"The 'k' parameter of compare_rankings must be an int >= 1. Got {k!r} instead.")
    modes = list(rankings)
    orders = {m: [str(p) for p in rankings[m].table["post_id"]] for m in modes}
    rank_of = {m: {str(p): int(r) for p, r in zip(rankings[m].table["post_id"], rankings[m].table["rank"])}
               for m in modes}

    tau = pd.DataFrame(np.eye(len(modes)), index=modes, columns=modes)
    ovl = pd.DataFrame(np.eye(len(modes)), index=modes, columns=modes)
    rows = []
    for a, b in itertools.combinations(modes, 2):
        t, p, n = kendall_tau_common(rank_of[a], rank_of[b])
        o = overlap_at_k(orders[a], orders[b], k)
        tau.loc[a, b] = tau.loc[b, a] = t
        ovl.loc[a, b] = ovl.loc[b, a] = o
        rows.append({"mode_a": a, "mode_b": b, "tau": t, "p_value": p, "n_common": n, "overlap_at_k": o})
    pairs = pd.DataFrame(rows, columns=["mode_a", "mode_b", "tau", "p_value", "n_common", "overlap_at_k"])

    # Per-post table across modes.
    info: dict[str, dict] = {}
    for m in modes:
        tab = rankings[m].table
        fs = tab["first_stage_rank"] if "first_stage_rank" in tab.columns else pd.Series([np.nan] * len(tab))
        for pid, text, r, s, f in zip(tab["post_id"], tab["text"], tab["rank"], tab["score"], fs):
            entry = info.setdefault(str(pid), {"post_id": str(pid), "text": text, "first_stage_rank": f})
            entry[f"rank:{m}"] = float(r)
            entry[f"score:{m}"] = float(s)
    cols = (["post_id", "text"] + [f"rank:{m}" for m in modes] + [f"score:{m}" for m in modes]
            + ["first_stage_rank"])
    ranks = pd.DataFrame(list(info.values()), columns=cols)
    rank_cols = [f"rank:{m}" for m in modes]
    rmat = ranks[rank_cols].to_numpy(dtype=float) if len(ranks) else np.zeros((0, len(modes)))
    with np.errstate(all="ignore"):
        held = (~np.isnan(rmat)).sum(axis=1)
        change = np.where(held >= 2, np.nanmax(rmat, axis=1, initial=-np.inf)
                          - np.nanmin(rmat, axis=1, initial=np.inf), 0.0)
    ranks["rank_change"] = change.astype(float) if len(ranks) else pd.Series(dtype=float)
    ranks = ranks.sort_values(["rank_change", "post_id"], ascending=[False, True], kind="stable")
    ranks = ranks.reset_index(drop=True)

    movers = ranks[ranks["rank_change"] > 0].head(n_movers).copy()
    best, worst, why = [], [], []
    for _, row in movers.iterrows():
        present = [m for m in modes if not math.isnan(row[f"rank:{m}"])]
        bm = min(present, key=lambda m: row[f"rank:{m}"])
        wm = max(present, key=lambda m: row[f"rank:{m}"])
        best.append(bm)
        worst.append(wm)
        parts = [f"rank {int(row[f'rank:{m}'])} under {m} (score {_fmt(row[f'score:{m}'])})" for m in (bm, wm)]
        absent = [m for m in modes if m not in present]
        text = f"{parts[0]} vs {parts[1]}"
        if not math.isnan(float(row["first_stage_rank"])):
            text += f"; first-stage rank {int(row['first_stage_rank'])}"
        if absent:
            text += f"; not among the candidates of {', '.join(absent)}"
        why.append(text + ".")
    movers["best_mode"] = best
    movers["worst_mode"] = worst
    movers["why"] = why
    return ModeComparison(modes=modes, k=int(k), tau=tau, overlap=ovl, pairs=pairs, ranks=ranks,
                          movers=movers.reset_index(drop=True))

"""core.compare: Kendall's tau-b, overlap@k and movers on hand-computed cases."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from core.compare import compare_rankings, kendall_tau_common, overlap_at_k
from core.errors import SieveError
from core.rerank.base import ScorerInfo
from core.rerank.pipeline import Ranking

INFO = ScorerInfo("fake", None, "qwen3", "cpu", "float32", True)


def _ranking(mode, ids, scores=None, first_stage=None):
    n = len(ids)
    scores = scores or [1.0 - i / 10 for i in range(n)]
    fs = first_stage or list(range(1, n + 1))
    table = pd.DataFrame({"post_id": ids, "rank": range(1, n + 1), "score": scores,
                          "log_odds": [float("nan")] * n, "first_stage_rank": fs,
                          "moved": [f - r for f, r in zip(fs, range(1, n + 1))],
                          "text": [f"text of {i}" for i in ids]})
    return Ranking(query="q", mode=mode, instruction="i", info=INFO, table=table,
                   unscored=pd.DataFrame(columns=["post_id", "reason"]))


def test_kendall_tau_b_hand_computed():
    # one discordant pair (a, b) of 6: (5 - 1) / 6
    t, p, n = kendall_tau_common({"a": 1, "b": 2, "c": 3, "d": 4}, {"a": 2, "b": 1, "c": 3, "d": 4})
    assert n == 4 and t == pytest.approx(4 / 6) and 0 < p <= 1
    # reversed order: -1; posts only in one ranking are left out
    t, _, n = kendall_tau_common({"a": 1, "b": 2, "c": 3, "x": 4}, {"c": 1, "b": 2, "a": 3, "y": 9})
    assert n == 3 and t == pytest.approx(-1.0)
    t, p, n = kendall_tau_common({"a": 1}, {"a": 1, "b": 2})
    assert n == 1 and math.isnan(t) and math.isnan(p)


def test_overlap_at_k_hand_computed():
    assert overlap_at_k(["a", "b", "c"], ["c", "a", "d"], 2) == 0.5
    assert overlap_at_k(["a", "b", "c"], ["c", "a", "b"], 3) == 1.0
    assert overlap_at_k(["a"], ["a", "b"], 10) == 1.0  # k' = shortest list
    assert math.isnan(overlap_at_k([], ["a"], 3))


def test_compare_rankings_tables_and_movers():
    r1 = _ranking("relevance", ["a", "b", "c", "d", "e"])
    r2 = _ranking("emotion", ["e", "b", "c", "d", "a"], scores=[0.95, 0.8, 0.7, 0.6, 0.1])
    r3 = _ranking("novelty", ["a", "b", "c", "d", "f"])
    cmp = compare_rankings({"relevance": r1, "emotion": r2, "novelty": r3}, k=2)
    assert cmp.modes == ["relevance", "emotion", "novelty"]
    # relevance vs emotion: a and e swap ends -> 7 discordant... computed by hand:
    # pairs (10): a-e discordant; a-x for x in b,c,d discordant (3); e-x for x in b,c,d discordant (3)
    # -> concordant 3, discordant 7: tau = (3 - 7) / 10
    assert cmp.tau.loc["relevance", "emotion"] == pytest.approx(-0.4)
    assert cmp.tau.loc["relevance", "novelty"] == pytest.approx(1.0)  # common a-d in the same order
    assert cmp.overlap.loc["relevance", "emotion"] == 0.5  # {a,b} vs {e,b}
    row = cmp.pairs[(cmp.pairs.mode_a == "relevance") & (cmp.pairs.mode_b == "novelty")].iloc[0]
    assert row.n_common == 4 and row.overlap_at_k == 1.0
    assert len(cmp.pairs) == 3 and cmp.tau.loc["emotion", "emotion"] == 1.0
    # per-post table: every post of any mode, NaN where absent
    assert set(cmp.ranks["post_id"]) == {"a", "b", "c", "d", "e", "f"}
    f = cmp.ranks.set_index("post_id").loc["f"]
    assert math.isnan(f["rank:relevance"]) and f["rank:novelty"] == 5
    # movers: a and e moved by 4 ranks; the why names both modes and scores
    top = cmp.movers.head(2)
    assert set(top["post_id"]) == {"a", "e"} and (top["rank_change"] == 4).all()
    e = cmp.movers.set_index("post_id").loc["e"]
    assert e["best_mode"] == "emotion" and e["worst_mode"] == "relevance"
    assert "rank 1 under emotion (score 0.95)" in e["why"] and "rank 5 under relevance" in e["why"]
    assert "not among the candidates of novelty" in e["why"]
    assert "b" not in set(cmp.movers["post_id"])  # rank 2 everywhere


def test_compare_validates():
    with pytest.raises(SieveError):
        compare_rankings({})
    with pytest.raises(SieveError, match="'k'"):
        compare_rankings({"a": _ranking("a", ["x"])}, k=0)
    one = compare_rankings({"a": _ranking("a", ["x", "y"])})
    assert one.pairs.empty and one.movers.empty and one.tau.loc["a", "a"] == 1.0

"""core.rerank.pipeline.rerank with fake scorers: ordering, before-order, unscored, modes, cancel."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.errors import Cancelled, SieveError
from core.rerank.modes import Mode
from core.rerank.pipeline import RANKING_COLUMNS, rerank
from tests._cand_fakes import FakeScorer, HashEmbedder, post_table

TEXTS = ["river flood warning", "flood rescue boats on the river", "[deleted]", "",
         "lunch by the river", "flood flood flood"]


def _posts():
    scorable = [True, True, False, False, True, True]
    reasons = [None, None, "placeholder: [deleted]", "empty text", None, None]
    return post_table(TEXTS, scorable=scorable, reasons=reasons)


SCORES = {TEXTS[0]: 0.2, TEXTS[1]: 0.9, TEXTS[4]: 0.5, TEXTS[5]: 0.7}


def test_orders_by_score_keeps_before_order_and_records_provenance():
    scorer = FakeScorer(SCORES)
    r = rerank(_posts(), "river flood", scorer=scorer, mode="accuracy")
    assert tuple(r.table.columns[: len(RANKING_COLUMNS)]) == RANKING_COLUMNS
    assert r.table["post_id"].tolist() == ["p1", "p5", "p4", "p0"]
    assert r.table["rank"].tolist() == [1, 2, 3, 4]
    np.testing.assert_allclose(r.table["score"], [0.9, 0.7, 0.5, 0.2], rtol=1e-6)
    # first-stage (BM25 only, no embedder) order is the "before" order
    fs = dict(zip(r.table["post_id"], r.table["first_stage_rank"]))
    assert sorted(fs.values()) == [1, 2, 3, 4]
    assert (r.table["moved"] == r.table["first_stage_rank"] - r.table["rank"]).all()
    assert fs["p4"] == 4  # "lunch by the river" matches one query word only
    # the scorer saw the instruction of the mode, and the result records it
    assert scorer.calls[0]["instruction"] == r.instruction and "verifiable facts" in r.instruction
    assert r.mode == "accuracy" and r.info.model_id == "fake/reranker"
    assert r.table["log_odds"].isna().all()
    assert r.to_run() == pytest.approx({"p1": 0.9, "p5": 0.7, "p4": 0.5, "p0": 0.2}, rel=1e-6)


def test_unscorable_posts_get_reason_and_no_score():
    r = rerank(_posts(), "river flood", scorer=FakeScorer(SCORES))
    assert dict(zip(r.unscored["post_id"], r.unscored["reason"])) == {
        "p2": "placeholder: [deleted]", "p3": "empty text"}
    assert not {"p2", "p3"} & set(r.table["post_id"])
    # a post the scorer returns NaN for is moved to unscored too
    r2 = rerank(_posts(), "river flood", scorer=FakeScorer({k: v for k, v in SCORES.items() if k != TEXTS[4]}))
    assert "p4" in set(r2.unscored["post_id"]) and "p4" not in set(r2.table["post_id"])


def test_budget_limits_what_the_scorer_sees():
    scorer = FakeScorer(SCORES)
    r = rerank(_posts(), "river flood", scorer=scorer, budget=2, embedder=HashEmbedder())
    assert len(scorer.calls[0]["documents"]) == 2 and r.n_candidates == 2 and r.n_scorable == 4
    assert any("kept 2 of 4" in n for n in r.notes)
    assert "p4" not in set(r.table["post_id"])  # lowest in both BM25 and dense


def test_log_odds_break_saturated_scores_and_top_k():
    scores = dict.fromkeys(SCORES, 1.0)
    lo = {TEXTS[0]: 9.0, TEXTS[1]: 3.0, TEXTS[4]: 12.0, TEXTS[5]: 5.0}
    r = rerank(_posts(), "river flood", scorer=FakeScorer(scores, log_odds=lo), top_k=3)
    assert r.table["post_id"].tolist() == ["p4", "p0", "p5"]
    assert r.table["log_odds"].tolist() == [12.0, 9.0, 5.0]


def test_diversify_mode_changes_order_and_records_lambda():
    texts = ["flood in the city center", "flood in the city center today", "bridge closed by flood water"]
    scores = {texts[0]: 0.9, texts[1]: 0.85, texts[2]: 0.6}
    posts = post_table(texts)
    plain = rerank(posts, "flood", scorer=FakeScorer(scores), mode="relevance", embedder=HashEmbedder())
    assert plain.table["post_id"].tolist() == ["p0", "p1", "p2"] and not plain.diversified
    mode = Mode(name="diverse", label="D", description="d", instruction="x", diversify=True, mmr_lambda=0.5)
    div = rerank(posts, "flood", scorer=FakeScorer(scores), mode=mode, embedder=HashEmbedder())
    assert div.table["post_id"].tolist() == ["p0", "p2", "p1"]
    assert div.diversified and div.mmr_lambda == 0.5
    assert any("lambda = 0.5" in n for n in div.notes)
    # scores stay the scorer's; to_run follows the shown order
    run = div.to_run()
    assert run["p0"] > run["p2"] > run["p1"]
    # without an embedder the diversification is skipped and said so
    nodiv = rerank(posts, "flood", scorer=FakeScorer(scores), mode=mode)
    assert not nodiv.diversified and any("skipped" in n for n in nodiv.notes)


def test_scorer_that_ignores_instructions_is_reported():
    scorer = FakeScorer(SCORES, follows_instructions=False)
    r = rerank(_posts(), "flood", scorer=scorer, mode="novelty", embedder=HashEmbedder())
    assert r.diversified and r.mmr_lambda == 0.7
    assert any("cannot follow instructions" in n and "only its diversification" in n for n in r.notes)
    r2 = rerank(_posts(), "flood", scorer=scorer, mode="relevance")
    assert any("plain relevance ranking" in n for n in r2.notes)


def test_progress_and_cancellation_pass_through():
    seen = []
    rerank(_posts(), "flood", scorer=FakeScorer(SCORES), progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (4, 4)
    with pytest.raises(Cancelled):
        rerank(_posts(), "flood", scorer=FakeScorer(SCORES), should_cancel=lambda: True)
    calls = {"n": 0}

    def cancel_during_scoring():
        calls["n"] += 1
        return calls["n"] > 3  # true only once the scorer is polling

    with pytest.raises(Cancelled):
        rerank(_posts(), "flood", scorer=FakeScorer(SCORES), should_cancel=cancel_during_scoring)


def test_validation_messages():
    with pytest.raises(SieveError, match="query is empty"):
        rerank(_posts(), "  ", scorer=FakeScorer(SCORES))
    with pytest.raises(SieveError, match="top_k"):
        rerank(_posts(), "flood", scorer=FakeScorer(SCORES), top_k=0)
    with pytest.raises(SieveError, match="Unknown mode"):
        rerank(_posts(), "flood", scorer=FakeScorer(SCORES), mode="nope")
    with pytest.raises(SieveError, match="post_id"):
        rerank(_posts().drop(columns="post_id"), "flood", scorer=FakeScorer(SCORES))
    r = rerank(_posts(), "flood", scorer=FakeScorer(SCORES), instruction="Posts about boats first")
    assert r.instruction == "Posts about boats first"
    assert not math.isnan(r.table["score"].iloc[0])


def test_diversify_moves_exact_duplicates_below_every_distinct_post():
    from core.rerank.pipeline import demote_duplicates

    texts = ["RT @fund: For each RT $1 goes to the victims #DonateToBoston",  # p0
             "Red Cross: where to donate blood",                             # p1
             "For each RT $1 goes to the victims #DonateToBoston http://t.co/x",  # p2: same key as p0
             "victims fund opens at city hall",                              # p3
             "Where to donate blood (Red Cross) ...",                        # p4: ingest says dup of p1
             "lunch"]                                                        # p5
    posts = post_table(texts)
    posts["dup_of"] = [None, None, None, None, "p1", None]
    posts["dup_count"] = [1, 2, 1, 1, 2, 1]
    scores = {texts[0]: 0.95, texts[2]: 0.94, texts[1]: 0.93, texts[4]: 0.9, texts[3]: 0.8, texts[5]: 0.1}
    mode = Mode(name="diverse", label="D", description="d", instruction="x", diversify=True, mmr_lambda=0.99)
    r = rerank(posts, "donate victims", scorer=FakeScorer(scores), mode=mode, embedder=HashEmbedder())
    order = r.table["post_id"].tolist()
    assert order[:4] == ["p0", "p1", "p3", "p5"] and set(order[4:]) == {"p2", "p4"}
    assert r.duplicates_moved == 2 and any("2 duplicate(s)" in n for n in r.notes)
    run = r.to_run()  # the run follows the shown order, not the scores
    assert run["p5"] > run["p2"] and run["p5"] > run["p4"]
    # the plain relevance mode keeps the copies where their scores put them
    plain = rerank(posts, "donate victims", scorer=FakeScorer(scores), mode="relevance", embedder=HashEmbedder())
    assert plain.table["post_id"].tolist()[:4] == ["p0", "p2", "p1", "p4"] and plain.duplicates_moved == 0
    # without an embedder (no MMR) a diversifying mode still moves the copies
    nodiv = rerank(posts, "donate victims", scorer=FakeScorer(scores), mode=mode)
    assert not nodiv.diversified and nodiv.table["post_id"].tolist()[-2:] == ["p2", "p4"]
    assert nodiv.to_run()["p5"] > nodiv.to_run()["p2"]
    # the helper on its own: groups and normalised text both count
    new, n = demote_duplicates(["a b", "c", "A  b!", "d"], ["g1", "g1", None, None])
    assert new.tolist() == [0, 3, 1, 2] and n == 2

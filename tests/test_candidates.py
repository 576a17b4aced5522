"""core.candidates: BM25, dense, fusion, MMR and the first stage, on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from core.candidates import (
    BM25Index,
    convex_fusion,
    cosine_scores,
    dense_search,
    first_stage,
    mmr,
    normalise_scores,
    reciprocal_rank_fusion,
    search_tokens,
)
from core.candidates.bm25 import split_hashtags
from core.errors import SieveError
from tests._cand_fakes import HashEmbedder, post_table


def test_bm25_finds_chinese_word_inside_unsegmented_text():
    texts = ["今天深圳开始禁摩限电了大家注意", "春节放鞭炮太吵了", "iPhone SE 销量不太好", ""]
    idx = BM25Index(texts)
    top, scores = idx.search("禁摩", k=2)
    assert top[0] == 0 and scores[0] > 0
    assert scores[1] == 0  # no other post holds the word
    assert idx.search("鞭炮", k=1)[0].tolist() == [1]


def test_bm25_stems_english_and_splits_camel_case_hashtags():
    texts = ["Please donate to the relief fund", "Fire near Boulder #WaldoCanyonFire", "lunch was great"]
    idx = BM25Index(texts)
    assert idx.search("donations", k=1)[0].tolist() == [0]
    assert idx.search("canyon", k=1)[0].tolist() == [1]
    assert split_hashtags("#BoulderFire now") == "#BoulderFire Boulder Fire now"
    assert search_tokens("Donating") == search_tokens("donate")


def test_bm25_scores_shape_unknown_query_and_k_cap():
    idx = BM25Index(["alpha beta", "beta gamma", "delta"])
    s = idx.scores("zzz unknownword")
    assert s.shape == (3,) and s.dtype == np.float32 and not s.any()
    top, scores = idx.search("beta", k=10)
    assert len(top) == 3 and top.dtype == np.int64
    assert set(top[:2].tolist()) == {0, 1} and scores[2] == 0
    empty = BM25Index([])
    assert empty.search("beta", 5)[0].shape == (0,)


def test_dense_search_orders_by_cosine_and_checks_dims():
    docs = np.array([[1, 0], [0.6, 0.8], [0, 1]], dtype=np.float32)
    idx, s = dense_search(np.array([0, 1], dtype=np.float32), docs, 2)
    assert idx.tolist() == [2, 1]
    np.testing.assert_allclose(s, [1.0, 0.8], rtol=1e-6)
    with pytest.raises(ValueError, match="shape"):
        cosine_scores(np.ones(3, dtype=np.float32), docs)


def test_rrf_hand_computed():
    # doc 1: 1/(60+2) + 1/(60+1); doc 0: 1/61; doc 2: 1/62; doc 3: 1/63
    idx, s = reciprocal_rank_fusion([[0, 1, 3], [1, 2]], k=60)
    assert idx.tolist() == [1, 0, 2, 3]
    np.testing.assert_allclose(s, [1 / 62 + 1 / 61, 1 / 61, 1 / 62, 1 / 63])
    # k=0 and weights: doc 0 gets 2/1, doc 1 gets 2/2 + 1/1
    idx, s = reciprocal_rank_fusion([[0, 1], [1]], k=0, weights=[2.0, 1.0])
    np.testing.assert_allclose(s, [2.0, 2.0])
    assert idx.tolist() == [0, 1]  # tie: first seen first
    with pytest.raises(ValueError):
        reciprocal_rank_fusion([[0]], k=-1)


def test_convex_fusion_and_normalisation_hand_computed():
    np.testing.assert_allclose(normalise_scores(np.array([2.0, 4.0, 3.0])), [0.0, 1.0, 0.5])
    np.testing.assert_allclose(normalise_scores(np.array([1.0, 3.0]), "zscore"), [-1.0, 1.0])
    fused = convex_fusion([np.array([0.0, 10.0, 5.0]), np.array([1.0, 0.0, 0.5])], [0.25, 0.75])
    # minmax -> [0, 1, .5] and [1, 0, .5]; 0.25*a + 0.75*b
    np.testing.assert_allclose(fused, [0.75, 0.25, 0.5])
    with pytest.raises(ValueError):
        convex_fusion([np.zeros(2)], [0.0])


def test_mmr_hand_computed():
    v = np.array([[1, 0], [1, 0], [0, 1]], dtype=np.float32)
    rel = np.array([0.9, 0.8, 0.5])
    assert mmr(rel, v, 1.0).tolist() == [0, 1, 2]  # relevance only
    # lambda .5: after 0, doc 1: .5*.8 - .5*1 = -.1; doc 2: .5*.5 - .5*0 = .25 -> 2, then 1
    assert mmr(rel, v, 0.5).tolist() == [0, 2, 1]
    assert mmr(rel, v, 0.5, k=2).tolist() == [0, 2]
    with pytest.raises(ValueError):
        mmr(rel, v, 1.5)


def test_first_stage_keeps_budget_of_scorable_posts_in_fused_order():
    texts = ["flood warning issued for the river", "lunch photos", "river flood rescue boats",
             "", "flood", "cat video"]
    posts = post_table(texts)
    emb = HashEmbedder()
    c = first_stage(posts, "river flood", embedder=emb, budget=3)
    assert len(c) == 3 and c.method == "rrf"
    assert 3 not in c.positions.tolist()  # the empty post never competes
    assert set(c.positions.tolist()) <= {0, 2, 4}
    assert np.all(np.diff(c.fused_score) <= 0)
    assert c.n_scorable == 5 and c.embeddings.shape == (3, emb.dim)
    # BM25 rank 1 is the post with both words and the shortest length among them
    assert c.bm25_rank.min() == 1 and c.dense_rank.min() >= 1


def test_first_stage_without_embedder_is_bm25_only_and_validates():
    posts = post_table(["a flood", "b lunch", "flood flood river"])
    c = first_stage(posts, "flood river", budget=10)
    assert c.method == "bm25" and c.positions.tolist()[0] == 2 and len(c) == 3
    assert not c.dense_rank.any()
    with pytest.raises(SieveError, match="budget"):
        first_stage(posts, "flood", budget=0)
    with pytest.raises(SieveError, match="embeddings"):
        first_stage(posts, "flood", embedder=HashEmbedder(), embeddings=np.zeros((2, 64), np.float32))

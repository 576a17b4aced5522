"""core.rerank.stream: partial rankings batch by batch, cancel, measured rates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.rerank.base import ScorerInfo
from core.rerank.cache import CachedScorer
from core.rerank.pipeline import rerank
from core.rerank.stream import RateBook, batch_plan, rerank_stream
from tests._cand_fakes import FakeScorer, post_table

WORDS = ["flood", "river", "rescue", "boat", "bridge", "rain", "lunch", "city", "road", "help"]
TEXTS = [f"{WORDS[i % 10]} {WORDS[(i * 3) % 10]} report number {i}" for i in range(40)]
SCORES = {t: float((i * 37) % 40) / 40 for i, t in enumerate(TEXTS)}


def _stream(scorer, **kw):
    return list(rerank_stream(post_table(TEXTS), "flood river", scorer=scorer, first_batch=4, **kw))


def test_batch_plan_starts_small_and_doubles():
    assert batch_plan(100, first=8, largest=32) == [(0, 8), (8, 24), (24, 56), (56, 88), (88, 100)]
    assert batch_plan(3, first=16) == [(0, 3)]
    assert batch_plan(0) == []


def test_stream_refines_batch_by_batch_and_ends_equal_to_rerank():
    steps = _stream(FakeScorer(SCORES))
    full = rerank(post_table(TEXTS), "flood river", scorer=FakeScorer(SCORES))
    # first the first-stage order, nothing scored
    first = steps[0]
    assert first.n_scored == 0 and not first.complete and first.table["score"].isna().all()
    assert first.table["first_stage_rank"].tolist() == list(range(1, 41))
    # then 4, 12, 28, 40 candidates scored (batches of 4, 8, 16, then the 12 left)
    assert [s.n_scored for s in steps] == [0, 4, 12, 28, 40]
    assert [s.complete for s in steps] == [False] * 4 + [True]
    for s in steps[1:-1]:
        scored = s.table[s.table["score"].notna()]
        assert len(scored) == s.n_scored and s.table["rank"].tolist() == list(range(1, 41))
        assert scored["score"].is_monotonic_decreasing  # highest-scored first
        pending = s.table.iloc[s.n_scored:]
        assert pending["score"].isna().all() and pending["first_stage_rank"].is_monotonic_increasing
        assert set(s.to_run()) == set(scored["post_id"])  # a partial run holds the scored posts only
    last = steps[-1]
    pd.testing.assert_frame_equal(last.table, full.table)
    assert last.to_run() == full.to_run() and last.notes == full.notes


def test_cancel_keeps_what_is_scored_and_says_so():
    scorer = FakeScorer(SCORES)
    steps = _stream(scorer, should_cancel=lambda: len(scorer.calls) >= 2)
    last = steps[-1]
    # batch 1 (4 posts) finished; batch 2 was cancelled inside the scorer (after its first post)
    assert not last.complete and last.n_scored == 4 and len(steps) == 3
    assert any("Cancelled: 4 of 40 candidates were scored" in n for n in last.notes)
    scored = last.table.head(4)
    assert scored["score"].notna().all() and last.table.iloc[4:]["score"].isna().all()
    # the first batch is the first stage's top 4, now best first
    expected = sorted(steps[0].table["text"].head(4), key=lambda t: -SCORES[t])
    assert scored["text"].tolist() == expected
    assert scored["score"].tolist() == pytest.approx([SCORES[t] for t in expected])


def test_scorer_that_needs_the_whole_candidate_set_gets_one_batch():
    scorer = FakeScorer(SCORES)
    scorer._info = ScorerInfo(model_id="fake/embedded", revision=None, kind="embedded", device="cpu",
                              dtype="float32", follows_instructions=False)
    steps = _stream(scorer)
    assert [s.n_scored for s in steps] == [0, 40] and len(scorer.calls) == 1


def test_progress_counts_candidates():
    seen = []
    _stream(FakeScorer(SCORES), progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (40, 40) and all(t == 40 for _, t in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_rates_are_measured_remembered_and_skip_cache_hits(tmp_path, monkeypatch):
    from core.rerank import stream

    clock = {"t": 0.0}
    monkeypatch.setattr(stream, "_now", lambda: clock["t"])

    class SlowScorer(FakeScorer):  # 0.1 s of (fake) time per post
        def predict(self, query, documents, **kw):
            clock["t"] += 0.1 * len(documents)
            return super().predict(query, documents, **kw)

    cached = CachedScorer(SlowScorer(SCORES), tmp_path / "cache")
    book = RateBook(tmp_path / "cache")
    assert book.rate(cached) is None and book.estimate(cached, 200) is None
    _stream(cached, rates=book)
    assert book.rate(cached) == pytest.approx(10.0)
    again = RateBook(tmp_path / "cache")  # read back from rerank_rates.json
    assert again.estimate(cached, 200) == pytest.approx(20.0)
    # a second run comes from the score cache: no pair is run, the rate stays
    clock_before = clock["t"]
    _stream(cached, rates=again)
    assert clock["t"] == clock_before and again.rate(cached) == pytest.approx(10.0)


def test_stream_on_tiny_qwen3_matches_rerank(selfmade_qwen3_dir):
    from core.rerank.qwen3 import Qwen3Reranker

    scorer = Qwen3Reranker(str(selfmade_qwen3_dir), dtype="float32")
    posts = post_table([f"{w} flood in the city {i}" for i, w in enumerate(WORDS * 2)])
    steps = list(rerank_stream(posts, "flood rescue", scorer=scorer, first_batch=3))
    full = rerank(posts, "flood rescue", scorer=scorer)
    assert [s.n_scored for s in steps] == [0, 3, 9, 20]
    last = steps[-1]
    assert last.table["post_id"].tolist() == full.table["post_id"].tolist()
    np.testing.assert_allclose(last.table["score"], full.table["score"], atol=1e-5)


def test_a_first_batch_of_ten_refines_the_first_stage_top_ten_at_once():
    # the Rerank page's first batch (dashboard.live.first_batch_size): the first ranking
    # with scores already shows a refined top 10 -- the first stage's 10 best, best first
    steps = list(rerank_stream(post_table(TEXTS), "flood river", scorer=FakeScorer(SCORES), first_batch=10))
    first, refined = steps[0], steps[1]
    assert refined.n_scored == 10
    top = refined.table.head(10)
    assert top["score"].notna().all() and top["score"].is_monotonic_decreasing
    assert sorted(top["first_stage_rank"]) == list(range(1, 11))
    assert set(top["text"]) == set(first.table["text"].head(10))

"""The on-disk relevance-score cache: identical floats back, no second model run,
keys by (model, instruction, query, text), persistence, threads, cancellation."""

from __future__ import annotations

import hashlib
import threading

import numpy as np
import pytest

from core.errors import Cancelled
from core.rerank.base import BaseScorer, ScoreResult, ScorerInfo
from core.rerank.cache import FILENAME, CachedScorer
from core.rerank.modes import DEFAULT_INSTRUCTION
from core.rerank.qwen3 import Qwen3Reranker


class CountingScorer(BaseScorer):
    """A pointwise fake: score = a hash of (instruction, query, text) in [0, 1)."""

    def __init__(self, *, kind="qwen3", follows_instructions=True, log_odds=True):
        self.calls: list[list[str]] = []
        self.log_odds = log_odds
        self._info = ScorerInfo(model_id="fake/model", revision="abc", kind=kind, device="cpu",
                                dtype="float32", follows_instructions=follows_instructions)
        self._lock = threading.Lock()

    @property
    def info(self):
        return self._info

    def predict(self, query, documents, *, instruction=None, progress=None, should_cancel=None):
        with self._lock:
            self.calls.append(list(documents))
        instr = instruction if self._info.follows_instructions else ""
        scores = np.array(
            [np.nan if not d.strip() else
             int(hashlib.md5(f"{instr}|{query}|{d}".encode()).hexdigest()[:8], 16) / 2**32
             for d in documents], dtype=np.float32)
        odds = np.log(scores / (1 - scores)).astype(np.float32) if self.log_odds else None
        if progress:
            progress(len(documents), len(documents))
        return ScoreResult(scores=scores, log_odds=odds, info=self._info)

    @property
    def n_scored(self):
        return sum(len(c) for c in self.calls)


POSTS = [f"post number {i} about the storm" for i in range(40)] + ["", "  "]


def test_second_call_is_served_from_disk_with_identical_floats(tmp_path):
    inner = CountingScorer()
    cached = CachedScorer(inner, tmp_path)
    first = cached.predict("storm", POSTS)
    assert inner.n_scored == 40 and cached.misses == 40
    second = cached.predict("storm", POSTS)
    assert inner.n_scored == 40 and cached.hits == 40  # no second model call
    np.testing.assert_array_equal(first.scores, second.scores)
    np.testing.assert_array_equal(first.log_odds, second.log_odds)
    assert first.scores.dtype == np.float32 and np.isnan(second.scores[-2:]).all()
    assert (tmp_path / FILENAME).is_file()
    # a new instance on the same folder (a new process, say) finds them too
    again = CachedScorer(CountingScorer(), tmp_path)
    np.testing.assert_array_equal(again.predict("storm", POSTS).scores, first.scores)
    assert again.scorer.n_scored == 0


def test_only_missing_posts_are_scored_and_order_is_kept(tmp_path):
    inner = CountingScorer()
    cached = CachedScorer(inner, tmp_path)
    cached.predict("storm", POSTS[:10])
    mixed = POSTS[5:15][::-1] + [POSTS[12]]
    res = cached.predict("storm", mixed)
    assert inner.calls[-1] == POSTS[10:15][::-1]  # duplicates and cached posts are not sent
    np.testing.assert_array_equal(res.scores, inner.predict("storm", mixed).scores)


def test_key_holds_instruction_query_and_model(tmp_path):
    inner = CountingScorer()
    cached = CachedScorer(inner, tmp_path)
    base = cached.predict("storm", POSTS[:5]).scores
    cached.predict("storm", POSTS[:5], instruction=DEFAULT_INSTRUCTION)  # None == the default instruction
    assert inner.n_scored == 5
    other = cached.predict("storm", POSTS[:5], instruction="Posts with strong emotion first")
    assert inner.n_scored == 10 and not np.array_equal(other.scores, base)
    cached.predict("flood", POSTS[:5])
    assert inner.n_scored == 15
    other_model = CountingScorer()
    other_model._info = ScorerInfo(model_id="fake/model", revision="def", kind="qwen3", device="cpu",
                                   dtype="float32", follows_instructions=True)
    CachedScorer(other_model, tmp_path).predict("storm", POSTS[:5])
    assert other_model.n_scored == 5  # another revision is another key


def test_scorer_that_ignores_instructions_shares_entries(tmp_path):
    inner = CountingScorer(kind="vllm", follows_instructions=False, log_odds=False)
    cached = CachedScorer(inner, tmp_path)
    a = cached.predict("storm", POSTS[:5], instruction="one")
    b = cached.predict("storm", POSTS[:5], instruction="two")
    assert inner.n_scored == 5 and a.log_odds is None and b.log_odds is None
    np.testing.assert_array_equal(a.scores, b.scores)


def test_candidate_set_dependent_scorers_are_not_cached(tmp_path):
    inner = CountingScorer(kind="embedded", follows_instructions=False, log_odds=False)
    cached = CachedScorer(inner, tmp_path)
    cached.predict("storm", POSTS[:5])
    cached.predict("storm", POSTS[:5])
    assert inner.n_scored == 10 and not cached.pointwise


def test_cancel_keeps_finished_chunks(tmp_path):
    inner = CountingScorer()
    cached = CachedScorer(inner, tmp_path, chunk_size=10)
    polls = []

    def cancel_on_third_poll():
        polls.append(1)
        return len(polls) >= 3

    with pytest.raises(Cancelled):
        cached.predict("storm", POSTS, should_cancel=cancel_on_third_poll)
    assert inner.n_scored == 20
    progress = []
    cached.predict("storm", POSTS, progress=lambda d, t: progress.append((d, t)))
    assert inner.n_scored == 40  # only the 20 not finished before the cancel
    assert progress[0] == (22, 42) and progress[-1] == (42, 42)


def test_threads_share_one_cache(tmp_path):
    inner = CountingScorer()
    cached = CachedScorer(inner, tmp_path)
    expected = inner.predict("storm", POSTS).scores
    inner.calls.clear()
    errors, results = [], []

    def work():
        try:
            results.append(cached.predict("storm", POSTS).scores)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 6
    for r in results:
        np.testing.assert_array_equal(r, expected)


def test_qwen3_scores_round_trip_bit_for_bit(selfmade_qwen3_dir, tmp_path):
    scorer = Qwen3Reranker(str(selfmade_qwen3_dir))
    cached = CachedScorer(scorer, tmp_path)
    posts = ["typhoon damage in Tacloban", "nice lunch today", "", "storm " * 30]
    first = cached.predict("typhoon", posts)
    runs = {"n": 0}
    handle = scorer._m.base.register_forward_pre_hook(lambda *a, **k: runs.__setitem__("n", runs["n"] + 1))
    try:
        second = cached.predict("typhoon", posts)
    finally:
        handle.remove()
    assert runs["n"] == 0
    np.testing.assert_array_equal(first.scores, second.scores)
    np.testing.assert_array_equal(first.log_odds, second.log_odds)
    np.testing.assert_array_equal(second.scores, scorer.predict("typhoon", posts).scores)
    assert "max_length=8192" in cached.cache_key and cached.info == scorer.info

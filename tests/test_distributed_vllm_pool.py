"""Reranking on two vLLM replicas (two fake servers): round-robin, failover, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import ModelUnavailableError, ParameterError, SieveError
from core.rerank import load_scorer
from core.rerank.template import SUFFIX
from core.rerank.vllm import VLLMScorer, query_text
from core.rerank.vllm_pool import VLLMPool, parse_urls
from tests._fake_vllm import FakeVLLM, content_score

DOCS = [f"post number {i} about the storm" for i in range(9)]


@pytest.fixture
def two():
    with FakeVLLM(scores="content") as a, FakeVLLM(scores="content") as b:
        yield a, b


def _expected(query, docs, instruction=None):
    return np.array([content_score(query_text(instruction, query), f"<Document>: {d}{SUFFIX}") for d in docs],
                    dtype=np.float32)


def test_setting_with_two_urls_spreads_batches_over_both(two):
    a, b = two
    pool = load_scorer(f"vllm: {a.url} , {b.url}/")
    assert isinstance(pool, VLLMPool) and pool.urls == [a.url, b.url]
    pool.batch_size = 2
    seen = []
    res = pool.predict("storm", DOCS[:4] + [""] + DOCS[4:], instruction="eyewitness first",
                       progress=lambda d, t: seen.append((d, t)))
    # every post scored once, by one replica or the other, with the same score a single replica gives
    want = _expected("storm", DOCS, "eyewitness first")
    np.testing.assert_array_equal(np.delete(res.scores, 4), want)
    assert np.isnan(res.scores[4]) and np.isnan(res.log_odds[4])
    np.testing.assert_allclose(res.log_odds[0], np.log(want[0] / (1 - want[0])), rtol=1e-5)
    sent = [d for srv in (a, b) for _, p in srv.requests for d in p["text_2"]]
    assert sorted(sent) == sorted(f"<Document>: {d}{SUFFIX}" for d in DOCS)
    # 5 batches of <= 2 posts in waves of one per replica: 3 to one, 2 to the other
    assert sorted([len(a.requests), len(b.requests)]) == [2, 3]
    assert seen[0] == (1, 10) and seen[-1] == (10, 10)
    assert pool.info.kind == "vllm" and pool.info.model_id == "Qwen/Qwen3-Reranker-0.6B"
    assert pool.cache_key == VLLMScorer(a.url).cache_key  # the cache is shared with one replica


def test_consecutive_small_calls_take_turns(two):
    a, b = two
    pool = VLLMPool([a.url, b.url])
    for _ in range(4):
        pool.predict("q", ["one post"])
    assert len(a.requests) == 2 and len(b.requests) == 2


def test_a_replica_that_dies_is_skipped_and_its_batch_rescored(two):
    a, b = two
    pool = VLLMPool([a.url, b.url], batch_size=2)
    b.stop()
    res = pool.predict("flood", DOCS)
    np.testing.assert_array_equal(res.scores, _expected("flood", DOCS))
    assert pool.live_urls() == [a.url]
    assert sum(len(p["text_2"]) for _, p in a.requests) == len(DOCS)  # all of them, none lost


def test_a_replica_down_at_start_is_tried_again_later(two):
    a, b = two
    port = int(b.url.rsplit(":", 1)[1])
    b.stop()
    pool = VLLMPool([a.url, b.url], retry_after=0.0)
    assert pool.live_urls() == [a.url]  # tried again (retry_after=0), still down
    b.start(port)  # the replica is back on its port
    res = pool.predict("q", DOCS[:4])
    np.testing.assert_array_equal(res.scores, _expected("q", DOCS[:4]))
    assert set(pool.live_urls()) == {a.url, b.url}
    pool.batch_size = 1
    pool.predict("q", DOCS[:4])
    assert len(b.requests) >= 2  # it takes its turns again


def test_all_replicas_down_names_every_url(two):
    a, b = two
    pool = VLLMPool([a.url, b.url])
    a.stop()
    b.stop()
    with pytest.raises(ModelUnavailableError) as err:
        pool.predict("q", DOCS)
    assert a.url in str(err.value) and b.url in str(err.value)
    with pytest.raises(ModelUnavailableError, match="None of the 2 vLLM servers"):
        VLLMPool([a.url, b.url])


def test_replicas_serving_different_models_are_refused():
    with FakeVLLM() as a, FakeVLLM(model="Qwen/Qwen3-Reranker-4B") as b, \
            pytest.raises(SieveError, match="different models"):
        VLLMPool([a.url, b.url])


def test_bad_url_list_says_what_is_expected():
    with pytest.raises(ParameterError, match="comma-separated"):
        parse_urls("http://a:8000,gpu2:8000")
    assert parse_urls("http://a:8000/, https://b") == ["http://a:8000", "https://b"]

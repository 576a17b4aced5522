"""The vLLM backend against a fake /score server (vLLM itself needs a GPU)."""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest

from core.errors import MissingDependencyError, ModelUnavailableError
from core.rerank import load_scorer
from core.rerank.modes import DEFAULT_INSTRUCTION
from core.rerank.template import PREFIX, SUFFIX
from core.rerank.vllm import VLLMScorer
from tests._fake_vllm import FakeVLLM


@pytest.fixture
def fake_server():
    with FakeVLLM() as server:
        yield server.url, server.requests


def test_server_requests_follow_the_template(fake_server):
    url, requests = fake_server
    scorer = load_scorer(f"vllm:{url}")
    assert isinstance(scorer, VLLMScorer)
    assert scorer.info.kind == "vllm" and scorer.info.model_id == "Qwen/Qwen3-Reranker-0.6B"
    res = scorer.predict("storm", ["a", "", "b", "c"])
    path, payload = requests[-1]
    assert path == "/score" and payload["model"] == "Qwen/Qwen3-Reranker-0.6B"
    assert payload["text_1"] == f"{PREFIX}<Instruct>: {DEFAULT_INSTRUCTION}\n<Query>: storm\n"
    assert payload["text_2"] == [f"<Document>: {d}{SUFFIX}" for d in "abc"]
    # the whole prompt is exactly the model card's
    assert payload["text_1"] + payload["text_2"][0] == (
        f"{PREFIX}<Instruct>: {DEFAULT_INSTRUCTION}\n<Query>: storm\n<Document>: a{SUFFIX}")
    np.testing.assert_allclose(res.scores[[0, 2, 3]], [0.25, 0.5, 0.75])
    assert np.isnan(res.scores[1]) and np.isnan(res.log_odds[1])
    np.testing.assert_allclose(res.log_odds[0], np.log(0.25 / 0.75), rtol=1e-6)


def test_batches_progress_and_instruction(fake_server):
    url, requests = fake_server
    scorer = VLLMScorer(url, batch_size=2)
    seen = []
    scorer.predict("storm", ["a", "b", "c"], instruction="emotion first", progress=lambda d, t: seen.append(d))
    assert [len(p["text_2"]) for _, p in requests] == [2, 1]
    assert "<Instruct>: emotion first\n" in requests[0][1]["text_1"]
    assert seen == [0, 2, 3]


def test_unreachable_server_fails_fast():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    with pytest.raises(ModelUnavailableError, match="vllm serve"):
        VLLMScorer(f"http://127.0.0.1:{port}")
    assert time.perf_counter() - t0 < 6


def test_in_process_mode_without_vllm_says_how_to_install():
    pytest.importorskip("torch")
    try:
        import vllm  # noqa: F401
    except ImportError:
        with pytest.raises(MissingDependencyError, match="pip install vllm"):
            VLLMScorer("Qwen/Qwen3-Reranker-0.6B")
    else:  # pragma: no cover - only where vLLM is installed
        pytest.skip("vLLM is installed here")

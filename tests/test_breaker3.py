"""Attacks on the store's reads, the large-dataset rerank, the child read and the shared ingest.

Each test names a behaviour that broke (or was at risk) and now holds.
"""

from __future__ import annotations

import numpy as np
import pytest

import core.ingest
from core.store.posts import read_posts_stored


@pytest.fixture
def counting_reads(monkeypatch):
    real = core.ingest.read_posts
    reads = []

    def counting(data, **kw):
        reads.append(len(data))
        return real(data, **kw)

    monkeypatch.setattr(core.ingest, "read_posts", counting)
    return reads


def _export(n: int = 2_000) -> bytes:
    return b"id,text\n" + b"".join(b"%d,flood water rising near bridge %d\n" % (i, i) for i in range(n))


def test_the_child_read_runs_sieves_own_module_not_one_in_the_working_directory(tmp_path, monkeypatch,
                                                                                counting_reads):
    """The server may run from any folder: a ``core`` package there (another project's, or a
    planted one) must not be what ``python -m core.store.posts`` runs."""
    cwd = tmp_path / "cwd"
    (cwd / "core" / "store").mkdir(parents=True)
    (cwd / "core" / "__init__.py").write_text("")
    (cwd / "core" / "store" / "__init__.py").write_text("")
    marker = tmp_path / "ran"
    (cwd / "core" / "store" / "posts.py").write_text(
        f"import sys\nopen({str(marker)!r}, 'w').write('x')\nsys.stdin.buffer.read()\nraise SystemExit(1)\n")
    monkeypatch.chdir(cwd)
    got = read_posts_stored(_export(), filename="f.csv", root=tmp_path / "store", min_bytes=0, apart_min_bytes=0)
    assert len(got.posts) == 2_000
    assert not marker.exists()  # the planted module never ran
    assert not counting_reads  # and the child read the file (no fallback read here)


def test_the_child_read_does_not_copy_the_export_in_the_server(tmp_path, counting_reads):
    """The child read exists to keep a large read's memory out of the server: handing the child
    its input must not make a second copy of the export there (``header + data`` was one)."""
    import tracemalloc

    text = b"flood water rising near the old bridge, people are asked to stay away " * 6
    data = b"id,text\n" + b"".join(b"%d,%s %d\n" % (i, text, i) for i in range(20_000))  # 8.6 MB
    read_posts_stored(b"id,text\n1,warm up the imports\n", filename="w.csv", root=tmp_path / "w",
                      min_bytes=0, apart_min_bytes=0)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        got = read_posts_stored(data, filename="f.csv", root=tmp_path / "s", min_bytes=0, apart_min_bytes=0)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert len(got.posts) == 20_000 and not counting_reads  # read by the child
    assert peak < len(data) / 2, (peak, len(data))


def _posts(n):
    import pandas as pd

    topics = ["flood water rising in the river", "donate blood at the red cross", "power outage downtown",
              "shelter open at the school", "road closed by a landslide"]
    return pd.DataFrame({"post_id": [f"p{i}" for i in range(n)],
                         "text": [f"{topics[i % len(topics)]} update {i}" for i in range(n)]})


def test_a_large_table_with_a_complete_index_is_not_said_to_rank_most_posts_by_bm25_only(monkeypatch, tmp_path):
    """Once the background build has embedded every post, the dense side searches all of them (the
    store's nearest posts); the ranking's note must not say most posts were ranked by BM25 only
    (with the whole array passed in, as before, there was no such note)."""
    from core.candidates import index
    from core.candidates.index import DenseIndexBuild
    from core.rerank import pipeline
    from core.rerank.embedded import EmbeddedScorer
    from tests._cand_fakes import HashEmbedder

    monkeypatch.setenv("SIEVE_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(pipeline, "FULL_EMBED_MAX", 100)
    monkeypatch.setattr(index, "POOL_MIN", 50)
    monkeypatch.setattr("core.store.vectors.PERSIST_MIN", 100)
    posts = _posts(600)
    emb = HashEmbedder()
    build = DenseIndexBuild(emb, posts["text"].tolist(), chunk=64)
    assert build.join() and build.on_disk
    old = pipeline.rerank(posts, "blood donation", scorer=EmbeddedScorer(emb), budget=20, embedder=emb,
                          embeddings=build.vectors())
    new = pipeline.rerank(posts, "blood donation", scorer=EmbeddedScorer(emb), budget=20, embedder=emb)
    assert not [n for n in old.notes if "BM25 only" in n]
    assert not [n for n in new.notes if "BM25 only" in n], new.notes


@pytest.mark.xfail(strict=True, reason="not fixed: with no vector array the embedded scorer's corpus statistics "
                   "(feedback documents, min-max of the cosines) see only the query's pool; the old ranking needs "
                   "every stored vector in memory (2 GB at a million posts)")
def test_a_large_table_with_a_complete_index_ranks_as_with_its_whole_vector_array(monkeypatch, tmp_path):
    """Same data, same query, every post embedded: the first_stage_posts way (no array, the pipeline
    opens the store) and the old way (the build's whole array passed in) give the same top ten."""
    from core.candidates import index
    from core.candidates.index import DenseIndexBuild
    from core.rerank import pipeline
    from core.rerank.embedded import EmbeddedScorer
    from tests._cand_fakes import HashEmbedder

    monkeypatch.setenv("SIEVE_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(pipeline, "FULL_EMBED_MAX", 100)
    monkeypatch.setattr(index, "POOL_MIN", 50)
    monkeypatch.setattr("core.store.vectors.PERSIST_MIN", 100)
    import pandas as pd

    rng = np.random.default_rng(0)
    words = ["flood", "water", "river", "bridge", "blood", "donate", "red", "cross", "power", "outage",
             "downtown", "shelter", "school", "road", "closed", "landslide", "rescue", "help", "need", "food",
             "medical", "fire", "smoke", "evacuate", "storm", "wind", "rain"]
    texts = [" ".join(rng.choice(words, size=rng.integers(3, 9))) for _ in range(1_500)]
    posts = pd.DataFrame({"post_id": [f"p{i}" for i in range(len(texts))], "text": texts})
    emb = HashEmbedder()
    build = DenseIndexBuild(emb, texts, chunk=256)
    assert build.join()
    new = pipeline.rerank(posts, "power outage", scorer=EmbeddedScorer(emb), budget=20, embedder=emb)
    old = pipeline.rerank(posts, "power outage", scorer=EmbeddedScorer(emb), budget=20, embedder=emb,
                          embeddings=build.vectors())
    assert new.table["post_id"].head(10).tolist() == old.table["post_id"].head(10).tolist()

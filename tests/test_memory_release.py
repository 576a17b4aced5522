"""A closed or replaced dataset lets go of its memory (issue 11): what each layer keeps is dropped.

The RSS measurement itself is ``tests/test_store_memory.py`` (a fresh process) and
``bench/scale.py --store``; here each cache that held the dataset is checked empty.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from core.candidates import bm25
from core.candidates.index import DenseIndexBuild, release_memory, take_rows
from core.ingest import read_posts
from core.rerank.embedded import EmbeddedScorer
from core.store.vectors import open_post_vectors
from dashboard.results import LoadedDataset
from tests._cand_fakes import HashEmbedder


def test_take_rows_copies_only_rows_holding_a_vector():
    vecs = np.zeros((1000, 8), dtype=np.float64)
    vecs[[3, 500, 999]] = np.arange(24).reshape(3, 8) + 1
    got = take_rows(vecs, np.arange(1000) % 2 == 1)  # a mask: the odd rows
    assert got.dtype == np.float32 and got.shape == (500, 8)
    np.testing.assert_array_equal(got, vecs[1::2].astype(np.float32))
    np.testing.assert_array_equal(take_rows(vecs), vecs.astype(np.float32))


def test_release_memory_forgets_the_dataset_but_keeps_the_builds_still_open(tmp_path):
    emb = HashEmbedder()
    old = [f"old post {i} about floods in the valley" for i in range(40)]
    new = [f"new post {i} about a power outage" for i in range(40)]
    scorer = EmbeddedScorer(emb).bind(old)
    assert scorer._corpora and scorer._vec_cache
    bm25.cached_index(old)
    assert bm25._INDEX_CACHE
    build_old = DenseIndexBuild(emb, old, start=False, root=tmp_path)
    build_old.run_here()
    build_new = DenseIndexBuild(emb, new, start=False, root=tmp_path)
    build_new.run_here()

    release_memory(keep=[build_new])

    assert not scorer._corpora and not scorer._vec_cache  # the scorer no longer holds the old corpus
    assert not bm25._INDEX_CACHE
    assert build_old._store.closed and not build_new._store.closed
    # a kept build's store is still the one every caller gets, and still complete
    assert open_post_vectors(emb, new, root=tmp_path) is build_new._store and build_new.complete
    # the released scorer binds again and scores as before
    assert np.isfinite(scorer.bind(old).predict("floods", old[:3]).scores).all()


def _dataset(tag: str, n: int = 30) -> LoadedDataset:
    rows = "\n".join(f"{tag}{i},post {i} of dataset {tag} about flooding" for i in range(n))
    res = read_posts(f"id,text\n{rows}\n".encode(), filename=f"{tag}.csv")
    return LoadedDataset(name=tag, source="upload", path="", content_sha256=tag, columns={},
                         collapse_duplicates=False, posts=res.posts, report=res.report.to_dict(),
                         dataset_hash=res.report.dataset_hash)


def test_replacing_the_dataset_releases_the_old_ones_results(monkeypatch, tmp_path):
    from dashboard import data, remember, resources, state

    monkeypatch.setenv("SIEVE_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(resources, "get_embedder", lambda *a: HashEmbedder())
    monkeypatch.setattr(resources, "_dense", OrderedDict())
    monkeypatch.setattr(remember, "save_session_file", lambda: None)
    session = {"dataset": None}
    monkeypatch.setattr(state, "dataset", lambda: session["dataset"])
    monkeypatch.setattr(state, "set_dataset", lambda ds: session.update(dataset=ds))
    reads = []
    monkeypatch.setattr("core.store.posts.read_posts_stored", lambda data, **kw: reads.append(data) or data)

    def key(ds):
        return resources.posts_key(ds.dataset_hash, ds.posts["post_id"].tolist())

    a, b = _dataset("a"), _dataset("b")
    data.use_dataset(a)
    build_a = resources.dense_index(key(a), "fake", "", "", "", a.posts["text"].tolist())
    resources.ingest("sha-a", b"bytes of a", "a.csv", "{}", 10)
    resources.ingest("sha-a", b"bytes of a", "a.csv", "{}", 10)
    assert len(reads) == 1  # cached

    data.use_dataset(a)  # the same dataset again: nothing is released
    assert not build_a._cancel.is_set() and len(resources._dense) == 1

    data.use_dataset(b)
    assert session["dataset"] is b
    assert build_a._cancel.is_set() and not resources._dense  # its background build is gone
    resources.ingest("sha-a", b"bytes of a", "a.csv", "{}", 10)
    assert len(reads) == 2  # the cached post table was released: read again (from its store)


def test_damage_check_reads_blocks_of_done_rows_from_the_file(tmp_path, monkeypatch):
    from core.store import vectors as store_vectors

    texts = [f"message {i} on the bridge" for i in range(30)]
    store = open_post_vectors(HashEmbedder(), texts, root=tmp_path)
    store.embed_rows(HashEmbedder(), [1, 2, 25, 26], texts)
    store._vecs[25] = np.inf  # damaged, in the fourth block of 8 rows
    store._vecs[12] = np.nan  # not done: never read, stays missing
    store._vecs.flush()
    store_vectors.release_post_vectors()
    real = store_vectors._forget_damaged_rows
    monkeypatch.setattr(store_vectors, "_forget_damaged_rows", lambda f, v, d: real(f, v, d, block=8))
    again = open_post_vectors(HashEmbedder(), texts, root=tmp_path)
    assert np.flatnonzero(np.asarray(again._done)).tolist() == [1, 2, 26]
    got = again.vectors()
    assert np.isfinite(got).all() and not got[[0, 12, 25]].any()


def test_sparse_zeros_take_memory_only_for_rows_written():
    from core.store.vectors import sparse_zeros

    def rss_mb() -> float:
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) / 1024 for line in fh if line.startswith("VmRSS:"))

    before = rss_mb()
    vecs = sparse_zeros(400_000, 256)  # 390 MB of zeros
    vecs[np.arange(0, 400_000, 1000)] = 1.0  # 400 scattered rows
    cos = vecs @ np.ones(256, dtype=np.float32)  # a pass over every row, as the scorer makes
    assert cos.sum() == 400 * 256 and not vecs[1:1000].any()
    assert rss_mb() - before < 60, (before, rss_mb())  # a few MB of written pages, not 390 MB


def test_closing_a_dataset_stops_its_first_stage_warm_up(monkeypatch, tmp_path):
    """The Rerank page starts embedding a loaded table in the background; a dataset replaced
    meanwhile stops that work after the current chunk instead of running on for a minute."""
    import threading
    import time

    import pandas as pd

    from dashboard import resources

    monkeypatch.setenv("SIEVE_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(resources, "_dense", OrderedDict())
    started, calls = threading.Event(), []

    class SlowEmbedder(HashEmbedder):
        def embed(self, texts, *, task=None, progress=None):
            calls.append(len(texts))
            started.set()
            time.sleep(0.4)
            return super().embed(texts, task=task, progress=progress)

    monkeypatch.setattr(resources, "get_embedder", lambda *a: SlowEmbedder())
    posts = pd.DataFrame({"post_id": [str(i) for i in range(6_000)],
                          "text": [f"flood report number {i}" for i in range(6_000)]})
    lock, threads = resources._warm_threads()
    with lock:
        threads.clear()
    resources.warm_first_stage("dsA:1", "fake", "", "", "", posts)
    (thread,) = threads.values()
    assert started.wait(30)
    resources.release_dataset("dsA:1")
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert sum(calls) < 6_000 and len(calls) <= 2  # stopped after the chunk under way (6 chunks in all)
    assert not threads  # forgotten: opening the dataset again starts a new warm-up


def test_opening_other_corpora_never_evicts_a_store_whose_build_is_running(tmp_path):
    """Finding: a large dataset's background build stopped (its store closed, stage "cancelled")
    once two time windows of it had been reranked: each window is a corpus with its own vector
    store, and the third store opened evicted the oldest open one, the build's."""
    import threading

    from core.store import vectors as store_vectors

    emb = HashEmbedder()
    texts = [f"post {i} about the flood in the valley" for i in range(400)]
    gate, started = threading.Event(), threading.Event()

    class Held(HashEmbedder):
        def embed(self, batch, **kw):
            started.set()
            gate.wait(30)
            return super().embed(batch, **kw)

    build = DenseIndexBuild(Held(), texts, chunk=50, root=tmp_path)
    try:
        assert started.wait(30)
        for w in range(3):  # three time windows' corpora opened while the build runs
            window = texts[w * 100 : w * 100 + 150]
            open_post_vectors(emb, window, root=tmp_path)
        assert not build._store.closed, "a store with a running build was evicted"
        assert build._store in store_vectors._open.values(), list(store_vectors._open)
        assert len(store_vectors._open) == store_vectors.MAX_OPEN  # the build's and the newest window's
    finally:
        gate.set()
    assert build.join() and build.stage == "done"
    # once the build is done its store is an ordinary one: two more corpora evict it
    open_post_vectors(emb, texts[:120], root=tmp_path)
    open_post_vectors(emb, texts[:130], root=tmp_path)
    assert build._store.closed and len(store_vectors._open) == store_vectors.MAX_OPEN
    store_vectors.release_post_vectors()


def test_embedding_every_post_of_a_dataset_closed_meanwhile_raises_instead_of_zero_vectors(tmp_path):
    """Finding (review): the Map page's vectors came from a store closed midway (its dataset
    replaced): every row not embedded yet was a zero vector, and the page cached them."""
    import pytest

    from core.candidates.index import embed_all_posts
    from core.errors import Cancelled
    from core.store.vectors import release_post_vectors

    texts = [f"post {i} about the storm" for i in range(300)]

    class Closing(HashEmbedder):
        def embed(self, batch, **kw):
            release_post_vectors()  # the analyst loads another dataset while this runs
            return super().embed(batch, **kw)

    with pytest.raises(Cancelled):
        embed_all_posts(Closing(), texts, root=tmp_path)
    got = embed_all_posts(HashEmbedder(), texts, root=tmp_path)  # opened again: completes
    assert got.shape == (300, HashEmbedder().dim) and np.all(np.abs(got).sum(axis=1) > 0)
    release_post_vectors()


def _slow_ann_build(monkeypatch):
    """Hold every ANN index build until the returned ``gate`` is set; ``building`` is set once one
    waits there (the build's stage is then "ann")."""
    import threading

    from core.store import ann

    gate, building = threading.Event(), threading.Event()
    real = ann.build_or_load

    def slow(*args, **kwargs):
        building.set()
        gate.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(ann, "build_or_load", slow)
    return gate, building


def test_queries_and_the_map_do_not_wait_for_the_ann_index(tmp_path, monkeypatch):
    """Finding: once every post was embedded, the ANN index was built holding the store's lock
    (15 minutes at 1 M posts, in a child process), so a query meanwhile waited for it; and the
    Map page, which reads the vectors and never the ANN index, waited for it too."""
    import threading

    from core.store.vectors import release_post_vectors
    from dashboard.rerank import wait_dense_build

    gate, building = _slow_ann_build(monkeypatch)
    emb = HashEmbedder()
    texts = [f"post {i} about river {i % 37} and road {i % 11}" for i in range(400)]
    build = DenseIndexBuild(emb, texts, chunk=100, root=tmp_path)
    try:
        assert building.wait(60) and build.stage == "ann" and build.complete
        found: dict = {}
        query = threading.Thread(target=lambda: found.update(hit=build.search(emb.embed([texts[7]])[0], 3)))
        query.start()
        query.join(10)
        assert not query.is_alive(), "a query waited for the ANN index"
        assert found["hit"][0][0] == 7  # exact cosine over the stored rows meanwhile
        waited: dict = {}
        map_wait = threading.Thread(target=lambda: waited.update(ok=wait_dense_build(build)))
        map_wait.start()
        map_wait.join(10)
        assert not map_wait.is_alive(), "the map waited for the ANN index"
        assert waited["ok"] is True and build.stage == "ann"
    finally:
        gate.set()
    assert build.join() and build.stage == "done"
    assert build._store.ann() is not None and build.search(emb.embed([texts[7]])[0], 3)[0][0] == 7
    release_post_vectors()


def test_a_build_cancelled_while_its_ann_index_is_built_lets_go_of_the_texts(tmp_path, monkeypatch):
    """Finding (1 M server run): a dataset closed while its ANN index was still being built (now that
    the map no longer waits for it) kept its million texts in the server (the build thread held them
    until the child process ended): 1.60x idle after closing instead of 1.30x."""
    import gc
    import weakref

    from core.store.vectors import release_post_vectors

    class Texts(list):  # a list that a weak reference can watch
        pass

    gate, building = _slow_ann_build(monkeypatch)
    texts = Texts(f"post {i} about river {i % 37}" for i in range(300))
    watch = weakref.ref(texts)
    build = DenseIndexBuild(HashEmbedder(), texts, chunk=100, root=tmp_path)
    del texts
    try:
        assert building.wait(60) and build.stage == "ann"
        build.cancel()  # the dataset is closed
        gc.collect()
        assert watch() is None, "the build still holds the closed dataset's texts"
    finally:
        gate.set()
    build.join()
    assert build.stage == "done" and build.error is None  # the index is kept for the next open
    release_post_vectors()

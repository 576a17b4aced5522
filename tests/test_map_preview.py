"""A preview map of a large dataset before every post is embedded (issue 11: the Map page
waited for the full dense build, about 36 minutes at a million posts).

The background build embeds a seeded random sample of the distinct texts first
(``core.candidates.dense_build``); the Map page draws that sample's map at once
(``core.cluster.cluster_preview``), and the full map is later fitted on the same sample
(``cluster_posts(..., fit_rows=)``), so the preview's clusters and places are the full map's.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from core.candidates import dense_build
from core.candidates.dense_build import DenseIndexBuild, preview_sample
from core.cluster import cluster_posts, cluster_preview
from core.cluster.sample import FIT_SAMPLE
from core.store.vectors import open_post_vectors
from tests.test_dashboard import FakeEmbedder, fakes, sample  # noqa: F401 (fixtures)


def blobs(n_per: int = 300, k: int = 5, dim: int = 24, seed: int = 0) -> np.ndarray:
    """k well-separated Gaussian blobs, L2-normalised, float32 (k * n_per, dim); every 37th row zero
    (an empty post)."""
    rng = np.random.default_rng(seed)
    x = np.concatenate([c + 0.3 * rng.normal(size=(n_per, dim)) for c in 3 * rng.normal(size=(k, dim))])
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    x[::37] = 0
    return x


@pytest.mark.parametrize("params", [{"min_cluster_size": 40}, {}, {"method": "kmeans", "k": 4}])
def test_the_preview_is_the_full_maps_fit_of_the_same_sample(params):
    x = blobs()
    valid = np.flatnonzero(np.linalg.norm(x, axis=1) > 0)
    fit = np.sort(np.random.default_rng(1).choice(valid, 400, replace=False))
    full = cluster_posts(x, fit_rows=fit, **params)
    pre = cluster_preview(x[fit], n_posts=len(valid), **params)
    assert full.fit_sample_ == pre.fit_sample_ == 400
    assert np.array_equal(full.coords_2d_[fit], pre.coords_2d_), "the preview's places are the full map's"
    assert np.array_equal(full.labels_[fit], pre.labels_) and full.n_clusters_ == pre.n_clusters_  # same numbers
    assert pre.min_cluster_size == params.get("min_cluster_size")  # the analyst's setting, as given
    if "min_cluster_size" in params:  # scaled to the sample's share, as the full map scales it
        assert pre.min_cluster_size_ == round(40 * 400 / len(valid)) == full.min_cluster_size_
    # the other posts are placed (every valid row has a place), the empty ones are not
    assert not np.isnan(full.coords_2d_[valid]).any() and np.isnan(full.coords_2d_[::37]).all()
    # a different sample gives a different fit: the rows really chose it
    other = cluster_posts(x, fit_rows=np.sort(np.random.default_rng(2).choice(valid, 400, replace=False)),
                          **params)
    assert not np.array_equal(other.coords_2d_[fit], full.coords_2d_[fit])


def test_fit_rows_leave_out_empty_posts_and_count_copies_once():
    x = blobs(n_per=120, k=3)
    x[5] = x[6]  # a copy
    fit = np.array([0, 5, 6, 37, 74, *range(100, 330, 2)])  # 0, 37, 74, 148, 222, 296: empty posts
    full = cluster_posts(x, fit_rows=fit)
    assert full.fit_sample_ == len(fit) - 6 - 1
    assert full.labels_[5] == full.labels_[6] and np.array_equal(full.coords_2d_[5], full.coords_2d_[6])
    assert np.isnan(full.coords_2d_[[0, 37, 74, 148]]).all() and (full.labels_[[0, 37, 74, 148]] == -1).all()


def test_the_preview_sample_is_as_large_as_the_maps_fit():
    assert dense_build.PREVIEW_TEXTS == FIT_SAMPLE


class RecordingEmbedder(FakeEmbedder):
    """Records every batch; ``gate``, when given, is waited on before every batch after the first."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        super().__init__()
        self.batches: list[list[str]] = []
        self.gate = gate

    def embed(self, texts, *, task=None, progress=None):
        if self.gate is not None and self.batches:
            assert self.gate.wait(60), "the test never opened the gate"
        self.batches.append(list(texts))
        return super().embed(texts, task=task, progress=progress)


def corpus(n: int = 600) -> list[str]:
    texts = [f"post {i % 400} about the flood in district {i % 13}" for i in range(n)]
    texts[3] = texts[10] = ""
    return texts


def test_the_build_embeds_its_preview_sample_first_and_draws_the_same_one_again(tmp_path, monkeypatch):
    monkeypatch.setattr(dense_build, "PREVIEW_TEXTS", 50)
    texts = corpus()
    emb = RecordingEmbedder()
    among = np.arange(0, 600, 2)  # the scorable posts: the preview is drawn from them only
    build = DenseIndexBuild(emb, texts, chunk=20, start=False, root=tmp_path, preview_from=among)
    assert build.preview is None and build.preview_done == 0 and not build.preview_ready
    build.run_here()
    assert build.complete and build.preview_ready and build.preview_done == 50
    store = open_post_vectors(emb, texts, root=tmp_path)
    preview = {texts[int(store.first[r])] for r in build.preview}
    assert len(preview) == 50 and "" not in preview
    assert preview <= {texts[i] for i in among}
    assert build.preview_pool == len({texts[i] for i in among} - {""})
    order = [t for batch in emb.batches for t in batch]
    assert set(order[:50]) == preview and not preview & set(order[50:]), "the sample is embedded first"
    # the first post of each sample text among the rows asked for
    rows = np.arange(100, 600)
    pos = build.preview_positions(rows)
    got = [texts[rows[p]] for p in pos]
    assert len(got) == len(set(got)) and set(got) == {t for t in preview if t in {texts[r] for r in rows}}
    assert all(texts.index(t, 100) == rows[p] for t, p in zip(got, pos))
    # reopened (a new process, a half-built store): the same sample, and what is left of it first
    again = preview_sample(store, texts, among)
    assert np.array_equal(again[0], build.preview)
    emb2 = RecordingEmbedder()
    half = DenseIndexBuild(emb2, texts, chunk=20, start=False, root=tmp_path / "other", preview_from=among)
    half._open(texts=texts)
    stored = np.arange(0, half._store.n_distinct, 3)
    half._store.embed_rows(emb2, stored, texts)  # a third stored by an earlier process
    left = preview - {texts[int(half._store.first[r])] for r in stored}
    assert 0 < len(left) < len(preview)
    emb2.batches.clear()
    half.run_here()
    order = [t for batch in emb2.batches for t in batch]
    assert np.array_equal(half.preview, build.preview) and set(order[: len(left)]) == left
    assert half.complete


def test_the_preview_is_every_text_when_there_are_few(tmp_path):
    texts = corpus(120)
    build = DenseIndexBuild(FakeEmbedder(), texts, chunk=50, start=False, root=tmp_path)
    build.run_here()
    assert len(build.preview) == build.preview_pool == len(set(texts) - {""})  # not a sample: no preview map


def test_the_build_says_how_long_is_left(tmp_path, monkeypatch):
    monkeypatch.setattr(dense_build, "PREVIEW_TEXTS", 20)
    texts = corpus()
    emb = RecordingEmbedder(gate=threading.Event())
    build = DenseIndexBuild(emb, texts, chunk=20, root=tmp_path)  # the first chunk: the sample
    assert build.wait_preview(), "the sample is embedded while the rest waits at the gate"
    assert build.preview_ready and not build.complete and build.eta_seconds is None  # no rate yet
    slow = emb.embed
    emb.embed = lambda batch, **kw: time.sleep(0.05) or slow(batch, **kw)  # 20 texts in 0.05 s
    emb.gate.set()
    seen = []
    while build.stage in ("opening", "embedding"):
        if build.eta_seconds is not None:
            seen.append((build.eta_seconds, build.total - build.done))
        time.sleep(0.01)
    build.join()
    assert build.complete and build.eta_seconds is None  # past the embedding stage
    assert seen, "a time left was given while embedding"
    for eta, left in seen:  # 0.05 s a chunk of 20: 2.5 ms a text, give or take the machine's load
        assert 0 <= eta <= left * 0.05 + 1.0
    assert seen[-1][0] < seen[0][0]


# --- the Map page ------------------------------------------------------------------------------------


@pytest.fixture
def held(sample, monkeypatch):
    """The bundled sample as a large dataset (over a patched ``FULL_EMBED_MAX``) whose background build stops
    after its 60-text preview sample until the returned gate is set (``gate.state["fail"]``: then it fails)."""
    import core.candidates.index
    import core.store.vectors
    from dashboard import mapping, resources

    embedder = resources.get_embedder("any", "", "")
    monkeypatch.setattr(embedder, "uses_task", False, raising=False)
    monkeypatch.setattr(core.candidates.index, "FULL_EMBED_MAX", 50)
    monkeypatch.setattr(core.store.vectors, "PERSIST_MIN", 50)
    monkeypatch.setattr(dense_build, "PREVIEW_TEXTS", 60)
    monkeypatch.setattr(resources, "DENSE_CHUNK", 30)
    monkeypatch.setattr(mapping, "PREVIEW_MIN", 20)
    gate, calls = threading.Event(), []
    embed = embedder.embed
    state_ = {"fail": False}

    def gated(texts, **kw):
        calls.append(len(texts))
        if len(calls) > 2 and kw.get("task") is None and len(texts) == 30:
            assert gate.wait(120), "the test never let the build go on"
            if state_["fail"]:
                raise RuntimeError("the embedder fell over")
        return embed(texts, **kw)

    monkeypatch.setattr(embedder, "embed", gated)
    gate.state = state_
    yield gate
    gate.set()


def test_the_map_page_draws_a_preview_then_the_full_map_with_the_same_fit(held):
    from dashboard import state
    from tests.test_dashboard import button, ok, start

    gate = held
    at = start("map.py")
    assert "a preview of a random sample comes first" in " ".join(el.value for el in at.info)
    posts = state.dataset(at.session_state).posts
    n_ok = int(posts["scorable"].sum()) if "scorable" in posts else len(posts)
    button(at, "Cluster").click().run()
    ok(at)
    pre = state.work(at.session_state).clusters
    assert pre is not None and pre.preview and len(pre.rows) == 60 == len(pre.result.labels_)
    info = " ".join(el.value for el in at.info)
    assert f"Preview: 60 of the {n_ok:,} posts" in info and "so far" in info, info
    assert not gate.is_set() and button(at, "Wait for the full map")
    assert "a preview: 60 posts drawn at random" in " ".join(c.value for c in at.caption)
    table = next(d.value for d in at.dataframe if "keywords" in d.value)  # the cluster table: the sample only
    assert int(table["size"].sum()) == 60
    # the analyst waits for the full map: the build goes on and the map places every post
    gate.set()
    button(at, "Wait for the full map").click().run()
    ok(at)
    full = state.work(at.session_state).clusters
    assert full is not None and not full.preview and len(full.result.labels_) == n_ok
    assert full.result.fit_sample_ == 60
    at_full = np.searchsorted(full.rows, pre.rows)  # both are positions in the dataset's table
    assert np.array_equal(full.rows[at_full], pre.rows)
    assert np.array_equal(full.result.coords_2d_[at_full], pre.result.coords_2d_), "the preview's places kept"
    assert np.array_equal(full.result.labels_[at_full], pre.result.labels_), "each cluster keeps its number"
    assert not [el for el in at.info if "Preview:" in el.value]
    # another tab opened now gets the full map at once (every post is embedded)
    tab = start("map.py")
    button(tab, "Cluster").click().run()
    ok(tab)
    assert not state.work(tab.session_state).clusters.preview


def test_fit_rows_over_posts_with_no_vector_yet_give_an_empty_map():
    x = np.zeros((50, 8), dtype=np.float32)
    res = cluster_posts(x, fit_rows=np.arange(0, 50, 5))
    assert (res.labels_ == -1).all() and np.isnan(res.coords_2d_).all() and res.n_clusters_ == 0


@pytest.mark.usefixtures("sample")
def test_a_map_made_before_the_time_range_changed_still_shows_its_own_posts():
    """Found on the way: narrowing the time range after a map was drawn crashed the Map page (its
    labels were drawn over the posts of the new range: "boolean index did not match")."""
    from dashboard import state
    from tests.test_dashboard import button, ok, start
    from tests.test_timefilter_ui import _choose

    at = start("map.py")
    button(at, "Cluster").click().run()
    ok(at)
    before = state.work(at.session_state).clusters
    _choose(at, "Last 24 hours")  # fewer posts now
    ok(at)
    assert "made with other settings" in " ".join(c.value for c in at.caption)
    table = next(d.value for d in at.dataframe if "keywords" in d.value)
    assert int(table["size"].sum()) == len(before.result.labels_), "the stale map counts its own posts"
    button(at, "Cluster again with these settings").click().run()
    ok(at)
    after = state.work(at.session_state).clusters
    assert len(after.result.labels_) < len(before.result.labels_)


def test_the_time_left_follows_the_recent_rate(tmp_path, monkeypatch):
    """At a million posts the first minutes of the build share the CPU with the first queries: the
    time left is measured over the last ETA_WINDOW_S seconds, not since the start (the 1 M run said
    "about 96 min left" for 36)."""
    monkeypatch.setattr(dense_build, "PREVIEW_TEXTS", 20)
    monkeypatch.setattr(dense_build, "ETA_WINDOW_S", 0.5)
    emb = RecordingEmbedder()
    slow = emb.embed
    emb.embed = lambda batch, **kw: time.sleep(0.3 if len(emb.batches) < 4 else 0.02) or slow(batch, **kw)
    build = DenseIndexBuild(emb, corpus(1200), chunk=20, root=tmp_path)  # 800 distinct texts, 40 chunks
    seen = []
    while build.stage in ("opening", "embedding"):
        if build.eta_seconds is not None and len(emb.batches) > 12:
            seen.append((build.eta_seconds, build.total - build.done))
        time.sleep(0.01)
    build.join()
    assert seen, "a time left was given once the build ran fast"
    for eta, left in seen:  # the fast rate (0.02 s a chunk), not one averaged with the start's 0.3 s
        assert eta <= left / 20 * 0.1, (eta, left)


def test_the_rerank_page_shows_the_background_build_before_any_query(held):
    """A newcomer saw no sign of the background build on the Rerank page until a first rerank."""
    from dashboard import resources
    from tests.test_dashboard import ok, start

    at = start("rerank.py")
    next(iter(resources._dense.values())).wait_preview()
    at.run()
    ok(at)
    captions = " ".join(c.value for c in at.caption)
    assert "Dense index of this file: 60 of" in captions and "a random sample of the file" in captions, captions
    assert not [h for h in at.subheader if h.value.startswith("Results for")]

"""Large tables (issue 11): sampled map fit, the BM25 pool for the dense side, the background dense index.

No timed asserts: speed is measured by ``bench/scale.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from core.candidates import index
from core.candidates.index import DenseIndexBuild, embedded_mask, pool_embeddings
from core.cluster import cluster_posts
from core.cluster.sample import distinct_rows
from core.rerank import pipeline
from core.rerank.embedded import EmbeddedScorer
from tests._cand_fakes import HashEmbedder


def _unit(x):
    x = np.asarray(x, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


# --- map fitted on a sample -----------------------------------------------------------------


def test_sampled_fit_places_every_point_and_keeps_the_clusters():
    x, y = make_blobs(n_samples=900, n_features=16, centers=4, cluster_std=0.05, center_box=(-1, 1),
                      random_state=3)
    x = _unit(x)
    x = np.vstack([x, x[:300]])  # copies, as retweets give identical vectors
    y = np.concatenate([y, y[:300]])
    x[5] = 0.0  # an empty post
    res = cluster_posts(x, method="kmeans", k=4, fit_sample=200)
    assert res.fit_sample_ == 200
    ok = np.arange(len(x)) != 5
    assert not np.isnan(res.coords_2d_[ok]).any()  # every post is on the map, not just the sample
    assert np.isnan(res.coords_2d_[5]).all() and res.labels_[5] == -1
    assert adjusted_rand_score(y[ok], res.labels_[ok]) > 0.95
    # a copy gets exactly its original's place and cluster
    same = np.arange(300) != 5
    assert np.allclose(res.coords_2d_[900:][same], res.coords_2d_[:300][same])
    assert (res.labels_[900:][same] == res.labels_[:300][same]).all()
    # placed points lie where their cluster's fitted points are
    for c in range(4):
        pts = res.coords_2d_[res.labels_ == c]
        assert np.ptp(pts[:, 0]) < np.ptp(res.coords_2d_[ok][:, 0])


def test_small_inputs_are_fitted_on_everything():
    x, _ = make_blobs(n_samples=120, n_features=8, centers=3, random_state=0)
    res = cluster_posts(_unit(x), method="kmeans", k=3)
    assert res.fit_sample_ is None


def test_sampled_hdbscan_scales_the_minimum_cluster_size_and_keeps_noise_apart():
    x, y = make_blobs(n_samples=1200, n_features=16, centers=3, cluster_std=0.05, center_box=(-1, 1),
                      random_state=1)
    res = cluster_posts(_unit(x), method="hdbscan", min_cluster_size=60, fit_sample=300)
    assert res.min_cluster_size == 60 and res.min_cluster_size_ == 15  # 60 posts of 1200 = 15 of 300
    clustered = res.labels_ >= 0
    assert clustered.mean() > 0.8
    assert adjusted_rand_score(y[clustered], res.labels_[clustered]) > 0.9


def test_distinct_rows_groups_identical_vectors():
    x = np.array([[1, 0], [0, 1], [1, 0], [0, 1], [0.5, 0.5]], dtype=np.float32)
    first, inverse = distinct_rows(x)
    assert first.tolist() == [0, 1, 4]
    assert inverse.tolist() == [0, 1, 0, 1, 2]


# --- the dense side of the first stage on a large table -----------------------------------


def _posts(n):
    topics = ["flood water rising in the river", "donate blood at the red cross", "power outage downtown",
              "school closed tomorrow", "traffic jam on the bridge"]
    texts = [f"{topics[i % 5]} update {i}" for i in range(n)]
    return pd.DataFrame({"post_id": [str(i) for i in range(n)], "text": texts})


class CountingEmbedder(HashEmbedder):
    def __init__(self):
        super().__init__()
        self.embedded = 0

    def embed(self, texts, *, task=None, progress=None):
        self.embedded += len(texts)
        return super().embed(texts, task=task, progress=progress)


def test_pool_embeddings_embed_bm25_best_only_and_keep_known_rows(tmp_path):
    posts = _posts(400)
    emb = CountingEmbedder()
    texts = posts["text"].tolist()
    ok = np.ones(len(texts), dtype=bool)
    vecs, n_emb, n_new = pool_embeddings(emb, texts, ok, "blood donation", budget=10, pool_size=50,
                                         cache_dir=tmp_path)
    assert n_new == 50 and n_emb == 50 and emb.embedded == 50
    have = embedded_mask(vecs, len(texts))
    assert all("blood" in texts[i] for i in np.flatnonzero(have))  # BM25's best for the query
    # a second query reuses what is known and embeds only its own new pool rows
    vecs2, n_emb2, n_new2 = pool_embeddings(emb, texts, ok, "power outage", budget=10, pool_size=50,
                                            known=vecs, cache_dir=tmp_path)
    assert n_new2 == 50 and n_emb2 == 100
    assert np.array_equal(vecs2[have], vecs[have])


def test_rerank_of_a_large_table_does_not_embed_every_post(monkeypatch, tmp_path):
    monkeypatch.setenv("SIEVE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(pipeline, "FULL_EMBED_MAX", 100)
    monkeypatch.setattr(index, "POOL_MIN", 50)
    posts = _posts(600)
    emb = CountingEmbedder()
    ranking = pipeline.rerank(posts, "blood donation", scorer=EmbeddedScorer(emb), budget=20)
    assert emb.embedded < 100  # the BM25 pool (3 x budget = 60) and the query, not 600 posts
    top = ranking.table["text"].head(10).tolist()
    assert all("blood" in t for t in top)
    assert any("Dense first stage over" in n for n in ranking.notes)
    # below the threshold every post is embedded, as before
    monkeypatch.setattr(pipeline, "FULL_EMBED_MAX", 10_000)
    emb2 = CountingEmbedder()
    pipeline.rerank(posts, "blood donation", scorer=EmbeddedScorer(emb2), budget=20)
    assert emb2.embedded > 500  # every distinct text (the embed cache dedupes "update 1" and "update 2")


def test_dense_index_build_in_background_gives_every_row(tmp_path):
    texts = [f"post number {i} about floods" for i in range(50)] + ["", "post number 1 about floods"]
    build = DenseIndexBuild(HashEmbedder(), texts, chunk=7, cache_dir=tmp_path)
    assert build.join() and build.complete and build.error is None
    vecs = build.vectors()
    assert vecs.shape == (52, 64)
    assert not vecs[50].any()  # the empty post stays a zero row
    assert np.array_equal(vecs[51], vecs[1])  # a copy gets its original's vector
    assert embedded_mask(vecs, 52).sum() == 51


def test_dense_index_build_can_be_cancelled(tmp_path):
    texts = [f"text {i}" for i in range(40)]
    build = DenseIndexBuild(HashEmbedder(), texts, chunk=5, cache_dir=tmp_path, start=False)
    build.cancel()
    build.run_here()
    assert build.done == 0 and not build.complete and build.vectors() is None


# --- the map figure of many points ------------------------------------------------------------


def test_map_figure_draws_noise_faintly_under_clusters_and_keeps_outliers_out_of_view():
    from dashboard.charts import map_figure

    rng = np.random.default_rng(0)
    coords = rng.normal(size=(6000, 2))
    coords[:3] = [[500.0, 0.0], [-400.0, 0.0], [0.0, 900.0]]  # a few far outliers
    labels = np.where(np.arange(6000) % 3 == 0, -1, np.arange(6000) % 2)
    posts = pd.DataFrame({"post_id": [str(i) for i in range(6000)], "text": ["t"] * 6000})
    fig = map_figure(coords, posts, labels=labels)
    assert all(tr.type == "scattergl" for tr in fig.data)  # WebGL
    assert fig.data[0].name == "unclustered"  # first = drawn under the clusters
    assert fig.data[0].marker.opacity < min(tr.marker.opacity for tr in fig.data[1:])
    assert fig.data[0].legendrank > fig.data[1].legendrank  # but listed last in the legend
    x0, x1 = fig.layout.xaxis.range
    y0, y1 = fig.layout.yaxis.range
    assert -10 < x0 < -2 and 2 < x1 < 10 and -10 < y0 < -2 and 2 < y1 < 10  # the cloud fills the view
    assert sum(len(tr.x) for tr in fig.data) == 6000  # outliers are still on the figure


# --- memory: results of old datasets are released -----------------------------------------


def test_ingest_cache_keeps_only_the_most_recent_datasets(monkeypatch):
    import core.ingest
    from dashboard import resources

    real = core.ingest.read_posts
    reads = []

    def counting(data, **kw):
        reads.append(data)
        return real(data, **kw)

    monkeypatch.setattr(core.ingest, "read_posts", counting)
    resources.ingest.clear()
    files = [f"id,text\n1,post {k} about floods\n2,another post {k}\n".encode() for k in range(3)]

    def load(data):
        return resources.ingest(resources.sha256_bytes(data), data, "f.csv", "{}", 10)

    for data in files:
        load(data)
    load(files[2])  # the newest is still there
    assert len(reads) == 3
    load(files[0])  # the oldest was released when the third was read
    assert len(reads) == 4
    assert resources.MAX_DATASETS == 2


def test_dense_builds_of_replaced_datasets_are_cancelled(monkeypatch, tmp_path):
    from dashboard import resources

    monkeypatch.setenv("SIEVE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(resources, "get_embedder", lambda *a: HashEmbedder())
    monkeypatch.setattr(resources, "_dense", type(resources._dense)())
    builds = [resources.dense_index(f"ds{k}", "fake", "", "", "", [f"text {k} {i}" for i in range(20)])
              for k in range(3)]
    assert resources.dense_index("ds2", "fake", "", "", "", []) is builds[2]  # reused, not rebuilt
    assert list(resources._dense) == [f"ds{k}\x1ffake\x1f\x1f" for k in (1, 2)]
    assert builds[0]._cancel.is_set() and not builds[2]._cancel.is_set()


# --- duplicates collapsed for ranking ----------------------------------------------------------


def test_collapsed_table_ranks_distinct_posts_and_keeps_their_counts(tmp_path, monkeypatch):
    from core.ingest import collapse_duplicates, read_posts

    monkeypatch.setenv("SIEVE_CACHE_DIR", str(tmp_path))
    rows = ["id,text"]
    rows += [f"{100 + i},RT @fan{i}: Donate blood at the Red Cross centre on Main St today" for i in range(25)]
    rows += [f"{200 + i},Blood donation drive number {i} at the school gym, bring ID" for i in range(10)]
    rows += [f"{300 + i},traffic on the bridge is slow again {i}" for i in range(30)]
    posts = read_posts("\n".join(rows).encode(), filename="copies.csv").posts
    whole = pipeline.rerank(posts, "donate blood", scorer=EmbeddedScorer(HashEmbedder()), budget=20)
    assert whole.table["text"].head(10).str.contains("Red Cross").sum() >= 5  # copies crowd the top
    collapsed = collapse_duplicates(posts)
    ranking = pipeline.rerank(collapsed, "donate blood", scorer=EmbeddedScorer(HashEmbedder()), budget=20)
    top = ranking.table.head(11)
    assert top["text"].str.contains("Red Cross").sum() == 1  # one post stands for the 25 copies
    counts = dict(zip(collapsed["post_id"], collapsed["dup_count"]))
    assert max(counts[p] for p in top["post_id"]) == 25
    # the novelty mode still works on the collapsed table
    novel = pipeline.rerank(collapsed, "donate blood", scorer=EmbeddedScorer(HashEmbedder()), mode="novelty",
                            budget=20)
    assert novel.diversified and set(novel.table["post_id"]) == set(ranking.table["post_id"])


def test_a_large_table_ranks_from_its_stored_vectors_without_a_copy_of_them(monkeypatch, tmp_path):
    """The dashboard gives a large dataset's rerank no (n, dim) array (2 GB at a million posts):
    the dense pool opens the background build's store itself. Nothing is embedded again but
    the query, and the top posts are those of the old way (the build's whole array passed in)."""
    monkeypatch.setenv("SIEVE_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(pipeline, "FULL_EMBED_MAX", 100)
    monkeypatch.setattr(index, "POOL_MIN", 50)
    monkeypatch.setattr("core.store.vectors.PERSIST_MIN", 100)  # as a 20,000-post table: stored on disk
    posts = _posts(600)
    texts = posts["text"].fillna("").astype(str).tolist()
    emb = CountingEmbedder()
    build = DenseIndexBuild(emb, texts, chunk=64)
    assert build.join() and build.on_disk
    emb.embedded = 0
    by_store = pipeline.rerank(posts, "blood donation", scorer=EmbeddedScorer(emb), budget=20, embedder=emb)
    assert emb.embedded <= 3  # query texts only (first stage, scorer, mode instruction); a post pool is 60
    emb_old = CountingEmbedder()
    by_array = pipeline.rerank(posts, "blood donation", scorer=EmbeddedScorer(emb_old), budget=20,
                               embedder=emb_old, embeddings=build.vectors())
    # 120 near-identical "blood" posts: which ten lead is a near-tie (the scorer's min-max over the
    # table sees zero rows for posts not in the query's pool); both ways rank only them first
    for ranking in (by_store, by_array):
        assert all("blood" in t for t in ranking.table["text"].head(20))
    assert emb_old.embedded <= 3


def test_dashboard_first_stage_posts_hands_a_large_dataset_no_vector_array(monkeypatch, tmp_path):
    from dashboard import rerank as dash_rerank
    from dashboard.timefilter import TimeWindow

    posts = _posts(300).assign(time=pd.date_range("2024-01-01", periods=300, freq="h", tz="UTC"))
    texts = posts["text"].tolist()
    build = DenseIndexBuild(HashEmbedder(), texts, chunk=64, root=tmp_path)
    assert build.join()

    class DS:
        pass

    ds = DS()
    ds.posts = posts
    monkeypatch.setattr(dash_rerank.state, "dataset", lambda: ds)
    monkeypatch.setattr(dash_rerank, "dense_build", lambda: build)
    got, emb = dash_rerank.first_stage_posts(TimeWindow(None, None))
    assert got is posts and emb is None  # the pipeline opens the build's store
    window = TimeWindow(posts["time"][10], posts["time"][19])
    got, emb = dash_rerank.first_stage_posts(window)
    keep = np.flatnonzero(window.mask(posts["time"]))
    assert got["post_id"].tolist() == posts["post_id"].iloc[keep].tolist()
    assert np.array_equal(emb, build.vectors()[keep])  # only the window's rows
    memory_build = DenseIndexBuild(HashEmbedder(), texts, chunk=64)  # 300 posts: kept in memory
    assert memory_build.join() and not memory_build.on_disk
    monkeypatch.setattr(dash_rerank, "dense_build", lambda: memory_build)
    _, emb = dash_rerank.first_stage_posts(TimeWindow(None, None))
    assert emb is not None and np.array_equal(emb, memory_build.vectors())  # its store is private: passed in


def test_sessions_share_one_ingested_table_and_each_gets_its_own_frame(monkeypatch, tmp_path):
    """The ingest cache holds one table per file, not a pickled second copy (375 MB at a million
    posts), and hands each load the same object; a session's frame is its own, so a column
    added by one session is not seen by another or by the cache."""
    from dashboard import data, resources

    monkeypatch.setenv("SIEVE_DATA_DIR", str(tmp_path))
    resources.ingest.clear()
    raw = b"id,text\n1,flood water rising\n2,flood water rising\n3,power outage downtown\n"
    first = resources.ingest(resources.sha256_bytes(raw), raw, "f.csv", "{}", 10)
    again = resources.ingest(resources.sha256_bytes(raw), raw, "f.csv", "{}", 10)
    assert again is first  # no copy per call
    a = data.load_dataset(name="f.csv", source="upload", path="", data=raw, filename="f.csv",
                          collapse_duplicates=False)
    b = data.load_dataset(name="f.csv", source="upload", path="", data=raw, filename="f.csv",
                          collapse_duplicates=False)
    a.posts["mine"] = 1
    assert "mine" not in b.posts and "mine" not in first.posts
    c = data.load_dataset(name="f.csv", source="upload", path="", data=raw, filename="f.csv",
                          collapse_duplicates=True)
    assert len(c.posts) == 2 and len(first.posts) == 3  # collapsing made a new table

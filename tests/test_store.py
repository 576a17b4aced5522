"""Per-dataset store (issue 11): post table as Parquet, BM25 and post vectors saved once and reopened.

Orders of actions a person takes: open an export, rerank, close the app, open
the same export again (nothing read or embedded twice); change the export (a
new folder); a process killed mid-write (never half-read).
"""

from __future__ import annotations

import csv
import html

import numpy as np
import pandas as pd
import pytest

import core.ingest
from core.candidates import bm25 as bm25_mod
from core.candidates.bm25 import BM25Index, cached_index, release_indexes
from core.candidates.index import DenseIndexBuild, embedded_mask, pool_embeddings
from core.store.folder import atomic_dir, texts_key
from core.store.posts import POSTS_FILE, read_posts_stored
from core.store.vectors import open_post_vectors, release_post_vectors
from tests._cand_fakes import HashEmbedder


class CountingEmbedder(HashEmbedder):
    def __init__(self, dim: int = 64):
        super().__init__(dim)
        self.embedded = 0

    def embed(self, texts, *, task=None, progress=None):
        self.embedded += len(texts)
        return super().embed(texts, task=task, progress=progress)


def _tweets(real_data, n=None):
    rows = []
    for f in sorted((real_data / "crisislex_t6").glob("*.csv")):
        with open(f, encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            next(reader)
            rows += [html.unescape(r[1]) for r in reader if len(r) >= 2]
    return rows[:n] if n else rows


@pytest.fixture(autouse=True)
def _fresh_memory():
    release_indexes()
    release_post_vectors()
    yield
    release_indexes()
    release_post_vectors()


@pytest.fixture
def counting_reads(monkeypatch):
    real = core.ingest.read_posts
    reads = []

    def counting(data, **kw):
        reads.append(len(data))
        return real(data, **kw)

    monkeypatch.setattr(core.ingest, "read_posts", counting)
    return reads


# --- the post table ------------------------------------------------------------------------


def test_reopening_an_export_reads_the_stored_table_not_the_file(real_data, tmp_path, counting_reads):
    data = (real_data / "crisislex_t6" / "2012_Sandy_Hurricane-ontopic_offtopic.csv").read_bytes()
    first = read_posts_stored(data, filename="sandy.csv", root=tmp_path, min_bytes=0)
    again = read_posts_stored(data, filename="sandy.csv", root=tmp_path, min_bytes=0)
    assert len(counting_reads) == 1  # the second open read Parquet, not the export
    pd.testing.assert_frame_equal(again.posts, first.posts)
    assert again.report == first.report
    assert len(first.posts) > 9000 and str(again.posts["text"].dtype) == "str"  # Arrow-backed strings
    folders = [p for p in tmp_path.iterdir() if not p.name.startswith(".")]
    assert len(folders) == 1 and (folders[0] / POSTS_FILE).is_file()


def test_a_changed_export_or_mapping_gets_its_own_folder(tmp_path, counting_reads):
    data = b"id,text\n1,flood water rising\n2,donate blood today\n"
    a = read_posts_stored(data, filename="f.csv", root=tmp_path, min_bytes=0)
    b = read_posts_stored(data + b"3,power outage downtown\n", filename="f.csv", root=tmp_path, min_bytes=0)
    c = read_posts_stored(data, filename="f.csv", root=tmp_path, min_bytes=0, columns={"id": None})
    assert len(counting_reads) == 3 and len(a.posts) == 2 and len(b.posts) == 3
    assert c.posts["post_id"].str.startswith("h:").all()  # the mapping was applied, not the stale table
    assert len([p for p in tmp_path.iterdir() if not p.name.startswith(".")]) == 3


def test_a_large_export_is_read_by_a_child_process_as_it_would_be_here(real_data, tmp_path, counting_reads):
    """An export read for the first time above READ_APART_MIN_BYTES is read by a child process
    (this process never calls read_posts) and gives exactly the table and report of a read here."""
    data = (real_data / "crisislex_t6" / "2012_Sandy_Hurricane-ontopic_offtopic.csv").read_bytes()
    opts = {"columns": {"id": None}, "reference_time": "2012-10-30T00:00:00+00:00", "max_mb": 50}
    apart = read_posts_stored(data, filename="sandy.csv", root=tmp_path / "a", min_bytes=0, apart_min_bytes=0,
                              **opts)
    assert not counting_reads  # read in the child
    here = read_posts_stored(data, filename="sandy.csv", root=tmp_path / "b", min_bytes=0,
                             apart_min_bytes=10**12, **opts)
    assert len(counting_reads) == 1
    pd.testing.assert_frame_equal(apart.posts, here.posts)
    assert apart.report == here.report and apart.posts["post_id"].str.startswith("h:").all()


def test_a_child_read_raises_the_files_own_error_and_falls_back_when_it_cannot_run(tmp_path, monkeypatch):
    from core.errors import SieveError

    bad = b"\x00\x01\x02 not a table" * 10
    with pytest.raises(SieveError) as here:  # the column chooser's error
        read_posts_stored(bad, filename="bad.csv", root=tmp_path, min_bytes=0, apart_min_bytes=10**12)
    with pytest.raises(SieveError) as apart:
        read_posts_stored(bad, filename="bad.csv", root=tmp_path, min_bytes=0, apart_min_bytes=0)
    assert type(apart.value) is type(here.value) and str(apart.value) == str(here.value)
    assert apart.value.__dict__ == here.value.__dict__  # e.g. the column chooser's columns and role
    assert "bad.csv" in str(apart.value)
    assert not [p for p in tmp_path.iterdir() if not p.name.startswith(".")]  # nothing stored
    monkeypatch.setattr("sys.executable", str(tmp_path / "no-python"))  # the child cannot start
    good = b"id,text\n1,flood water rising\n2,donate blood today\n"
    got = read_posts_stored(good, filename="f.csv", root=tmp_path, min_bytes=0, apart_min_bytes=0)
    assert got.posts["text"].tolist() == ["flood water rising", "donate blood today"]


def test_small_exports_are_not_stored(tmp_path, counting_reads):
    data = b"id,text\n1,flood water rising\n"
    read_posts_stored(data, filename="f.csv", root=tmp_path)
    read_posts_stored(data, filename="f.csv", root=tmp_path)
    assert len(counting_reads) == 2 and not any(tmp_path.iterdir())


def test_a_damaged_stored_table_is_rebuilt_never_half_read(tmp_path, counting_reads):
    data = "id,text\n" + "".join(f"{i},post {i} about the flood in town {i % 7}\n" for i in range(300))
    data = data.encode()
    good = read_posts_stored(data, filename="f.csv", root=tmp_path, min_bytes=0)
    folder = next(p for p in tmp_path.iterdir() if not p.name.startswith("."))
    blob = (folder / POSTS_FILE).read_bytes()
    (folder / POSTS_FILE).write_bytes(blob[: len(blob) // 2])  # a disk that lost half the file
    again = read_posts_stored(data, filename="f.csv", root=tmp_path, min_bytes=0)
    assert len(counting_reads) == 2
    pd.testing.assert_frame_equal(again.posts, good.posts)
    third = read_posts_stored(data, filename="f.csv", root=tmp_path, min_bytes=0)
    assert len(counting_reads) == 2 and len(third.posts) == 300


def test_a_write_killed_midway_leaves_no_folder_under_the_final_name(tmp_path):
    final = tmp_path / "dataset"
    with pytest.raises(KeyboardInterrupt), atomic_dir(final) as tmp:
        (tmp / POSTS_FILE).write_bytes(b"PAR1 half a file")
        raise KeyboardInterrupt  # the process stopped here
    assert not final.exists() and not list(tmp_path.iterdir())


# --- BM25 ------------------------------------------------------------------------------------


def test_bm25_index_saved_once_and_reopened_with_identical_scores(real_data, tmp_path, monkeypatch):
    monkeypatch.setenv("SIEVE_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(bm25_mod, "PERSIST_MIN", 1000)
    texts = _tweets(real_data, 4000)
    built = cached_index(texts)
    assert (tmp_path / "datasets" / f"bm25-{texts_key(texts)}" / "sieve.json").is_file()
    release_indexes()  # the app restarted
    made = []
    real_init = BM25Index.__init__
    monkeypatch.setattr(BM25Index, "__init__", lambda self, *a, **k: made.append(1) or real_init(self, *a, **k))
    loaded = cached_index(texts)
    assert made == [] and loaded is not built
    for q in ("hurricane sandy power outage", "donate to the red cross", "flooding in Calgary", "zzzz"):
        assert np.array_equal(loaded.scores(q), built.scores(q))
    assert cached_index(texts[:-1]) is not loaded and made == [1]  # another corpus: its own index


def test_a_damaged_bm25_folder_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("SIEVE_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(bm25_mod, "PERSIST_MIN", 10)
    texts = [f"flood number {i} in the river town" for i in range(50)]
    want = cached_index(texts).scores("river flood")
    folder = tmp_path / "datasets" / f"bm25-{texts_key(texts)}"
    next(folder.glob("*.npy")).write_bytes(b"garbage")
    release_indexes()
    assert np.array_equal(cached_index(texts).scores("river flood"), want)
    assert BM25Index.load(folder).n_docs_ == 50  # saved again, whole


def test_a_large_corpus_is_indexed_by_a_child_process_with_identical_scores(real_data, tmp_path, monkeypatch):
    """Above BUILD_APART_MIN texts the index is built and saved by a child process; this process
    only loads it (it never builds one) and its scores equal an index built here."""
    monkeypatch.setenv("SIEVE_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(bm25_mod, "PERSIST_MIN", 100)
    monkeypatch.setattr(bm25_mod, "BUILD_APART_MIN", 100)
    texts = _tweets(real_data, 3000) + [None, "", "台风山竹登陆广东 #WaldoCanyonFire donations\nsecond line"]
    here = BM25Index(texts)
    made = []
    real_init = BM25Index.__init__
    monkeypatch.setattr(BM25Index, "__init__", lambda self, *a, **k: made.append(1) or real_init(self, *a, **k))
    apart = cached_index(texts)
    assert made == [] and apart.n_docs_ == len(texts)
    assert (tmp_path / "datasets" / f"bm25-{texts_key(texts)}" / "sieve.json").is_file()
    for q in ("hurricane sandy power outage", "donate to the red cross", "台风 登陆", "waldo canyon", "zzzz"):
        assert np.array_equal(apart.scores(q), here.scores(q)), q


def test_the_bm25_index_is_built_here_when_the_child_cannot_start_or_fails(tmp_path, monkeypatch):
    import core.store.child

    texts = [f"flood number {i} in the river town" for i in range(50)]
    want = BM25Index(texts).scores("river flood")
    made = []
    real_init = BM25Index.__init__
    monkeypatch.setattr(BM25Index, "__init__", lambda self, *a, **k: made.append(1) or real_init(self, *a, **k))
    monkeypatch.setattr(bm25_mod, "PERSIST_MIN", 10)
    monkeypatch.setattr(bm25_mod, "BUILD_APART_MIN", 10)
    monkeypatch.setenv("SIEVE_DATA_DIR", str(tmp_path / "a"))
    with monkeypatch.context() as m:  # no Python to start
        m.setattr(core.store.child.sys, "executable", str(tmp_path / "no-python"))
        assert np.array_equal(cached_index(texts).scores("river flood"), want)
    assert made == [1]
    release_indexes()
    monkeypatch.setenv("SIEVE_DATA_DIR", str(tmp_path / "b"))
    # the child receives texts whose key is not the one it is given: it refuses, this process builds
    monkeypatch.setattr(bm25_mod, "texts_key", lambda t: "0123456789abcdef")
    assert np.array_equal(cached_index(texts).scores("river flood"), want)
    assert made == [1, 1]
    assert BM25Index.load(tmp_path / "b" / "datasets" / "bm25-0123456789abcdef").n_docs_ == 50  # saved here


# --- post vectors and the ANN index ---------------------------------------------------------


def test_reopened_dataset_embeds_nothing_and_gives_identical_dense_results(real_data, tmp_path):
    texts = _tweets(real_data, 1500) + ["", _tweets(real_data, 1)[0]]
    emb = CountingEmbedder()
    build = DenseIndexBuild(emb, texts, chunk=300, root=tmp_path)
    assert build.join() and build.stage == "done" and build.error is None
    assert emb.embedded == build.total and build.done == build.total
    q = HashEmbedder().embed(["hurricane sandy flooding power outage"])[0]
    pos, scores = build.search(q, 50)
    vecs = build.vectors()
    release_post_vectors()  # the app restarted
    emb2 = CountingEmbedder()
    again = DenseIndexBuild(emb2, texts, chunk=300, root=tmp_path)
    assert again.join() and emb2.embedded == 0  # nothing embedded again
    assert np.array_equal(again.vectors(), vecs)
    pos2, scores2 = again.search(q, 50)
    assert np.array_equal(pos2, pos) and np.array_equal(scores2, scores)
    assert not vecs[1500].any() and np.array_equal(vecs[1501], vecs[0])  # empty post, copy


def test_a_cancelled_build_continues_where_it_stopped(tmp_path):
    texts = [f"post {i} about the storm" for i in range(200)]

    class Stopping(CountingEmbedder):
        def embed(self, batch, **kw):
            out = super().embed(batch, **kw)
            if self.embedded >= 60:
                build.cancel()
            return out

    emb = Stopping()
    build = DenseIndexBuild(emb, texts, chunk=20, root=tmp_path, start=False)
    build.run_here()
    assert build.stage == "cancelled" and build.done == 60 and not build.complete
    assert embedded_mask(build.vectors(), 200).sum() == 60  # queries can use the part done
    release_post_vectors()
    emb2 = CountingEmbedder()
    rest = DenseIndexBuild(emb2, texts, chunk=20, root=tmp_path)
    assert rest.join() and emb2.embedded == 140


def test_rows_written_but_not_marked_done_are_embedded_again(tmp_path):
    texts = [f"message {i} on the bridge" for i in range(30)]
    store = open_post_vectors(HashEmbedder(), texts, root=tmp_path)
    store.embed_rows(HashEmbedder(), np.arange(10), texts)
    store._vecs[10:20] = 7.0  # a process killed after writing vectors, before marking them done
    store._vecs.flush()
    release_post_vectors()
    again = open_post_vectors(HashEmbedder(), texts, root=tmp_path)
    assert again.done_count == 10 and not again.vectors()[10:20].any()
    emb = CountingEmbedder()
    assert again.embed_rows(emb, again.missing(), texts) == 20
    assert np.allclose(np.linalg.norm(again.vectors(), axis=1), 1.0, atol=1e-5)


def test_damaged_stored_vectors_are_embedded_again_not_ranked(tmp_path):
    """Breaker's finding: 5 stored rows set to NaN emptied the whole ranking with exit code 0."""
    texts = [f"message {i} on the bridge" for i in range(30)]
    store = open_post_vectors(HashEmbedder(), texts, root=tmp_path)
    store.embed_rows(HashEmbedder(), np.arange(30), texts)
    store._vecs[3:8] = np.nan  # a damaged disk
    store._vecs.flush()
    release_post_vectors()
    again = open_post_vectors(HashEmbedder(), texts, root=tmp_path)
    assert again.done_count == 25 and again.missing().tolist() == [3, 4, 5, 6, 7]
    emb = CountingEmbedder()
    assert again.embed_rows(emb, again.missing(), texts) == 5
    assert np.isfinite(again.vectors()).all()


def test_query_pools_fill_the_store_that_the_build_then_completes(tmp_path):
    texts = [f"{w} report {i}" for i, w in enumerate(["flood", "fire", "blood donation", "outage"] * 100)]
    emb = CountingEmbedder()
    ok = np.ones(len(texts), dtype=bool)
    _, _, n_new = pool_embeddings(emb, texts, ok, "blood donation", budget=10, pool_size=50, root=tmp_path)
    assert n_new == 50 and emb.embedded == 50
    build = DenseIndexBuild(emb, texts, chunk=64, root=tmp_path)
    assert build.join() and emb.embedded == 400  # the pool's 50 were not embedded twice
    vecs2, _, n_new2 = pool_embeddings(emb, texts, ok, "flood", budget=10, pool_size=50, root=tmp_path)
    assert n_new2 == 0 and emb.embedded == 401  # only the query, for the nearest stored posts
    have = embedded_mask(vecs2, len(texts))
    assert have.sum() >= 50 and all("flood" in texts[i] for i in np.flatnonzero(have)[:25])


def test_ann_recall_against_exact_search_on_real_vectors(real_data, tmp_path):
    from core.embed.usem3 import USEm3Embedder
    from core.store.ann import build as build_ann

    texts = _tweets(real_data)[::4][:4000]
    vecs = np.asarray(USEm3Embedder().embed(texts), dtype=np.float32)
    queries, base = vecs[:50], vecs[50:]
    rows = np.flatnonzero(np.any(base != 0, axis=1))
    from core.store.ann import AnnIndex

    index = AnnIndex(build_ann(base, rows), base)
    recall = []
    for q in queries:
        exact = np.argsort(-(base[rows] @ q), kind="stable")[:200]
        found, scores = index.search(q, 200)
        recall.append(len(set(rows[exact].tolist()) & set(found.tolist())) / 200)
        assert np.all(np.diff(scores) <= 1e-6)  # exact cosines, best first
    assert np.mean(recall) >= 0.95  # measured 0.99+ on 52k real vectors (bench/ann_choice.py)


def test_a_query_during_the_build_uses_bm25_and_the_part_already_embedded(tmp_path):
    """A post sharing no word with the query is found by the dense side once the build stored it."""

    class Synonyms(CountingEmbedder):
        def embed(self, texts, *, task=None, progress=None):
            swapped = [str(t).replace("inundation", "flood") for t in texts]
            return super().embed(swapped, task=task, progress=progress)

    texts = [f"traffic report {i} on the ring road" for i in range(300)]
    texts[250] = "inundation downtown"
    texts[10] = "flood warning for the river"
    ok = np.ones(len(texts), dtype=bool)
    emb = Synonyms()
    vecs, _, _ = pool_embeddings(emb, texts, ok, "flood", budget=5, pool_size=20, root=tmp_path)
    assert not vecs[250].any()  # no shared word, not embedded yet: BM25 alone cannot find it
    build = DenseIndexBuild(emb, texts, chunk=100, root=tmp_path, start=False)
    store = open_post_vectors(emb, texts, root=tmp_path)
    store.embed_rows(emb, store.inverse[240:260], texts)  # the build got this far
    assert 0 < store.done_count < store.n_distinct  # the build is partway
    vecs, _, _ = pool_embeddings(emb, texts, ok, "flood", budget=5, pool_size=20, root=tmp_path)
    assert vecs[250].any() and vecs[10].any()  # the stored part and BM25's pool
    build.run_here()
    assert build.complete and build.stage == "done"


def test_a_folder_written_over_a_file_of_its_name_leaves_no_temporary(tmp_path):
    final = tmp_path / "datasets" / "abc"
    final.parent.mkdir()
    final.write_text("not a folder")  # e.g. a dataset folder replaced by a file by hand
    with atomic_dir(final) as tmp:
        (tmp / "posts.parquet").write_bytes(b"x")
    assert (final / "posts.parquet").read_bytes() == b"x"
    assert [p.name for p in final.parent.iterdir()] == ["abc"]


def test_the_ann_index_is_built_by_a_child_process_and_opened_as_a_view(tmp_path, monkeypatch):
    """The build's graph and float16 copy (1.1 GB at a million rows) stay out of the server: a child
    builds and saves the index; the store opens the saved file. Same search results as a build here;
    a child that cannot start falls back to building here."""
    from core.store import ann

    rng = np.random.default_rng(3)
    vecs = rng.standard_normal((3_000, 32)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    vecs[7] = 0  # an empty text's zero row is left out
    done = np.ones(len(vecs), dtype=bool)

    def folder(name):
        f = tmp_path / name
        f.mkdir()
        np.save(f / "vectors.npy", vecs)
        np.save(f / "done.npy", done)
        return f, np.load(f / "vectors.npy", mmap_mode="r+")

    built_here = []
    real_build = ann.build
    monkeypatch.setattr(ann, "build", lambda *a, **kw: built_here.append(1) or real_build(*a, **kw))
    f_child, v_child = folder("child")
    by_child = ann.build_or_load(f_child, v_child, done)
    assert not built_here and (f_child / ann.ANN_FILE).is_file()  # built in the child
    f_here, v_here = folder("here")
    by_here = ann.build_or_load(f_here, v_here, done, apart=False)
    assert built_here == [1] and len(by_child) == len(by_here) == 2_999
    for q in vecs[8:28]:  # (row 7 is the zero row)
        rows_c, _ = by_child.search(q, 10)
        rows_h, _ = by_here.search(q, 10)
        assert len(set(rows_c) & set(rows_h)) >= 9
    monkeypatch.setattr("sys.executable", str(tmp_path / "no-python"))
    f_fallback, v_fallback = folder("fallback")
    assert len(ann.build_or_load(f_fallback, v_fallback, done)) == 2_999 and built_here == [1, 1]
    monkeypatch.undo()
    again = ann.build_or_load(f_child, v_child, done)  # reopened: the saved file, no build
    assert len(again) == 2_999

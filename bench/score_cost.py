"""``python -m core score`` in process vs on a local Ray cluster: wall time and identical output.

Runs the command twice on the same export (default: the CrisisLex T6 Sandy file, 10,008
tweets), each with a fresh embedding cache so both embed every post: first in this
process (the baseline), then with ``SIEVE_RAY_ADDRESS=auto`` on a local cluster started
here (``ray.init(num_cpus=2)``, no dashboard; its start-up is timed apart). Prints both
times, the ratio, and whether the two output files are byte-identical. On one 2-core
machine Ray can only add overhead; its use is more machines.

Run: ``SIEVE_SHARED_DIR=/work/shared .venv/bin/python bench/score_cost.py [--file F --chunk 2048]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SHARED = Path(os.environ.get("SIEVE_SHARED_DIR", ROOT.parent / "shared"))
SANDY = SHARED / "real_data" / "crisislex_t6" / "2012_Sandy_Hurricane-ontopic_offtopic.csv"
QUERIES = "sandy\thurricane sandy power outage\nflood\tflooding subway new york\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", default=str(SANDY))
    parser.add_argument("--modes", default="relevance,accuracy,emotion")
    parser.add_argument("--chunk", type=int, default=2048)
    opts = parser.parse_args()
    if not Path(opts.file).is_file():
        sys.exit(f"{opts.file} is absent (set SIEVE_SHARED_DIR or pass --file)")
    import ray

    from core.cli import main as cli
    from core.distributed import ray_jobs

    tmp = Path(tempfile.mkdtemp(prefix="sieve-score-cost-"))
    os.environ["SIEVE_DATA_DIR"] = str(tmp / "data")
    os.environ.pop("SIEVE_RAY_ADDRESS", None)
    (tmp / "q.tsv").write_text(QUERIES, encoding="utf-8")
    args = ["score", opts.file, "--queries", str(tmp / "q.tsv"), "--modes", opts.modes, "--embedded",
            "--chunk-size", str(opts.chunk)]
    print(f"load average before: {os.getloadavg()}")
    os.environ["SIEVE_CACHE_DIR"] = str(tmp / "cache-here")
    t = time.perf_counter()
    cli(args + ["--out", str(tmp / "here.parquet")])
    here = time.perf_counter() - t
    ray_jobs._WORKER_MODELS.clear()
    t = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, runtime_env=ray_jobs.runtime_env(), log_to_driver=False)
    start = time.perf_counter() - t
    os.environ.update(SIEVE_CACHE_DIR=str(tmp / "cache-ray"), SIEVE_RAY_ADDRESS="auto")
    t = time.perf_counter()
    cli(args + ["--out", str(tmp / "ray.parquet")])
    on_ray = time.perf_counter() - t
    ray.shutdown()
    same = (tmp / "here.parquet").read_bytes() == (tmp / "ray.parquet").read_bytes()
    print(f"in process {here:.1f} s (baseline); ray.init {start:.1f} s; on Ray {on_ray:.1f} s "
          f"({on_ray / here:.2f}x); outputs byte-identical: {same}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()

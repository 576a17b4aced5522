"""Reading large JSON exports (issue 11): wall time and peak RSS of ``read_posts``.

Builds ``n`` tweet-like records (nested ``user``, ``created_at``, counts) around the
distinct spliced texts of :func:`bench._scale_data.spliced_texts` (halves of two real
posts of ``../shared/real_data``), written three ways with the same records: a CSV (the
nested fields flattened, as Sieve names them), JSON Lines and one JSON array. Each file is
read in a fresh child process (peak RSS = ``ru_maxrss``); the JSON files twice: with the
streamed reader (:mod:`core.ingest.json_stream`) and with the reader it replaced, which
parsed the whole document into a list of dicts first (re-created here, the baseline of the
same run). Prints one row per read and the ratios against the CSV and the whole parse.

Usage: ``.venv/bin/python bench/json_read.py [--n 200000] [--dir /tmp/json_read]``
(exits 0 with a message when ``../shared/real_data`` is absent).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
from collections import Counter
from core.ingest import read_posts
import core.ingest.formats_json as fj

if {whole!r}:
    def whole(text, name, stream=None):  # the reader before the stream: every record held
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
            return fj._records_table(records, list(range(1, len(records) + 1)), "jsonl", name, len(records))
        records = fj.find_records(parsed)
        return fj._records_table(records, list(range(1, len(records) + 1)), "json", name, len(records))
    fj._read_json_records = whole
start = time.perf_counter()
result = read_posts({path!r}, max_mb=100_000)
wall = time.perf_counter() - start
print(json.dumps({{"posts": len(result.posts), "wall_s": round(wall, 1),
                   "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}}))
"""


def write_files(folder: Path, n: int) -> dict[str, Path]:
    """The CSV, JSON Lines and JSON array of the same ``n`` records; {} without real data."""
    from bench._scale_data import spliced_texts

    texts, sources = spliced_texts(n, seed=0)
    if not texts:
        return {}
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"csv": folder / f"posts{n}.csv", "jsonl": folder / f"posts{n}.jsonl", "json": folder / f"posts{n}.json"}
    with open(paths["csv"], "w", encoding="utf-8", newline="") as c, \
            open(paths["jsonl"], "w", encoding="utf-8") as jl, open(paths["json"], "w", encoding="utf-8") as ja:
        writer = csv.writer(c)
        writer.writerow(["id", "created_at", "text", "lang", "user.id", "user.screen_name", "user.followers_count",
                         "retweet_count", "favorite_count", "source"])
        ja.write("[\n")
        for j, (text, source) in enumerate(zip(texts, sources)):
            rec = {"id": 10**17 + j, "created_at": f"Wed Oct {1 + j % 28:02d} 12:{j % 60:02d}:00 +0000 2023",
                   "text": text, "lang": "zh" if source == "weibo" else "en",
                   "user": {"id": 7919 * j % 10**9, "screen_name": f"user{j % 5000}", "followers_count": j % 977},
                   "retweet_count": j % 13, "favorite_count": j % 31, "source": source}
            writer.writerow([rec["id"], rec["created_at"], text, rec["lang"], rec["user"]["id"],
                             rec["user"]["screen_name"], rec["user"]["followers_count"], rec["retweet_count"],
                             rec["favorite_count"], source])
            line = json.dumps(rec, ensure_ascii=False)
            jl.write(line + "\n")
            ja.write(("," if j else "") + line + "\n")
        ja.write("]\n")
    return paths


def read_in_child(path: Path, *, whole: bool) -> dict:
    code = _CHILD.format(root=str(ROOT), path=str(path), whole=whole)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000, help="records per file (default 200,000)")
    ap.add_argument("--dir", type=Path, default=None, help="folder for the files (default: a temporary one)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_files(args.dir or Path(tmp), args.n)
        if not paths:
            print("../shared/real_data is absent: nothing to measure.")
            return 0
        sizes = {k: p.stat().st_size / 1e6 for k, p in paths.items()}
        base = read_in_child(paths["csv"], whole=False)
        print(f"csv   {sizes['csv']:7.1f} MB  {base['wall_s']:6.1f} s  peak {base['peak_mb']:5d} MB  (baseline)",
              flush=True)
        for kind in ("jsonl", "json"):
            old = read_in_child(paths[kind], whole=True)
            new = read_in_child(paths[kind], whole=False)
            assert new["posts"] == old["posts"] == base["posts"], (new, old, base)
            for label, r in (("whole parse", old), ("streamed", new)):
                print(f"{kind:5} {sizes[kind]:7.1f} MB  {r['wall_s']:6.1f} s  peak {r['peak_mb']:5d} MB  {label}: "
                      f"{r['wall_s'] / base['wall_s']:.2f}x the CSV's time, {r['peak_mb'] / base['peak_mb']:.2f}x "
                      "its peak", flush=True)
            print(f"      streamed / whole parse: {new['wall_s'] / old['wall_s']:.2f}x time, "
                  f"{new['peak_mb'] / old['peak_mb']:.2f}x peak", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

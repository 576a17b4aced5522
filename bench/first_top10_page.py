"""The Rerank page's first refined top 10, measured in a browser, fp32 and int8 in the same run.

What an analyst sees: a Sieve server with the full-size Qwen3-Reranker-0.6B
architecture (random weights, built here and saved as a local model folder with
the real Qwen3 tokenizer from ``../shared/fixtures``; ``--model FOLDER`` takes
real weights instead), headless Chromium, the CrisisLex T26 Boston bombings file
(1,000 tweets) from ``../shared/real_data`` uploaded on the Data page. On the
Rerank page each query is typed at 10 characters a second (a fast typist), then
Rerank is pressed with the default budget of 200 candidates. For each dtype it
prints, per query, the seconds from the press to the first caption "Scored 10 of
200 candidates" (a refined top 10 on screen; the first batch is the first
stage's top 10) and to the complete ranking, and the ratio int8 / fp32.

The issue's target is 5 s to the first refined top 10 on a CPU. Kernels are
limited to AVX2 by default (``--isa native`` lifts it), with as many threads as
the machine's available cores (``core.config.available_cpus``). Other processes
change every figure: the load average is printed with each line; run it alone.

Usage::

    SIEVE_SHARED_DIR=/work/shared python bench/first_top10_page.py [--dtypes float32,int8] [--isa avx2]
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
QUERIES = ("injured people at the finish line", "donate blood for the victims",
           "suspect photos released by the FBI")
EVENT = Path("crisislex_t26/2013_Boston_bombings/2013_Boston_bombings-tweets_labeled.csv")


def build_folder(out: Path, tokenizer: Path) -> Path:
    """Save the random full-size 0.6B architecture and the real tokenizer in ``out``."""
    from _rerank_peers import build_model

    out.mkdir(parents=True, exist_ok=True)
    with gzip.open(tokenizer / "tokenizer.json.gz", "rb") as fin, open(out / "tokenizer.json", "wb") as fout:
        shutil.copyfileobj(fin, fout)
    shutil.copy(tokenizer / "tokenizer_config.json", out / "tokenizer_config.json")
    model, tok = build_model(out, "cpu", layers=28)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def measure(model: Path, dtype: str, export: Path, env: dict[str, str]) -> list[tuple[float, float]]:
    """``[(seconds to the first refined top 10, seconds to the complete ranking), ...]`` per query."""
    from playwright.sync_api import sync_playwright

    from tests._browserkit import CHROMIUM, CHROMIUM_ARGS, idle, sieve_server, upload

    out = []
    home = Path(tempfile.mkdtemp(prefix="sieve-first10-"))
    with sieve_server(home, {"SIEVE_RERANKER": str(model), "SIEVE_DTYPE": dtype, **env}) as url, \
            sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1500})
        page.set_default_timeout(600_000)
        page.goto(url)
        idle(page)
        upload(page, export)
        page.get_by_role("link", name="Rerank").first.click()
        idle(page)  # the model loads here, once per server
        for i, query in enumerate(QUERIES):
            box = page.get_by_label("Query")
            box.fill("")
            box.press_sequentially(query, delay=100)
            box.press("Enter")
            idle(page)
            t0 = time.perf_counter()
            page.get_by_role("button", name="Rerank", exact=True).click()
            page.get_by_text("Scored 1", exact=False).first.wait_for(state="visible")
            t1 = time.perf_counter()
            page.get_by_text("Results for", exact=False).first.wait_for(state="visible")
            t2 = time.perf_counter()
            out.append((t1 - t0, t2 - t0))
            print(f"{dtype:8s} query {i + 1}: first refined top 10 after {t1 - t0:5.2f} s, complete after "
                  f"{t2 - t0:6.1f} s; load average {os.getloadavg()[0]:.2f}", flush=True)
            idle(page)
        browser.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dtypes", default="float32,int8")
    ap.add_argument("--isa", choices=("avx2", "native"), default="avx2")
    ap.add_argument("--model", help="a Qwen3-Reranker folder (default: the random full-size one, built here)")
    args = ap.parse_args()
    shared = Path(os.environ.get("SIEVE_SHARED_DIR", ROOT.parent / "shared"))
    export, tokenizer = shared / "real_data" / EVENT, shared / "fixtures" / "qwen3_tokenizer"
    if not export.is_file() or not (tokenizer / "tokenizer.json.gz").is_file() or not Path("/usr/bin/chromium").is_file():
        print(f"SKIP: needs {export}, {tokenizer} and /usr/bin/chromium")
        return 0
    from _rerank_peers import AVX2_ENV

    env = dict(AVX2_ENV) if args.isa == "avx2" else {}
    tmp = Path(tempfile.mkdtemp(prefix="sieve-first10-model-"))
    try:
        model = Path(args.model) if args.model else build_folder(tmp / "Qwen3-Reranker-0.6B-random", tokenizer)
        print(f"model {model}; kernels {args.isa}; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}")
        results = {dtype: measure(model, dtype, export, env) for dtype in args.dtypes.split(",")}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n{'dtype':8s} {'first top 10 s (per query)':>30s} {'complete s (per query)':>26s}")
    for dtype, rows in results.items():
        print(f"{dtype:8s} {' '.join(f'{a:6.2f}' for a, _ in rows):>30s} {' '.join(f'{b:7.1f}' for _, b in rows):>26s}")
    if "float32" in results and "int8" in results:
        f, q = results["float32"], results["int8"]
        print("int8 / fp32, complete ranking: " + " ".join(f"{b8 / b32:.2f}" for (_, b32), (_, b8) in zip(f, q)))
    worst = max(a for rows in results.values() for a, _ in rows)
    print(f"target: first refined top 10 within 5 s: {'met' if worst <= 5 else 'NOT met'} for every query "
          f"(worst {worst:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Qwen3-Reranker speed: the model card's plain recipe vs Sieve's scorer, same run.

Builds the full-size Qwen3-Reranker-0.6B architecture (hidden 1024, 28 layers,
16 heads, 8 KV heads, head_dim 128, intermediate 3072, vocab 151936, tied
embeddings) with random weights -- speed does not depend on the weight values --
and the real Qwen3 tokenizer from ``../shared/fixtures/qwen3_tokenizer``. It
scores the same 64 posts for one query:

1. plain: the model card's code (full prompts, left-padded batches of 8, full
   vocabulary logits at every position), float32;
2. Sieve float32: :class:`core.rerank.qwen3.Qwen3Reranker` (last-token yes/no
   logits, shared-prefix KV reuse, token-budget batches);
3. Sieve bfloat16: the same scorer on the model cast to bfloat16.

It prints pairs/s of each, the ratios to the plain recipe, and the largest score
differences (Sieve fp32 vs plain; Sieve bf16 vs Sieve fp32).

Posts: tweets of the CrisisLex T26 "2013_Typhoon_Yolanda" event in
``../shared/real_data``, in ID order. The default workload is the issue's: about
100 tokens per pair with the template, i.e. the first 64 tweets whose pair is
78-108 tokens long (mean about 99). ``--natural`` takes the first 64 tweets
whatever their length (mean about 117 tokens per pair: tweets with URLs and
hashtags are longer). Built-in posts are used when ``../shared/real_data`` is absent.

Usage::

    python bench/rerank_speed.py [--posts 64] [--natural] [--repeat 1] [--no-bf16] [--device cpu]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"
TOKENIZER = SHARED / "fixtures" / "qwen3_tokenizer"
EVENT = SHARED / "real_data" / "crisislex_t26" / "2013_Typhoon_Yolanda"
QUERY = "Typhoon Yolanda damage in the Philippines"
#: pair length window (tokens, template included) of the default workload: the issue's "about 100"
SPEC_WINDOW = (78, 108)

BUILTIN_POSTS = [
    "Typhoon Haiyan (Yolanda) made landfall in Guiuan, Eastern Samar at 4:40am, PAGASA says. Winds 235 km/h.",
    "Praying for everyone in Tacloban right now. Stay safe guys #YolandaPH",
    "台风“海燕”重创菲律宾，莱特省塔克洛班市大部分建筑被毁，死亡人数可能超过一万。",
    "NDRRMC: death toll from Yolanda rises to 1,774; 2,487 injured, 82 missing as of 6am.",
    "Where can we drop off relief goods for Yolanda victims? Please RT",
    "My mom is in Ormoc and I can't reach her since last night. Any news from Ormoc City? #RescuePH",
    "Red Cross says roads to Tacloban airport are blocked by debris, relief trucks cannot pass.",
    "lol my class got suspended again because of the typhoon 😂",
    "Storm surge up to 5 meters hit Tacloban. Whole coastal barangays washed away. Photos: http://t.co/x",
    "为菲律宾祈祷。愿灾区的人们平安。",
    "UN OCHA estimates 9.5 million people affected by Typhoon Haiyan across 9 regions.",
    "Power out in all of Leyte and Samar, NGCP says restoration may take weeks.",
    "Donate via GCash to PH Red Cross: text RED <amount> to 2899. Every peso helps.",
    "The footage coming out of Tacloban is heartbreaking. No words.",
    "US Marines C-130s begin airlifting aid into Tacloban; USS George Washington on its way.",
    "Haiyan is one of the strongest tropical cyclones ever recorded at landfall.",
]


def load_posts(n: int, pair_length=None) -> tuple[list[str], str]:
    """n post texts and where they came from.

    ``pair_length(text) -> int``, when given, keeps only tweets whose pair
    length lies in :data:`SPEC_WINDOW`.
    """
    files = sorted(EVENT.glob("*-tweets_labeled.csv")) if EVENT.is_dir() else []
    if files:
        with open(files[0], encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh, skipinitialspace=True))[1:]
        rows.sort(key=lambda r: r[0])
        texts = [r[1] for r in rows if len(r) > 1 and r[1].strip()]
        how = "by ID"
        if pair_length is not None:
            lo, hi = SPEC_WINDOW
            texts = [t for t in texts if lo <= pair_length(t) <= hi]
            how = f"by ID with {lo}-{hi} tokens per pair"
        texts = texts[:n]
        return texts, f"CrisisLex T26 {EVENT.name} (first {len(texts)} tweets {how})"
    texts = [BUILTIN_POSTS[i % len(BUILTIN_POSTS)] + ("" if i < len(BUILTIN_POSTS) else f" ({i})")
             for i in range(n)]
    return texts, "built-in posts (../shared/real_data absent)"


def build_model(tokenizer_dir: Path, device: str):
    import torch
    from transformers import AutoTokenizer, Qwen3Config, Qwen3ForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir, local_files_only=True)
    config = Qwen3Config(
        vocab_size=151936, hidden_size=1024, intermediate_size=3072, num_hidden_layers=28,
        num_attention_heads=16, num_key_value_heads=8, head_dim=128, max_position_embeddings=40960,
        tie_word_embeddings=True, rope_theta=1_000_000.0, rms_norm_eps=1e-6,
        bos_token_id=151643, eos_token_id=151645, pad_token_id=151643,
    )
    torch.manual_seed(0)
    model = Qwen3ForCausalLM(config).eval().to(device)
    return model, tokenizer


def timed(fn, repeat: int):
    """(best wall seconds, CPU seconds of that run, result) over ``repeat`` runs."""
    best, cpu, out = float("inf"), float("inf"), None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall = time.perf_counter() - t0
        if wall < best:
            best, cpu = wall, time.process_time() - c0
    return best, cpu, out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posts", type=int, default=64)
    ap.add_argument("--natural", action="store_true",
                    help="first tweets by ID whatever their length (default: ~100 tokens per pair)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per path; the best time is kept")
    ap.add_argument("--no-bf16", action="store_true", help="skip the bfloat16 path")
    ap.add_argument("--no-plain", action="store_true", help="skip the plain recipe (no ratios)")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)

    if not (TOKENIZER / "tokenizer.json.gz").is_file():
        print(f"SKIP: the real Qwen3 tokenizer fixture {TOKENIZER} is absent (it exists only in the "
              "Sieve workplace).")
        return 0

    import numpy as np
    import torch

    from core.config import available_cpus
    from core.rerank.qwen3 import Qwen3Reranker, reference_scores

    torch.set_num_threads(available_cpus())
    tmp = Path(tempfile.mkdtemp(prefix="sieve-bench-tok-"))
    try:
        with gzip.open(TOKENIZER / "tokenizer.json.gz", "rb") as fin, open(tmp / "tokenizer.json", "wb") as fout:
            shutil.copyfileobj(fin, fout)
        shutil.copy(TOKENIZER / "tokenizer_config.json", tmp / "tokenizer_config.json")
        t0 = time.perf_counter()
        model, tokenizer = build_model(tmp, args.device)
        print(f"built random Qwen3-Reranker-0.6B architecture in {time.perf_counter() - t0:.1f} s "
              f"({sum(p.numel() for p in model.parameters()) / 1e6:.0f} M parameters)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    scorer = Qwen3Reranker.from_model(model, tokenizer, model_id="random:Qwen3-Reranker-0.6B-architecture")
    posts, source = load_posts(
        args.posts, None if args.natural else (lambda text: len(scorer.encode(QUERY, [text])[0])))
    ids = scorer.encode(QUERY, posts)
    n = len(posts)
    print(f"posts: {n} from {source}; query: {QUERY!r}")
    print(f"tokens per pair incl. template: mean {np.mean([len(i) for i in ids]):.1f}, "
          f"min {min(len(i) for i in ids)}, max {max(len(i) for i in ids)}")
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, device {args.device}, "
          f"cpu capability {torch.backends.cpu.get_cpu_capability()}")

    # warm up both paths (allocator, oneDNN kernels) on 2 posts
    reference_scores(model, tokenizer, QUERY, posts[:2])
    scorer.predict(QUERY, posts[:2])

    def sieve(s):
        s._m.prefix_kv.clear()  # time the shared prefix too
        return s.predict(QUERY, posts)

    rows = []
    plain_t = None
    if not args.no_plain:
        plain_t, plain_c, (plain_scores, _) = timed(
            lambda: reference_scores(model, tokenizer, QUERY, posts), args.repeat)
        rows.append(("plain recipe fp32 (batches of 8, full logits)", plain_t, plain_c, None))
    fp32_t, fp32_c, fp32 = timed(lambda: sieve(scorer), args.repeat)
    diff32 = float(np.nanmax(np.abs(fp32.scores - plain_scores))) if plain_t else None
    rows.append(("Sieve fp32", fp32_t, fp32_c, diff32))
    if not args.no_bf16:
        model.to(torch.bfloat16)
        scorer_bf16 = Qwen3Reranker.from_model(model, tokenizer, model_id="random:Qwen3-Reranker-0.6B-architecture")
        scorer_bf16.predict(QUERY, posts[:2])
        bf16_t, bf16_c, bf16 = timed(lambda: sieve(scorer_bf16), args.repeat)
        rows.append(("Sieve bf16", bf16_t, bf16_c, float(np.nanmax(np.abs(bf16.scores - fp32.scores)))))
        rows_lo = float(np.nanmax(np.abs(bf16.log_odds - fp32.log_odds)))
    threads = torch.get_num_threads()
    print()
    print(f"{'path':<48} {'seconds':>8} {'pairs/s':>8} {'x plain':>8} {'CPU s':>7} {'idle est':>8}  "
          "max |score diff|")
    for name, t, c, diff in rows:
        ratio = f"{plain_t / t:8.2f}" if plain_t else f"{'-':>8}"
        ref = "" if diff is None else (f"{diff:.2e} vs plain fp32" if name == "Sieve fp32" else f"{diff:.2e} vs Sieve fp32")
        print(f"{name:<48} {t:8.2f} {n / t:8.2f} {ratio} {c:7.1f} {n * threads / c:8.2f}  {ref}")
    print(f"('idle est' = pairs/s if the {threads} threads had their cores to themselves: "
          f"pairs / (CPU s / {threads}); a rough figure on a shared machine)")
    if not args.no_bf16:
        print(f"bf16 vs fp32 max |log-odds diff|: {rows_lo:.3e}")
    print("targets: Sieve fp32 >= 2.5x plain with max diff <= 1e-4; Sieve bf16 >= 8.7 pairs/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

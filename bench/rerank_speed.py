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
3. sentence-transformers peer: ``CrossEncoder`` on the sequence-classification
   conversion of the same weights (``Qwen3ForSequenceClassification``, one logit
   = ``lm_head["yes"] - lm_head["no"]``, as the vLLM / sentence-transformers
   conversions do), the model card's prompt split into (query, document) pairs;
   skipped with a message when sentence-transformers is not importable (it is no
   dependency of Sieve: ``pip install --target DIR sentence-transformers`` and
   ``PYTHONPATH=DIR``);
4. Sieve int8: the scorer on the model with its decoder's linear layers
   quantised (7-bit weights, per-token 8-bit activations, :mod:`core.rerank.quantize`;
   CPU only), and the time from pressing Rerank to the first refined top 10 of 200
   candidates (streaming, fp32 and int8; ``--no-stream`` skips it);
5. Sieve bfloat16: the same scorer on the model cast to bfloat16 (skipped on a
   CPU without native bf16 unless ``--bf16``: emulated bf16 is 3-4x slower than fp32).

It prints pairs/s of each, the ratios to the plain recipe and to Sieve fp32, the
CPU seconds ("idle est": pairs/s had the threads their cores to themselves), the
largest score difference against fp32 and Kendall's tau over ``--agree`` (200)
candidates, and the automatic dtype this CPU gets. Random weights: the deviation
figures only indicate what real weights do (the ``weights`` test tier checks those).

``--device cuda``: bf16 with SDPA attention and token-budget batches sized to the
card (``--batch-tokens``), the plain recipe in bf16 in the same run, and fp32 as
the deviation yardstick; ``--dry-run`` runs that code path on the CPU (2 layers, batches
sized for 141 GiB) to check it before a GPU is lent. ``--isa avx2`` restricts PyTorch, oneDNN, MKL and FBGEMM
to AVX2 kernels (what a laptop CPU without AVX-512 runs). ``--layers`` shrinks the
model depth for a quick run on a busy machine (speed ratios hold per layer).

Posts: tweets of the CrisisLex T26 "2013_Typhoon_Yolanda" event in
``../shared/real_data``, in ID order. The default workload is the issue's: about
100 tokens per pair with the template, i.e. the first 64 tweets whose pair is
78-108 tokens long (mean about 99). ``--natural`` takes the first 64 tweets
whatever their length (mean about 117 tokens per pair: tweets with URLs and
hashtags are longer). Built-in posts are used when ``../shared/real_data`` is absent.

Usage::

    python bench/rerank_speed.py [--posts 64] [--agree 200] [--layers 28] [--isa avx2] [--natural]
                                 [--repeat 1] [--no-bf16|--bf16] [--no-st] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _rerank_peers import agreement, build_model, restrict_isa, seq_cls_folder, st_peer, timed

SHARED = Path(os.environ.get("SIEVE_SHARED_DIR") or ROOT.parent / "shared")  # as tests/conftest.py
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


def _posts_for(n: int, pair_length, natural: bool) -> tuple[list[str], str]:
    """n posts: the workload's, then the event's other tweets by ID (any length), then
    numbered copies (distinct texts) when the event has fewer."""
    posts, source = load_posts(n, None if natural else pair_length)
    if len(posts) < n and not natural:
        more = [t for t in load_posts(10 * n)[0] if t not in set(posts)][: n - len(posts)]
        if more:
            source += f", then {len(more)} more tweets by ID of any length"
            posts += more
    base, i = list(posts), 0
    while posts and len(posts) < n:
        posts.append(f"{base[i % len(base)]} #{i // len(base) + 1}")
        i += 1
    if i:
        source += f", plus {i} numbered copies"
    return posts, source


#: the page's first batch: the top 10 of the first-stage order (dashboard/live.first_batch_size)
FIRST_BATCH = 10


def first_top10(scorer, posts: list[str], label: str, first_batch: int = FIRST_BATCH) -> None:
    """Print how long the streaming rerank (core.rerank.stream, the Rerank page's path, BM25
    first stage) takes from pressing Rerank to the first-stage order and to the first
    refined top 10 (the first ranking whose 10 first rows are all scored)."""
    import pandas as pd

    from core.rerank.stream import rerank_stream

    table = pd.DataFrame({"post_id": [f"p{i}" for i in range(len(posts))], "text": posts})
    scorer._m.prefix_kv.clear()
    t0, c0 = time.perf_counter(), time.process_time()
    stream = rerank_stream(table, QUERY, scorer=scorer, budget=len(posts), first_batch=first_batch)
    next(stream)  # the first-stage order, shown at once
    t_first = time.perf_counter() - t0
    ranking = next(stream)
    while ranking.n_scored < min(10, ranking.n_candidates):
        ranking = next(stream)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    stream.close()
    print(f"stream ({label}, first batch {first_batch}): first-stage order after {t_first:.2f} s; first "
          f"refined top 10 ({ranking.n_scored} of {ranking.n_candidates} scored) after {wall:.2f} s wall, "
          f"{cpu:.2f} CPU s; target 5 s: {'met' if wall <= 5 else 'NOT met'}")


#: card memory the dry run sizes its batches for (an H200's 141 GiB)
DRY_RUN_GIB = 141.0


def _card_budget(torch, gib: float | None = None) -> tuple[int, int]:
    """(batch_tokens, max_batch_size) sized to the GPU: about 1,024 tokens per GiB, 16k..128k."""
    gib = gib if gib is not None else torch.cuda.get_device_properties(0).total_memory / 2**30
    return int(min(131072, max(16384, 1024 * gib))), 4096


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posts", type=int, default=None, help="timed posts (default 64 on CPU, 2048 on CUDA)")
    ap.add_argument("--agree", type=int, default=200, help="candidates for score difference and Kendall's tau")
    ap.add_argument("--layers", type=int, default=28, help="decoder layers (28 = the real 0.6B)")
    ap.add_argument("--isa", choices=("native", "avx2"), default="native")
    ap.add_argument("--natural", action="store_true",
                    help="first tweets by ID whatever their length (default: ~100 tokens per pair)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per path; the best time is kept")
    ap.add_argument("--no-bf16", action="store_true", help="skip the bfloat16 path")
    ap.add_argument("--bf16", action="store_true", help="run bf16 on a CPU without native bf16 too")
    ap.add_argument("--no-int8", action="store_true", help="skip the int8 path")
    ap.add_argument("--no-st", action="store_true", help="skip the sentence-transformers peer")
    ap.add_argument("--no-plain", action="store_true", help="skip the plain recipe (no ratios)")
    ap.add_argument("--no-stream", action="store_true", help="skip the time to the first refined top 10")
    ap.add_argument("--batch-tokens", type=int, default=None, help="Sieve's token budget per batch")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dry-run", action="store_true",
                    help="with --device cuda: run the CUDA path's code on the CPU (2 layers, 32 posts, "
                         f"batches sized for {DRY_RUN_GIB:.0f} GiB) to check it works; its figures mean nothing")
    args = ap.parse_args(argv)
    isa = restrict_isa(args.isa)  # before torch is imported

    if not (TOKENIZER / "tokenizer.json.gz").is_file():
        print(f"SKIP: the real Qwen3 tokenizer fixture {TOKENIZER} is absent (it exists only in the "
              "Sieve workplace).")
        return 0

    import copy

    import numpy as np
    import torch

    from core.config import available_cpus
    from core.rerank.quantize import auto_dtype, cpu_flags, has_native_bf16, quantize_int8
    from core.rerank.qwen3 import Qwen3Reranker, reference_scores

    cuda = args.device.startswith("cuda")
    dry = cuda and args.dry_run
    if dry:  # the CUDA path's code, on the CPU, small
        args.device, args.layers = "cpu", min(args.layers, 2)
        args.posts, args.agree = args.posts or 32, min(args.agree, 32)
        print(f"DRY RUN: the --device cuda code path on the CPU ({args.layers} layers, batches sized for "
              f"{DRY_RUN_GIB:.0f} GiB): checks that it runs; no GPU figure comes from it")
    elif cuda and not torch.cuda.is_available():
        print("SKIP: --device cuda, but this PyTorch sees no CUDA device.")
        return 0
    torch.set_num_threads(available_cpus())
    n_posts = args.posts or (2048 if cuda else 64)
    batch_tokens, max_batch = _card_budget(torch, DRY_RUN_GIB if dry else None) if cuda else (None, None)
    batch_tokens = args.batch_tokens or batch_tokens
    sync = torch.cuda.synchronize if cuda and not dry else None
    tmp = Path(tempfile.mkdtemp(prefix="sieve-bench-"))
    try:
        with gzip.open(TOKENIZER / "tokenizer.json.gz", "rb") as fin, open(tmp / "tokenizer.json", "wb") as fout:
            shutil.copyfileobj(fin, fout)
        shutil.copy(TOKENIZER / "tokenizer_config.json", tmp / "tokenizer_config.json")
        t0 = time.perf_counter()
        model, tokenizer = build_model(tmp, args.device, layers=args.layers)
        print(f"built random Qwen3-Reranker-0.6B architecture ({args.layers} of 28 layers) in "
              f"{time.perf_counter() - t0:.1f} s ({sum(p.numel() for p in model.parameters()) / 1e6:.0f} M parameters)")

        mid = "random:Qwen3-Reranker-0.6B-architecture"
        kw = {"batch_tokens": batch_tokens, "max_batch_size": max_batch}
        fp32_scorer = Qwen3Reranker.from_model(model, tokenizer, model_id=mid, **kw)
        posts_all, source = _posts_for(max(n_posts, args.agree),
                                       lambda text: len(fp32_scorer.encode(QUERY, [text])[0]), args.natural)
        posts = posts_all[:n_posts]
        ids = fp32_scorer.encode(QUERY, posts)
        flags = cpu_flags()
        print(f"posts: {len(posts)} timed, {len(posts_all)} for agreement, from {source}; query: {QUERY!r}")
        print(f"tokens per pair incl. template: mean {np.mean([len(i) for i in ids]):.1f}, "
              f"min {min(len(i) for i in ids)}, max {max(len(i) for i in ids)}")
        print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, device {args.device}"
              + (f" ({'DRY RUN' if dry else torch.cuda.get_device_name(0)}, batch_tokens {batch_tokens})" if cuda else "")
              + f"; {isa}; cpu capability {torch.backends.cpu.get_cpu_capability()}; CPU flags: "
              + (" ".join(sorted(f for f in flags if f.startswith(("avx2", "avx512_bf16", "avx512_vnni", "amx"))))
                 or "unknown"))
        try:
            load = os.getloadavg()[0]
            print(f"load average (1 min) at start: {load:.2f} on {os.cpu_count()} CPUs")
        except OSError:
            pass

        def run(scorer):
            def go():
                scorer._m.prefix_kv.clear()  # time the shared prefix too
                return scorer.predict(QUERY, posts)
            scorer.predict(QUERY, posts[:2])  # warm up (allocator, kernels)
            t, c, res = timed(go, args.repeat, sync=sync)
            full = scorer.predict(QUERY, posts_all) if len(posts_all) > len(posts) else res
            return t, c, res, full

        rows = []  # (name, seconds, cpu seconds, scores on `posts`, scores on `posts_all` or None)
        reference_scores(model, tokenizer, QUERY, posts[:2])
        if not args.no_plain and not cuda:
            t, c, (ps, _) = timed(lambda: reference_scores(model, tokenizer, QUERY, posts), args.repeat)
            rows.append(("plain recipe fp32 (batches of 8, full logits)", t, c, ps, None))
        t, c, fp32, fp32_all = run(fp32_scorer)
        rows.append(("Sieve fp32", t, c, fp32.scores, fp32_all.scores))
        if not args.no_st:
            predict, why = st_peer(seq_cls_folder(model, tokenizer, tmp / "seq-cls"), args.device)
            if predict is None:
                print(f"sentence-transformers peer skipped: {why}")
            else:
                predict(QUERY, posts[:2])
                t, c, ss = timed(lambda: predict(QUERY, posts), args.repeat, sync=sync)
                rows.append(("sentence-transformers CrossEncoder fp32 (seq-cls)", t, c, ss, None))
        if not args.no_int8 and not cuda:
            qmodel = quantize_int8(copy.deepcopy(model))
            int8_scorer = Qwen3Reranker.from_model(qmodel, tokenizer, model_id=mid)
            t, c, r8, r8_all = run(int8_scorer)
            rows.append(("Sieve int8 (7-bit weights, per-token)", t, c, r8.scores, r8_all.scores))
            if not args.no_stream:
                first_top10(fp32_scorer, posts_all, "fp32")
                first_top10(int8_scorer, posts_all, "int8")
            del qmodel, int8_scorer
        native = has_native_bf16(flags) and args.isa == "native"
        if not args.no_bf16 and (cuda or native or args.bf16):
            model.to(torch.bfloat16)
            if cuda and not args.no_plain:
                reference_scores(model, tokenizer, QUERY, posts[:2])
                t, c, (ps, _) = timed(lambda: reference_scores(model, tokenizer, QUERY, posts), args.repeat,
                                      sync=sync)
                rows.insert(0, ("plain recipe bf16 (batches of 8, full logits)", t, c, ps, None))
            t, c, rb, rb_all = run(Qwen3Reranker.from_model(model, tokenizer, model_id=mid, **kw))
            rows.append(("Sieve bf16", t, c, rb.scores, rb_all.scores))
        elif not args.no_bf16:
            print("bf16 skipped: no native bf16 here (emulated bf16 is slower than fp32); --bf16 runs it anyway")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    _report(rows, fp32, fp32_all, len(posts), len(posts_all), torch.get_num_threads(), args, cuda)
    if dry:
        print("DRY RUN finished: the --device cuda code path ran end to end on the CPU; the figures above "
              "are CPU figures of a 2-layer model, not a GPU measurement.")
    print(f"automatic dtype on {args.device} here: {auto_dtype(args.device)} (core.rerank.quantize.auto_dtype)")
    return 0


def _report(rows, fp32, fp32_all, n, n_all, threads, args, cuda) -> None:
    plain_t = next((t for name, t, *_ in rows if name.startswith("plain")), None)
    fp32_t = next(t for name, t, *_ in rows if name == "Sieve fp32")
    print()
    print(f"{'path':<50} {'seconds':>8} {'pairs/s':>8} {'x plain':>8} {'x fp32':>7} {'CPU s':>7} "
          f"{'idle est':>8}  max |score diff| and Kendall's tau vs Sieve fp32")
    ratios = {}
    for name, t, c, scores, full in rows:
        xp = f"{plain_t / t:8.2f}" if plain_t else f"{'-':>8}"
        ratios[name] = fp32_t / t
        if name == "Sieve fp32":
            ref = ""
        elif full is not None:
            d, tau = agreement(full, fp32_all.scores)
            ref = f"{d:.2e}, tau {tau:.4f} over {n_all} posts"
            ratios[name + " agree"] = (d, tau)
        else:
            d, tau = agreement(scores, fp32.scores)
            ref = f"{d:.2e}, tau {tau:.4f} over {n} posts"
        idle = f"{n * threads / c:8.2f}" if not cuda and c > 0 else f"{'-':>8}"
        print(f"{name:<50} {t:8.2f} {n / t:8.2f} {xp} {fp32_t / t:7.2f} {c:7.1f} {idle}  {ref}")
    if not cuda:
        print(f"('idle est' = pairs/s if the {threads} threads had their cores to themselves: "
              f"pairs / (CPU s / {threads}); a rough figure on a shared machine)")
    print("random weights: score differences and tau only indicate what real weights do")
    checks = []
    st = next((k for k in ratios if k.startswith("sentence-transformers")), None)
    if st:
        checks.append(("Sieve fp32 >= 2.5x the sentence-transformers peer", 1 / ratios[st] >= 2.5,
                       f"{1 / ratios[st]:.2f}x"))
    i8 = "Sieve int8 (7-bit weights, per-token)"
    if i8 in ratios:
        checks.append(("int8 >= 1.8x Sieve fp32", ratios[i8] >= 1.8, f"{ratios[i8]:.2f}x"))
        if i8 + " agree" in ratios:
            d, tau = ratios[i8 + " agree"]
            checks.append(("int8 max score diff <= 2e-2 and tau >= 0.95", d <= 2e-2 and tau >= 0.95,
                           f"{d:.2e}, tau {tau:.3f}"))
    if cuda and "Sieve bf16" in ratios:
        rate = n / (fp32_t / ratios["Sieve bf16"])
        checks.append((">= 1,000 pairs/s in bf16 on the GPU", rate >= 1000, f"{rate:.0f} pairs/s"))
    for what, ok, got in checks:
        print(f"target: {what}: {'met' if ok else 'NOT met'} ({got})")



if __name__ == "__main__":
    raise SystemExit(main())

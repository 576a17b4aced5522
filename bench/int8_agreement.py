"""int8 against fp32 on two yardsticks: the bench's random head, and a probe head.

The bench's random Qwen3-Reranker-0.6B architecture gives near-tied scores (log-odds
standard deviation ~0.16 over 200 tweets at 28 layers), so Kendall's tau against fp32
mostly measures noise. A trained reranker spreads P(yes) from ~0 to ~1. This script
keeps the same random decoder and reports int8's largest score difference and tau
against fp32 with (1) the random yes/no head, as the bench does, and (2) a *probe
head*: a logistic regression fitted on the fp32 final hidden states (last position)
of ``--train`` other tweets of the event to their CrisisLex label ("Related and
informative" or not; L2, cross-validated), whose held-out AUC, log-odds spread and
P(yes) range it prints. Both from the same forward passes. Neither is a trained model:
the ``weights`` test tier gives the real figures.

Usage::

    python bench/int8_agreement.py [--layers 28] [--eval 200] [--train 150] [--isa avx2]

Slow: at 28 layers on a busy 2-core machine the fp32 pass over 350 tweets took 25 min.
"""

from __future__ import annotations

import argparse
import copy
import csv
import gzip
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _rerank_peers import build_model, restrict_isa
from rerank_speed import EVENT, QUERY, TOKENIZER


def labelled_tweets() -> list[tuple[str, bool]]:
    """Distinct tweets of the event by ID, with label True for "Related and informative"."""
    with open(next(EVENT.glob("*-tweets_labeled.csv")), encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, skipinitialspace=True))[1:]
    rows.sort(key=lambda r: r[0])
    seen, out = set(), []
    for r in rows:
        if len(r) > 4 and r[1].strip() and r[1] not in seen:
            seen.add(r[1])
            out.append((r[1], r[4] == "Related and informative"))
    return out


def last_hidden(scorer, posts: list[str]):
    """(final hidden state at each pair's last position, float64 (n, hidden); log-odds) from the
    scorer's own batched forward (a hook on the decoder; rows matched back by their tokens)."""
    import numpy as np

    ids = scorer.encode(QUERY, posts)
    pad, cap = scorer._m.pad_id, {}

    def hook(module, args, kwargs, out):
        ii, hs = kwargs["input_ids"], out.last_hidden_state
        for r in range(ii.shape[0]):
            n = int((ii[r] != pad).sum())
            cap[tuple(ii[r, :n].tolist())] = hs[r, n - 1].float().clone()

    handle = scorer._m.base.register_forward_hook(hook, with_kwargs=True)
    try:
        res = scorer.predict(QUERY, posts)
    finally:
        handle.remove()
    keys = sorted(cap, key=len, reverse=True)
    rows = []
    for seq in ids:  # each pair's tail (after the shared prefix) is one captured row
        rows.append(next(cap[k] for k in keys if len(k) <= len(seq) and tuple(seq[-len(k):]) == k))
    import torch

    return torch.stack(rows).double().numpy(), np.asarray(res.log_odds, np.float64)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--layers", type=int, default=28)
    ap.add_argument("--eval", type=int, default=200, help="tweets compared (the bench's 200 candidates)")
    ap.add_argument("--train", type=int, default=150, help="other tweets the probe head is fitted on")
    ap.add_argument("--isa", choices=("native", "avx2"), default="native")
    args = ap.parse_args(argv)
    print(restrict_isa(args.isa))
    if not (TOKENIZER / "tokenizer.json.gz").is_file() or not EVENT.is_dir():
        print("SKIP: needs the Qwen3 tokenizer fixture and ../shared/real_data (SIEVE_SHARED_DIR).")
        return 0
    import numpy as np
    from scipy.stats import kendalltau
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import StandardScaler

    from core.rerank.quantize import quantize_int8
    from core.rerank.qwen3 import Qwen3Reranker

    tmp = Path(tempfile.mkdtemp(prefix="sieve-agree-"))
    try:
        with gzip.open(TOKENIZER / "tokenizer.json.gz", "rb") as fin, open(tmp / "tokenizer.json", "wb") as fout:
            shutil.copyfileobj(fin, fout)
        shutil.copy(TOKENIZER / "tokenizer_config.json", tmp / "tokenizer_config.json")
        model, tok = build_model(tmp, "cpu", layers=args.layers)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    data = labelled_tweets()[: args.eval + args.train]
    texts, y = [t for t, _ in data], np.array([lab for _, lab in data])
    ne = args.eval
    t0 = time.perf_counter()
    h32, lo32 = last_hidden(Qwen3Reranker.from_model(model, tok, model_id="random"), texts)
    print(f"{args.layers} layers, fp32 pass over {len(texts)} tweets in {time.perf_counter() - t0:.0f} s; "
          f"random head log-odds SD over the {ne}: {lo32[:ne].std():.3f}")
    scaler = StandardScaler().fit(h32[ne:])
    clf = LogisticRegressionCV(Cs=10, cv=5, max_iter=3000).fit(scaler.transform(h32[ne:]), y[ne:])
    w = clf.coef_[0] / scaler.scale_
    b = float(clf.intercept_[0] - (scaler.mean_ * w).sum())
    probe32 = h32[:ne] @ w + b
    p = 1 / (1 + np.exp(-probe32))
    print(f"probe head: held-out AUC {roc_auc_score(y[:ne], probe32):.3f}, log-odds SD {probe32.std():.2f}, "
          f"P(yes) {p.min():.3f}-{p.max():.3f}")
    t0 = time.perf_counter()
    h8, lo8 = last_hidden(Qwen3Reranker.from_model(quantize_int8(copy.deepcopy(model)), tok, model_id="r"),
                          texts[:ne])
    print(f"int8 pass over {ne} tweets in {time.perf_counter() - t0:.0f} s")

    def agree(a, b):
        sa, sb = 1 / (1 + np.exp(-a)), 1 / (1 + np.exp(-b))
        return float(np.abs(sa - sb).max()), float(kendalltau(a, b).statistic)

    for name, (d, tau) in (("random head", agree(lo8, lo32[:ne])), ("probe head", agree(h8 @ w + b, probe32))):
        ok = "within" if d <= 2e-2 and tau >= 0.95 else "NOT within"
        print(f"int8 vs fp32, {name}: largest score difference {d:.2e}, Kendall's tau {tau:.4f} over {ne} "
              f"tweets ({ok} the bounds 2e-2 / 0.95)")
    print("random decoder weights: indicative only; the `weights` test tier gives the real figures")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

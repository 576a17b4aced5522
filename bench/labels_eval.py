"""Benchmark of the label store and evaluation on real labelled tweets (CrisisLex T26).

Prints, each against a baseline measured in the same run:

1. grade writes per second of ``LabelStore.set_grade`` (WAL, synchronous=FULL,
   one transaction per grade) vs the same store with synchronous=NORMAL (the
   cost of surviving a power cut, not only a killed process);
2. import of every CrisisLex T26 judgement (about 13,700 grades) through
   ``import_judgements``, and a CSV export/read round trip of them with the
   tweet text (how many cells needed formula neutralisation);
3. nDCG@10, P@10 and MRR of a BM25 run (query = the event name, qrels:
   "Related and informative" = gain 2, "Related - but not informative" = 1,
   else 0) vs a random-order baseline run, with the paired test between them.

Skips cleanly (message, exit 0) when ``../shared/real_data`` is absent.
Run: ``.venv/bin/python bench/labels_eval.py``.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _crisislex import load_t26  # noqa: E402

GAIN = {"Related and informative": 2, "Related - but not informative": 1}


def bench_writes(tmp: Path, n: int = 200) -> None:
    from core.labels.store import LabelStore

    rates = {}
    for mode in ("NORMAL", "FULL"):
        store = LabelStore(tmp / f"w-{mode}.sqlite")
        with store._lock:
            store._connection().execute(f"PRAGMA synchronous = {mode}")
        t0 = time.perf_counter()
        for i in range(n):
            store.set_grade("ds", "q", f"p{i}", 1 + i % 5, annotator="ana")
        rates[mode] = n / (time.perf_counter() - t0)
        store.close()
    print(f"[writes] set_grade, {n} grades: synchronous=FULL {rates['FULL']:.0f}/s, "
          f"NORMAL (baseline) {rates['NORMAL']:.0f}/s, ratio FULL/NORMAL {rates['FULL'] / rates['NORMAL']:.2f}")


def bench_import_export(tmp: Path, t26) -> None:
    import pandas as pd

    from core.export.judgements import (
        import_judgements, judgements_frame, read_judgements, write_judgements_csv,
    )
    from core.labels.store import LabelStore, query_id_for

    grades = pd.DataFrame({
        "dataset": "t26",
        "query": t26["event_name"],
        "query_id": t26["event_name"].map(query_id_for),
        "post_id": t26["post_id"],
        "annotator": "crisislex",
        "grade": t26["informativeness"].map(GAIN).fillna(0).astype(int) + 1,
    })
    grades["grade"] = grades["grade"].astype("Int64")
    store = LabelStore(tmp / "import.sqlite")
    t0 = time.perf_counter()
    report = import_judgements(store, grades)
    dt = time.perf_counter() - t0
    print(f"[import] {report.n_written} grades imported in {dt:.1f} s ({report.n_written / dt:.0f}/s, "
          "one transaction each)")
    t0 = time.perf_counter()
    again = import_judgements(store, grades)
    dt2 = time.perf_counter() - t0
    print(f"[import] re-import of the same {again.n_rows} rows: {again.n_unchanged} unchanged in {dt2:.1f} s "
          f"(ratio to first import {dt2 / dt:.2f})")
    posts = t26[["post_id", "text"]]
    frame = judgements_frame(store, "t26", posts=posts)
    path = write_judgements_csv(frame, tmp / "t26.csv")
    bom = path.read_bytes()[:3] == b"\xef\xbb\xbf"
    neutralised = sum(1 for t in frame["text"] if str(t).startswith(("=", "+", "-", "@", "\t", "\r", "'")))
    back = read_judgements(path)
    same = (back.set_index("post_id")["text"] == frame.set_index("post_id")["text"]).all()
    print(f"[csv] {len(frame)} rows, {path.stat().st_size / 1e6:.1f} MB, {neutralised} tweet cells neutralised "
          f"(start with = + - @ ' tab CR), texts identical after read-back: {bool(same)}; BOM present: {bom}")


def bench_eval(t26) -> None:
    import bm25s

    from core.evaluate.metrics import GAIN_MAPPING_TREC, evaluate_runs

    texts = t26["text"].tolist()
    ids = t26["post_id"].tolist()
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
    qrels, bm25_run, random_run = {}, {}, {}
    rng = random.Random(0)
    for event, group in t26.groupby("event"):
        name = group["event_name"].iloc[0]
        qid = event
        qrels[qid] = {p: GAIN.get(inf, 0) for p, inf in zip(group["post_id"], group["informativeness"])}
        docs, scores = retriever.retrieve(bm25s.tokenize([name], stopwords="en", show_progress=False),
                                          k=100, show_progress=False)
        bm25_run[qid] = {ids[int(d)]: float(s) for d, s in zip(docs[0], scores[0])}
        sample = rng.sample(ids, 100)
        random_run[qid] = {p: float(100 - i) for i, p in enumerate(sample)}
    t0 = time.perf_counter()
    res = evaluate_runs(qrels, {"bm25": bm25_run, "random": random_run},
                        metrics=["ndcg@10", "precision@10", "mrr"], gain_mapping=GAIN_MAPPING_TREC)
    dt = time.perf_counter() - t0
    for m in res.metrics:
        a, b = res.scores["bm25"][m], res.scores["random"][m]
        print(f"[eval] {m}: bm25 {a:.3f} vs random baseline {b:.3f} (ratio {a / b if b else float('inf'):.2f})")
    for c in res.comparisons:
        print(f"[eval] {c['metric']}: paired t-test p = {c['p_value']:.2g} over {len(res.queries)} events")
    print(f"[eval] unjudged in top-10: bm25 {res.unjudged['bm25']['fraction']:.0%}, "
          f"random {res.unjudged['random']['fraction']:.0%}; evaluate_runs took {dt:.2f} s "
          "(first call includes ranx's numba start-up)")
    t0 = time.perf_counter()
    evaluate_runs(qrels, {"bm25": bm25_run, "random": random_run},
                  metrics=["ndcg@10", "precision@10", "mrr"], gain_mapping=GAIN_MAPPING_TREC)
    dt2 = time.perf_counter() - t0
    print(f"[eval] second evaluate_runs: {dt2:.2f} s (ratio to first {dt2 / dt:.2f})")


def main() -> int:
    t26 = load_t26()
    if t26 is None:
        print("skipped: ../shared/real_data/crisislex_t26 is absent (it exists only in the Sieve workplace)")
        return 0
    print(f"CrisisLex T26: {len(t26)} tweets, {t26['event'].nunique()} events")
    with tempfile.TemporaryDirectory() as tmp:
        bench_writes(Path(tmp))
        bench_import_export(Path(tmp), t26)
    bench_eval(t26)
    return 0


if __name__ == "__main__":
    sys.exit(main())

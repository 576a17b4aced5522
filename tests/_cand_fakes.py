"""Fakes shared by the candidates / pipeline / compare / rerank-CLI tests."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd

from core.errors import Cancelled
from core.rerank.base import BaseScorer, ScoreResult, ScorerInfo


class HashEmbedder:
    """Deterministic bag-of-words embedder: each lower-cased word hashes to one of
    ``dim`` axes; rows L2-normalised, zero rows for empty texts."""

    model_id = "fake-hash"

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.calls = 0

    def embed(self, texts, *, task=None, progress=None):
        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"\w+", str(t or "").lower()):
                out[i, int(hashlib.md5(w.encode()).hexdigest(), 16) % self.dim] += 1.0
        n = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, n, out=out, where=n > 0)
        if progress:
            progress(len(texts), len(texts))
        return out


class FakeScorer(BaseScorer):
    """Scores documents by a hand-set table ``{text: score}`` (NaN for unknown
    texts, or ``default``); optional log-odds table; polls ``should_cancel``
    once per document."""

    def __init__(self, scores: dict[str, float], *, log_odds: dict[str, float] | None = None,
                 follows_instructions: bool = True, default: float = float("nan")) -> None:
        self.table = scores
        self.lo = log_odds
        self.default = default
        self.calls: list[dict] = []
        self._info = ScorerInfo(model_id="fake/reranker", revision="r1", kind="qwen3", device="cpu",
                                dtype="float32", follows_instructions=follows_instructions)

    @property
    def info(self):
        return self._info

    def predict(self, query, documents, *, instruction=None, progress=None, should_cancel=None):
        self.calls.append({"query": query, "documents": list(documents), "instruction": instruction})
        out = []
        for i, d in enumerate(documents):
            if should_cancel and should_cancel():
                raise Cancelled("cancelled")
            out.append(self.table.get(d, self.default) if d.strip() else float("nan"))
            if progress:
                progress(i + 1, len(documents))
        lo = None
        if self.lo is not None:
            lo = np.array([self.lo.get(d, np.nan) for d in documents], dtype=np.float32)
        return ScoreResult(scores=np.array(out, dtype=np.float32), log_odds=lo, info=self._info)


def post_table(texts, *, scorable=None, reasons=None) -> pd.DataFrame:
    """A minimal post table (``post_id`` p0.., ``text``, ``scorable``, ``unscorable_reason``)."""
    n = len(texts)
    scorable = [bool(t.strip()) for t in texts] if scorable is None else scorable
    reasons = reasons or [None if s else "empty text" for s in scorable]
    return pd.DataFrame({"post_id": [f"p{i}" for i in range(n)], "text": texts,
                         "scorable": scorable, "unscorable_reason": reasons})

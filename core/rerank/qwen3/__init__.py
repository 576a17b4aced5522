"""Qwen3-Reranker: the model card's recipe, exact and fast.

The model is a causal language model (never a sequence-classification head)
that answers "yes" or "no" after the prompt of :mod:`core.rerank.template`; the
relevance score of a (query, post) pair is ``softmax([logit("no"),
logit("yes")])[1]`` at the last position, computed in float32, and its log-odds
is ``logit("yes") - logit("no")``. Source: model card of
``Qwen/Qwen3-Reranker-0.6B`` ("Usage", Transformers) and arXiv:2506.05176.

What Sieve does differently from the model card's plain code, without changing
a score (tested against that plain code on a tiny random model, within 1e-4):

* only the last real position's two logits are computed: the base model's final
  hidden state times the "no"/"yes" rows of ``lm_head`` (the plain code projects
  every position onto the 151k-token vocabulary);
* the prompt part that every post shares for one (instruction, query) -- system
  turn, instruction, query, up to ``"<Document>:"`` -- runs once; its key/value
  cache is reused (broadcast over the batch) and only each post plus the suffix
  runs per pair, with explicit position ids;
* the per-post parts are right-padded inside length-sorted batches bounded by a
  token budget (the causal mask means real tokens never see the padding), and the
  last real token of each row is gathered; input order is restored at the end.

Modules: :mod:`~core.rerank.qwen3.loading` (model id or folder, device and
dtype, the shared :class:`_Loaded` model), :mod:`~core.rerank.qwen3.kv_cache`
(the Transformers prefix-cache and attention internals),
:mod:`~core.rerank.qwen3.scorer` (:class:`Qwen3Reranker`) and
:mod:`~core.rerank.qwen3.reference` (the model card's plain recipe,
:func:`reference_scores`). Everything is importable from this package.
"""

# The private names are re-exported for code written against the single-module
# core/rerank/qwen3.py (core/rerank/quantize.py, benchmarks, notebooks).
from core.rerank.qwen3.kv_cache import (  # noqa: F401
    _GQA_ATTN,
    _PREFIX_KV_SLOTS,
    _batch_cache,
    _cache_tensors,
    _native_gqa,
    _register_native_gqa,
    last_hidden,
    prefix_states,
)
from core.rerank.qwen3.loading import (  # noqa: F401
    _HUB_ID,
    _MODELS,
    _MODELS_LOCK,
    DEFAULT_MODEL,
    _fingerprint_folder,
    _how_to_provide,
    _load,
    _Loaded,
    _prepare,
    _resolve_reference,
    _single_token_id,
)
from core.rerank.qwen3.reference import reference_scores
from core.rerank.qwen3.scorer import Qwen3Reranker, _softmax_yes  # noqa: F401

__all__ = ["DEFAULT_MODEL", "Qwen3Reranker", "reference_scores"]

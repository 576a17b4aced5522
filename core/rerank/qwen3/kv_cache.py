"""Transformers internals behind the shared-prefix trick of :class:`~core.rerank.qwen3.Qwen3Reranker`.

The prompt part every post shares for one (instruction, query) runs once
(:func:`prefix_states`, a small LRU per loaded model); each batch of per-post
tails then runs against that prefix's key/value cache broadcast over the batch
(:func:`_batch_cache`) with explicit position ids (:func:`last_hidden`). On CPU
the attention runs through PyTorch's native grouped-query SDPA
(:func:`_native_gqa`) instead of Transformers' ``repeat_kv`` copy. These reach
into Transformers' cache classes and attention registry (4.5x and 5.x
layouts); each has a fallback that keeps the scores unchanged.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from core.rerank.qwen3.loading import _Loaded

logger = logging.getLogger(__name__)

_PREFIX_KV_SLOTS = 4  # (instruction, query) prefixes kept per loaded model


def _cache_tensors(cache) -> list[tuple[Any, Any]]:
    """Per-layer ``(keys, values)`` of a filled transformers cache (4.5x and 5.x layouts)."""
    if hasattr(cache, "layers"):
        return [(layer.keys, layer.values) for layer in cache.layers]
    return list(zip(cache.key_cache, cache.value_cache, strict=True))


def _batch_cache(prefix_kv, batch: int, fast: bool):
    """A cache that presents the shared prefix to every row of a batch.

    The fast form broadcasts the stored prefix (batch 1) and keeps nothing of the
    new tokens (this cache is used for a single forward pass), so no per-batch
    copy of all layers' prefix states is held in memory; the fallback builds a
    standard ``DynamicCache`` from expanded tensors.
    """
    from transformers import DynamicCache

    if fast:
        from transformers.cache_utils import DynamicLayer

        class _PrefixLayer(DynamicLayer):
            def __init__(self, keys, values):
                super().__init__()
                self.keys, self.values = keys, values
                self.device = keys.device
                self.is_initialized = True

            def update(self, key_states, value_states, *args, **kwargs):
                b = key_states.shape[0]
                k = self.keys.expand(b, -1, -1, -1)
                v = self.values.expand(b, -1, -1, -1)
                import torch

                return torch.cat([k, key_states], dim=-2), torch.cat([v, value_states], dim=-2)

        cache = DynamicCache()
        cache.layers = [_PrefixLayer(k, v) for k, v in prefix_kv]
        return cache
    return DynamicCache([(k.expand(batch, -1, -1, -1), v.expand(batch, -1, -1, -1)) for k, v in prefix_kv])


_GQA_ATTN = "sieve_sdpa_gqa"
_GQA_REGISTERED: bool | None = None


def _register_native_gqa() -> bool:
    """Register an SDPA attention that lets PyTorch handle grouped-query attention natively.

    Transformers' own ``"sdpa"`` path copies the key/value heads (``repeat_kv``)
    whenever an attention mask is given, which the prefix-reuse batches always
    have; ``scaled_dot_product_attention(..., enable_gqa=True)`` computes the
    same result (bit-identical here) without the copy, about 7% faster in bf16
    on CPU. Returns False when this Transformers/PyTorch lacks the interfaces.
    """
    global _GQA_REGISTERED
    if _GQA_REGISTERED is None:
        try:
            import torch
            from transformers import AttentionInterface, AttentionMaskInterface
            from transformers.masking_utils import sdpa_mask

            if "enable_gqa" not in (torch.nn.functional.scaled_dot_product_attention.__doc__ or ""):
                raise TypeError("this PyTorch has no enable_gqa")

            def sdpa_native_gqa(module, query, key, value, attention_mask, dropout=0.0, scaling=None,
                                is_causal=None, **kwargs):
                if is_causal is None:
                    is_causal = query.shape[2] > 1 and attention_mask is None and getattr(module, "is_causal", True)
                if attention_mask is not None:
                    attention_mask = attention_mask[:, :, :, : key.shape[-2]]
                out = torch.nn.functional.scaled_dot_product_attention(
                    query, key, value, attn_mask=attention_mask, dropout_p=0.0, scale=scaling,
                    is_causal=bool(is_causal), enable_gqa=query.shape[1] != key.shape[1],
                )
                return out.transpose(1, 2).contiguous(), None

            AttentionInterface.register(_GQA_ATTN, sdpa_native_gqa)
            AttentionMaskInterface.register(_GQA_ATTN, sdpa_mask)
            _GQA_REGISTERED = True
        except (ImportError, AttributeError, TypeError) as exc:
            logger.info("Native GQA attention not available (%s); using Transformers' sdpa.", exc)
            _GQA_REGISTERED = False
    return _GQA_REGISTERED


@contextlib.contextmanager
def _native_gqa(m: _Loaded):
    """Within the model lock: run the model with :func:`_register_native_gqa`'s attention on CPU."""
    config = m.model.config
    current = getattr(config, "_attn_implementation", None)
    if (not m.native_gqa or current != "sdpa" or not m.device.startswith("cpu")
            or not _register_native_gqa()):
        yield
        return
    config._attn_implementation = _GQA_ATTN
    try:
        yield
    finally:
        config._attn_implementation = current

def prefix_states(m: _Loaded, shared: list[int]):
    """Per-layer (keys, values) of the shared prefix ``shared`` (token ids), batch 1.

    Kept in ``m.prefix_kv``, an LRU of :data:`_PREFIX_KV_SLOTS` prefixes per
    loaded model. Call within ``m.lock`` and ``torch.inference_mode()``.
    """
    import torch
    from transformers import DynamicCache

    key = tuple(shared)
    if key in m.prefix_kv:
        m.prefix_kv.move_to_end(key)
        return m.prefix_kv[key]
    cache = DynamicCache()
    ids = torch.tensor([shared], device=m.device)
    with _native_gqa(m):
        m.base(input_ids=ids, use_cache=True, **{m.cache_kw: cache})
    states = [(k.detach(), v.detach()) for k, v in _cache_tensors(cache)]
    m.prefix_kv[key] = states
    while len(m.prefix_kv) > _PREFIX_KV_SLOTS:
        m.prefix_kv.popitem(last=False)
    return states


def last_hidden(m: _Loaded, tails: list[list[int]], p: int, prefix_kv):
    """The base model's final hidden state at each tail's last real token.

    Args:
        m: the loaded model.
        tails: b token-id lists (the per-post part after the shared prefix),
            right-padded here to the longest.
        p: the shared prefix's length (positions of the tails start at ``p``).
        prefix_kv: :func:`prefix_states` of the prefix, or None when ``p`` is 0.

    Returns:
        float32 tensor of shape (b, hidden), on ``m.device``.
    """
    import torch

    b = len(tails)
    width = max(len(t) for t in tails)
    input_ids = torch.full((b, width), m.pad_id, dtype=torch.long)
    for r, t in enumerate(tails):
        input_ids[r, : len(t)] = torch.tensor(t, dtype=torch.long)
    input_ids = input_ids.to(m.device)
    lengths = torch.tensor([len(t) for t in tails], device=m.device)
    position_ids = (torch.arange(width, device=m.device) + p).unsqueeze(0).expand(b, -1)
    kwargs: dict[str, Any] = {"input_ids": input_ids, "position_ids": position_ids}
    if prefix_kv is not None:
        kwargs["use_cache"] = True
        try:
            kwargs[m.cache_kw] = _batch_cache(prefix_kv, b, m.fast_cache)
            hidden = m.base(**kwargs).last_hidden_state
        except (AttributeError, TypeError, ImportError) as exc:
            if not m.fast_cache:
                raise
            logger.warning("Falling back to a standard DynamicCache for prefix reuse (%s)", exc)
            m.fast_cache = False
            kwargs[m.cache_kw] = _batch_cache(prefix_kv, b, False)
            hidden = m.base(**kwargs).last_hidden_state
    else:
        hidden = m.base(**kwargs, use_cache=False).last_hidden_state
    return hidden[torch.arange(b, device=m.device), lengths - 1].float()

"""The model card's plain Qwen3-Reranker recipe, kept as the yardstick for tests and benchmarks.

:class:`~core.rerank.qwen3.Qwen3Reranker` must give the same scores (within
1e-4) as :func:`reference_scores`; ``tests/test_rerank_qwen3.py`` and
``bench/rerank_speed.py`` compare the two. Source: model card of
``Qwen/Qwen3-Reranker-0.6B`` ("Usage", Transformers).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from core.rerank.template import NO_TOKEN, PREFIX, SUFFIX, YES_TOKEN, format_user


def reference_scores(
    model,
    tokenizer,
    query: str,
    documents: Sequence[str],
    *,
    instruction: str | None = None,
    max_length: int = 8192,
    batch_size: int = 8,
) -> tuple[np.ndarray, np.ndarray]:
    """The model card's plain recipe, kept as the yardstick for tests and benchmarks.

    Full prompt per pair, left-padded batches of ``batch_size``, a full forward
    pass with vocabulary logits at every position, then the last position's
    [no, yes] logits -> log_softmax -> exp. Slow by design; do not use for work.

    Args:
        model: a ``*ForCausalLM`` module.
        tokenizer: its tokenizer (left padding is forced here).
        query, documents, instruction, max_length: as for :class:`Qwen3Reranker`.
        batch_size: pairs per forward pass (the model card does not fix one; 8 here).

    Returns:
        ``(scores, log_odds)``: float32 arrays of shape (n,).
    """
    import torch

    old_side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        yes = tokenizer.convert_tokens_to_ids(YES_TOKEN)
        no = tokenizer.convert_tokens_to_ids(NO_TOKEN)
        prefix_tokens = tokenizer.encode(PREFIX, add_special_tokens=False)
        suffix_tokens = tokenizer.encode(SUFFIX, add_special_tokens=False)
        pairs = [format_user(instruction, query, d) for d in documents]
        device = next(model.parameters()).device
        scores, odds = [], []
        for start in range(0, len(pairs), batch_size):
            inputs = tokenizer(
                pairs[start : start + batch_size], padding=False, truncation="longest_first",
                return_attention_mask=False, max_length=max_length - len(prefix_tokens) - len(suffix_tokens),
            )
            for i, ele in enumerate(inputs["input_ids"]):
                inputs["input_ids"][i] = prefix_tokens + ele + suffix_tokens
            with warnings.catch_warnings():  # the model card passes max_length with padding=True
                warnings.simplefilter("ignore", UserWarning)
                inputs = tokenizer.pad(inputs, padding=True, return_tensors="pt", max_length=max_length)
            inputs = {k: v.to(device) for k, v in inputs.items()}
            with torch.no_grad():
                batch_scores = model(**inputs).logits[:, -1, :]
                true_vector = batch_scores[:, yes]
                false_vector = batch_scores[:, no]
                pair = torch.stack([false_vector, true_vector], dim=1).float()
                scores.append(torch.nn.functional.log_softmax(pair, dim=1)[:, 1].exp())
                odds.append(pair[:, 1] - pair[:, 0])
        if not scores:
            return np.zeros(0, np.float32), np.zeros(0, np.float32)
        return (torch.cat(scores).cpu().numpy().astype(np.float32),
                torch.cat(odds).cpu().numpy().astype(np.float32))
    finally:
        tokenizer.padding_side = old_side
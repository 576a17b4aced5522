"""Helpers of bench/rerank_speed.py: the random model, the sentence-transformers
peer built from the same weights, the AVX2-only switch, and agreement figures."""

from __future__ import annotations

import os
import time
from pathlib import Path

#: Environment that keeps PyTorch (ATen), oneDNN, MKL and FBGEMM on AVX2 kernels.
AVX2_ENV = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
            "FBGEMM_ENABLE_INSTRUCTIONS": "AVX2"}


def restrict_isa(isa: str | None) -> str:
    """Set the kernel-selection variables for ``isa`` (``"avx2"``); call before importing torch."""
    if isa and isa.lower() == "avx2":
        os.environ.update(AVX2_ENV)
        return "AVX2 kernels only (" + ", ".join(f"{k}={v}" for k, v in AVX2_ENV.items()) + ")"
    return "native kernels"


def build_model(tokenizer_dir: Path, device: str, *, layers: int = 28, dtype=None, attn: str = "sdpa"):
    """The Qwen3-Reranker-0.6B architecture (``layers`` of its 28) with random weights, seed 0."""
    import torch
    from transformers import AutoTokenizer, Qwen3Config, Qwen3ForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir, local_files_only=True)
    config = Qwen3Config(
        vocab_size=151936, hidden_size=1024, intermediate_size=3072, num_hidden_layers=layers,
        num_attention_heads=16, num_key_value_heads=8, head_dim=128, max_position_embeddings=40960,
        tie_word_embeddings=True, rope_theta=1_000_000.0, rms_norm_eps=1e-6,
        bos_token_id=151643, eos_token_id=151645, pad_token_id=151643,
    )
    config._attn_implementation = attn
    torch.manual_seed(0)
    model = Qwen3ForCausalLM(config).eval()
    return model.to(device=device, dtype=dtype or torch.float32), tokenizer


def seq_cls_folder(model, tokenizer, out: Path) -> Path:
    """Save the sequence-classification conversion of ``model`` to ``out``.

    ``Qwen3ForSequenceClassification`` with one label whose weight row is
    ``lm_head["yes"] - lm_head["no"]`` (what vLLM's ``is_original_qwen3_reranker``
    and the sentence-transformers ``*-seq-cls`` conversions compute), so its
    sigmoid is the causal model's P(yes).
    """
    import torch
    from transformers import Qwen3ForSequenceClassification

    config = model.config.__class__.from_dict(model.config.to_dict())
    config.num_labels = 1
    config.architectures = ["Qwen3ForSequenceClassification"]
    config.sentence_transformers = {"activation_fn": "torch.nn.modules.activation.Sigmoid"}
    seq = Qwen3ForSequenceClassification(config).eval()
    seq.model.load_state_dict(model.model.state_dict())
    yes = tokenizer.convert_tokens_to_ids("yes")
    no = tokenizer.convert_tokens_to_ids("no")
    w = model.get_output_embeddings().weight.detach().float()
    with torch.no_grad():
        seq.score.weight.copy_((w[yes] - w[no]).unsqueeze(0))
    seq.save_pretrained(out)
    # no chat template: sentence-transformers then tokenises (query, document) as a plain text pair,
    # the way the seq-cls model cards format the prompt (see st_peer)
    template, tokenizer.chat_template = tokenizer.chat_template, None
    try:
        tokenizer.save_pretrained(out)
    finally:
        tokenizer.chat_template = template
    (out / "chat_template.jinja").unlink(missing_ok=True)
    return out


def st_peer(folder: Path, device: str):
    """``(predict(query, posts) -> float32 scores, why_not)``: sentence-transformers'
    CrossEncoder on the seq-cls folder, or ``(None, reason)`` when it is not installed."""
    try:
        from sentence_transformers import CrossEncoder
    except ImportError as exc:
        return None, f"sentence-transformers is not importable here ({exc})"
    import numpy as np

    from core.rerank.modes import DEFAULT_INSTRUCTION
    from core.rerank.template import PREFIX, SUFFIX

    ce = CrossEncoder(str(folder), device=device, local_files_only=True)
    ce.tokenizer.padding_side = "left"  # its pad-token lookup takes the last non-pad token either way

    def predict(query: str, posts: list[str]) -> np.ndarray:
        # the converted model card's recipe: the template split into a (query, document) pair
        q = f"{PREFIX}<Instruct>: {DEFAULT_INSTRUCTION}\n<Query>: {query}\n"
        pairs = [(q, f"<Document>: {p}{SUFFIX}") for p in posts]
        return np.asarray(ce.predict(pairs, batch_size=8, show_progress_bar=False), dtype=np.float32)

    return predict, None


def agreement(a, b) -> tuple[float, float]:
    """``(largest |a - b|, Kendall's tau-b)`` of two score arrays (NaN ignored)."""
    import numpy as np
    from scipy.stats import kendalltau

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    ok = ~(np.isnan(a) | np.isnan(b))
    return float(np.max(np.abs(a[ok] - b[ok]))), float(kendalltau(a[ok], b[ok]).statistic)


def timed(fn, repeat: int, *, sync=None):
    """(best wall seconds, CPU seconds of that run, result) over ``repeat`` runs."""
    best, cpu, out = float("inf"), float("inf"), None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        if sync:
            sync()
        wall = time.perf_counter() - t0
        if wall < best:
            best, cpu = wall, time.process_time() - c0
    return best, cpu, out

"""The `gpu` tier: Qwen3 scorer parity on CUDA (skipped without a CUDA device).

On the tiny random model with the real tokenizer: Sieve's bf16 path on CUDA (SDPA,
prefix KV reuse, token-budget batches) against the model card's plain recipe on the
same bf16 model, and against Sieve fp32 on the CPU; and Sieve fp32 on CUDA against
fp32 on the CPU. Bounds: 1e-4 for fp32 (seen on CPU: 5e-7), 2e-2 for bf16 (the
bench's bound; seen on CPU: 1.2e-2 on the 0.6B architecture).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_rerank_qwen3 import DOCS, QUERY

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device (gpu tier)")]


def test_cuda_bf16_and_fp32_match_the_plain_recipe_and_the_cpu(tiny_qwen3_dir):
    from core.rerank.qwen3 import Qwen3Reranker, reference_scores

    cpu = Qwen3Reranker(str(tiny_qwen3_dir), device="cpu", dtype="float32").predict(QUERY, DOCS)
    fp32 = Qwen3Reranker(str(tiny_qwen3_dir), device="cuda", dtype="float32")
    np.testing.assert_allclose(fp32.predict(QUERY, DOCS).scores, cpu.scores, atol=1e-4)
    bf16 = Qwen3Reranker(str(tiny_qwen3_dir), device="cuda")  # automatic on CUDA: bf16
    assert bf16.info.dtype == "bfloat16" and bf16.info.device.startswith("cuda")
    got = bf16.predict(QUERY, DOCS).scores
    plain, _ = reference_scores(bf16.model, bf16.tokenizer, QUERY, DOCS)
    np.testing.assert_allclose(got, plain, atol=2e-2)
    np.testing.assert_allclose(got, cpu.scores, atol=2e-2)


def test_int8_is_refused_on_cuda(tiny_qwen3_dir):
    from core.errors import SieveError
    from core.rerank.qwen3 import Qwen3Reranker

    with pytest.raises(SieveError, match="CPU only"):
        Qwen3Reranker(str(tiny_qwen3_dir), device="cuda", dtype="int8")

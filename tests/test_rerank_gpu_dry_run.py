"""The GPU bench's code path, checked without a GPU: ``bench/rerank_speed.py --device cuda
--dry-run`` runs it on the CPU (2 layers, batches sized for an H200) -- bf16 Sieve, the plain
recipe in bf16 and the fp32 yardstick in one run -- so the one short run on a lent GPU does not
fail on a code error. Slow (builds the 0.6B architecture's 150k-token embedding)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_cuda_bench_path_runs_end_to_end_on_the_cpu(capsys, qwen3_tokenizer_dir):
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import rerank_speed
    finally:
        sys.path.remove(str(ROOT / "bench"))
    if not (rerank_speed.TOKENIZER / "tokenizer.json.gz").is_file():
        pytest.skip("the real Qwen3 tokenizer fixture is absent")
    assert rerank_speed.main(["--device", "cuda", "--dry-run", "--no-st", "--posts", "8", "--agree", "8"]) == 0
    out = capsys.readouterr().out
    assert "DRY RUN finished" in out and "batch_tokens 131072" in out
    rows = {line.split("  ")[0] for line in out.splitlines()}
    assert {"plain recipe bf16 (batches of 8, full logits)", "Sieve fp32", "Sieve bf16"} <= rows

"""Shared fixtures: paths to the workplace's shared data, and a tiny random Qwen3.

``../shared/`` (real data and the real Qwen3 tokenizer) exists only in this
workplace; tests that need it skip with a reason when it is absent.
"""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SIEVE_SHARED_DIR", REPO_ROOT.parent / "shared"))
REAL_DATA = SHARED / "real_data"
FIXTURES = SHARED / "fixtures"
TEST_DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(autouse=True)
def _isolated_sieve_dirs(tmp_path_factory, monkeypatch):
    """Keep every test's label store and caches out of the user's folders."""
    base = tmp_path_factory.mktemp("sieve-home")
    monkeypatch.setenv("SIEVE_DATA_DIR", str(base / "data"))
    monkeypatch.setenv("SIEVE_CACHE_DIR", str(base / "cache"))


@pytest.fixture(scope="session")
def real_data() -> Path:
    """``../shared/real_data``; skips the test when it is absent."""
    if not REAL_DATA.is_dir():
        pytest.skip(f"real data folder {REAL_DATA} is absent (it exists only in the Sieve workplace)")
    return REAL_DATA


@pytest.fixture(scope="session")
def qwen3_tokenizer_dir(tmp_path_factory) -> Path:
    """A folder holding the real Qwen3 tokenizer (``tokenizer.json`` + config).

    Skips when ``../shared/fixtures/qwen3_tokenizer`` is absent.
    """
    src = FIXTURES / "qwen3_tokenizer"
    if not (src / "tokenizer.json.gz").is_file():
        pytest.skip(f"the real Qwen3 tokenizer fixture {src} is absent")
    out = tmp_path_factory.mktemp("qwen3-tokenizer")
    with gzip.open(src / "tokenizer.json.gz", "rb") as fin, open(out / "tokenizer.json", "wb") as fout:
        shutil.copyfileobj(fin, fout)
    shutil.copy(src / "tokenizer_config.json", out / "tokenizer_config.json")
    return out


def build_tiny_qwen3(out: Path, tokenizer_dir: Path, *, seed: int = 0) -> Path:
    """Save a tiny randomly initialised ``Qwen3ForCausalLM`` beside a copy of the
    tokenizer in ``out`` (hidden 64, 2 layers, 4 heads, 2 KV heads, tied
    embeddings). Its scores are meaningless but deterministic."""
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(seed)
    config = Qwen3Config(
        vocab_size=151936,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        max_position_embeddings=40960,
        tie_word_embeddings=True,
        rope_theta=1_000_000.0,
        bos_token_id=151643,
        eos_token_id=151645,
        pad_token_id=151643,
    )
    model = Qwen3ForCausalLM(config).eval()
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tokenizer_dir / name, out / name)
    return out


@pytest.fixture(scope="session")
def tiny_qwen3_dir(tmp_path_factory, qwen3_tokenizer_dir) -> Path:
    """A local folder with a tiny random Qwen3 causal LM and the real tokenizer,
    loadable with ``AutoModelForCausalLM.from_pretrained`` / ``AutoModel``."""
    return build_tiny_qwen3(tmp_path_factory.mktemp("tiny-qwen3"), qwen3_tokenizer_dir)

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
# An explicit model download (core.models) runs in a child process without HF_HUB_OFFLINE:
# point every hub request of the test run at a closed loopback port unless a test serves one.
os.environ.setdefault("HF_ENDPOINT", "http://127.0.0.1:9")

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


#: Words the self-built test tokenizer knows (besides the template's own); others become [UNK].
SELFMADE_WORDS = (
    "typhoon storm flood rain wind damage dead injured missing rescue relief donate help volunteer "
    "city coast road bridge power school hospital airport people family news report official police "
    "government Manila Tacloban Leyte Shanghai Boston marathon bombing fire earthquake lunch coffee "
    "cat dog music game love happy sad angry fear pray sorry great nice today tomorrow night morning "
    "the a an of in on at to for from with and or not is are was were be has have had will can "
    "this that these those it its they we you he she my our your their 1 2 3 4 5 10 100 1000 "
    "post tweet RT http https t co www com via update breaking photo video live"
).split()


def build_selfmade_qwen3(out: Path, *, seed: int = 0) -> Path:
    """Save a tiny random ``Qwen3ForCausalLM`` with a self-built word-level tokenizer
    (``tokenizers`` WordLevel + Whitespace pre-tokenizer; special tokens
    ``<|endoftext|>`` pad, ``<|im_start|>``, ``<|im_end|>`` eos, ``<think>``,
    ``</think>``; ``yes``/``no`` single tokens) in ``out``. Needs nothing from
    ``../shared``, so Qwen3 code paths are tested everywhere. Weights use
    ``initializer_range=0.2`` so random scores spread away from 0.5."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3ForCausalLM

    from core.rerank.modes import DEFAULT_MODES
    from core.rerank.template import TEMPLATE_TEXT

    pre = pre_tokenizers.Whitespace()
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]
    seen: dict[str, int] = {"[UNK]": 0}
    texts = [TEMPLATE_TEXT, " ".join(SELFMADE_WORDS)] + [m.instruction for m in DEFAULT_MODES]
    for text in texts:
        for s in specials:
            text = text.replace(s, " ")
        for piece, _ in pre.pre_tokenize_str(text):
            seen.setdefault(piece, len(seen))
    vocab = {w: i for i, w in enumerate(seen)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre
    tok.add_special_tokens(specials)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="<|endoftext|>",
                                   eos_token="<|im_end|>")
    torch.manual_seed(seed)
    config = Qwen3Config(
        vocab_size=len(fast), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, head_dim=8, max_position_embeddings=40960,
        tie_word_embeddings=True, rope_theta=1_000_000.0, initializer_range=0.2,
        pad_token_id=fast.pad_token_id, eos_token_id=fast.eos_token_id, bos_token_id=fast.pad_token_id,
    )
    model = Qwen3ForCausalLM(config).eval()
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    fast.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def selfmade_qwen3_dir(tmp_path_factory) -> Path:
    """A local folder with a tiny random Qwen3 causal LM and a self-built word-level
    tokenizer (no ``../shared`` needed); see :func:`build_selfmade_qwen3`."""
    return build_selfmade_qwen3(tmp_path_factory.mktemp("selfmade-qwen3"))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A running Sieve server (embedded scorer, temporary home) on a free port; yields its URL.

    Skips when Chromium or playwright is absent (see ``tests/_browserkit.py``)."""
    from tests._browserkit import HOMES, require_browser, sieve_server

    require_browser()
    home = tmp_path_factory.mktemp("sieve-browser")
    with sieve_server(home) as url:
        HOMES[url] = home
        yield url


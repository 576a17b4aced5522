"""The Settings page's "Get a model" panel (AppTest), against the local hub look-alike
(``tests/_hub_server.py``) or a closed loopback port. The download writes to a
temporary Hugging Face cache; nothing reaches the internet."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys

import pytest

from tests._hub_server import FakeHub
from tests.conftest import REPO_ROOT, build_selfmade_qwen3
from tests.test_dashboard import button, fakes, ok, sample, start  # noqa: F401 - fixtures

QWEN = "Qwen/Qwen3-Reranker-0.6B"


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """A temporary hub cache for this process (the one the loaders and the panel use)."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    return tmp_path / "hub"


def _plain(elements) -> str:
    """The elements' texts joined, Markdown escapes removed (the page escapes every value)."""
    return re.sub(r"\\(.)", r"\1", " ".join(e.value for e in elements))


def _check_size(at):
    at.selectbox(key="download.model").set_value(QWEN)
    button(at, "Check size").click().run()
    return at


def test_an_unreachable_hub_is_explained_without_a_traceback(sample, hub_cache, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    at = _check_size(start("settings.py"))
    assert not at.exception
    errors, hints = _plain(at.error), _plain(at.info)
    assert f"Cannot reach the model hub at http://127.0.0.1:{port}" in errors
    assert "Traceback" not in errors + hints and "bug report" not in errors
    assert f"hf download {QWEN}" in hints and str(hub_cache) in hints
    assert "HF_HUB_OFFLINE=1" in _plain(at.caption)
    assert not [b for b in at.button if b.label.startswith("Download")]  # no size, no Download button


def test_size_first_then_download_then_the_model_is_in_the_cache(sample, hub_cache, tmp_path, monkeypatch):
    folder = build_selfmade_qwen3(tmp_path / "tiny")
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    with FakeHub() as hub:
        hub.add_repo(QWEN, folder)  # the tiny model, served under the real id
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        at = _check_size(start("settings.py"))
        ok(at)
        from core.models.download import format_bytes

        shown = _plain(at.markdown)
        assert f"**{format_bytes(total)}**" in shown and "0 B already here" in shown
        assert not any(p.startswith("/cdn/") or "/resolve/" in p for _, p, _ in hub.requests)
        button(at, f"Download {format_bytes(total)}").click().run()
        ok(at)
    assert QWEN in _plain(at.success) and "is in the cache" in _plain(at.success)
    assert "in the cache" in at.selectbox(key="download.model").format_func(QWEN)
    from core.models import cached_model_path

    assert cached_model_path(QWEN, cache_dir=hub_cache) is not None
    assert "automatic reranker uses it" in _plain(at.success)
    # and the automatic choice now loads it, offline, in a fresh process reading this HF_HOME
    code = ("from core.rerank import load_scorer\n"
            "i = load_scorer('auto', device='cpu').info\n"
            "print(i.kind, i.model_id)\n")
    env = {**os.environ, "HF_HOME": str(hub_cache.parent), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "PYTHONPATH": str(REPO_ROOT)}
    env.pop("HF_HUB_CACHE", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600,
                         cwd=REPO_ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["qwen3", QWEN]

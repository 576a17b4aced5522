"""Downloading a model on request (core.models.download) against a local hub look-alike.

The real huggingface_hub talks HTTP to ``tests/_hub_server.py`` on 127.0.0.1 (its
endpoint given as ``HF_ENDPOINT``), which serves a tiny random Qwen3 reranker the
way the hub serves a repository. Nothing here reaches the internet: the process
keeps ``HF_HUB_OFFLINE=1``, and the download's child process only ever talks to
loopback addresses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import Cancelled, ModelUnavailableError
from core.models import (
    DOWNLOADABLE,
    HubUnreachableError,
    cached_model_path,
    download_model,
    download_size,
    list_model_files,
    resolve_repo_id,
)
from core.models.download import format_bytes
from tests._hub_server import FakeHub
from tests.conftest import REPO_ROOT, build_selfmade_qwen3

RERANKER = "sieve-test/Qwen3-Reranker-tiny"
EMBEDDER = "sieve-test/Qwen3-Embedding-tiny"


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory) -> Path:
    return build_selfmade_qwen3(tmp_path_factory.mktemp("tiny-reranker"))


@pytest.fixture
def hub(tiny_folder, monkeypatch):
    with FakeHub() as server:
        server.add_repo(RERANKER, tiny_folder)
        monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
        yield server


@pytest.fixture
def hf_home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    return tmp_path / "hf"


def _folder_sizes(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


def test_size_is_known_before_downloading_and_equals_the_files(hub, hf_home, tiny_folder):
    files = list_model_files(RERANKER, cache_dir=hf_home / "hub")
    sizes = _folder_sizes(tiny_folder)
    assert {f.name: f.size for f in files.files} == sizes
    assert files.total_bytes == sum(sizes.values())
    assert files.cached_bytes == 0 and files.missing_bytes == files.total_bytes
    assert files.commit == hub.repos[RERANKER][0]
    assert not (hf_home / "hub").exists()  # nothing downloaded by asking the size
    assert not any(method == "GET" and "/resolve/" in path or path.startswith("/cdn/")
                   for method, path, _ in hub.requests)


def test_download_size_reads_hf_endpoint_and_the_model_info(hub, tiny_folder):
    assert download_size(RERANKER) == sum(_folder_sizes(tiny_folder).values())


def test_cancel_keeps_the_partial_file_and_the_next_call_resumes_then_loads_offline(hub, hf_home,
                                                                                     tiny_folder):
    cache = hf_home / "hub"
    weights = "model.safetensors"
    size = (tiny_folder / weights).stat().st_size
    offset = size // 2
    stall = hub.stall(RERANKER, weights, offset)
    seen: list[tuple[int, int]] = []
    before = sum(s for n, s in _folder_sizes(tiny_folder).items() if n < weights)  # files go in name order

    with pytest.raises(Cancelled) as info:
        download_model(RERANKER, cache_dir=cache, progress=lambda d, t: seen.append((d, t)),
                       should_cancel=lambda: stall.reached.is_set() and seen[-1][0] >= before + offset)
    stall.release.set()
    assert "download again to resume" in str(info.value)
    etag = hub.etag(RERANKER, weights)
    storage = cache / f"models--{RERANKER.replace('/', '--')}"
    partial = storage / "blobs" / f"{etag}.incomplete"
    assert partial.stat().st_size == offset  # what was received is kept, nothing more
    assert not (storage / "blobs" / etag).exists()
    assert cached_model_path(RERANKER, cache_dir=cache) is None
    total = sum(_folder_sizes(tiny_folder).values())
    assert list_model_files(RERANKER, cache_dir=cache).cached_bytes == before + offset

    served_before = dict(hub.served)
    seen.clear()
    path = download_model(RERANKER, cache_dir=cache, progress=lambda d, t: seen.append((d, t)))
    cdn = f"/cdn/{etag}"
    assert ("GET", cdn, f"bytes={offset}-") in hub.requests  # resumed with a Range request
    assert hub.served[cdn] - served_before.get(cdn, 0) == size - offset
    assert seen[0][0] >= before + offset and seen[-1] == (total, total)
    assert all(b[0] >= a[0] for a, b in zip(seen, seen[1:]))
    assert path == storage / "snapshots" / hub.repos[RERANKER][0]
    assert _folder_sizes(path) == _folder_sizes(tiny_folder)
    assert (storage / "refs" / "main").read_text() == hub.repos[RERANKER][0]
    assert cached_model_path(RERANKER, cache_dir=cache) == path
    assert not partial.exists()

    # The existing loader finds it offline, by id, in a fresh process reading HF_HOME.
    code = (
        "import json\n"
        "from core.rerank import load_scorer\n"
        f"docs = ['typhoon relief in Tacloban', 'lunch with my cat', 'flood rescue news']\n"
        f"a = load_scorer({RERANKER!r}, device='cpu').predict('typhoon damage', docs)\n"
        f"b = load_scorer({str(tiny_folder)!r}, device='cpu').predict('typhoon damage', docs)\n"
        "print(json.dumps([a.scores.tolist(), b.scores.tolist()]))\n"
    )
    env = {**os.environ, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "PYTHONPATH": str(REPO_ROOT)}
    env.pop("HF_HUB_CACHE", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600,
                         cwd=REPO_ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    from_cache, from_folder = json.loads(out.stdout.strip().splitlines()[-1])
    assert from_cache == from_folder and len(from_cache) == 3


def test_a_second_download_transfers_nothing(hub, hf_home):
    cache = hf_home / "hub"
    download_model(RERANKER, cache_dir=cache)
    n_requests = len(hub.requests)
    files = list_model_files(RERANKER, cache_dir=cache)
    assert files.missing_bytes == 0
    seen = []
    download_model(RERANKER, cache_dir=cache, progress=lambda d, t: seen.append((d, t)))
    later = hub.requests[n_requests:]
    assert not any(m == "GET" and (p.startswith("/cdn/") or "/resolve/" in p) for m, p, _ in later)
    assert seen[-1] == (files.total_bytes, files.total_bytes)


def test_a_broken_connection_keeps_what_arrived_and_the_next_call_resumes(hub, hf_home, tiny_folder):
    cache = hf_home / "hub"
    weights = "model.safetensors"
    size = (tiny_folder / weights).stat().st_size
    hub.stall(RERANKER, weights, size // 3, drop=True)
    with pytest.raises(ModelUnavailableError, match="connection to the hub broke while downloading "
                                                    "model.safetensors.*download again to resume"):
        download_model(RERANKER, cache_dir=cache)
    etag = hub.etag(RERANKER, weights)
    partial = cache / f"models--{RERANKER.replace('/', '--')}" / "blobs" / f"{etag}.incomplete"
    assert partial.stat().st_size == size // 3
    path = download_model(RERANKER, cache_dir=cache)
    assert ("GET", f"/cdn/{etag}", f"bytes={size // 3}-") in hub.requests
    assert (path / weights).read_bytes() == (tiny_folder / weights).read_bytes()


def test_a_partial_file_that_is_not_a_prefix_is_caught_by_the_checksum(hub, hf_home, tiny_folder):
    cache = hf_home / "hub"
    weights = "model.safetensors"
    etag = hub.etag(RERANKER, weights)
    partial = cache / f"models--{RERANKER.replace('/', '--')}" / "blobs" / f"{etag}.incomplete"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"\0" * 100)  # e.g. left by a different file under the same name
    with pytest.raises(ModelUnavailableError, match="model.safetensors does not match its checksum"):
        download_model(RERANKER, cache_dir=cache)
    assert not partial.exists()
    assert cached_model_path(RERANKER, cache_dir=cache) is None
    path = download_model(RERANKER, cache_dir=cache)
    assert (path / weights).read_bytes() == (tiny_folder / weights).read_bytes()


def test_the_embedder_loads_offline_after_its_download(hub, hf_home, tiny_folder):
    hub.add_repo(EMBEDDER, tiny_folder)
    download_model(EMBEDDER, cache_dir=hf_home / "hub")
    code = ("from core.embed import load_embedder\n"
            f"e = load_embedder({EMBEDDER!r}, device='cpu').embed(['typhoon relief', 'lunch'])\n"
            "print(e.shape)\n")
    env = {**os.environ, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "PYTHONPATH": str(REPO_ROOT)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600,
                         cwd=REPO_ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1].startswith("(2, ")


def test_an_unknown_model_says_so(hub, hf_home):
    with pytest.raises(ModelUnavailableError, match="has no model 'sieve-test/nope'"):
        list_model_files("sieve-test/nope", cache_dir=hf_home / "hub")


def test_an_unreachable_hub_gives_a_message_saying_what_to_do(hf_home, monkeypatch):
    import socket

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    for call in (lambda: list_model_files("0.6B", cache_dir=hf_home / "hub"),
                 lambda: download_model("0.6B", cache_dir=hf_home / "hub")):
        with pytest.raises(HubUnreachableError) as info:
            call()
        text = str(info.value)
        assert f"Cannot reach the model hub at http://127.0.0.1:{port}" in text
        assert "hf download Qwen/Qwen3-Reranker-0.6B" in text and "HF_HOME" in text
        assert "Traceback" not in text
    assert not (hf_home / "hub" / "models--Qwen--Qwen3-Reranker-0.6B" / "snapshots").exists()


def test_downloads_can_be_turned_off(hub, hf_home, monkeypatch):
    monkeypatch.setenv("SIEVE_ALLOW_DOWNLOAD", "0")
    with pytest.raises(ModelUnavailableError, match="SIEVE_ALLOW_DOWNLOAD=0"):
        download_model(RERANKER, cache_dir=hf_home / "hub")
    assert hub.requests == []


def test_the_command_line_downloads_with_progress(hub, hf_home):
    env = {**os.environ, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO_ROOT)}
    out = subprocess.run([sys.executable, "-m", "core", "download", RERANKER, "--size-only"], env=env,
                         capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    assert out.returncode == 0, out.stderr
    assert "kB" in out.stdout and not (hf_home / "hub").exists()
    out = subprocess.run([sys.executable, "-m", "core", "download", RERANKER], env=env,
                         capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    assert out.returncode == 0, out.stderr
    assert str(hf_home / "hub") in out.stdout
    assert cached_model_path(RERANKER, cache_dir=hf_home / "hub") is not None


def test_short_names_and_sizes_for_people():
    assert resolve_repo_id("0.6B") == "Qwen/Qwen3-Reranker-0.6B"
    assert resolve_repo_id("embedding-4B") == "Qwen/Qwen3-Embedding-4B"
    assert resolve_repo_id(" org/name ") == "org/name"
    assert set(DOWNLOADABLE) >= {"Qwen/Qwen3-Reranker-8B", "Qwen/Qwen3-Embedding-0.6B"}
    with pytest.raises(ModelUnavailableError, match="Give 0.6B, 4B or 8B"):
        resolve_repo_id("0.5B")
    assert [format_bytes(n) for n in (0, 999, 1000, 1_191_000_000, 999_999)] == [
        "0 B", "999 B", "1.00 kB", "1.19 GB", "1.00 MB"]


def test_an_invalid_model_id_is_refused_readably(hub, hf_home):
    with pytest.raises(ModelUnavailableError, match="failed"):
        list_model_files("sieve-test/bad name!", cache_dir=hf_home / "hub")

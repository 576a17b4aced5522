"""The dataset store's disk use: least recently used folders go beyond the cap, never one in use."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from core.store import holders, usage
from core.store.vectors import open_post_vectors, release_post_vectors
from tests.test_dashboard import FakeEmbedder, fakes, sample  # noqa: F401 (fixtures)

HOUR = 3600.0


def _folder(root: Path, name: str, size: int, age_s: float) -> Path:
    """A store folder holding ``size`` bytes of data, last used ``age_s`` seconds ago."""
    path = root / name
    path.mkdir(parents=True)
    (path / "data.bin").write_bytes(os.urandom(size))
    when = time.time() - age_s
    os.utime(path, (when, when))
    return path


def test_prune_removes_the_least_recently_used_until_the_store_fits(tmp_path):
    old = _folder(tmp_path, "bm25-aaaa", 64_000, 5 * HOUR)
    older = _folder(tmp_path, "dense-bbbb-m", 64_000, 9 * HOUR)
    new = _folder(tmp_path, "cccc", 64_000, 2 * HOUR)
    sizes = {f.path.name: f.bytes for f in usage.stored_folders(tmp_path)}
    assert all(s >= 64_000 for s in sizes.values()), sizes

    removed = usage.prune(tmp_path, max_bytes=sizes["cccc"] + sizes["bm25-aaaa"], keep=())
    assert [f.path for f in removed] == [older]
    assert not older.exists() and old.exists() and new.exists()
    assert [f.kind for f in usage.stored_folders(tmp_path)] == ["BM25 index", "post table"]


def test_a_folder_that_could_not_be_removed_is_not_reported_removed(tmp_path, monkeypatch):
    """Finding (breaker): on a read-only disk prune listed a folder as removed (``remove`` logs and
    goes on) and counted its bytes as freed, so the next folder it should have removed stayed."""
    stuck = _folder(tmp_path, "bm25-aaaa", 64_000, 9 * HOUR)
    older = _folder(tmp_path, "cccc", 64_000, 5 * HOUR)
    real = usage.remove
    monkeypatch.setattr(usage, "remove", lambda path, why: None if path == stuck else real(path, why))
    one = max(f.bytes for f in usage.stored_folders(tmp_path))
    removed = usage.prune(tmp_path, max_bytes=one, keep=())
    assert [f.path for f in removed] == [older] and stuck.exists() and not older.exists()


def test_prune_keeps_folders_in_use_and_recently_used_even_over_the_cap(tmp_path):
    kept = _folder(tmp_path, "bm25-kept", 32_000, 9 * HOUR)
    recent = _folder(tmp_path, "dense-recent-m", 32_000, 60)
    idle = _folder(tmp_path, "idle", 32_000, 3 * HOUR)
    (tmp_path / ".tmp-dense-writer-1-abcd").mkdir()  # a writer at work: not a folder of the store

    removed = usage.prune(tmp_path, max_bytes=0, keep=[kept])
    assert [f.path for f in removed] == [idle]
    assert kept.exists() and recent.exists() and (tmp_path / ".tmp-dense-writer-1-abcd").exists()
    assert usage.prune(tmp_path, max_bytes=0, keep=[kept]) == []  # over the cap, nothing more may go


def test_a_sparse_vectors_file_counts_only_the_rows_written(tmp_path):
    folder = tmp_path / "dense-sparse-m"
    folder.mkdir()
    vecs = np.lib.format.open_memmap(folder / "vectors.npy", mode="w+", dtype=np.float32, shape=(200_000, 512))
    vecs[:1000] = 1.0
    vecs.flush()
    del vecs
    taken = usage.disk_bytes(folder)
    assert 1000 * 512 * 4 <= taken < 20_000_000, taken  # the file's length is 410 MB


def test_a_new_vector_store_prunes_an_idle_one_but_never_an_open_one(tmp_path, monkeypatch):
    emb = FakeEmbedder()
    first = open_post_vectors(emb, [f"post {i}" for i in range(3000)], root=tmp_path)
    first.embed_rows(emb, first.missing(), [f"post {i}" for i in range(3000)])
    when = time.time() - 5 * HOUR
    os.utime(first.folder, (when, when))
    monkeypatch.setenv("SIEVE_STORE_MAX_GB", "0.0001")  # 100 kB: one store at a time

    second = open_post_vectors(emb, [f"other {i}" for i in range(3000)], root=tmp_path)
    assert first.folder.exists(), "the first store is open in this process: it stays"
    assert second.folder.exists()

    release_post_vectors()  # both closed, as when their dataset is replaced
    os.utime(second.folder, (when + 1, when + 1))  # used after the first
    third = open_post_vectors(emb, [f"third {i}" for i in range(3000)], root=tmp_path)
    # the first (least recently used, 768 kB of vectors written) went; the second (nothing written)
    # stayed: the store fitted its cap once the first was gone
    assert not first.folder.exists() and second.folder.exists() and third.folder.exists()
    again = open_post_vectors(emb, [f"post {i}" for i in range(3000)], root=tmp_path)
    assert again.done_count == 0  # removed: its vectors are embedded again when needed, nothing breaks
    release_post_vectors()


def test_a_bad_cap_in_the_environment_is_a_clear_error(monkeypatch):
    from core.errors import SieveError

    for bad in ("twenty", "0", "-5", "nan", "inf"):
        monkeypatch.setenv("SIEVE_STORE_MAX_GB", bad)
        with pytest.raises(SieveError, match="SIEVE_STORE_MAX_GB must be a positive number"):
            usage.max_bytes_setting()
    monkeypatch.setenv("SIEVE_STORE_MAX_GB", "0.5")
    assert usage.max_bytes_setting() == 500_000_000


def test_the_settings_page_lists_the_store_and_removes_only_what_is_not_open(sample):  # noqa: F811
    from core.store.folder import store_root
    from tests.test_dashboard import button, ok, start

    root = store_root()
    idle = _folder(root, "bm25-0123456789abcdef", 32_000, 2 * HOUR)
    recent = _folder(root, "fedcba9876543210fedcba98", 32_000, 60)  # a post table used a minute ago
    emb = FakeEmbedder()
    texts = [f"post {i}" for i in range(500)]
    open_store = open_post_vectors(emb, texts, root=root)  # open in this (the server's) process
    try:
        at = start("settings.py")
        ok(at)
        assert any("3 folders" in c.value and "SIEVE_STORE_MAX_GB" in c.value for c in at.caption)
        table = at.dataframe[-1].value
        assert set(table["kind"]) == {"BM25 index", "post vectors", "post table"}
        assert dict(zip(table["folder"], table["in_use"])) == {
            idle.name: False, recent.name: True, open_store.folder.name: True}
        when = time.time() - 2 * HOUR
        os.utime(open_store.folder, (when, when))  # open, though not touched for two hours

        button(at, "Remove the stored datasets not in use").click().run()
        ok(at)
        assert any("Removed 1 folder (" in s.value for s in at.success)
        assert not idle.exists() and recent.exists() and open_store.folder.exists()
        assert set(at.dataframe[-1].value["folder"]) == {recent.name, open_store.folder.name}
    finally:
        release_post_vectors()


def test_a_bm25_index_in_memory_keeps_its_folder_until_released():
    from core.candidates.bm25 import cached_index, release_indexes
    from core.store.folder import PERSIST_MIN, store_root, texts_key

    texts = [f"post number {i} about topic {i % 97}" for i in range(PERSIST_MIN)]
    cached_index(texts)
    folder = store_root() / f"bm25-{texts_key(texts)}"
    assert folder.is_dir() and folder.resolve() in usage.open_here()
    assert holders.held(folder)  # other processes see it held too (it memory-maps the folder)
    assert usage.prune(max_bytes=0, min_idle_s=0) == [] and folder.is_dir()
    release_indexes()
    assert not holders.held(folder)
    assert [f.path for f in usage.prune(max_bytes=0, min_idle_s=0)] == [folder]

"""A store folder another process holds open is never pruned, however long it sat idle; a dead
holder (an exit, a SIGKILL) holds nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.store import holders, usage
from core.store.folder import remove, store_root
from core.store.vectors import open_post_vectors, release_post_vectors

REPO = Path(__file__).resolve().parent.parent
HOUR = 3600.0

#: A second Sieve process: opens a vector store through Sieve's own API, says where, waits on stdin.
CHILD = """
import sys
from core.store.vectors import open_post_vectors

class Embedder:
    model_id, dim = "fake-embedder", 8

store = open_post_vectors(Embedder(), [f"post {i}" for i in range(50)], root=sys.argv[1])
print(store.folder, flush=True)
sys.stdin.read()
"""


class _Embedder:
    model_id, dim = "fake-embedder", 8


def _age(folder: Path, seconds: float) -> None:
    when = time.time() - seconds
    os.utime(folder, (when, when))


@pytest.fixture
def child():
    """Start a second process holding a vector store under the default store root; yields
    ``(process, folder)``. The process is ended (or reaped) afterwards."""
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(store_root())], cwd=REPO, env=os.environ.copy(),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()
        assert line, f"the child process exited with {proc.wait()}"
        yield proc, Path(line)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


@pytest.mark.parametrize("end", ["exit", "sigkill"])
def test_prune_keeps_a_folder_another_process_holds_until_it_ends(child, end):
    from dashboard import storage

    proc, folder = child
    other = store_root() / "0123456789abcdef01234567"  # an idle post table nobody holds
    other.mkdir()
    (other / "posts.parquet").write_bytes(os.urandom(20_000))
    for f in (folder, other):
        _age(f, 3 * HOUR)  # idle for hours, as a dataset left open over an afternoon

    assert holders.held(folder) and folder.resolve() not in usage.open_here()
    table = storage.folders()
    assert dict(zip(table["folder"], table["in_use"])) == {folder.name: True, other.name: False}
    removed, _ = storage.remove_unused()  # the admin's button: only the idle post table goes
    assert removed == 1 and folder.is_dir() and not other.exists()
    assert usage.prune(max_bytes=0) == [] and folder.is_dir()  # the cap's pruning keeps it too

    if end == "exit":
        proc.stdin.close()  # the other process closes and exits
    else:
        proc.send_signal(signal.SIGKILL)  # no chance to clean up: its lock file stays, unheld
    proc.wait(timeout=30)
    assert not holders.held(folder)
    assert dict(zip(storage.folders()["folder"], storage.folders()["in_use"])) == {folder.name: False}
    assert [f.path for f in usage.prune(max_bytes=0)] == [folder] and not folder.exists()
    assert not holders.lock_path(folder).exists()  # the lock file went with its folder
    assert [f.path.name for f in usage.stored_folders()] == []  # .holders is not a store folder


def test_a_lock_file_does_not_change_the_folder_or_its_reopening(child):
    proc, folder = child
    files = sorted(p.name for p in folder.iterdir())
    assert files == ["done.npy", "inverse.npy", "meta.json", "vectors.npy"]  # nothing added inside
    size = usage.disk_bytes(folder)
    store = open_post_vectors(_Embedder(), [f"post {i}" for i in range(50)], root=store_root())
    try:  # held by both processes now; this one's hold ends when its store closes
        assert store.folder == folder and store.hold.held and usage.disk_bytes(folder) == size
        proc.stdin.close()
        proc.wait(timeout=30)
        assert holders.held(folder)
    finally:
        release_post_vectors()
    assert store.closed and not holders.held(folder)


def test_a_folder_opened_while_it_is_removed_waits_and_is_built_again(tmp_path):
    texts = [f"post {i}" for i in range(50)]
    store = open_post_vectors(_Embedder(), texts, root=tmp_path)
    folder = store.folder
    release_post_vectors()
    opened = []
    with holders.removing(folder) as free:
        assert free
        opener = threading.Thread(target=lambda: opened.append(open_post_vectors(_Embedder(), texts, root=tmp_path)))
        opener.start()
        time.sleep(0.3)
        assert opener.is_alive() and not opened  # it waits for the removal rather than reading half a folder
        remove(folder, "a test removes it")
    opener.join(timeout=30)
    try:
        assert opened and opened[0].folder.is_dir() and opened[0].done_count == 0  # created again, empty
        with holders.removing(folder) as free:
            assert not free  # held by the new store
    finally:
        release_post_vectors()


def test_without_flock_holds_are_empty_and_pruning_works_as_before(tmp_path, monkeypatch):
    monkeypatch.setattr(holders, "fcntl", None)  # as on Windows
    folder = tmp_path / "bm25-0123456789abcdef"
    folder.mkdir()
    (folder / "data.bin").write_bytes(os.urandom(8_000))
    _age(folder, 3 * HOUR)
    with holders.hold(folder) as hold:
        assert not hold.held and not holders.held(folder)
        assert [f.path for f in usage.prune(tmp_path, max_bytes=0, keep=())] == [folder]
    assert not (tmp_path / holders.HOLDERS_DIR).exists()


def test_two_openers_of_a_new_store_share_one_folder(tmp_path, monkeypatch):
    """Finding (breaker): two openers of the same new corpus both created its folder, and the second
    swapped out the folder the first had already memory-mapped (its vectors went to a deleted file),
    or failed with 'Directory not empty'. Now the second opens the first one's."""
    import threading

    from core.store import vectors as store_vectors
    from tests._cand_fakes import HashEmbedder

    texts = [f"post {j} about the flood" for j in range(60)]
    real, both_missed, b_done = store_vectors._create, threading.Barrier(2), threading.Event()

    def racing_create(folder, *args, **kwargs):
        both_missed.wait(10)  # both threads found no folder
        if threading.current_thread().name == "A":
            b_done.wait(10)  # A creates after B created and opened it
        return real(folder, *args, **kwargs)

    monkeypatch.setattr(store_vectors, "_create", racing_create)
    got: dict = {}

    def open_as(name):
        try:
            got[name] = store_vectors.open_post_vectors(HashEmbedder(), texts, root=tmp_path, persist=True)
        except Exception as exc:  # noqa: BLE001 - the test reports it
            got[name] = exc
        if name == "B":
            b_done.set()

    threads = [threading.Thread(target=open_as, args=(n,), name=n) for n in "AB"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(isinstance(v, Exception) for v in got.values()), got
    store = store_vectors.open_post_vectors(HashEmbedder(), texts, root=tmp_path, persist=True)
    maps = [line for line in Path("/proc/self/maps").read_text().splitlines() if str(tmp_path) in line]
    assert maps and not any("(deleted)" in line or ".tmp-" in line for line in maps), maps
    store_vectors.embed_in_chunks(store, HashEmbedder(), texts, chunk=20)
    folder = store.folder
    store_vectors.release_post_vectors()
    again = store_vectors.open_post_vectors(HashEmbedder(), texts, root=tmp_path, persist=True)
    assert again.folder == folder and again.complete  # what was embedded is in the folder kept
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")] == []
    store_vectors.release_post_vectors()


def test_one_ann_build_per_folder_a_second_process_waits_and_uses_the_first_ones(tmp_path):
    """A server stopped while its ANN child was building, then started again, used to start a second
    build of the same index (15 minutes of both cores at a million posts). Now the builder takes
    ``holders.building(folder, "ann")``: a second child waits for it and opens its file instead."""
    import numpy as np

    from core.store import ann

    rng = np.random.default_rng(5)
    vecs = rng.standard_normal((1_500, 16)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    folder = tmp_path / "dense-x"
    folder.mkdir()
    np.save(folder / "vectors.npy", vecs)
    np.save(folder / "done.npy", np.ones(len(vecs), dtype=bool))
    result: list[bool] = []
    with holders.building(folder, "ann") as mine:  # the first builder (the stopped server's child)
        assert mine
        with holders.building(folder, "ann", wait_s=0) as second:
            assert not second, "a second builder does not get the lock meanwhile"
        child = threading.Thread(target=lambda: result.append(ann._build_apart(folder)))
        child.start()  # the restarted server's child: it waits for the lock
        time.sleep(3)
        assert child.is_alive() and not (folder / ann.ANN_FILE).exists()
        assert ann._save(folder, ann.build(vecs, np.arange(len(vecs))), len(vecs))
        first = (folder / ann.ANN_FILE).stat()
    child.join(120)
    assert result == [True]
    after = (folder / ann.ANN_FILE).stat()
    assert (after.st_ino, after.st_mtime_ns) == (first.st_ino, first.st_mtime_ns), "not built a second time"
    assert len(ann.build_or_load(folder, np.load(folder / "vectors.npy", mmap_mode="r"),
                                 np.ones(len(vecs), dtype=bool))) == len(vecs)

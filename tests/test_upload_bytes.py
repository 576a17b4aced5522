"""An upload's bytes are not kept in server memory for the whole browser session.

Finding (``bench/dashboard_memory.py`` at 1,000,000 posts, 2026-12-03, the server traced
after closing): Streamlit's upload manager still held the replaced 164 MB export
(``UploadedFileRec.data``), so every upload of a session stayed in memory until the
session ended. The Data page keeps an upload in the data folder, drops the bytes
Streamlit holds, and reads the kept copy from then on.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.uploaded_file_manager import UploadedFile, UploadedFileRec

from core.errors import InputFileError
from dashboard import data
from dashboard.params import DataParams

CSV = "id,text\n1,typhoon hits the coast\n2,台风登陆广东\n".encode()


@pytest.fixture
def session(tmp_path, monkeypatch):
    """A script run's context with Streamlit's own in-memory upload manager, one file uploaded."""
    manager = MemoryUploadedFileManager("/upload")
    ctx = SimpleNamespace(uploaded_file_mgr=manager, session_id="tab-1")
    monkeypatch.setattr("streamlit.runtime.scriptrunner.get_script_run_ctx", lambda *a, **k: ctx)
    monkeypatch.setattr(data.state, "settings", lambda: SimpleNamespace(data_dir=tmp_path))
    rec = UploadedFileRec(file_id="f-1", name="posts.csv", type="text/csv", data=CSV)
    manager.add_file("tab-1", rec)
    return manager, rec


def held(manager) -> bytes:
    return b"".join(r.data for r in manager.get_files("tab-1", ["f-1"]))


def test_the_first_read_keeps_the_file_and_drops_streamlits_copy(session, tmp_path):
    manager, rec = session
    p = DataParams(source="upload")
    got, path = data.upload_bytes(UploadedFile(rec, None), p)
    assert got == CSV and path.read_bytes() == CSV and path.parent == tmp_path / "uploads"
    assert held(manager) == b""  # the record stays (the uploader still shows the file), without bytes
    assert [r.name for r in manager.get_files("tab-1", ["f-1"])] == ["posts.csv"]
    assert p.kept_upload == ("f-1", str(path))


def test_later_reads_of_the_same_upload_read_the_kept_file(session):
    """Another column mapping, Reload, a failed load's columns: the uploader then hands back
    a record with no bytes, and the page still reads the whole file."""
    manager, rec = session
    p = DataParams(source="upload")
    data.upload_bytes(UploadedFile(rec, None), p)
    emptied = manager.get_files("tab-1", ["f-1"])[0]
    again, _ = data.upload_bytes(UploadedFile(emptied, None), p)
    assert again == CSV


def test_a_kept_file_removed_from_the_data_folder_asks_for_the_upload_again(session):
    manager, rec = session
    p = DataParams(source="upload")
    _, path = data.upload_bytes(UploadedFile(rec, None), p)
    path.unlink()
    with pytest.raises(InputFileError, match="Upload it again"):
        data.upload_bytes(UploadedFile(manager.get_files("tab-1", ["f-1"])[0], None), p)


def test_another_upload_is_kept_and_dropped_in_its_turn(session):
    manager, rec = session
    p = DataParams(source="upload")
    data.upload_bytes(UploadedFile(rec, None), p)
    other = UploadedFileRec(file_id="f-2", name="more.csv", type="text/csv", data=b"id,text\n9,flood\n")
    manager.add_file("tab-1", other)
    got, path = data.upload_bytes(UploadedFile(other, None), p)
    assert got == other.data and p.kept_upload == ("f-2", str(path))
    assert b"".join(r.data for r in manager.get_files("tab-1", ["f-1", "f-2"])) == b""

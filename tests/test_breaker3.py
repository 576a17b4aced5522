"""Attacks on the store's reads, the large-dataset rerank, the child read and the shared ingest.

Each test names a behaviour that broke (or was at risk) and now holds.
"""

from __future__ import annotations

import numpy as np
import pytest

import core.ingest
from core.store.posts import read_posts_stored


@pytest.fixture
def counting_reads(monkeypatch):
    real = core.ingest.read_posts
    reads = []

    def counting(data, **kw):
        reads.append(len(data))
        return real(data, **kw)

    monkeypatch.setattr(core.ingest, "read_posts", counting)
    return reads


def _export(n: int = 2_000) -> bytes:
    return b"id,text\n" + b"".join(b"%d,flood water rising near bridge %d\n" % (i, i) for i in range(n))


def test_the_child_read_runs_sieves_own_module_not_one_in_the_working_directory(tmp_path, monkeypatch,
                                                                                counting_reads):
    """The server may run from any folder: a ``core`` package there (another project's, or a
    planted one) must not be what ``python -m core.store.posts`` runs."""
    cwd = tmp_path / "cwd"
    (cwd / "core" / "store").mkdir(parents=True)
    (cwd / "core" / "__init__.py").write_text("")
    (cwd / "core" / "store" / "__init__.py").write_text("")
    marker = tmp_path / "ran"
    (cwd / "core" / "store" / "posts.py").write_text(
        f"import sys\nopen({str(marker)!r}, 'w').write('x')\nsys.stdin.buffer.read()\nraise SystemExit(1)\n")
    monkeypatch.chdir(cwd)
    got = read_posts_stored(_export(), filename="f.csv", root=tmp_path / "store", min_bytes=0, apart_min_bytes=0)
    assert len(got.posts) == 2_000
    assert not marker.exists()  # the planted module never ran
    assert not counting_reads  # and the child read the file (no fallback read here)

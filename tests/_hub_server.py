"""A small Hugging Face Hub look-alike on 127.0.0.1 for download tests.

It answers the requests huggingface_hub 2.x makes (read in its source:
``HfApi.model_info`` and ``file_download.get_hf_file_metadata``) the way the hub
does, so the real library runs against it:

* ``GET /api/models/{org}/{name}/revision/{rev}?blobs=true``: the model info JSON,
  ``sha`` the commit, ``siblings`` with ``size``, ``blobId`` and, for LFS files,
  ``lfs.sha256``/``lfs.size``; 404 with ``X-Error-Code: RepoNotFound`` /
  ``RevisionNotFound`` otherwise;
* ``HEAD``/``GET /{org}/{name}/resolve/{rev}/{file}``: regular files answer 200 with
  ``ETag`` (git blob SHA-1), ``Content-Length`` and ``X-Repo-Commit``; LFS files
  (``*.safetensors``) answer 302 to ``/cdn/<sha256>`` (as the hub redirects to its
  CDN) with ``X-Linked-Etag``, ``X-Linked-Size`` and ``X-Repo-Commit``;
* ``GET /cdn/<sha256>``: the bytes, honouring ``Range: bytes=N-`` with 206.

A file can be told to stall after N bytes until the test releases it, so a test
can cancel a download at a known point. Every request is recorded.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit


@dataclass
class _File:
    data: bytes
    lfs: bool

    @property
    def etag(self) -> str:
        if self.lfs:
            return hashlib.sha256(self.data).hexdigest()
        return hashlib.sha1(b"blob %d\0" % len(self.data) + self.data).hexdigest()


@dataclass
class Stall:
    """Serve ``offset`` bytes of a file, then wait until ``release`` is set (or, with
    ``drop``, close the connection there, as a broken network would)."""

    offset: int
    drop: bool = False
    reached: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


class FakeHub:
    """The server; use as a context manager. ``endpoint`` is ``http://127.0.0.1:PORT``."""

    def __init__(self) -> None:
        self.repos: dict[str, tuple[str, dict[str, _File]]] = {}
        self.stalls: dict[str, Stall] = {}  # sha256 of an LFS file -> stall
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, Range header)
        self.served: dict[str, int] = {}  # path -> body bytes written
        self._lock = threading.Lock()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_HEAD(self) -> None:
                hub._handle(self, head=True)

            def do_GET(self) -> None:
                hub._handle(self, head=False)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"

    def add_repo(self, repo_id: str, folder: Path, *, commit: str | None = None) -> str:
        """Serve every file of ``folder`` as ``repo_id`` at one commit; returns the commit."""
        files = {p.relative_to(folder).as_posix(): _File(p.read_bytes(), p.suffix == ".safetensors")
                 for p in sorted(folder.rglob("*")) if p.is_file()}
        commit = commit or hashlib.sha1(repo_id.encode()).hexdigest()
        self.repos[repo_id] = (commit, files)
        return commit

    def etag(self, repo_id: str, name: str) -> str:
        return self.repos[repo_id][1][name].etag

    def stall(self, repo_id: str, name: str, offset: int, *, drop: bool = False) -> Stall:
        """Make ``name`` (an LFS file) stall (or drop the connection) after ``offset`` bytes on its
        next download."""
        stall = Stall(offset, drop)
        self.stalls[self.etag(repo_id, name)] = stall
        return stall

    def __enter__(self) -> FakeHub:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        for s in self.stalls.values():
            s.release.set()
        self._server.shutdown()
        self._server.server_close()

    # ------------------------------------------------------------------ requests
    def _reply(self, h, status: int, headers: dict, body: bytes = b"", head: bool = False) -> None:
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", headers.get("Content-Length", str(len(body))))
        h.end_headers()
        if not head and body:
            h.wfile.write(body)

    def _not_found(self, h, code: str, head: bool) -> None:
        body = json.dumps({"error": code}).encode()
        self._reply(h, 404, {"X-Error-Code": code, "Content-Type": "application/json"}, body, head)

    def _handle(self, h, *, head: bool) -> None:
        path = unquote(urlsplit(h.path).path)
        with self._lock:
            self.requests.append((h.command, path, h.headers.get("Range")))
        if m := re.fullmatch(r"/api/models/([^/]+/[^/]+)/revision/(.+)", path):
            return self._model_info(h, m[1], m[2], head)
        if m := re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path):
            return self._resolve(h, m[1], m[2], m[3], head)
        if m := re.fullmatch(r"/cdn/([0-9a-f]{64})", path):
            for _, files in self.repos.values():
                for f in files.values():
                    if f.lfs and f.etag == m[1]:
                        stall = None if head else self.stalls.pop(m[1], None)
                        return self._body(h, path, f.data, head, stall=stall)
        return self._not_found(h, "EntryNotFound", head)

    def _repo(self, h, repo_id: str, rev: str, head: bool):
        if repo_id not in self.repos:
            self._not_found(h, "RepoNotFound", head)
            return None
        commit, files = self.repos[repo_id]
        if rev not in ("main", commit):
            self._not_found(h, "RevisionNotFound", head)
            return None
        return commit, files

    def _model_info(self, h, repo_id: str, rev: str, head: bool) -> None:
        found = self._repo(h, repo_id, rev, head)
        if found is None:
            return
        commit, files = found
        siblings = []
        for name, f in files.items():
            sib = {"rfilename": name, "size": len(f.data), "blobId": _File(f.data, False).etag}
            if f.lfs:
                sib["lfs"] = {"sha256": f.etag, "size": len(f.data), "pointerSize": 134}
            siblings.append(sib)
        body = json.dumps({"_id": commit[:24], "id": repo_id, "modelId": repo_id, "sha": commit,
                           "private": False, "siblings": siblings}).encode()
        self._reply(h, 200, {"Content-Type": "application/json"}, body, head)

    def _resolve(self, h, repo_id: str, rev: str, name: str, head: bool) -> None:
        found = self._repo(h, repo_id, rev, head)
        if found is None:
            return
        commit, files = found
        if name not in files:
            return self._reply(h, 404, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": commit}, b"", head)
        f = files[name]
        if f.lfs:
            host = h.headers.get("Host")
            return self._reply(h, 302, {
                "Location": f"http://{host}/cdn/{f.etag}", "X-Repo-Commit": commit, "ETag": f'"{f.etag}"',
                "X-Linked-Etag": f'"{f.etag}"', "X-Linked-Size": str(len(f.data))}, b"", head)
        return self._body(h, f"/{repo_id}/resolve/{rev}/{name}", f.data, head,
                          extra={"X-Repo-Commit": commit, "ETag": f'"{f.etag}"'})

    def _body(self, h, path: str, data: bytes, head: bool, *, extra: dict | None = None,
              stall: Stall | None = None) -> None:
        start = 0
        if (rng := h.headers.get("Range")) and (m := re.fullmatch(r"bytes=(\d+)-", rng)):
            start = min(int(m[1]), len(data))
        headers = {"Accept-Ranges": "bytes", "Content-Type": "application/octet-stream", **(extra or {})}
        status = 206 if start else 200
        if start:
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        body = data[start:]
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if head:
            return
        try:
            if stall is not None and stall.offset > start:
                first = body[: stall.offset - start]
                h.wfile.write(first)
                h.wfile.flush()
                self._count(path, len(first))
                stall.reached.set()
                if stall.drop:
                    h.close_connection = True
                    return
                stall.release.wait(timeout=60)
                body = body[len(first):]
            h.wfile.write(body)
            self._count(path, len(body))
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True

    def _count(self, path: str, n: int) -> None:
        with self._lock:
            self.served[path] = self.served.get(path, 0) + n

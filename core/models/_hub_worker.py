"""The child process that talks to the model hub (``python -m core.models._hub_worker``).

:mod:`core.models.download` starts this module in a separate process for each
explicit, analyst-triggered hub action, with ``HF_HUB_OFFLINE`` removed from its
environment: huggingface_hub reads that flag once, at import, and refuses every
request while it is set, and the dashboard's own process must stay offline (it
runs with ``HF_HUB_OFFLINE=1`` under ``make run`` so that loading a model never
waits on a hub). Only this short-lived process reaches the network.

Protocol: ``list`` or ``download`` with ``--repo``, ``--revision``,
``--endpoint`` and ``--cache-dir``. Events go to stdout, one JSON object a line:
``files`` (the file list with sizes), ``progress`` (``done``/``total`` bytes),
``done`` (the snapshot folder), ``cancelled`` or ``error`` (``kind`` one of
``unreachable``, ``not_found``, ``gated``, ``http``, ``busy``, ``disk``,
``integrity``). A line ``cancel`` on stdin, or stdin closing, stops a download
at the next chunk; the partial file is kept.

Why Sieve writes the blobs itself: huggingface_hub 2.x downloads each file to a
process-unique temporary file and deletes it when a download fails or is
interrupted, so it never resumes across attempts. Here each file goes to
``blobs/<etag>.incomplete`` (the name older huggingface_hub versions resumed
from), continued with an HTTP ``Range`` request, checked against its etag
(SHA-256 for LFS files, the git blob SHA-1 otherwise), then moved to
``blobs/<etag>`` and linked from ``snapshots/<commit>/<file>`` with
``refs/<revision>`` written: the cache layout huggingface_hub documents, so
Transformers loads the model offline afterwards. The hub protocol itself
(model info, file metadata with redirects, headers, errors) is huggingface_hub's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

#: Weight formats skipped when the repository has ``*.safetensors`` (what Transformers loads first).
OTHER_WEIGHT_FORMATS = ["*.bin", "*.pt", "*.pth", "*.ckpt", "*.h5", "*.msgpack", "*.onnx", "*.onnx_data",
                        "*.gguf", "*.tflite", "*.ot", "onnx/*", "openvino/*"]
EXIT_OK, EXIT_ERROR, EXIT_CANCELLED = 0, 2, 3
_REPORT_S = 0.1
_HEARTBEAT_S = 0.5
_INFO_TIMEOUT_S = 30.0
_CANCEL_GRACE_S = 1.0
_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

_out_lock = threading.Lock()
_cancel = threading.Event()
_state = {"done": 0, "total": 0}


class _Stop(Exception):
    """Raised inside the download loop when a cancel was asked for."""


class _Failure(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def emit(event: str, **fields) -> None:
    """Write one event as a JSON line on stdout (thread-safe)."""
    with _out_lock:
        if _state.get("finished"):
            return
        sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
        sys.stdout.flush()
        if event in ("done", "cancelled", "error"):
            _state["finished"] = True


def _watch_stdin() -> None:
    """Set the cancel flag on a ``cancel`` line or when stdin closes; exit if the
    download loop is blocked on the network for longer than the grace period."""
    for line in sys.stdin:
        if line.strip() == "cancel":
            break
    _cancel.set()
    time.sleep(_CANCEL_GRACE_S)
    # Still running: the loop is blocked in a read. Every chunk is already on disk
    # (unbuffered writes), so the partial file stays a valid prefix for resuming.
    emit("cancelled", done=_state["done"], total=_state["total"])
    os._exit(EXIT_CANCELLED)


def _tick() -> None:
    """Report progress every :data:`_REPORT_S` seconds while it changes, and every
    :data:`_HEARTBEAT_S` seconds when it does not (a stalled read), so the caller's
    progress callback keeps running (the dashboard handles a Cancel click there)."""
    sent, at = None, time.monotonic()
    while True:
        time.sleep(_REPORT_S)
        if _state["done"] != sent or time.monotonic() - at >= _HEARTBEAT_S:
            sent, at = _state["done"], time.monotonic()
            emit("progress", done=sent, total=_state["total"])


def _storage(cache_dir: Path, repo_id: str) -> Path:
    return cache_dir / ("models--" + repo_id.replace("/", "--"))


def _select(names: list[str]) -> list[str]:
    from huggingface_hub.utils import filter_repo_objects

    ignore = OTHER_WEIGHT_FORMATS if any(n.endswith(".safetensors") for n in names) else None
    return list(filter_repo_objects(names, ignore_patterns=ignore))


def list_files(repo_id: str, revision: str, endpoint: str, cache_dir: Path) -> tuple[str, list[dict]]:
    """``(commit, files)``: each file ``{"name", "size", "etag", "cached"}`` (cached bytes on disk)."""
    from huggingface_hub import HfApi

    info = HfApi(endpoint=endpoint).model_info(repo_id, revision=revision, files_metadata=True,
                                               timeout=_INFO_TIMEOUT_S)
    siblings = {s.rfilename: s for s in info.siblings or []}
    blobs = _storage(cache_dir, repo_id) / "blobs"
    files = []
    for name in _select(sorted(siblings)):
        s = siblings[name]
        size = int(s.lfs.size if s.lfs else (s.size or 0))
        etag = s.lfs.sha256 if s.lfs else s.blob_id
        cached = 0
        if etag and (blobs / etag).is_file():
            cached = size
        elif etag and (blobs / f"{etag}.incomplete").is_file():
            cached = min(size, (blobs / f"{etag}.incomplete").stat().st_size)
        files.append({"name": name, "size": size, "etag": etag, "cached": cached, "lfs": s.lfs is not None})
    return str(info.sha), files


def _verify(path: Path, expected: str | None, size: int, *, name: str, lfs: bool) -> None:
    """Check a finished file against its size and the model info's checksum: the LFS SHA-256,
    or the git blob SHA-1 of a regular file (what ``hf cache verify`` checks)."""
    actual = path.stat().st_size
    if actual != size:
        raise _Failure("integrity", f"{name} has {actual} bytes, the hub says {size}.")
    if lfs and expected and _HEX64.match(expected):
        h = hashlib.sha256()
    elif not lfs and expected and _HEX40.match(expected):
        h = hashlib.sha1(f"blob {size}\0".encode())
    else:
        return
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    if h.hexdigest() != expected:
        path.unlink(missing_ok=True)
        raise _Failure("integrity", f"{name} does not match its checksum {expected[:12]}… (the partial "
                                    "file was removed: download again).")


def _link(blob: Path, pointer: Path) -> None:
    pointer.parent.mkdir(parents=True, exist_ok=True)
    if pointer.is_symlink() or pointer.exists():
        pointer.unlink()
    try:
        pointer.symlink_to(os.path.relpath(blob, pointer.parent))
    except OSError:  # no symlinks (Windows without developer mode): copy, as huggingface_hub falls back
        shutil.copy2(blob, pointer)


def _fetch(url: str, headers: dict, partial: Path, have: int, report) -> None:
    """Append the bytes from ``have`` on to ``partial`` (restart when the server ignores ``Range``)."""
    from huggingface_hub import constants, get_session
    from huggingface_hub.utils import hf_raise_for_status

    headers = dict(headers)
    if have:
        headers["Range"] = f"bytes={have}-"
    with get_session().stream("GET", url, headers=headers, timeout=constants.HF_HUB_DOWNLOAD_TIMEOUT) as r:
        hf_raise_for_status(r)
        if have and r.status_code != 206:
            report(-have)
            have = 0
        with open(partial, "ab" if have else "wb", buffering=0) as fh:
            for chunk in r.iter_bytes():
                if _cancel.is_set():
                    raise _Stop
                fh.write(chunk)
                report(len(chunk))


def download(repo_id: str, revision: str, endpoint: str, cache_dir: Path) -> Path:
    """Download every selected file of ``repo_id`` at ``revision`` into ``cache_dir``; the snapshot folder."""
    import httpx2
    from filelock import FileLock, Timeout
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.utils import build_hf_headers

    commit, files = list_files(repo_id, revision, endpoint, cache_dir)
    emit("files", repo_id=repo_id, commit=commit, files=files)
    storage = _storage(cache_dir, repo_id)
    total = sum(f["size"] for f in files)
    missing = total - sum(f["cached"] for f in files)
    storage.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(storage).free
    if missing > free:
        raise _Failure("disk", f"The download needs {missing / 1e9:.2f} GB more in {cache_dir}, which has "
                               f"{free / 1e9:.2f} GB free. Free some space or point HF_HOME at a larger "
                               "disk.")
    _state.update(done=sum(f["cached"] for f in files), total=total)

    def report(n: int) -> None:
        _state["done"] += n

    emit("progress", done=_state["done"], total=total)
    threading.Thread(target=_tick, daemon=True).start()
    for f in files:
        name, size = f["name"], f["size"]
        pointer = storage / "snapshots" / commit / name
        if pointer.is_file() and pointer.stat().st_size == size:
            _state["done"] += size - f["cached"]
            continue
        url = hf_hub_url(repo_id, name, revision=commit, endpoint=endpoint)
        headers = build_hf_headers()
        headers["Accept-Encoding"] = "identity"  # byte ranges of the file itself, not of a gzip stream
        meta = get_hf_file_metadata(url, headers=headers)
        etag = meta.etag or f["etag"]
        size = meta.size if meta.size is not None else size
        blob = storage / "blobs" / etag
        if not blob.is_file():
            partial = blob.with_name(f"{etag}.incomplete")
            blob.parent.mkdir(parents=True, exist_ok=True)
            try:
                with FileLock(str(partial) + ".lock", timeout=0):
                    partial.touch()
                    have = partial.stat().st_size
                    if have > size:  # not a prefix of this file
                        report(-f["cached"])
                        partial.unlink()
                        have = 0
                    if have < size:
                        if urlparse(meta.location).netloc != urlparse(url).netloc:
                            headers.pop("authorization", None)  # a CDN: no hub token
                        try:
                            _fetch(meta.location, headers, partial, have, report)
                        except httpx2.TransportError as exc:
                            raise _Failure("interrupted", f"The connection to the hub broke while "
                                           f"downloading {name} ({type(exc).__name__}). What was downloaded "
                                           "is kept: download again to resume.") from exc
                    _verify(partial, f["etag"], size, name=name, lfs=f["lfs"])
                    os.replace(partial, blob)
            except Timeout:
                raise _Failure("busy", f"{name} of {repo_id} is being downloaded by another process (another "
                                       "browser tab or terminal). Wait for it to finish.") from None
        else:
            _state["done"] += size - f["cached"]
        _link(blob, pointer)
        emit("progress", done=_state["done"], total=total)
    if revision != commit:
        (storage / "refs").mkdir(parents=True, exist_ok=True)
        (storage / "refs" / revision).write_text(commit)
    return storage / "snapshots" / commit


def _classify(exc: BaseException) -> tuple[str, str]:
    """``(kind, one-line detail)`` of a failure while talking to the hub."""
    import httpx2
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
    if isinstance(exc, GatedRepoError):
        return "gated", detail
    if isinstance(exc, (RepositoryNotFoundError, RevisionNotFoundError)):
        return "not_found", detail
    if isinstance(exc, (httpx2.TransportError, OfflineModeIsEnabled)):
        return "unreachable", f"{type(exc).__name__}: {detail}"
    if isinstance(exc, HfHubHTTPError):
        status = getattr(getattr(exc, "response", None), "status_code", None)
        return ("gated" if status in (401, 403) else "http"), detail
    if isinstance(exc, OSError):
        return "disk", f"{type(exc).__name__}: {detail}"
    if isinstance(exc, ValueError):  # e.g. huggingface_hub's check of the repo id
        return "invalid", detail
    raise exc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.models._hub_worker")
    parser.add_argument("action", choices=["list", "download"])
    parser.add_argument("--repo", required=True)
    parser.add_argument("--revision", default="main")
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--cache-dir", required=True, type=Path)
    args = parser.parse_args(argv)
    threading.Thread(target=_watch_stdin, daemon=True).start()
    try:
        if args.action == "list":
            commit, files = list_files(args.repo, args.revision, args.endpoint, args.cache_dir)
            emit("files", repo_id=args.repo, commit=commit, files=files)
        else:
            path = download(args.repo, args.revision, args.endpoint, args.cache_dir)
            emit("done", path=str(path))
        return EXIT_OK
    except (_Stop, KeyboardInterrupt):
        emit("cancelled", done=_state["done"], total=_state["total"])
        return EXIT_CANCELLED
    except _Failure as exc:
        emit("error", kind=exc.kind, message=str(exc))
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - classified for the parent; unknown ones re-raise with traceback
        kind, detail = _classify(exc)
        emit("error", kind=kind, message=detail)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())

"""Download Qwen3 models into the Hugging Face cache, on the analyst's explicit request.

Sieve never downloads by itself: loading a model (:func:`core.rerank.load_scorer`,
:func:`core.embed.load_embedder`) reads the Hugging Face cache only, and ``make run``
sets ``HF_HUB_OFFLINE=1``. The functions here are the one exception, called when the
analyst asks (Settings page "Download", ``python -m core download 0.6B``):

* :func:`list_model_files` / :func:`download_size`: the files and their sizes, from
  the hub's model info, before anything is downloaded;
* :func:`download_model`: the download, with progress, resumable (partial files are
  kept and continued with HTTP ``Range``) and cancellable.

Each call runs :mod:`core.models._hub_worker` in a child process whose environment
lacks ``HF_HUB_OFFLINE``: huggingface_hub reads that flag once, at import, and the
calling process (the dashboard) stays offline for everything else. Setting
``SIEVE_ALLOW_DOWNLOAD=0`` turns these explicit downloads off too.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.config import QWEN3_EMBEDDERS, QWEN3_RERANKERS
from core.errors import Cancelled, ModelUnavailableError

logger = logging.getLogger(__name__)

__all__ = [
    "DOWNLOADABLE", "HubUnreachableError", "ModelFile", "ModelFiles", "cached_model_path",
    "default_cache_dir", "download_model", "download_size", "downloads_allowed", "format_bytes",
    "hub_endpoint", "list_model_files",
    "resolve_repo_id",
]

#: Models the Settings page offers to download: id -> what it is for.
DOWNLOADABLE = {
    **{mid: f"reranker {size}" for size, mid in QWEN3_RERANKERS.items()},
    **{mid: f"embedder {size} (map and dense candidates)" for size, mid in QWEN3_EMBEDDERS.items()},
}
ProgressCallback = Callable[[int, int], None]
_REPO_ROOT = Path(__file__).resolve().parents[2]
_LIST_TIMEOUT_S = 120.0
#: Seconds a stopped download child gets to end cleanly before it is killed.
STOP_WAIT_S = 15.0


class HubUnreachableError(ModelUnavailableError):
    """The model hub cannot be reached from this machine (no internet, DNS, proxy, firewall).

    The message names the endpoint; the hint says how to get the model here without it.
    """


@dataclass(frozen=True)
class ModelFile:
    """One file of a model repository: ``name`` (path in the repo), ``size`` and
    ``cached`` (bytes already in the local cache, a partial download included), in bytes."""

    name: str
    size: int
    cached: int


@dataclass(frozen=True)
class ModelFiles:
    """The files Sieve downloads for ``repo_id`` at ``commit`` (what ``revision`` points to).

    Weight formats other than safetensors are left out when the repository has
    safetensors (Transformers loads those).
    """

    repo_id: str
    revision: str
    commit: str
    files: tuple[ModelFile, ...]

    @property
    def total_bytes(self) -> int:
        """Sum of the files' sizes: what the model takes in the cache."""
        return sum(f.size for f in self.files)

    @property
    def cached_bytes(self) -> int:
        """Bytes already on this machine (finished files and partial downloads)."""
        return sum(f.cached for f in self.files)

    @property
    def missing_bytes(self) -> int:
        """Bytes a download still has to transfer."""
        return self.total_bytes - self.cached_bytes


def format_bytes(n: float) -> str:
    """``1190000000`` -> ``"1.19 GB"`` (decimal units, as the hub shows sizes)."""
    if abs(n) < 1000:
        return f"{n:.0f} B"
    for unit in ("kB", "MB"):
        n /= 1000
        if round(abs(n), 2) < 1000:
            return f"{n:.2f} {unit}"
    return f"{n / 1000:.2f} GB"


def hub_endpoint(endpoint: str | None = None) -> str:
    """The hub to ask: ``endpoint``, else ``HF_ENDPOINT`` (read now), else https://huggingface.co."""
    return (endpoint or os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


def default_cache_dir() -> Path:
    """The Hugging Face hub cache this process loads models from (``$HF_HOME/hub`` by default)."""
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def downloads_allowed() -> bool:
    """False when ``SIEVE_ALLOW_DOWNLOAD`` is ``0``/``false``/``no``/``off`` (default: allowed)."""
    return os.environ.get("SIEVE_ALLOW_DOWNLOAD", "1").strip().lower() not in {"0", "false", "no", "off"}


def resolve_repo_id(name: str) -> str:
    """``"0.6B"``/``"4B"``/``"8B"`` -> the Qwen3-Reranker id; ``"embedding-0.6B"`` (4B, 8B) -> the
    Qwen3-Embedding id; an ``org/name`` id is returned as is.

    Raises:
        ModelUnavailableError: ``name`` is none of these (the message lists them).
    """
    name = (name or "").strip()
    if name in QWEN3_RERANKERS:
        return QWEN3_RERANKERS[name]
    lowered = name.lower()
    for prefix in ("embedding-", "embedder-", "qwen3-embedding-"):
        if lowered.startswith(prefix) and name[len(prefix):] in QWEN3_EMBEDDERS:
            return QWEN3_EMBEDDERS[name[len(prefix):]]
    if name.count("/") == 1 and all(name.split("/")):
        return name
    raise ModelUnavailableError(
        f"Unknown model {name!r} to download. Give 0.6B, 4B or 8B (Qwen3-Reranker), embedding-0.6B, "
        "embedding-4B or embedding-8B (Qwen3-Embedding), or a model id such as Qwen/Qwen3-Reranker-0.6B."
    )


def how_to_get_it_here(repo_id: str, cache_dir: Path | None = None) -> str:
    """Advice for a machine that cannot reach the hub: download elsewhere and copy the cache or a folder."""
    cache_dir = cache_dir or default_cache_dir()
    short = {v: k for k, v in QWEN3_RERANKERS.items()}.get(repo_id) or repo_id
    return (
        f"Sieve keeps working with the models it has. To get {repo_id}: on a machine with internet run "
        f"'hf download {repo_id}' (or 'python -m core download {short}' in a Sieve checkout) and copy the "
        f"folder models--{repo_id.replace('/', '--')} from its Hugging Face cache (~/.cache/huggingface/hub, "
        f"or $HF_HOME/hub) into {cache_dir} here; or copy the model's own folder (config.json, "
        "*.safetensors, tokenizer files) here and choose it as “Another model id or a local folder” "
        "(SIEVE_RERANKER=FOLDER). "
        "Behind a proxy set HTTPS_PROXY, for a mirror set HF_ENDPOINT, and restart Sieve."
    )


def cached_model_path(repo_id: str, *, revision: str = "main",
                      cache_dir: str | Path | None = None) -> Path | None:
    """The snapshot folder of ``repo_id`` in the cache when it holds a loadable model, else None.

    Loadable: ``config.json`` and the weights (every shard named by
    ``model.safetensors.index.json``, or ``model.safetensors``/``pytorch_model.bin``).
    Reads the disk only.
    """
    storage = Path(cache_dir or default_cache_dir()) / ("models--" + repo_id.replace("/", "--"))
    ref = storage / "refs" / revision
    commit = ref.read_text().strip() if ref.is_file() else revision
    snap = storage / "snapshots" / commit
    if not (snap / "config.json").is_file():
        return None
    index = snap / "model.safetensors.index.json"
    if index.is_file():
        try:
            shards = set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values())
        except (OSError, ValueError, KeyError):
            return None
        return snap if all((snap / s).is_file() for s in shards) else None
    return snap if any((snap / w).is_file() for w in ("model.safetensors", "pytorch_model.bin")) else None


def _check_allowed(repo_id: str, cache_dir: Path) -> None:
    if not downloads_allowed():
        raise ModelUnavailableError(
            "Downloads are turned off on this server (SIEVE_ALLOW_DOWNLOAD=0).",
            hint=how_to_get_it_here(repo_id, cache_dir),
        )


def _run_worker(action: str, repo_id: str, revision: str, endpoint: str, cache_dir: Path, *,
                on_event: Callable[[dict], None], should_cancel: Callable[[], bool] | None) -> dict:
    """Run :mod:`core.models._hub_worker`, pass its events to ``on_event``; its last event."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_PROGRESS_BARS="1", PYTHONIOENCODING="utf-8",
               PYTHONPATH=os.pathsep.join(p for p in (str(_REPO_ROOT), env.get("PYTHONPATH")) if p))
    cmd = [sys.executable, "-m", "core.models._hub_worker", action, "--repo", repo_id, "--revision", revision,
           "--endpoint", endpoint, "--cache-dir", str(cache_dir)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, encoding="utf-8", env=env,
                            start_new_session=True)  # Ctrl-C reaches this process, which stops the child
    lines: queue.Queue = queue.Queue()
    errors: list[str] = []

    def pump(stream, sink) -> None:
        for line in stream:
            sink(line)
        if stream is proc.stdout:
            lines.put(None)

    pumps = [threading.Thread(target=pump, args=(proc.stdout, lines.put), daemon=True),
             threading.Thread(target=pump, args=(proc.stderr, errors.append), daemon=True)]
    for t in pumps:
        t.start()

    def stop() -> None:
        try:
            proc.stdin.write("cancel\n")
            proc.stdin.flush()
        except (OSError, ValueError):
            pass

    terminal = ("files", "done", "cancelled", "error") if action == "list" else ("done", "cancelled", "error")
    last: dict = {}
    cancel_sent = False
    try:
        while True:
            try:
                line = lines.get(timeout=0.1)
            except queue.Empty:
                line = ""
            if line is None:
                break
            if line.strip():
                try:
                    event = json.loads(line)
                except ValueError:
                    logger.info("hub worker: %s", line.rstrip())
                    continue
                if event.get("event") in terminal:
                    last = event
                on_event(event)
            if not cancel_sent and should_cancel is not None and should_cancel():
                stop()
                cancel_sent = True
    finally:  # also on an exception from a callback (a Streamlit rerun, Ctrl-C): stop the child cleanly
        try:
            proc.wait(timeout=STOP_WAIT_S if last else 0.5)
        except subprocess.TimeoutExpired:
            stop()
            try:
                proc.wait(timeout=STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for t in pumps:
            t.join(timeout=2)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            try:
                stream.close()
            except OSError:
                pass
    if not last:
        tail = "".join(errors).strip().splitlines()[-1:] or [f"exit code {proc.returncode}"]
        raise ModelUnavailableError(f"The download of {repo_id} stopped unexpectedly ({tail[0][:300]}).",
                                    hint="Try again; what was downloaded is kept and the download resumes.")
    return last


def _error_for(event: dict, repo_id: str, revision: str, endpoint: str,
               cache_dir: Path) -> ModelUnavailableError:
    """The error for a person matching the worker's ``error`` event."""
    kind, detail = event.get("kind"), event.get("message", "")
    if kind == "unreachable":
        return HubUnreachableError(f"Cannot reach the model hub at {endpoint} to get {repo_id} ({detail}).",
                                   hint=how_to_get_it_here(repo_id, cache_dir))
    if kind == "not_found":
        return ModelUnavailableError(f"The hub at {endpoint} has no model {repo_id!r} at revision "
                                     f"{revision!r}.",
                                     hint="Check the model id, e.g. Qwen/Qwen3-Reranker-0.6B.")
    if kind == "gated":
        return ModelUnavailableError(f"The hub at {endpoint} refused access to {repo_id} ({detail}).",
                                     hint="Log in with 'hf auth login' or set HF_TOKEN, then try again.")
    if kind == "http":
        return ModelUnavailableError(f"The hub at {endpoint} answered with an error for {repo_id} "
                                     f"({detail}).", hint="Try again later; what was downloaded is kept and "
                                     "the download resumes.")
    if kind == "interrupted":
        return ModelUnavailableError(detail)
    return ModelUnavailableError(f"The download of {repo_id} failed: {detail}")


def _files_from(event: dict, revision: str) -> ModelFiles:
    return ModelFiles(repo_id=event["repo_id"], revision=revision, commit=event["commit"],
                      files=tuple(ModelFile(f["name"], int(f["size"]), int(f["cached"]))
                                  for f in event["files"]))


def list_model_files(repo_id: str, revision: str = "main", *, endpoint: str | None = None,
                     cache_dir: str | Path | None = None) -> ModelFiles:
    """The files a download of ``repo_id`` would fetch, with their sizes, from the hub's model info.

    Args:
        repo_id: ``"Qwen/Qwen3-Reranker-0.6B"``, or a short name for :func:`resolve_repo_id`.
        revision: branch, tag or commit (default ``"main"``).
        endpoint: the hub (default :func:`hub_endpoint`: ``HF_ENDPOINT`` or huggingface.co).
        cache_dir: the Hugging Face hub cache (default :func:`default_cache_dir`); used to
            count what is already here.

    Returns:
        :class:`ModelFiles` (sizes in bytes). Nothing is downloaded.

    Raises:
        HubUnreachableError: the hub cannot be reached (the hint says what to do).
        ModelUnavailableError: unknown model or revision, access refused, downloads
            turned off, or the hub answered with an error.
    """
    repo_id, endpoint = resolve_repo_id(repo_id), hub_endpoint(endpoint)
    cache = Path(cache_dir or default_cache_dir())
    _check_allowed(repo_id, cache)
    deadline = time.monotonic() + _LIST_TIMEOUT_S
    event = _run_worker("list", repo_id, revision, endpoint, cache, on_event=lambda e: None,
                        should_cancel=lambda: time.monotonic() > deadline)
    if event.get("event") != "files":
        if event.get("event") == "cancelled":
            raise HubUnreachableError(f"The model hub at {endpoint} did not answer within "
                                      f"{_LIST_TIMEOUT_S:.0f} s for {repo_id}.",
                                      hint=how_to_get_it_here(repo_id, cache))
        raise _error_for(event, repo_id, revision, endpoint, cache)
    return _files_from(event, revision)


def download_size(repo_id: str, revision: str = "main", *, endpoint: str | None = None) -> int:
    """Total size in bytes of the files :func:`download_model` fetches (see :func:`list_model_files`)."""
    return list_model_files(repo_id, revision, endpoint=endpoint).total_bytes


def download_model(repo_id: str, revision: str = "main", *, progress: ProgressCallback | None = None,
                   should_cancel: Callable[[], bool] | None = None, endpoint: str | None = None,
                   cache_dir: str | Path | None = None) -> Path:
    """Download ``repo_id`` into the Hugging Face cache, resuming what an earlier attempt left.

    The files of :func:`list_model_files` land in the cache layout huggingface_hub
    uses (``models--ORG--NAME/blobs``, ``snapshots/<commit>``, ``refs/<revision>``),
    so :func:`core.rerank.load_scorer` and :func:`core.embed.load_embedder` then load
    ``repo_id`` offline. Each file is checked against the hub's checksum.

    Args:
        repo_id: ``"Qwen/Qwen3-Reranker-0.6B"``, or a short name for :func:`resolve_repo_id`.
        revision: branch, tag or commit (default ``"main"``).
        progress: called as ``progress(bytes_done, bytes_total)`` about ten times a second;
            ``bytes_done`` counts what was already here and reaches ``bytes_total`` on success.
        should_cancel: polled about ten times a second; True stops the download within a
            chunk (at most about a second), keeping the partial file for the next call.
        endpoint: the hub (default ``HF_ENDPOINT`` or huggingface.co).
        cache_dir: the hub cache (default :func:`default_cache_dir`, where the loaders look).

    Returns:
        The snapshot folder holding the model's files.

    Raises:
        Cancelled: ``should_cancel`` returned True (the message says how far it got).
        HubUnreachableError: the hub cannot be reached (the hint says what to do).
        ModelUnavailableError: unknown model, access refused, disk full, a checksum
            mismatch, another download of the same file running, downloads turned off.

    Example:
        >>> path = download_model("0.6B", progress=lambda d, t: None)  # doctest: +SKIP
    """
    repo_id, endpoint = resolve_repo_id(repo_id), hub_endpoint(endpoint)
    cache = Path(cache_dir or default_cache_dir())
    _check_allowed(repo_id, cache)

    def on_event(event: dict) -> None:
        if progress is not None and event.get("event") == "progress":
            progress(int(event["done"]), int(event["total"]))

    event = _run_worker("download", repo_id, revision, endpoint, cache, on_event=on_event,
                        should_cancel=should_cancel)
    if event.get("event") == "done":
        logger.info("Downloaded %s to %s", repo_id, event["path"])
        return Path(event["path"])
    if event.get("event") == "cancelled":
        done, total = int(event.get("done", 0)), int(event.get("total", 0))
        share = f"{done / total:.0%}, " if total else ""
        raise Cancelled(f"The download of {repo_id} was cancelled at {share}{format_bytes(done)} of "
                        f"{format_bytes(total)}. What was downloaded is kept in {cache}: download again to "
                        "resume from there.")
    raise _error_for(event, repo_id, revision, endpoint, cache)

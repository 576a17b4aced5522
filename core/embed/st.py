"""Any sentence-transformers model, by Hugging Face id or local folder.

``sentence-transformers`` is an optional extra: it is imported only when such a
model is asked for, and its absence raises
:class:`core.errors.MissingDependencyError` with the pip command.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from core.errors import MissingDependencyError, ModelUnavailableError

logger = logging.getLogger(__name__)


class SentenceTransformerEmbedder:
    """A sentence-transformers model as an :class:`core.embed.base.Embedder`.

    Args:
        model: a Hugging Face id (``"BAAI/bge-m3"``) or a local folder.
        device: ``"cuda"``, ``"mps"``, ``"cpu"`` or ``None`` (cuda > mps > cpu).
        batch_size: texts per forward pass (default 64).

    Raises:
        MissingDependencyError: ``sentence-transformers`` is not installed.
        ModelUnavailableError: the model cannot be loaded offline (and
            ``HF_HUB_OFFLINE`` is set, or the download fails).
    """

    #: ``task`` is ignored (models with prompts use their defaults), so not part of the cache key.
    uses_task = False

    def __init__(self, model: str, *, device: str | None = None, batch_size: int = 64) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise MissingDependencyError(
                f"The embedder {model!r} needs the package 'sentence-transformers'. "
                "Run: pip install 'sentence-transformers>=3,<6'"
            ) from exc
        from core.config import pick_device
        from core.embed.qwen3 import _offline

        self.device = pick_device(device)
        self.batch_size = int(batch_size)
        path = Path(model).expanduser()
        self.model_id = str(path.resolve()) if path.is_dir() else model
        name = str(path) if path.is_dir() else model
        try:
            self.model = SentenceTransformer(name, device=self.device, local_files_only=True)
        except (OSError, ValueError) as offline_exc:
            if path.exists() or _offline():
                raise ModelUnavailableError(
                    f"Cannot load the sentence-transformers model {model!r} from local files.",
                    hint="Download it where there is internet access and copy the Hugging Face cache "
                    "here, or give the path of a local folder holding the model.",
                ) from offline_exc
            try:
                self.model = SentenceTransformer(name, device=self.device)
            except (OSError, ValueError) as exc:
                raise ModelUnavailableError(
                    f"Cannot download the sentence-transformers model {model!r}: {exc}.",
                    hint="Check the model id, or give the path of a local folder with the model.",
                ) from exc
        get_dim = getattr(self.model, "get_sentence_embedding_dimension", None)
        self.dim = int(get_dim() if get_dim else self.model.encode(["a"]).shape[1])
        self._lock = threading.Lock()

    def embed(
        self,
        texts: Sequence[str],
        *,
        task: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """Embed ``texts`` (``task`` is ignored; models with prompts use their defaults).

        Returns:
            float32 array of shape (n, dim), rows L2-normalised; zero rows for
            empty texts.
        """
        texts = ["" if t is None else str(t) for t in texts]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        idx = [i for i, t in enumerate(texts) if t.strip()]
        with self._lock:
            for start in range(0, len(idx), self.batch_size * 8):
                chunk = idx[start : start + self.batch_size * 8]
                vecs = self.model.encode(
                    [texts[i] for i in chunk],
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
                out[chunk] = np.asarray(vecs, dtype=np.float32)
                if progress:
                    progress(min(start + len(chunk), len(idx)), len(idx))
        return out

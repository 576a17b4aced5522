"""Reranking on several vLLM replicas: batches spread round-robin, failover when one is down.

One ``vllm serve`` holds one copy of the model on one GPU; a second replica (another
GPU or machine) doubles the posts scored per second. :class:`VLLMPool` wraps one
:class:`core.rerank.vllm.VLLMScorer` per URL and splits a ``predict`` call into
batches of ``batch_size`` posts, sent in waves of one batch per live replica
(concurrent HTTP requests), the replicas taken in turn (round-robin, continued across
calls so a stream of small requests is spread too).

Failover: a replica that does not answer (connection refused, timeout) is marked
down, its batch goes to the next live replica, and it is tried again after
``retry_after`` seconds. When every replica is down the call fails with
:class:`core.errors.ModelUnavailableError` naming each URL and its error. A replica
that answers with an HTTP error (a post longer than ``--max-model-len``) is not
"down": that error is raised as is, because another replica would refuse it too.

Configuration: the reranker setting with comma-separated URLs,
``SIEVE_RERANKER=vllm:http://gpu1:8000,http://gpu2:8000`` (see :func:`vllm_scorer`).
Every replica must serve the same model (checked at start): the scores, and so the
score cache (same :attr:`VLLMPool.cache_key` as one replica), do not depend on which
replica scored a post.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from core.errors import Cancelled, ModelUnavailableError, ParameterError, SieveError
from core.rerank.base import BaseScorer, CancelCallback, ProgressCallback, ScoreResult, ScorerInfo
from core.rerank.vllm import VLLMScorer, texts_to_score, with_log_odds

logger = logging.getLogger(__name__)


def parse_urls(target: str) -> list[str]:
    """The replica URLs of a reranker setting's target (``"http://a:8000, http://b:8000"``).

    Raises:
        ParameterError: no URL, or one that does not start with ``http://``/``https://``.
    """
    urls = [u.strip().rstrip("/") for u in str(target).split(",") if u.strip()]
    bad = [u for u in urls if not u.startswith(("http://", "https://"))]
    if not urls or bad:
        raise ParameterError(
            "A vLLM pool needs comma-separated server URLs such as "
            f"'vllm:http://gpu1:8000,http://gpu2:8000'. Got {target!r} instead."
        )
    return urls


def vllm_scorer(target: str, **kwargs):
    """The scorer for a ``vllm:`` reranker setting: one :class:`VLLMScorer` for a single
    target (URL or in-process model), a :class:`VLLMPool` for comma-separated URLs."""
    if "," in target:
        return VLLMPool(parse_urls(target), **kwargs)
    return VLLMScorer(target, **kwargs)


class VLLMPool(BaseScorer):
    """Qwen3-Reranker on several vLLM servers (module docstring).

    Args:
        urls: two or more ``http://HOST:PORT`` of ``vllm serve`` replicas.
        model: the model every server must list at ``/v1/models`` (default: whatever the
            first live one lists; all must list the same).
        timeout: seconds per HTTP request (default 120).
        batch_size: posts per request (default 64).
        retry_after: seconds before a replica marked down is tried again (default 30).

    Raises:
        ModelUnavailableError: no replica answers (every URL and its error named).
        SieveError: the replicas serve different models (or not ``model``).
    """

    pointwise = True

    def __init__(self, urls: Sequence[str], *, model: str | None = None, timeout: float = 120.0,
                 batch_size: int = 64, retry_after: float = 30.0) -> None:
        self.urls = [str(u).rstrip("/") for u in urls]
        if not self.urls:
            raise ParameterError("The 'urls' parameter of VLLMPool must list at least one URL. Got [] instead.")
        self.model = None
        self.timeout = float(timeout)
        self.batch_size = int(batch_size)
        self.retry_after = float(retry_after)
        self._lock = threading.Lock()
        self._replicas: dict[str, VLLMScorer] = {}
        self._down: dict[str, tuple[float, str]] = {}  # url -> (when, error)
        self._turn = 0
        for url in self.urls:
            self._connect(url)
        live = [self._replicas[u] for u in self.urls if u in self._replicas]
        if not live:
            raise self._all_down()
        models = {r.model for r in live}
        if len(models) > 1 or (model is not None and models != {model}):
            raise SieveError(
                "The vLLM servers serve different models ("
                + ", ".join(f"{r.target}: {r.model}" for r in live)
                + "): their scores cannot be mixed. Serve the same model on every replica.")
        self.model = live[0].model
        self._info = ScorerInfo(model_id=self.model, revision=None, kind="vllm",
                                device=f"remote x{len(self.urls)}", dtype="n/a",
                                follows_instructions=True, template_sha256=live[0].info.template_sha256)
        self._cache_key = live[0].cache_key

    @property
    def info(self) -> ScorerInfo:
        return self._info

    @property
    def cache_key(self) -> str:
        """Same key as a single replica of the model: the scores do not depend on the replica."""
        return self._cache_key

    def _connect(self, url: str) -> VLLMScorer | None:
        try:  # model=None: the replica must answer /v1/models, which is the liveness check
            scorer = VLLMScorer(url, timeout=self.timeout, batch_size=self.batch_size)
        except ModelUnavailableError as exc:
            self._mark_down(url, exc)
            return None
        if self._replicas and self.model is not None and scorer.model != self.model:
            self._mark_down(url, SieveError(f"it serves {scorer.model}, not {self.model}"))
            return None
        with self._lock:
            self._replicas[url] = scorer
            self._down.pop(url, None)
        return scorer

    def _mark_down(self, url: str, exc: Exception) -> None:
        logger.warning("vLLM replica %s is down (%s); trying the others", url, exc)
        with self._lock:
            self._down[url] = (time.monotonic(), str(exc))

    def _all_down(self) -> ModelUnavailableError:
        detail = "; ".join(f"{u}: {self._down.get(u, (0, 'no answer'))[1]}" for u in self.urls)
        return ModelUnavailableError(
            f"None of the {len(self.urls)} vLLM servers answers ({detail}).",
            hint="Start them (vllm serve ...) or remove the dead URLs from the reranker setting.")

    def live_urls(self) -> list[str]:
        """The replicas in use now, in round-robin order from the next turn (a down one
        is tried again once ``retry_after`` seconds have passed)."""
        now = time.monotonic()
        with self._lock:
            retry = [u for u, (when, _) in self._down.items() if now - when >= self.retry_after]
        for url in retry:
            if url in self._replicas:
                with self._lock:
                    self._down.pop(url, None)
            else:
                self._connect(url)
        with self._lock:
            live = [u for u in self.urls if u in self._replicas and u not in self._down]
            start = self._turn % max(1, len(self.urls))
            self._turn += 1
        order = self.urls[start:] + self.urls[:start]
        return [u for u in order if u in live]

    def _score_batch(self, url: str, query: str, docs: list[str], instruction: str | None) -> np.ndarray:
        return self._replicas[url].predict(query, docs, instruction=instruction).scores

    def predict(
        self,
        query: str,
        documents: Sequence[str],
        *,
        instruction: str | None = None,
        progress: ProgressCallback | None = None,
        should_cancel: CancelCallback | None = None,
    ) -> ScoreResult:
        """Score ``documents`` on the replicas (same contract as :meth:`VLLMScorer.predict`).

        Returns:
            scores float32 (n,) = P("yes"); log_odds float32 (n,) = ``log(p) - log(1 - p)``;
            NaN for empty posts. Identical to one replica's answer for the same batches.

        Raises:
            ModelUnavailableError: every replica is down (each URL named).
            Cancelled: ``should_cancel()`` returned True between waves.
        """
        docs, scores, todo = texts_to_score(documents)
        n = len(docs)
        batches = [todo[s : s + self.batch_size] for s in range(0, len(todo), self.batch_size)]
        done = n - len(todo)
        if progress:
            progress(done, n)
        with ThreadPoolExecutor(max_workers=len(self.urls), thread_name_prefix="vllm-pool") as pool:
            while batches:
                if should_cancel and should_cancel():
                    raise Cancelled(f"Scoring was cancelled after {done} of {n} posts.")
                live = self.live_urls()
                if not live:
                    raise self._all_down()
                wave = [(url, batches.pop(0)) for url in live[: len(batches)]]
                futures = [(url, idx, pool.submit(self._score_batch, url, query, [docs[i] for i in idx],
                                                  instruction)) for url, idx in wave]
                failed = []
                for url, idx, fut in futures:
                    try:
                        scores[idx] = fut.result()
                        done += len(idx)
                    except ModelUnavailableError as exc:
                        self._mark_down(url, exc)
                        failed.append(idx)
                batches[:0] = failed  # retried first, on the replicas still live
                if progress:
                    progress(done, n)
        return with_log_odds(scores, self._info)

"""Optional backend: Qwen3-Reranker served by vLLM (a server, or ``vllm.LLM`` in process).

Imported only when selected (``load_scorer("vllm:...")``). vLLM runs the
original Qwen3-Reranker as a sequence classifier whose single logit is
``logit("yes") - logit("no")`` (``hf_overrides`` below), so its score
``sigmoid(yes - no)`` equals the model card's ``softmax([no, yes])[1]``. The
prompt is split as in vLLM's own Qwen3-Reranker example: ``text_1`` = prefix +
``"<Instruct>: ...\\n<Query>: ...\\n"``, ``text_2`` = ``"<Document>: {post}"`` +
suffix (same template text as :mod:`core.rerank.template`).

Limits, honestly: the server, not Sieve, tokenizes; a post longer than the
server's ``--max-model-len`` is rejected by it rather than truncated; the
log-odds are derived from the returned probability (``log(p / (1 - p))``), so
they are only as precise as that float and infinite when it is exactly 0 or 1.

Server (GPU machine)::

    vllm serve Qwen/Qwen3-Reranker-0.6B --hf_overrides \\
      '{"architectures": ["Qwen3ForSequenceClassification"], "classifier_from_token": ["no", "yes"], "is_original_qwen3_reranker": true}'

then ``SIEVE_RERANKER=vllm:http://HOST:8000`` (or ``--model vllm:http://HOST:8000``).
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence

import numpy as np

from core.errors import Cancelled, MissingDependencyError, ModelUnavailableError, SieveError
from core.rerank.base import BaseScorer, CancelCallback, ProgressCallback, ScoreResult, ScorerInfo
from core.rerank.modes import DEFAULT_INSTRUCTION
from core.rerank.template import PREFIX, SUFFIX, TEMPLATE_SHA256

logger = logging.getLogger(__name__)

HF_OVERRIDES = {
    "architectures": ["Qwen3ForSequenceClassification"],
    "classifier_from_token": ["no", "yes"],
    "is_original_qwen3_reranker": True,
}
SERVE_COMMAND = (
    "vllm serve Qwen/Qwen3-Reranker-0.6B --hf_overrides "
    "'{\"architectures\": [\"Qwen3ForSequenceClassification\"], \"classifier_from_token\": [\"no\", \"yes\"], "
    "\"is_original_qwen3_reranker\": true}'"
)


def query_text(instruction: str | None, query: str) -> str:
    """``text_1`` of the score request: prefix + instruction + query lines."""
    instr = DEFAULT_INSTRUCTION if instruction is None else instruction
    return f"{PREFIX}<Instruct>: {instr}\n<Query>: {query}\n"


def document_text(document: str) -> str:
    """``text_2`` of the score request for one post: document line + suffix."""
    return f"<Document>: {document}{SUFFIX}"



def texts_to_score(documents: Sequence[str]) -> tuple[list[str], np.ndarray, list[int]]:
    """``(texts, scores, todo)`` for a vLLM request: the documents as strings, a float32 (n,) score
    array of NaN (empty posts keep it) and the indices of the non-empty posts, in order."""
    docs = ["" if d is None else str(d) for d in documents]
    return docs, np.full(len(docs), np.nan, dtype=np.float32), [i for i, d in enumerate(docs) if d.strip()]


def with_log_odds(scores: np.ndarray, info: ScorerInfo) -> ScoreResult:
    """The :class:`ScoreResult` of P(yes) ``scores``, with log-odds ``log(p) - log(1 - p)``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        p = scores.astype(np.float64)
        log_odds = (np.log(p) - np.log1p(-p)).astype(np.float32)
    return ScoreResult(scores=scores, log_odds=log_odds, info=info)


class VLLMScorer(BaseScorer):
    """Qwen3-Reranker through vLLM.

    Args:
        target: ``"http://HOST:PORT"`` of a running ``vllm serve`` (its ``/score``
            endpoint is used), or a model id / folder to run with ``vllm.LLM``
            in this process (needs ``pip install vllm`` and a CUDA GPU).
        model: the model name sent to a server; default: the first model the
            server lists at ``/v1/models``.
        timeout: seconds per HTTP request (default 120).
        batch_size: posts per request (default 64; progress and cancellation
            act between requests).

    Raises:
        ModelUnavailableError: the server does not answer (fails within ``timeout``
            of its first request, 5 s for the initial check).
        MissingDependencyError: in-process mode without the ``vllm`` package.
    """

    pointwise = True

    def __init__(self, target: str, *, model: str | None = None, timeout: float = 120.0,
                 batch_size: int = 64) -> None:
        self.target = target.rstrip("/")
        self.timeout = timeout
        self.batch_size = int(batch_size)
        self._lock = threading.Lock()
        self._llm = None
        if self.target.startswith(("http://", "https://")):
            self.model = model or self._served_model()
            device = "remote"
        else:
            try:
                import vllm
            except ImportError as exc:
                raise MissingDependencyError(
                    "Running Qwen3-Reranker with vLLM in this process needs the 'vllm' package and a CUDA GPU: "
                    f"pip install vllm. Or start a server elsewhere ({SERVE_COMMAND}) and use "
                    "vllm:http://HOST:8000."
                ) from exc
            self.model = model or self.target
            try:
                self._llm = vllm.LLM(model=self.target, runner="pooling", hf_overrides=HF_OVERRIDES)
            except TypeError:  # vLLM < 0.10 names it task="score"
                self._llm = vllm.LLM(model=self.target, task="score", hf_overrides=HF_OVERRIDES)
            device = "cuda"
        self._info = ScorerInfo(model_id=self.model, revision=None, kind="vllm", device=device, dtype="n/a",
                                follows_instructions=True, template_sha256=TEMPLATE_SHA256)

    @property
    def info(self) -> ScorerInfo:
        return self._info

    @property
    def cache_key(self) -> str:
        return f"vllm|{self.model}|template={TEMPLATE_SHA256[:16]}"

    def _request(self, path: str, payload: dict | None, timeout: float) -> dict:
        url = self.target + path
        data = None if payload is None else json.dumps(payload).encode("utf-8")
        req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            body = exc.read().decode("utf-8", "replace")[:300]
            raise SieveError(f"The vLLM server at {url} refused the request (HTTP {exc.code}: {body}).") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise ModelUnavailableError(
                f"The vLLM server at {self.target} does not answer ({exc}). Start it with: {SERVE_COMMAND} "
                "-- or choose another reranker."
            ) from exc
        except json.JSONDecodeError as exc:
            raise SieveError(f"The vLLM server at {url} sent a reply that is not JSON ({exc}).") from exc

    def _served_model(self) -> str:
        reply = self._request("/v1/models", None, timeout=5.0)
        try:
            return str(reply["data"][0]["id"])
        except (KeyError, IndexError, TypeError) as exc:
            raise SieveError(f"The vLLM server at {self.target} lists no model at /v1/models.") from exc

    def _score(self, text_1: str, texts_2: list[str]) -> list[float]:
        if self._llm is not None:
            with self._lock:
                outputs = self._llm.score(text_1, texts_2)
            return [float(o.outputs.score) for o in outputs]
        reply = self._request("/score", {"model": self.model, "text_1": text_1, "text_2": texts_2},
                              timeout=self.timeout)
        try:
            data = sorted(reply["data"], key=lambda d: d["index"])
            return [float(d["score"]) for d in data]
        except (KeyError, TypeError) as exc:
            raise SieveError(f"The vLLM server at {self.target} sent an unexpected /score reply.") from exc

    def predict(
        self,
        query: str,
        documents: Sequence[str],
        *,
        instruction: str | None = None,
        progress: ProgressCallback | None = None,
        should_cancel: CancelCallback | None = None,
    ) -> ScoreResult:
        """Score ``documents`` (same contract as :class:`core.rerank.qwen3.Qwen3Reranker`).

        Returns:
            scores float32 (n,) = P("yes"); log_odds float32 (n,) derived as
            ``log(p) - log(1 - p)``; NaN for empty posts.
        """
        docs, scores, todo = texts_to_score(documents)
        n = len(docs)
        done = n - len(todo)
        if progress:
            progress(done, n)
        text_1 = query_text(instruction, query)
        for start in range(0, len(todo), self.batch_size):
            if should_cancel and should_cancel():
                raise Cancelled(f"Scoring was cancelled after {done} of {n} posts.")
            idx = todo[start : start + self.batch_size]
            got = self._score(text_1, [document_text(docs[i]) for i in idx])
            if len(got) != len(idx):
                raise SieveError(f"The vLLM server returned {len(got)} scores for {len(idx)} posts.")
            scores[idx] = got
            done += len(idx)
            if progress:
                progress(done, n)
        return with_log_odds(scores, self._info)

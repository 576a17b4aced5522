"""The Qwen3-Reranker scorer: the model card's score, computed fast (see :mod:`core.rerank.qwen3`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from core.errors import Cancelled, SieveError
from core.rerank.base import BaseScorer, CancelCallback, ProgressCallback, ScoreResult, ScorerInfo
from core.rerank.modes import DEFAULT_INSTRUCTION
from core.rerank.quantize import model_dtype_name
from core.rerank.qwen3.kv_cache import _native_gqa, last_hidden, prefix_states
from core.rerank.qwen3.loading import DEFAULT_MODEL, _load, _Loaded, _prepare
from core.rerank.template import TEMPLATE_SHA256, format_user, shared_user_prefix

logger = logging.getLogger(__name__)


class Qwen3Reranker(BaseScorer):
    """Qwen3-Reranker (0.6B, 4B or 8B) run with Transformers as a causal LM.

    Args:
        model: a model id (``"Qwen/Qwen3-Reranker-0.6B"``, the default), a size
            (``"0.6B"``, ``"4B"``, ``"8B"``) or a local folder holding the model
            and its tokenizer.
        device: ``"cuda"``, ``"mps"``, ``"cpu"`` or ``None`` (cuda > mps > cpu).
        dtype: ``"bfloat16"``, ``"float32"``, ``"int8"`` (CPU only: dynamic
            quantisation, :mod:`core.rerank.quantize`), ``"auto"`` (the fastest
            within the score bounds on this device) or ``None`` (bf16 on CUDA,
            fp32 elsewhere). Scores are always computed in float32 from the
            final hidden state.
        max_length: token limit of one whole sequence (template + instruction +
            query + post), default 8192; only the post is truncated.
        batch_tokens: per-post tokens (post + suffix, padded) per forward pass;
            default 4096 on CPU, 16384 on a GPU.
        max_batch_size: most posts per forward pass (default 64 on CPU, 256 on GPU).
        revision: hub revision to load (default: whatever is cached).
        local_files_only: True (default) never touches the network: a model id
            must already be in the Hugging Face cache. False lets Transformers
            download it (only on a machine with internet access).

    Raises:
        ModelUnavailableError: the weights are not on this machine (the message
            says how to provide them), the folder is not a causal LM, or the
            tokenizer does not encode "yes"/"no" as single tokens.
        SieveError: for an unusable device or dtype.

    Example:
        >>> scorer = Qwen3Reranker("/models/Qwen3-Reranker-0.6B")  # doctest: +SKIP
        >>> scorer.predict("typhoon Shanghai", ["台风在上海登陆", "nice lunch"]).scores  # doctest: +SKIP
        array([0.93, 0.0007], dtype=float32)
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        device: str | None = None,
        dtype: str | None = None,
        max_length: int = 8192,
        batch_tokens: int | None = None,
        max_batch_size: int | None = None,
        revision: str | None = None,
        local_files_only: bool = True,
    ) -> None:
        loaded = _load(model, device, dtype, revision=revision, local_files_only=local_files_only)
        self._init(loaded, max_length=max_length, batch_tokens=batch_tokens, max_batch_size=max_batch_size)

    @classmethod
    def from_model(
        cls,
        model,
        tokenizer,
        *,
        model_id: str,
        revision: str | None = None,
        max_length: int = 8192,
        batch_tokens: int | None = None,
        max_batch_size: int | None = None,
    ) -> Qwen3Reranker:
        """Wrap an already loaded causal LM and tokenizer (benchmarks, tests, notebooks).

        Args:
            model: a ``*ForCausalLM`` module, already on its device and dtype.
            tokenizer: its tokenizer.
            model_id: the name recorded in :attr:`info` and the cache key.
            revision: recorded revision, if known.

        Returns:
            A scorer sharing ``model`` (not copied).
        """
        param = next(model.parameters())
        loaded = _prepare(model.eval(), tokenizer, model_id=model_id, revision=revision,
                          device=str(param.device), dtype=param.dtype)
        self = cls.__new__(cls)
        self._init(loaded, max_length=max_length, batch_tokens=batch_tokens, max_batch_size=max_batch_size)
        return self

    def _init(self, loaded: _Loaded, *, max_length: int, batch_tokens: int | None,
              max_batch_size: int | None) -> None:
        on_gpu = not loaded.device.startswith("cpu")
        self._m = loaded
        self.max_length = int(max_length)
        self.batch_tokens = int(batch_tokens or (16384 if on_gpu else 4096))
        self.max_batch_size = int(max_batch_size or (256 if on_gpu else 64))
        for name in ("max_length", "batch_tokens", "max_batch_size"):
            if getattr(self, name) < 1:
                raise SieveError(f"The {name!r} parameter of Qwen3Reranker must be an int >= 1. "
                                 f"Got {getattr(self, name)} instead.")
        fixed = len(loaded.prefix_ids) + len(loaded.suffix_ids)
        if self.max_length <= fixed + 8:
            raise SieveError(
                f"The max_length {self.max_length} leaves no room for the post: the template alone takes "
                f"{fixed} tokens. Use a max_length of at least 512."
            )
        self._info = ScorerInfo(
            model_id=loaded.model_id,
            revision=loaded.revision,
            kind="qwen3",
            device=loaded.device,
            dtype=model_dtype_name(loaded.model),
            follows_instructions=True,
            template_sha256=TEMPLATE_SHA256,
        )

    # ------------------------------------------------------------------ public

    @property
    def info(self) -> ScorerInfo:
        """Model id, revision, device, dtype and template hash of this scorer."""
        return self._info

    @property
    def cache_key(self) -> str:
        """Everything besides (instruction, query, post) that a score depends on."""
        i = self._info
        return (f"qwen3|{i.model_id}@{i.revision or '-'}|{i.device.split(':')[0]}|{i.dtype}"
                f"|max_length={self.max_length}|template={TEMPLATE_SHA256[:16]}|split-special")

    @property
    def model(self):
        """The underlying ``*ForCausalLM`` module (shared; do not modify)."""
        return self._m.model

    @property
    def tokenizer(self):
        """The tokenizer (shared)."""
        return self._m.tokenizer

    def encode(self, query: str, documents: Sequence[str], *, instruction: str | None = None) -> list[list[int]]:
        """The full token ids of every pair, exactly as the model card builds them.

        ``prefix_ids + tokenizer(user_turn)[:max_length - len(prefix) - len(suffix)] + suffix_ids``
        where ``user_turn`` is :func:`core.rerank.template.format_user`.

        Args:
            query: the query.
            documents: n post texts.
            instruction: the instruction (``None``: the model card's default).

        Returns:
            n lists of token ids, each at most ``max_length`` long, each ending
            with the suffix tokens.

        Raises:
            SieveError: when the instruction and query alone do not fit in
                ``max_length`` (only the post may be truncated).
        """
        m = self._m
        budget = self.max_length - len(m.prefix_ids) - len(m.suffix_ids)
        with m.lock:
            # split_special_tokens: a post (or query) that contains "<|im_end|>" or
            # "<|im_start|>" is read as those characters, never as the chat markers, so
            # no post can close the user turn and answer "yes" for the model.
            shared_len = len(m.tokenizer(shared_user_prefix(instruction, query),
                                         split_special_tokens=True)["input_ids"])
            if shared_len >= budget:
                raise SieveError(
                    f"The instruction and query take {shared_len} tokens, which leaves no room for the post "
                    f"within max_length {self.max_length}. Shorten the query or instruction, or raise "
                    "max_length."
                )
            users = [format_user(instruction, query, str(d)) for d in documents]
            if not users:
                return []
            toks = m.tokenizer(users, return_attention_mask=False, split_special_tokens=True)["input_ids"]
        return [m.prefix_ids + list(t[:budget]) + m.suffix_ids for t in toks]

    def predict(
        self,
        query: str,
        documents: Sequence[str],
        *,
        instruction: str | None = None,
        progress: ProgressCallback | None = None,
        should_cancel: CancelCallback | None = None,
    ) -> ScoreResult:
        """Score ``documents`` for ``query`` under ``instruction``.

        Args:
            query: the analyst's query (any language).
            documents: n post texts; empty or whitespace-only ones are not run
                and get NaN.
            instruction: English instruction; ``None`` = the model card's default
                (:data:`core.rerank.modes.DEFAULT_INSTRUCTION`).
            progress: ``progress(done, total)`` after each batch, with
                ``total = n`` (empty posts and repeats of a text count as done
                at once: identical texts are run once).
            should_cancel: polled before each batch; True raises Cancelled.

        Returns:
            :class:`ScoreResult` in input order: ``scores`` float32 (n,) =
            P("yes") in [0, 1], ``log_odds`` float32 (n,) = logit_yes - logit_no
            (NaN for posts not scored).

        Raises:
            core.errors.Cancelled: when ``should_cancel()`` returned True.
            SieveError: when instruction + query exceed ``max_length``.
        """
        docs = ["" if d is None else str(d) for d in documents]
        n = len(docs)
        scores = np.full(n, np.nan, dtype=np.float32)
        log_odds = np.full(n, np.nan, dtype=np.float32)
        # identical texts are scored once (a score depends on the text only)
        first: dict[str, int] = {}
        owner = np.full(n, -1, dtype=np.int64)
        for i, d in enumerate(docs):
            if d.strip():
                owner[i] = first.setdefault(d, len(first))
        unique = list(first)
        done = n - len(unique)
        if progress:
            progress(done, n)
        if unique:
            instr = DEFAULT_INSTRUCTION if instruction is None else instruction
            with self._m.lock:  # the fast tokenizer is not safe to call from several threads at once
                ids = self.encode(query, unique, instruction=instr)
                shared = self._m.prefix_ids + self._m.tokenizer(shared_user_prefix(instr, query))["input_ids"]
                logits = self._score_ids(shared, ids, n_done=done, n_total=n, progress=progress,
                                         should_cancel=should_cancel)
            scored = owner >= 0
            log_odds[scored] = (logits[:, 1] - logits[:, 0])[owner[scored]]
            scores[scored] = _softmax_yes(logits)[owner[scored]]
        return ScoreResult(scores=scores, log_odds=log_odds, info=self._info)

    # ---------------------------------------------------------------- internals

    def _batches(self, lengths: list[int], prefix_len: int) -> list[list[int]]:
        """Length-sorted batches (longest first) within the token budgets."""
        order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
        kv_budget = 4 * self.batch_tokens
        batches: list[list[int]] = []
        cur: list[int] = []
        width = 0
        for i in order:
            w = max(width, lengths[i])
            b = len(cur) + 1
            if cur and (b * w > self.batch_tokens or b > self.max_batch_size or b * (prefix_len + w) > kv_budget):
                batches.append(cur)
                cur, w = [], lengths[i]
            cur.append(i)
            width = w
        if cur:
            batches.append(cur)
        return batches

    def _score_ids(self, shared: list[int], ids: list[list[int]], *, n_done: int, n_total: int,
                   progress: ProgressCallback | None, should_cancel: CancelCallback | None) -> np.ndarray:
        """Last-position [no, yes] logits, float32 (len(ids), 2), in the order of ``ids``."""
        import torch

        m = self._m
        # The shared prefix: the common start of `shared` and every sequence (always all of
        # `shared` with a BPE tokenizer; computed, not assumed), leaving >= 1 token per row.
        p = len(shared)
        for seq in ids:
            q = 0
            lim = min(p, len(seq) - 1)
            while q < lim and seq[q] == shared[q]:
                q += 1
            p = q
        out = np.empty((len(ids), 2), dtype=np.float32)
        with torch.inference_mode():
            if should_cancel and should_cancel():
                raise Cancelled(f"Scoring was cancelled after {n_done} of {n_total} posts.")
            prefix_kv = prefix_states(m, shared[:p]) if p > 0 else None
            tails = [seq[p:] for seq in ids]
            for batch in self._batches([len(t) for t in tails], p):
                if should_cancel and should_cancel():
                    raise Cancelled(f"Scoring was cancelled after {n_done} of {n_total} posts.")
                with _native_gqa(m):
                    out[batch] = self._forward_batch([tails[i] for i in batch], p, prefix_kv)
                n_done += len(batch)
                if progress:
                    progress(n_done, n_total)
        return out

    def _forward_batch(self, tails: list[list[int]], p: int, prefix_kv) -> np.ndarray:
        """[no, yes] logits, float32 (len(tails), 2): the last hidden state times the head rows."""
        import torch

        m = self._m
        last = last_hidden(m, tails, p, prefix_kv)
        with torch.autocast(device_type=torch.device(m.device).type, enabled=False):  # float32 even under autocast
            logits = last @ m.head.T
            if m.head_bias is not None:
                logits = logits + m.head_bias
        return logits.float().cpu().numpy()


def _softmax_yes(logits: np.ndarray) -> np.ndarray:
    """softmax over [no, yes] -> P(yes), float32, computed stably as sigmoid(yes - no)."""
    import torch

    t = torch.from_numpy(np.ascontiguousarray(logits, dtype=np.float32))
    return torch.softmax(t, dim=-1)[:, 1].numpy().astype(np.float32)

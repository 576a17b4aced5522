"""Qwen3-Reranker: the model card's recipe, exact and fast.

The model is a causal language model (never a sequence-classification head)
that answers "yes" or "no" after the prompt of :mod:`core.rerank.template`; the
relevance score of a (query, post) pair is ``softmax([logit("no"),
logit("yes")])[1]`` at the last position, computed in float32, and its log-odds
is ``logit("yes") - logit("no")``. Source: model card of
``Qwen/Qwen3-Reranker-0.6B`` ("Usage", Transformers) and arXiv:2506.05176.

What Sieve does differently from the model card's plain code, without changing
a score (tested against that plain code on a tiny random model, within 1e-4):

* only the last real position's two logits are computed: the base model's final
  hidden state times the "no"/"yes" rows of ``lm_head`` (the plain code projects
  every position onto the 151k-token vocabulary);
* the prompt part that every post shares for one (instruction, query) -- system
  turn, instruction, query, up to ``"<Document>:"`` -- runs once; its key/value
  cache is reused (broadcast over the batch) and only each post plus the suffix
  runs per pair, with explicit position ids;
* the per-post parts are right-padded inside length-sorted batches bounded by a
  token budget (the causal mask means real tokens never see the padding), and the
  last real token of each row is gathered; input order is restored at the end.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import logging
import re
import threading
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.config import QWEN3_RERANKERS, available_cpus, pick_device, pick_dtype
from core.errors import Cancelled, ModelUnavailableError, SieveError
from core.rerank.base import CancelCallback, ProgressCallback, ScoreResult, ScorerInfo
from core.rerank.modes import DEFAULT_INSTRUCTION
from core.rerank.quantize import INT8, model_dtype_name, quantize_int8, resolve_dtype
from core.rerank.template import (
    NO_TOKEN,
    PREFIX,
    SUFFIX,
    TEMPLATE_SHA256,
    YES_TOKEN,
    format_user,
    shared_user_prefix,
)

logger = logging.getLogger(__name__)

DEFAULT_MODEL = QWEN3_RERANKERS["0.6B"]
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_PREFIX_KV_SLOTS = 4  # (instruction, query) prefixes kept per loaded model


@dataclass
class _Loaded:
    """One loaded model and everything derived from it (shared by every scorer on it)."""

    model: Any
    tokenizer: Any
    model_id: str
    revision: str | None
    device: str
    dtype: Any
    base: Any = None
    head: Any = None  # float32 (2, hidden): rows of lm_head for [no, yes]
    head_bias: Any = None  # float32 (2,) or None
    yes_id: int = -1
    no_id: int = -1
    prefix_ids: list[int] = field(default_factory=list)
    suffix_ids: list[int] = field(default_factory=list)
    pad_id: int = 0
    cache_kw: str = "past_key_values"
    lock: threading.RLock = field(default_factory=threading.RLock)
    prefix_kv: OrderedDict = field(default_factory=OrderedDict)
    fast_cache: bool = True
    native_gqa: bool = True


_MODELS: dict[tuple, _Loaded] = {}
_MODELS_LOCK = threading.Lock()


def _fingerprint_folder(path: Path) -> str:
    """A cheap content fingerprint of a local model folder (``"local:<16 hex>"``).

    Hashes ``config.json`` and, for every weight file, its name, size and first
    and last MiB, so replacing the weights changes the score-cache key.
    """
    h = hashlib.sha256()
    for f in sorted(path.iterdir()):
        if not f.is_file():
            continue
        if f.name == "config.json":
            h.update(f.read_bytes())
        elif f.suffix in (".safetensors", ".bin", ".pt", ".gguf"):
            size = f.stat().st_size
            h.update(f"{f.name}:{size}".encode())
            with open(f, "rb") as fh:
                h.update(fh.read(1 << 20))
                if size > 2 << 20:
                    fh.seek(size - (1 << 20))
                    h.update(fh.read(1 << 20))
    return "local:" + h.hexdigest()[:16]


def _how_to_provide(ref: str) -> str:
    return (
        "Sieve never downloads model weights by itself. With internet access here, download it on the "
        "Settings page (Get a model) or with 'python -m core download 0.6B' (4B, 8B). Otherwise "
        "download the model once on a machine "
        f"with internet access ('hf download {ref if _HUB_ID.match(ref) else DEFAULT_MODEL}') and copy the "
        "Hugging Face cache folder (HF_HOME) here, or put the model folder (config.json, *.safetensors and "
        "the tokenizer files) on this machine and pass that folder with --model FOLDER or SIEVE_RERANKER=FOLDER."
    )


def _resolve_reference(model: str) -> tuple[str, Path | None]:
    """``(reference for from_pretrained, local folder or None)``; raises for a missing folder."""
    ref = QWEN3_RERANKERS.get(model, model)
    path = Path(ref).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelUnavailableError(
                f"The model folder {path} has no config.json, so it does not hold a Transformers model. "
                "Give the folder that contains config.json, the *.safetensors weights and the tokenizer files."
            )
        return str(path.resolve()), path.resolve()
    if _HUB_ID.match(ref) and not ref.startswith((".", "~")):
        return ref, None
    raise ModelUnavailableError(
        f"The reranker model {model!r} is neither an existing folder nor a model id such as "
        f"{DEFAULT_MODEL!r}. Check the path given with --model or SIEVE_RERANKER."
    )


def _load(model: str, device: str | None, dtype, *, revision: str | None, local_files_only: bool) -> _Loaded:
    """Load (once per process) the tokenizer and causal LM for ``model`` on ``device``/``dtype``."""
    import torch

    ref, folder = _resolve_reference(model)
    device = pick_device(device)
    name = None if isinstance(dtype, torch.dtype) else resolve_dtype(device, dtype)
    int8 = name == INT8  # loaded in float32, then its linear layers quantised (core/rerank/quantize.py)
    torch_dtype = dtype if isinstance(dtype, torch.dtype) else pick_dtype(device, "float32" if int8 else name)
    key = (ref, revision, device, INT8 if int8 else str(torch_dtype))
    with _MODELS_LOCK:
        if key in _MODELS:
            return _MODELS[key]
        import transformers
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

        kwargs = {"local_files_only": local_files_only or folder is not None}
        if revision and folder is None:
            kwargs["revision"] = revision
        try:
            config = AutoConfig.from_pretrained(ref, **kwargs)
        except (OSError, ValueError) as exc:
            if folder is not None:
                raise ModelUnavailableError(
                    f"The model folder {folder} could not be read as a Transformers model ({exc})."
                ) from exc
            raise ModelUnavailableError(
                f"The reranker model {ref!r} is not available offline on this machine.", hint=_how_to_provide(ref)
            ) from exc
        archs = list(getattr(config, "architectures", None) or [])
        if archs and not any(a.endswith("ForCausalLM") for a in archs):
            raise ModelUnavailableError(
                f"The model {ref!r} is a {', '.join(archs)}, not a causal language model. Qwen3-Reranker "
                "must be loaded as the causal LM the model card describes (its yes/no logits give the score); "
                "converted sequence-classification copies are not supported. Use Qwen/Qwen3-Reranker-0.6B, "
                "-4B or -8B or a folder holding one of them."
            )
        major_minor = tuple(int(p) for p in re.findall(r"\d+", transformers.__version__)[:2])
        dtype_kw = "dtype" if major_minor >= (4, 56) else "torch_dtype"
        try:
            tokenizer = AutoTokenizer.from_pretrained(ref, **kwargs)
            lm = AutoModelForCausalLM.from_pretrained(ref, **kwargs, **{dtype_kw: torch_dtype})
        except (OSError, ValueError) as exc:
            raise ModelUnavailableError(
                f"The reranker model {ref!r} could not be loaded ({exc}).", hint=_how_to_provide(ref)
            ) from exc
        lm = lm.to(device).eval()
        if int8:
            quantize_int8(lm)
        rev = revision or getattr(config, "_commit_hash", None)
        if folder is not None:
            rev = _fingerprint_folder(folder)
        loaded = _prepare(lm, tokenizer, model_id=ref, revision=rev, device=device, dtype=torch_dtype)
        _MODELS[key] = loaded
        logger.info("Loaded %s (revision %s) on %s as %s", ref, rev, device, torch_dtype)
        return loaded


def _single_token_id(tokenizer, token: str) -> int:
    ids = tokenizer.encode(token, add_special_tokens=False)
    tid = tokenizer.convert_tokens_to_ids(token)
    if len(ids) != 1 or tid is None or ids[0] != tid or tid == getattr(tokenizer, "unk_token_id", None):
        raise ModelUnavailableError(
            f"The tokenizer does not encode {token!r} as one token (got ids {ids}); it is not a "
            "Qwen3-Reranker tokenizer. Use the tokenizer shipped with the model."
        )
    return int(tid)


def _prepare(lm, tokenizer, *, model_id: str, revision: str | None, device: str, dtype) -> _Loaded:
    """Derive the yes/no head, template token ids and forward conventions from a loaded model."""
    import torch

    if torch.device(device).type == "cpu" and torch.get_num_threads() > available_cpus():
        torch.set_num_threads(available_cpus())
    loaded = _Loaded(model=lm, tokenizer=tokenizer, model_id=model_id, revision=revision, device=device,
                     dtype=dtype)
    loaded.yes_id = _single_token_id(tokenizer, YES_TOKEN)
    loaded.no_id = _single_token_id(tokenizer, NO_TOKEN)
    loaded.base = lm.get_decoder() if hasattr(lm, "get_decoder") else lm.model
    out = lm.get_output_embeddings()
    if out is None:
        raise ModelUnavailableError(f"The model {model_id!r} has no language-model head (lm_head).")
    rows = torch.tensor([loaded.no_id, loaded.yes_id], device=out.weight.device)
    loaded.head = out.weight.detach().index_select(0, rows).float()
    bias = getattr(out, "bias", None)
    loaded.head_bias = None if bias is None else bias.detach().index_select(0, rows).float()
    loaded.prefix_ids = tokenizer.encode(PREFIX, add_special_tokens=False)
    loaded.suffix_ids = tokenizer.encode(SUFFIX, add_special_tokens=False)
    pad = tokenizer.pad_token_id
    loaded.pad_id = int(pad if pad is not None else (tokenizer.eos_token_id or 0))
    params = inspect.signature(loaded.base.forward).parameters
    loaded.cache_kw = "cache" if "cache" in params else "past_key_values"
    return loaded


def _cache_tensors(cache) -> list[tuple[Any, Any]]:
    """Per-layer ``(keys, values)`` of a filled transformers cache (4.5x and 5.x layouts)."""
    if hasattr(cache, "layers"):
        return [(layer.keys, layer.values) for layer in cache.layers]
    return list(zip(cache.key_cache, cache.value_cache, strict=True))


def _batch_cache(prefix_kv, batch: int, fast: bool):
    """A cache that presents the shared prefix to every row of a batch.

    The fast form broadcasts the stored prefix (batch 1) and keeps nothing of the
    new tokens (this cache is used for a single forward pass), so no per-batch
    copy of all layers' prefix states is held in memory; the fallback builds a
    standard ``DynamicCache`` from expanded tensors.
    """
    from transformers import DynamicCache

    if fast:
        from transformers.cache_utils import DynamicLayer

        class _PrefixLayer(DynamicLayer):
            def __init__(self, keys, values):
                super().__init__()
                self.keys, self.values = keys, values
                self.device = keys.device
                self.is_initialized = True

            def update(self, key_states, value_states, *args, **kwargs):
                b = key_states.shape[0]
                k = self.keys.expand(b, -1, -1, -1)
                v = self.values.expand(b, -1, -1, -1)
                import torch

                return torch.cat([k, key_states], dim=-2), torch.cat([v, value_states], dim=-2)

        cache = DynamicCache()
        cache.layers = [_PrefixLayer(k, v) for k, v in prefix_kv]
        return cache
    return DynamicCache([(k.expand(batch, -1, -1, -1), v.expand(batch, -1, -1, -1)) for k, v in prefix_kv])


_GQA_ATTN = "sieve_sdpa_gqa"
_GQA_REGISTERED: bool | None = None


def _register_native_gqa() -> bool:
    """Register an SDPA attention that lets PyTorch handle grouped-query attention natively.

    Transformers' own ``"sdpa"`` path copies the key/value heads (``repeat_kv``)
    whenever an attention mask is given, which the prefix-reuse batches always
    have; ``scaled_dot_product_attention(..., enable_gqa=True)`` computes the
    same result (bit-identical here) without the copy, about 7% faster in bf16
    on CPU. Returns False when this Transformers/PyTorch lacks the interfaces.
    """
    global _GQA_REGISTERED
    if _GQA_REGISTERED is None:
        try:
            import torch
            from transformers import AttentionInterface, AttentionMaskInterface
            from transformers.masking_utils import sdpa_mask

            if "enable_gqa" not in (torch.nn.functional.scaled_dot_product_attention.__doc__ or ""):
                raise TypeError("this PyTorch has no enable_gqa")

            def sdpa_native_gqa(module, query, key, value, attention_mask, dropout=0.0, scaling=None,
                                is_causal=None, **kwargs):
                if is_causal is None:
                    is_causal = query.shape[2] > 1 and attention_mask is None and getattr(module, "is_causal", True)
                if attention_mask is not None:
                    attention_mask = attention_mask[:, :, :, : key.shape[-2]]
                out = torch.nn.functional.scaled_dot_product_attention(
                    query, key, value, attn_mask=attention_mask, dropout_p=0.0, scale=scaling,
                    is_causal=bool(is_causal), enable_gqa=query.shape[1] != key.shape[1],
                )
                return out.transpose(1, 2).contiguous(), None

            AttentionInterface.register(_GQA_ATTN, sdpa_native_gqa)
            AttentionMaskInterface.register(_GQA_ATTN, sdpa_mask)
            _GQA_REGISTERED = True
        except (ImportError, AttributeError, TypeError) as exc:
            logger.info("Native GQA attention not available (%s); using Transformers' sdpa.", exc)
            _GQA_REGISTERED = False
    return _GQA_REGISTERED


@contextlib.contextmanager
def _native_gqa(m: _Loaded):
    """Within the model lock: run the model with :func:`_register_native_gqa`'s attention on CPU."""
    config = m.model.config
    current = getattr(config, "_attn_implementation", None)
    if (not m.native_gqa or current != "sdpa" or not m.device.startswith("cpu")
            or not _register_native_gqa()):
        yield
        return
    config._attn_implementation = _GQA_ATTN
    try:
        yield
    finally:
        config._attn_implementation = current


class Qwen3Reranker:
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

    def _prefix_states(self, shared: list[int]):
        """Per-layer (keys, values) of the shared prefix, batch 1 (small LRU per model)."""
        import torch
        from transformers import DynamicCache

        m = self._m
        key = tuple(shared)
        if key in m.prefix_kv:
            m.prefix_kv.move_to_end(key)
            return m.prefix_kv[key]
        cache = DynamicCache()
        ids = torch.tensor([shared], device=m.device)
        with _native_gqa(m):
            m.base(input_ids=ids, use_cache=True, **{m.cache_kw: cache})
        states = [(k.detach(), v.detach()) for k, v in _cache_tensors(cache)]
        m.prefix_kv[key] = states
        while len(m.prefix_kv) > _PREFIX_KV_SLOTS:
            m.prefix_kv.popitem(last=False)
        return states

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
            prefix_kv = self._prefix_states(shared[:p]) if p > 0 else None
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
        import torch

        m = self._m
        b = len(tails)
        width = max(len(t) for t in tails)
        input_ids = torch.full((b, width), m.pad_id, dtype=torch.long)
        for r, t in enumerate(tails):
            input_ids[r, : len(t)] = torch.tensor(t, dtype=torch.long)
        input_ids = input_ids.to(m.device)
        lengths = torch.tensor([len(t) for t in tails], device=m.device)
        position_ids = (torch.arange(width, device=m.device) + p).unsqueeze(0).expand(b, -1)
        kwargs: dict[str, Any] = {"input_ids": input_ids, "position_ids": position_ids}
        if prefix_kv is not None:
            kwargs["use_cache"] = True
            try:
                kwargs[m.cache_kw] = _batch_cache(prefix_kv, b, m.fast_cache)
                hidden = m.base(**kwargs).last_hidden_state
            except (AttributeError, TypeError, ImportError) as exc:
                if not m.fast_cache:
                    raise
                logger.warning("Falling back to a standard DynamicCache for prefix reuse (%s)", exc)
                m.fast_cache = False
                kwargs[m.cache_kw] = _batch_cache(prefix_kv, b, False)
                hidden = m.base(**kwargs).last_hidden_state
        else:
            hidden = m.base(**kwargs, use_cache=False).last_hidden_state
        last = hidden[torch.arange(b, device=m.device), lengths - 1].float()
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


def reference_scores(
    model,
    tokenizer,
    query: str,
    documents: Sequence[str],
    *,
    instruction: str | None = None,
    max_length: int = 8192,
    batch_size: int = 8,
) -> tuple[np.ndarray, np.ndarray]:
    """The model card's plain recipe, kept as the yardstick for tests and benchmarks.

    Full prompt per pair, left-padded batches of ``batch_size``, a full forward
    pass with vocabulary logits at every position, then the last position's
    [no, yes] logits -> log_softmax -> exp. Slow by design; do not use for work.

    Args:
        model: a ``*ForCausalLM`` module.
        tokenizer: its tokenizer (left padding is forced here).
        query, documents, instruction, max_length: as for :class:`Qwen3Reranker`.
        batch_size: pairs per forward pass (the model card does not fix one; 8 here).

    Returns:
        ``(scores, log_odds)``: float32 arrays of shape (n,).
    """
    import torch

    old_side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        yes = tokenizer.convert_tokens_to_ids(YES_TOKEN)
        no = tokenizer.convert_tokens_to_ids(NO_TOKEN)
        prefix_tokens = tokenizer.encode(PREFIX, add_special_tokens=False)
        suffix_tokens = tokenizer.encode(SUFFIX, add_special_tokens=False)
        pairs = [format_user(instruction, query, d) for d in documents]
        device = next(model.parameters()).device
        scores, odds = [], []
        for start in range(0, len(pairs), batch_size):
            inputs = tokenizer(
                pairs[start : start + batch_size], padding=False, truncation="longest_first",
                return_attention_mask=False, max_length=max_length - len(prefix_tokens) - len(suffix_tokens),
            )
            for i, ele in enumerate(inputs["input_ids"]):
                inputs["input_ids"][i] = prefix_tokens + ele + suffix_tokens
            with warnings.catch_warnings():  # the model card passes max_length with padding=True
                warnings.simplefilter("ignore", UserWarning)
                inputs = tokenizer.pad(inputs, padding=True, return_tensors="pt", max_length=max_length)
            inputs = {k: v.to(device) for k, v in inputs.items()}
            with torch.no_grad():
                batch_scores = model(**inputs).logits[:, -1, :]
                true_vector = batch_scores[:, yes]
                false_vector = batch_scores[:, no]
                pair = torch.stack([false_vector, true_vector], dim=1).float()
                scores.append(torch.nn.functional.log_softmax(pair, dim=1)[:, 1].exp())
                odds.append(pair[:, 1] - pair[:, 0])
        if not scores:
            return np.zeros(0, np.float32), np.zeros(0, np.float32)
        return (torch.cat(scores).cpu().numpy().astype(np.float32),
                torch.cat(odds).cpu().numpy().astype(np.float32))
    finally:
        tokenizer.padding_side = old_side

"""Loading Qwen3-Reranker: model id or folder, dtype and device, and what the scorer derives once.

:func:`_load` resolves a size (``"0.6B"``), hub id or local folder, picks the
device and dtype (:func:`core.config.pick_device`, :func:`core.rerank.quantize.resolve_dtype`;
int8 loads float32 and quantises its linear layers), loads the tokenizer and
causal LM once per process and key ``(reference, revision, device, dtype)``, and
:func:`_prepare` derives the yes/no rows of ``lm_head``, the template's token ids
and the forward conventions into one shared :class:`_Loaded`.

Nothing here is downloaded unless ``local_files_only=False``; a missing model
raises :class:`core.errors.ModelUnavailableError` saying how to provide it.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.config import QWEN3_RERANKERS, available_cpus, pick_device, pick_dtype
from core.errors import ModelUnavailableError
from core.rerank.quantize import INT8, quantize_int8, resolve_dtype
from core.rerank.template import NO_TOKEN, PREFIX, SUFFIX, YES_TOKEN

logger = logging.getLogger(__name__)

DEFAULT_MODEL = QWEN3_RERANKERS["0.6B"]
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


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


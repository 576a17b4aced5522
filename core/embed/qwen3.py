"""Qwen3-Embedding (0.6B, 4B, 8B) through ``transformers``.

Follows the model card (huggingface.co/Qwen/Qwen3-Embedding-0.6B, "Usage with
Transformers"): the tokenizer pads on the left, the embedding is the hidden
state of the last token (``<|endoftext|>``, appended when the tokenizer does
not add it itself), L2-normalised; an instruction-aware input is
``f"Instruct: {task}\\nQuery:{text}"``. Reference: Zhang et al., "Qwen3
Embedding", arXiv:2506.05176.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from core.errors import ModelUnavailableError

logger = logging.getLogger(__name__)

#: The model card's instruction template (no space after ``Query:``).
INSTRUCTION_TEMPLATE = "Instruct: {task}\nQuery:{text}"
#: Default task used when clustering posts (also ``core.embed.CLUSTER_TASK``).
CLUSTER_TASK = "Identify the topic or theme of the given social media post"


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def load_pretrained(loader, name: str, **kwargs):
    """Call ``loader.from_pretrained(name, ...)`` offline first, then online
    unless ``HF_HUB_OFFLINE`` is set.

    Raises:
        ModelUnavailableError: when neither works; the message says how to
            provide the weights.
    """
    try:
        return loader.from_pretrained(name, local_files_only=True, **kwargs)
    except (OSError, ValueError) as offline_exc:
        if Path(name).exists() or _offline():
            raise ModelUnavailableError(
                f"Cannot load the model {name!r} from local files ({type(offline_exc).__name__}: "
                f"{str(offline_exc).splitlines()[0] if str(offline_exc) else ''}).",
                hint="Download it on a machine with internet access "
                f"(`huggingface-cli download {name}`) and copy the Hugging Face cache here, "
                "or give the path of a local folder holding config.json, the weights and the tokenizer.",
            ) from offline_exc
        try:
            return loader.from_pretrained(name, **kwargs)
        except (OSError, ValueError) as exc:
            raise ModelUnavailableError(
                f"Cannot download the model {name!r}: {str(exc).splitlines()[0] if str(exc) else exc}.",
                hint="Check the model id, or give the path of a local folder with the weights.",
            ) from exc


class Qwen3Embedder:
    """Qwen3-Embedding as an :class:`core.embed.base.Embedder`.

    Args:
        model: a Hugging Face id (``"Qwen/Qwen3-Embedding-0.6B"``) or a local
            folder (any Qwen3 checkpoint loadable with ``AutoModel``).
        device: ``"cuda"``, ``"mps"``, ``"cpu"`` or ``None`` (cuda > mps > cpu).
        dtype: ``"bfloat16"``, ``"float32"``... or ``None`` (bf16 on CUDA, else fp32).
        max_length: token limit of one input, instruction included (default
            8192, the card's value); longer posts are truncated.
        token_budget: padded tokens per forward pass (batch size x longest
            input); inputs are sorted by length so batches pad little.

    Raises:
        ModelUnavailableError: weights or tokenizer cannot be loaded offline
            (and ``HF_HUB_OFFLINE`` is set, or the download fails).

    Example:
        >>> emb = Qwen3Embedder("Qwen/Qwen3-Embedding-0.6B")  # doctest: +SKIP
        >>> emb.embed(["台风来了"], task="Identify the topic").shape  # doctest: +SKIP
        (1, 1024)
    """

    def __init__(
        self,
        model: str = "Qwen/Qwen3-Embedding-0.6B",
        *,
        device: str | None = None,
        dtype: str | None = None,
        max_length: int = 8192,
        token_budget: int = 16384,
    ) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        from core.config import pick_device, pick_dtype

        self.device = pick_device(device)
        self.torch_dtype = pick_dtype(self.device, dtype)
        self.max_length = int(max_length)
        self.token_budget = int(token_budget)
        path = Path(model).expanduser()
        self.model_id = str(path.resolve()) if path.is_dir() else model
        self.tokenizer = load_pretrained(AutoTokenizer, str(path) if path.is_dir() else model,
                                         padding_side="left")
        self.model = load_pretrained(AutoModel, str(path) if path.is_dir() else model,
                                     dtype=self.torch_dtype)
        self.model.to(self.device).eval()
        self.dim = int(self.model.config.hidden_size)
        eos = self.tokenizer.eos_token_id
        pad = self.tokenizer.pad_token_id
        # The card's last token is <|endoftext|> (the pad token of Qwen3 tokenizers).
        self._end_id = pad if pad is not None else eos
        self._pad_id = pad if pad is not None else eos
        probe = self.tokenizer("a", add_special_tokens=True)["input_ids"]
        self._append_end = not probe or probe[-1] != self._end_id
        self._lock = threading.Lock()
        self._torch = torch
        logger.info("loaded %s on %s (%s)", self.model_id, self.device, self.torch_dtype)

    def _encode(self, texts: list[str]) -> list[list[int]]:
        limit = self.max_length - (1 if self._append_end else 0)
        ids = self.tokenizer(texts, add_special_tokens=True, truncation=True, max_length=limit)["input_ids"]
        if self._append_end:
            ids = [list(x) + [self._end_id] for x in ids]
        return ids

    def embed(
        self,
        texts: Sequence[str],
        *,
        task: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """Embed ``texts``, each prefixed with the instruction when ``task`` is given.

        Returns:
            float32 array of shape (n, hidden_size), rows L2-normalised; the row
            of an empty text is all zeros.
        """
        torch = self._torch
        texts = ["" if t is None else str(t) for t in texts]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        idx = [i for i, t in enumerate(texts) if t.strip()]
        if not idx:
            return out
        inputs = [INSTRUCTION_TEMPLATE.format(task=task, text=texts[i]) if task else texts[i] for i in idx]
        ids = self._encode(inputs)
        order = sorted(range(len(ids)), key=lambda j: len(ids[j]), reverse=True)
        done = 0
        with self._lock, torch.inference_mode():
            start = 0
            while start < len(order):
                longest = len(ids[order[start]])
                size = max(1, self.token_budget // max(1, longest))
                batch = order[start : start + size]
                start += len(batch)
                width = max(len(ids[j]) for j in batch)
                input_ids = torch.full((len(batch), width), self._pad_id, dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                for row, j in enumerate(batch):
                    seq = ids[j]
                    input_ids[row, width - len(seq) :] = torch.tensor(seq, dtype=torch.long)
                    mask[row, width - len(seq) :] = 1
                hidden = self.model(
                    input_ids=input_ids.to(self.device), attention_mask=mask.to(self.device)
                ).last_hidden_state
                last = hidden[:, -1].float()  # left padding: the last position is the last token
                last = torch.nn.functional.normalize(last, p=2, dim=1).cpu().numpy()
                for row, j in enumerate(batch):
                    out[idx[j]] = last[row]
                done += len(batch)
                if progress:
                    progress(done, len(idx))
        return out

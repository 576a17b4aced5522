"""An instruction as a second direction for a scorer that cannot read it.

The embedded scorer ranks by similarity to the query only. To let an analyst's
instruction ("posts about donating or volunteering", "posts that oppose it")
still move the ranking, its content is scored against each candidate the way
the query is, and the pipeline fuses that with the relevance score
(:mod:`core.rerank.mode_part`):

1. :func:`instruction_content` keeps what the instruction asks for: the part
   before a contrast (", not ...", "rather than", "instead of", "而不是", ...),
   without the words every retrieval instruction shares ("given", "query",
   "retrieve", "posts", "relevant", ...) and without stopwords
   (:data:`core.text.tokenize.STOPWORDS`). ``"Posts about donating or
   volunteering to help, not jokes"`` -> ``"donating volunteering help"``.
2. :func:`instruction_scores`: ``0.5 * mm(cos) + 0.5 * mm(bm25)`` over the n
   candidates, ``cos`` the cosine between the content's embedding (same
   embedder as the posts) and each post's, ``bm25`` the BM25 score of the
   content words in the candidates (stemmed, jieba-segmented; Sieve's
   :class:`core.candidates.BM25Index`), ``mm`` a min-max normalisation over
   the candidates. Without embeddings, BM25 alone; with neither signal, zeros.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

from core.text.tokenize import STOPWORDS, tokenize

logger = logging.getLogger(__name__)

#: Words shared by retrieval instructions, which say nothing about the wanted posts.
INSTRUCTION_WORDS = frozenset(
    """given query queries search retrieve rank find show list put first top posts post passages passage
    documents document tweets tweet weibo messages message texts text relevant relevance answer answers
    social media web topic topics event events regarding related whose which that where author authors
    帖子 微博 推文 内容 相关 查询 检索 找出 排在 前面 优先 关于 有关 的""".split()
)
_CONTRAST = re.compile(r",?\s*\b(?:not|rather than|instead of|but not|except|excluding)\b|而不是|而非|不要|不是|除了",
                       re.IGNORECASE)


def instruction_content(instruction: str) -> str:
    """The words of ``instruction`` that say which posts are wanted (step 1 of the module docstring).

    Args:
        instruction: an instruction in any language.

    Returns:
        Its content words joined by spaces; ``""`` when none is left.

    Example:
        >>> instruction_content("Posts about donating or volunteering to help, not jokes")
        'donating volunteering help'
    """
    text = str(instruction or "")
    head = _CONTRAST.split(text, maxsplit=1)[0]
    if not tokenize(head):  # the instruction starts with its contrast: keep it whole
        head = text
    words = [w for w in tokenize(head) if w not in STOPWORDS and w not in INSTRUCTION_WORDS]
    return " ".join(dict.fromkeys(words))


_VEC_CACHE: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_VEC_LOCK = threading.Lock()


def _content_vector(embedder, content: str) -> np.ndarray:
    """The content's query embedding, kept in memory by (model id, content): comparing
    modes or re-running a query with the same instruction embeds it once."""
    from core.candidates import embed_query

    key = (str(getattr(embedder, "model_id", id(embedder))), content)
    with _VEC_LOCK:
        if key in _VEC_CACHE:
            _VEC_CACHE.move_to_end(key)
            return _VEC_CACHE[key]
    vec = embed_query(embedder, content)
    with _VEC_LOCK:
        _VEC_CACHE[key] = vec
        while len(_VEC_CACHE) > 256:
            _VEC_CACHE.popitem(last=False)
    return vec


def _minmax(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return x
    lo, hi = float(np.min(x)), float(np.max(x))
    return np.zeros_like(x) if hi <= lo else (x - lo) / (hi - lo)


def instruction_scores(instruction: str, texts: Sequence[str], *, embeddings: np.ndarray | None = None,
                       embedder=None, bm25: Callable[[str], np.ndarray] | None = None) -> np.ndarray:
    """How well each candidate matches the instruction's content (step 2 of the module docstring).

    Args:
        instruction: the mode's instruction.
        texts: the n candidate posts.
        embeddings: optional float32 (n, dim) L2-normalised embeddings of
            ``texts`` by ``embedder``.
        embedder: the :class:`core.embed.base.Embedder` that made
            ``embeddings`` (used to embed the instruction's content; the
            content's vector is kept in memory, so one instruction is embedded once).
        bm25: optional ``bm25(text) -> float array (n,)``: BM25 scores of the
            candidates for a text, e.g. read from the table's index (the
            pipeline passes one); default: a :class:`core.candidates.BM25Index`
            over the candidates.

    Returns:
        float64 array of shape (n,), in [0, 1] (1 = the best match among
        these candidates); all 0 when the instruction has no content word.
    """
    from core.candidates import BM25Index

    n = len(texts)
    content = instruction_content(instruction)
    if not content or n == 0:
        return np.zeros(n)
    parts = []
    if embeddings is not None and embedder is not None and len(embeddings) == n:
        q = _content_vector(embedder, content)
        parts.append(_minmax(np.asarray(embeddings, dtype=np.float32) @ q))
    lexical = (bm25(content) if bm25 is not None
               else BM25Index(["" if t is None else str(t) for t in texts]).scores(content))
    lexical = np.asarray(lexical, dtype=np.float64)
    if lexical.shape == (n,) and np.any(lexical > 0):
        parts.append(_minmax(lexical))
    return np.mean(parts, axis=0) if parts else np.zeros(n)

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
from collections.abc import Sequence

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


def _minmax(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return x
    lo, hi = float(np.min(x)), float(np.max(x))
    return np.zeros_like(x) if hi <= lo else (x - lo) / (hi - lo)


def instruction_scores(instruction: str, texts: Sequence[str], *, embeddings: np.ndarray | None = None,
                       embedder=None) -> np.ndarray:
    """How well each candidate matches the instruction's content (step 2 of the module docstring).

    Args:
        instruction: the mode's instruction.
        texts: the n candidate posts.
        embeddings: optional float32 (n, dim) L2-normalised embeddings of
            ``texts`` by ``embedder``.
        embedder: the :class:`core.embed.base.Embedder` that made
            ``embeddings`` (used to embed the instruction's content).

    Returns:
        float64 array of shape (n,), in [0, 1] (1 = the best match among
        these candidates); all 0 when the instruction has no content word.
    """
    from core.candidates import BM25Index, embed_query

    n = len(texts)
    content = instruction_content(instruction)
    if not content or n == 0:
        return np.zeros(n)
    parts = []
    if embeddings is not None and embedder is not None and len(embeddings) == n:
        q = embed_query(embedder, content)
        parts.append(_minmax(np.asarray(embeddings, dtype=np.float32) @ q))
    bm25 = BM25Index(["" if t is None else str(t) for t in texts]).scores(content)
    if np.any(bm25 > 0):
        parts.append(_minmax(bm25))
    return np.mean(parts, axis=0) if parts else np.zeros(n)

"""Cluster keywords by class-based TF-IDF (c-TF-IDF).

Reference: Grootendorst, "BERTopic: Neural topic modeling with a class-based
TF-IDF procedure", 2022, arXiv:2203.05794, eq. (1): all posts of a cluster are
one document; the weight of term t in class c is

    W(t, c) = tf(t, c) / |c|  *  log(1 + A / f(t))

where tf(t, c) is the count of t in class c, |c| the number of tokens of c
(BERTopic's L1 normalisation), f(t) the count of t over all classes and A the
average number of tokens per class. Noise (-1) takes part as a class, so words
common to everything are discounted, but gets no keywords of its own.

That IDF never reaches zero, so in a file about one event the event's own words
("boston", "marathon") top every cluster's list. Keywords are therefore ranked
distinctive first: a word whose rate in the cluster (count / tokens of the
cluster) is at least :data:`MIN_LIFT` times its rate in all the other posts
comes before one that is not (the lift of association-rule mining; measured on
the sub-clusters of the CrisisLex T26 Boston file, where it moves "boston" and
"marathon" behind "suspect", "victims", "donate").

Tokens come from :func:`core.text.tokenize` (jieba for Chinese, lower-cased
Latin words; URLs, @mentions, ``[表情]`` codes, punctuation and the stopwords
of both languages dropped), through scikit-learn's ``CountVectorizer`` with a
callable analyzer.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from core.errors import ParameterError
from core.text import tokenize

logger = logging.getLogger(__name__)

_DIGITS_RE = re.compile(r"^[\d.,:%]+$")
_CJK_CHAR_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
SNIPPET_CHARS = 24
#: A keyword's rate in its cluster over its rate in the other posts, for it to
#: rank among the distinctive words.
MIN_LIFT = 2.0


def _keyword_candidate(token: str) -> bool:
    """Whether a token can be shown as a keyword: not a bare number, and not a
    single Chinese character (jieba leaves function characters and fragments)."""
    if _DIGITS_RE.match(token):
        return False
    if len(token) == 1 and _CJK_CHAR_RE.match(token):
        return False
    return True


def _snippet(texts: Sequence[str]) -> str:
    for text in texts:
        text = " ".join(str(text or "").split())
        if text:
            return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1] + "…"
    return "(empty posts)"


def ctfidf_matrix(class_tokens: Sequence[Sequence[str]]):
    """c-TF-IDF weights of tokenised classes.

    Args:
        class_tokens: one token list per class (all its posts together).

    Returns:
        ``(weights, vocabulary)``: ``weights`` a float64 array of shape
        (n_classes, n_terms) (formula in the module docstring), ``vocabulary``
        a list of n_terms tokens. Empty when there are no tokens at all.
    """
    from sklearn.feature_extraction.text import CountVectorizer

    if not any(class_tokens):
        return np.zeros((len(class_tokens), 0)), []
    vectorizer = CountVectorizer(analyzer=lambda tokens: tokens, lowercase=False)
    counts = vectorizer.fit_transform([list(t) for t in class_tokens]).astype(np.float64)
    tf = counts.toarray()
    class_len = tf.sum(axis=1, keepdims=True)
    avg = float(class_len.mean())
    freq = tf.sum(axis=0)
    idf = np.log(1.0 + avg / np.maximum(freq, 1e-12))
    weights = np.divide(tf, class_len, out=np.zeros_like(tf), where=class_len > 0) * idf
    return weights, list(vectorizer.get_feature_names_out())


def _class_counts(class_tokens: Sequence[Sequence[str]], vocab: Sequence[str]) -> np.ndarray:
    """Counts of each vocabulary term per class: float64 (n_classes, n_terms)."""
    col = {t: j for j, t in enumerate(vocab)}
    out = np.zeros((len(class_tokens), len(vocab)))
    for i, toks in enumerate(class_tokens):
        for tok, c in Counter(toks).items():
            out[i, col[tok]] = c
    return out


def _lift(counts: np.ndarray, row: int) -> np.ndarray:
    """Rate of each term in class ``row`` over its rate in all other classes
    together (per token); ``inf`` for a term absent elsewhere, or when there is
    no other class."""
    inside = counts[row]
    rest = counts.sum(axis=0) - inside
    rate_in = inside / max(float(inside.sum()), 1.0)
    rate_out = rest / max(float(rest.sum()), 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(rate_out > 0, rate_in / np.where(rate_out > 0, rate_out, 1.0), np.inf)


def cluster_keywords(
    texts: Sequence[str],
    labels: Sequence[int] | np.ndarray,
    top_n: int = 8,
    *,
    include_noise: bool = False,
) -> dict[int, list[str]]:
    """The words that set each cluster apart (c-TF-IDF).

    Args:
        texts: n post texts (Chinese, English or mixed).
        labels: n cluster labels aligned with ``texts``; -1 = noise.
        top_n: keywords per cluster (>= 1).
        include_noise: also return keywords for -1 (the noise class always
            counts in the IDF).

    Returns:
        ``{cluster: [keyword, ...]}`` for every cluster label >= 0 (and -1
        when asked), best first: words found in at least two of the
        cluster's posts and at least :data:`MIN_LIFT` times as frequent
        (per token) as in the other posts, by c-TF-IDF weight, then the
        other words of at least two posts, then words of a single post;
        never empty: when c-TF-IDF finds fewer than
        ``top_n`` words, the cluster's most frequent tokens fill in (single
        characters and numbers included); a cluster whose posts have no
        token at all gets a snippet of its first post.

    Raises:
        ValueError: ``texts`` and ``labels`` differ in length, or ``top_n`` < 1.
    """
    labels = np.asarray(labels, dtype=np.int64)
    if len(texts) != labels.shape[0]:
        raise ParameterError(
            f"cluster_keywords got {len(texts)} texts but {labels.shape[0]} labels; they must align."
        )
    if isinstance(top_n, bool) or not isinstance(top_n, (int, np.integer)) or top_n < 1:
        raise ParameterError(
            f"The 'top_n' parameter of cluster_keywords must be an int >= 1. Got {top_n!r} instead."
        )
    classes = sorted(set(labels.tolist()))
    if not classes:
        return {}
    tokens_of = [tokenize(t) if t else [] for t in texts]
    class_tokens = []
    for c in classes:
        rows = np.flatnonzero(labels == c)
        class_tokens.append([tok for i in rows for tok in tokens_of[i]])
    weights, vocab = ctfidf_matrix(class_tokens)
    counts = _class_counts(class_tokens, vocab)
    vocab_ok = np.array([_keyword_candidate(t) for t in vocab], dtype=bool) if vocab else np.zeros(0, bool)
    out: dict[int, list[str]] = {}
    for row, c in enumerate(classes):
        if c < 0 and not include_noise:
            continue
        words: list[str] = []
        if vocab:
            rows = np.flatnonzero(labels == c)
            df = Counter(tok for i in rows for tok in set(tokens_of[i]))
            min_df = min(2, rows.size)
            w = np.where(vocab_ok & (weights[row] > 0), weights[row], -np.inf)
            order = [j for j in np.argsort(-w, kind="stable") if np.isfinite(w[j])]
            # Words shared by several posts first: a word in one post only is often a
            # segmentation fragment or a typo.
            distinct = _lift(counts, row) >= MIN_LIFT
            shared = [vocab[j] for j in order if df[vocab[j]] >= min_df and distinct[j]]
            common = [vocab[j] for j in order if df[vocab[j]] >= min_df and not distinct[j]]
            single = [vocab[j] for j in order if df[vocab[j]] < min_df]
            words = (shared + common + single)[:top_n]
        if len(words) < top_n:
            for tok, _ in Counter(class_tokens[row]).most_common():
                if tok not in words:
                    words.append(tok)
                if len(words) >= top_n:
                    break
        if not words:
            words = [_snippet([texts[i] for i in np.flatnonzero(labels == c)])]
        out[int(c)] = words
    return out

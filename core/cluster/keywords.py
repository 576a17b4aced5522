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
#: Posts tokenised at a time by :func:`cluster_keywords` (only their tokens are held).
CHUNK = 20_000


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


def _lift(counts, row: int, colsum: np.ndarray | None = None) -> np.ndarray:
    """Rate of each term in class ``row`` over its rate in all other classes
    together (per token); ``inf`` for a term absent elsewhere, or when there is
    no other class. ``counts``: (n_classes, n_terms) counts, dense or sparse;
    ``colsum``: its column sums when already known."""
    inside = _dense_row(counts, row)
    total = np.asarray(counts.sum(axis=0)).reshape(-1) if colsum is None else colsum
    rest = total - inside
    rate_in = inside / max(float(inside.sum()), 1.0)
    rate_out = rest / max(float(rest.sum()), 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(rate_out > 0, rate_in / np.where(rate_out > 0, rate_out, 1.0), np.inf)


def _dense_row(m, row: int) -> np.ndarray:
    """Row ``row`` of a dense or sparse matrix as a float64 1-D array."""
    if hasattr(m, "toarray"):
        return m[row].toarray().reshape(-1).astype(np.float64)
    return np.asarray(m[row], dtype=np.float64)


def _texts_slice(texts, start: int, stop: int) -> list:
    """``texts[start:stop]`` as a list, for a list, an array or a pandas Series (by position)."""
    if hasattr(texts, "iloc"):
        return texts.iloc[start:stop].tolist()
    return list(texts[start:stop])


def _texts_at(texts, rows: np.ndarray) -> list:
    """The texts at positions ``rows``."""
    if hasattr(texts, "iloc"):
        return texts.iloc[rows].tolist()
    return [texts[int(i)] for i in rows]


def class_term_counts(texts, class_of: np.ndarray, n_classes: int, *, chunk: int = CHUNK):
    """Token counts and post counts per (class, term), tokenising ``chunk`` posts at a time.

    Args:
        texts: n post texts (a list, an array or a pandas Series).
        class_of: int64 (n,), each post's class row (0..n_classes-1).
        n_classes: number of classes.
        chunk: posts tokenised at a time (only their tokens are held).

    Returns:
        ``(counts, df, vocab)``: ``counts`` and ``df`` scipy CSR float64 (n_classes, n_terms):
        how often each term occurs in the class's posts, and in how many of them;
        ``vocab`` the n_terms tokens sorted (the column order of scikit-learn's
        ``CountVectorizer``, so ties break as with :func:`ctfidf_matrix`).
    """
    from scipy import sparse

    ids: dict[str, int] = {}
    counts = sparse.csr_matrix((n_classes, 0))
    df = sparse.csr_matrix((n_classes, 0))
    for start in range(0, len(texts), chunk):
        part = _texts_slice(texts, start, start + chunk)
        tok_rows, tok_cols, doc_rows, doc_cols = [], [], [], []
        for c, t in zip(class_of[start : start + len(part)].tolist(), part):
            toks = tokenize(t) if t else []
            if not toks:
                continue
            cols = [ids.setdefault(tok, len(ids)) for tok in toks]
            tok_cols.extend(cols)
            tok_rows.extend([c] * len(cols))
            uniq = set(cols)
            doc_cols.extend(uniq)
            doc_rows.extend([c] * len(uniq))
        shape = (n_classes, len(ids))
        counts.resize(shape)
        df.resize(shape)
        if tok_cols:
            counts = counts + sparse.csr_matrix((np.ones(len(tok_cols)), (tok_rows, tok_cols)), shape=shape)
            df = df + sparse.csr_matrix((np.ones(len(doc_cols)), (doc_rows, doc_cols)), shape=shape)
    vocab = sorted(ids)
    order = np.fromiter((ids[t] for t in vocab), dtype=np.int64, count=len(vocab))
    return counts[:, order].tocsr(), df[:, order].tocsr(), vocab


def cluster_keywords(
    texts: Sequence[str],
    labels: Sequence[int] | np.ndarray,
    top_n: int = 8,
    *,
    include_noise: bool = False,
    chunk: int = CHUNK,
) -> dict[int, list[str]]:
    """The words that set each cluster apart (c-TF-IDF).

    Args:
        texts: n post texts (Chinese, English or mixed): a list, an array or a
            pandas Series (read ``chunk`` posts at a time).
        labels: n cluster labels aligned with ``texts``; -1 = noise.
        top_n: keywords per cluster (>= 1).
        include_noise: also return keywords for -1 (the noise class always
            counts in the IDF).
        chunk: posts tokenised at a time (:func:`class_term_counts`): only their
            tokens and the sparse (classes x vocabulary) counts are held, so a
            million posts need no list of every token.

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
    classes = np.unique(labels).tolist()
    if not classes:
        return {}
    class_of = np.searchsorted(np.asarray(classes, dtype=np.int64), labels)
    counts, df_all, vocab = class_term_counts(texts, class_of, len(classes), chunk=int(chunk))
    colsum = np.asarray(counts.sum(axis=0)).reshape(-1)
    class_len = np.asarray(counts.sum(axis=1)).reshape(-1)
    # c-TF-IDF (ctfidf_matrix's formula), one class row at a time
    idf = np.log(1.0 + float(class_len.mean()) / np.maximum(colsum, 1e-12)) if vocab else np.zeros(0)
    vocab_ok = np.array([_keyword_candidate(t) for t in vocab], dtype=bool) if vocab else np.zeros(0, bool)
    vocab_arr = np.asarray(vocab, dtype=object)
    out: dict[int, list[str]] = {}
    for row, c in enumerate(classes):
        if c < 0 and not include_noise:
            continue
        words: list[str] = []
        rows = None
        if vocab:
            tf = _dense_row(counts, row)
            weight = tf / class_len[row] * idf if class_len[row] > 0 else np.zeros_like(tf)
            n_posts = int(np.count_nonzero(class_of == row))
            df = _dense_row(df_all, row)
            min_df = min(2, n_posts)
            w = np.where(vocab_ok & (weight > 0), weight, -np.inf)
            order = np.argsort(-w, kind="stable")
            order = order[np.isfinite(w[order])]
            # Words shared by several posts first: a word in one post only is often a
            # segmentation fragment or a typo.
            distinct = _lift(counts, row, colsum) >= MIN_LIFT
            many = df[order] >= min_df
            shared = vocab_arr[order[many & distinct[order]]].tolist()
            common = vocab_arr[order[many & ~distinct[order]]].tolist()
            single = vocab_arr[order[~many]].tolist()
            words = (shared + common + single)[:top_n]
        if len(words) < top_n:
            rows = np.flatnonzero(labels == c)
            # the class's tokens again (only for a class with too few keywords): most frequent first
            class_tokens = [tok for t in _texts_at(texts, rows) for tok in (tokenize(t) if t else [])]
            for tok, _ in Counter(class_tokens).most_common():
                if tok not in words:
                    words.append(tok)
                if len(words) >= top_n:
                    break
        if not words:
            words = [_snippet(_texts_at(texts, rows if rows is not None else np.flatnonzero(labels == c)))]
        out[int(c)] = words
    return out

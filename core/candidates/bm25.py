"""BM25 over bilingual post text (bm25s, tokens from :func:`core.text.tokenize`).

Chinese runs are segmented with jieba and Latin words lower-cased by the same
tokeniser that feeds the cluster keywords, so a Chinese word is found inside
unsegmented Chinese text. On top of that, for search only (:func:`search_tokens`):
camel-case hashtags are also split into their words (``#WaldoCanyonFire`` ->
``waldocanyonfire waldo canyon fire``) and Latin words are reduced to their
English Snowball stem (``donations``/``donate`` -> ``donat``; Porter, "An
algorithm for suffix stripping", 1980; Snowball English stemmer). Both were
measured on CrisisLex T26 (``bench/retrieval_quality.py``). Scoring: Lucene's
BM25 variant (defaults k1=1.2, b=0.5, lower than the usual 1.5/0.75 because
posts are short) as implemented by bm25s (Lù, "BM25S: Orders of magnitude
faster lexical search via eager sparse scoring", arXiv:2407.03618).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.store import holders, usage
from core.store.folder import PERSIST_MIN, store_root, texts_key
from core.text.tokenize import tokenize

logger = logging.getLogger(__name__)

_HASHTAG_RE = re.compile(r"#([A-Za-z][A-Za-z0-9]*)")
_CAMEL_PART_RE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_LATIN_RE = re.compile(r"[a-z]")
_stem_lock = threading.Lock()
_stemmer = None


def split_hashtags(text: str) -> str:
    """Append the words of camel-case hashtags: ``#BoulderFire`` -> ``#BoulderFire Boulder Fire``."""

    def expand(m: re.Match) -> str:
        parts = _CAMEL_PART_RE.findall(m.group(1))
        return m.group(0) + (" " + " ".join(parts) if len(parts) > 1 else "")

    return _HASHTAG_RE.sub(expand, text)


@lru_cache(maxsize=262144)
def stem(word: str) -> str:
    """English Snowball stem of a Latin-script word; other words are returned unchanged.

    Falls back to the word itself (and logs once) when ``snowballstemmer`` is
    not installed.
    """
    global _stemmer
    if not _LATIN_RE.search(word):
        return word
    with _stem_lock:  # snowballstemmer objects are not thread-safe
        if _stemmer is None:
            try:
                import snowballstemmer

                _stemmer = snowballstemmer.stemmer("english")
            except ImportError:
                logger.warning("snowballstemmer is not installed: BM25 runs without stemming "
                               "(pip install 'snowballstemmer>=2.2,<4')")
                _stemmer = False
        return _stemmer.stemWord(word) if _stemmer else word


_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@lru_cache(maxsize=262144)
def _cjk_subwords(word: str) -> tuple[str, ...]:
    """The shorter dictionary words inside a Chinese word of 3+ characters
    (jieba search mode): ``放鞭炮`` -> ``鞭炮``."""
    from core.text.tokenize import STOPWORDS, _get_jieba

    subs = _get_jieba().lcut_for_search(word, HMM=False)
    return tuple(w for w in subs if len(w) >= 2 and w != word and w not in STOPWORDS)


def search_tokens(text: str | None) -> list[str]:
    """Tokens BM25 indexes: :func:`core.text.tokenize.tokenize` of the text with
    camel-case hashtags split, Latin words stemmed (English Snowball), and each
    Chinese word of 3+ characters followed by the shorter words inside it
    (jieba search mode), so ``鞭炮`` finds ``放鞭炮``."""
    if not text:
        return []
    out: list[str] = []
    for t in tokenize(split_hashtags(str(text))):
        if len(t) >= 3 and _CJK_RE.search(t):
            out.append(t)
            out.extend(_cjk_subwords(t))
        else:
            out.append(stem(t))
    return out


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest ``scores``, best first; ties keep index order."""
    k = max(0, min(int(k), scores.shape[0]))
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    # A stable sort on -score keeps the lower index first among equal scores.
    return np.argsort(-scores, kind="stable")[:k].astype(np.int64)


class BM25Index:
    """A BM25 index over ``texts``.

    Args:
        texts: n post texts (``None`` and empty strings are indexed as empty
            documents that never match).
        k1: term-frequency saturation (default 1.2).
        b: length normalisation in [0, 1] (default 0.5).
        tokenizer: function text -> list of tokens (default
            :func:`search_tokens`: jieba for Chinese, stemmed English words).

    Attributes:
        n_docs_: number of indexed documents.

    Example:
        >>> idx = BM25Index(["台风山竹登陆广东", "typhoon hits Guangdong", "今天天气很好"])
        >>> idx.search("台风", k=1)[0].tolist()
        [0]
    """

    def __init__(self, texts: Sequence[str | None], *, k1: float = 1.2, b: float = 0.5,
                 tokenizer=search_tokens) -> None:
        import bm25s

        # bm25s sets its own logger to DEBUG, which then reaches any root handler.
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        self.k1 = k1
        self.b = b
        self.tokenizer = tokenizer
        # Token ids, not token strings, are kept while indexing: a million posts' tokens as
        # strings took about 1 GB; as ids they take a fraction, and the index scores the same.
        vocab: dict[str, int] = {}
        ids: list[list[int]] = []
        for t in texts:
            toks = tokenizer(t) if t else []
            ids.append([vocab.setdefault(tok, len(vocab)) for tok in toks])
        self.n_docs_ = len(ids)
        self._bm25 = None
        if self.n_docs_ and vocab:
            self._bm25 = bm25s.BM25(k1=k1, b=b, method="lucene")
            self._bm25.index((ids, vocab), show_progress=False, create_empty_token=False)
        logger.debug("BM25 index over %d documents", self.n_docs_)

    def save(self, folder: str | Path) -> Path:
        """Write the index to ``folder`` (bm25s's sparse matrix and vocabulary, plus
        ``sieve.json``) atomically: a reader sees the whole folder or none."""
        from core.store.folder import atomic_dir

        folder = Path(folder)
        with atomic_dir(folder) as tmp:
            if self._bm25 is not None:
                self._bm25.save(str(tmp), show_progress=False)
            meta = {"n_docs": self.n_docs_, "k1": self.k1, "b": self.b, "empty": self._bm25 is None,
                    "tokenizer": getattr(self.tokenizer, "__qualname__", str(self.tokenizer))}
            (tmp / "sieve.json").write_text(json.dumps(meta), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: str | Path, *, tokenizer=search_tokens, mmap: bool = True) -> BM25Index:
        """An index saved by :meth:`save`; its scores equal the saved index's.

        Args:
            folder: the saved folder.
            tokenizer: the query tokenizer (must be the one the index was built with).
            mmap: memory-map the sparse matrix instead of reading it into memory.

        Raises:
            OSError, ValueError, KeyError: a missing, incomplete or foreign folder.
        """
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)
        folder = Path(folder)
        meta = json.loads((folder / "sieve.json").read_text(encoding="utf-8"))
        name = getattr(tokenizer, "__qualname__", str(tokenizer))
        if meta["tokenizer"] != name:
            raise ValueError(f"saved with tokenizer {meta['tokenizer']}, asked for {name}")
        self = cls.__new__(cls)
        self.k1, self.b, self.tokenizer, self.n_docs_ = meta["k1"], meta["b"], tokenizer, int(meta["n_docs"])
        self._bm25 = None
        if not meta["empty"]:
            self._bm25 = bm25s.BM25.load(str(folder), mmap=mmap, show_progress=False)
            if int(self._bm25.scores["num_docs"]) != self.n_docs_:
                raise ValueError("the saved matrix does not match its document count")
        return self

    def term_scores(self, token: str) -> np.ndarray:
        """BM25 contribution of one (already tokenised) term to every document: float32 (n_docs,)."""
        out = np.zeros(self.n_docs_, dtype=np.float32)
        if self._bm25 is not None and token in self._bm25.vocab_dict:
            out[:] = np.asarray(self._bm25.get_scores([token]), dtype=np.float32)[: self.n_docs_]
        return out

    def query_tokens(self, query: str) -> list[str]:
        """The tokens of ``query`` that occur in the index (repeats kept)."""
        if self._bm25 is None:
            return []
        vocab = self._bm25.vocab_dict
        return [t for t in self.tokenizer(query or "") if t and t in vocab]

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for ``query``.

        Returns:
            float32 array of shape (n_docs,), >= 0; all zeros when no query
            token occurs in the index.
        """
        out = np.zeros(self.n_docs_, dtype=np.float32)
        tokens = self.query_tokens(query)
        if tokens:
            out[:] = np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)[: self.n_docs_]
        return out

    def search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best documents for ``query``.

        Args:
            query: any language; tokenised like the documents.
            k: how many to return (capped at the number of documents).

        Returns:
            ``(indices, scores)``: int64 array of shape (k,) of positions into
            ``texts``, best first (ties in index order), and their float32 BM25
            scores. Documents with score 0 are included only to fill ``k``.
        """
        scores = self.scores(query)
        idx = _top_k(scores, k)
        return idx, scores[idx]


_INDEX_CACHE: OrderedDict[str, BM25Index] = OrderedDict()
#: The saved folders of the indexes in ``_INDEX_CACHE``, held against every process's pruning
#: (:mod:`core.store.holders`) while their index is kept (it memory-maps the folder).
_HOLDS: dict[str, holders.Hold] = {}
_INDEX_LOCK = threading.Lock()


#: Corpora of at least this many texts are indexed by a child process
#: (``python -m core.candidates.bm25_child``), which saves the index; this process loads it.
#: Tokenising a million posts in the server held the interpreter lock for 80 s (every other
#: session waited), peaked 0.6 GB higher and left about 0.6 GB of allocator memory in use while
#: the dataset stayed open (``bench/scale.py --store``, 2026-12-03); a child hands all of it back
#: when it ends. The price: 100,000 posts took 8.7-9.5 s by a child against 6.1-8.6 s here.
BUILD_APART_MIN = 100_000


def _texts_ipc(texts: Sequence[str | None], rows: int = 50_000):
    """``texts`` as an Arrow IPC stream (one ``large_string`` column ``text``), ``rows`` at a
    time: pieces of bytes for :func:`core.store.child.run_module`'s stdin."""
    import io

    import pyarrow as pa

    schema = pa.schema([("text", pa.large_string())])
    buf = io.BytesIO()
    with pa.ipc.new_stream(pa.PythonFile(buf, mode="w"), schema) as writer:
        for start in range(0, len(texts), rows):
            part = [None if t is None else str(t) for t in texts[start : start + rows]]
            writer.write_batch(pa.record_batch([pa.array(part, type=pa.large_string())], schema=schema))
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()  # the end-of-stream marker


def _build_apart(texts: Sequence[str | None], key: str, folder: Path) -> bool:
    """Build and save the index of ``texts`` in ``folder`` by a child process; True when it
    saved one. The child checks that the texts it received have ``key``."""
    from core.store.child import run_module

    out = run_module("core.candidates.bm25_child", [str(folder), key], stdin=_texts_ipc(texts))
    if out is None or out.returncode != 0 or not (folder / "sieve.json").is_file():
        logger.warning("building the BM25 index of %d posts in a child process failed (%s); building it here",
                       len(texts), "not started" if out is None else f"exit {out.returncode}: {out.stderr_tail}")
        return False
    return True


def _load_saved(folder: Path, n_docs: int) -> BM25Index | None:
    from core.store.folder import remove

    if not folder.is_dir():
        return None
    try:
        index = BM25Index.load(folder)
        if index.n_docs_ == n_docs:
            return index
        remove(folder, "its document count differs")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        remove(folder, f"the saved BM25 index cannot be read ({exc})")
    return None


def _folder(key: str, root=None) -> Path:
    """The saved folder of the index of the corpus with texts key ``key``."""
    return store_root(root) / f"bm25-{key}"


def _saved(texts: Sequence[str | None]) -> bool:
    """Whether the index of ``texts`` is saved in the store (large enough, the store not turned off)."""
    return len(texts) >= PERSIST_MIN and not os.environ.get("SIEVE_NO_INDEX_STORE")


def _load_or_build(texts: Sequence[str | None], key: str, root) -> BM25Index:
    if not _saved(texts):
        return BM25Index(texts)
    folder = _folder(key, root)
    index = _load_saved(folder, len(texts))
    if index is not None:
        logger.info("BM25 index of %d posts loaded from %s", len(texts), folder)
        usage.mark_used(folder)
        return index
    if len(texts) >= BUILD_APART_MIN and _build_apart(texts, key, folder):
        index = _load_saved(folder, len(texts))
        if index is not None:
            logger.info("BM25 index of %d posts built by a child process in %s", len(texts), folder)
            usage.after_write(folder)
            return index
    index = BM25Index(texts)
    try:
        index.save(folder)
    except OSError as exc:  # a full or read-only disk: the index in memory still works
        logger.warning("could not save the BM25 index in %s: %s", folder, exc)
    else:
        usage.after_write(folder)
    return index


def cached_index(texts: Sequence[str | None], *, maxsize: int = 2, root=None) -> BM25Index:
    """A :class:`BM25Index` over ``texts`` with default parameters, built once
    per distinct corpus and kept in memory (the ``maxsize`` most recent, default 2:
    a million-post index is hundreds of MB). Corpora of :data:`PERSIST_MIN` texts or
    more are also saved under ``root`` (default ``<data>/datasets``, see
    :func:`core.store.folder.store_root`) keyed by :func:`texts_key`, and loaded
    from there when the same texts come again (a reopened dataset, a new process); such a folder is
    held against every process's pruning while its index is kept (:mod:`core.store.holders`)."""
    key = texts_key(texts)
    with _INDEX_LOCK:
        hit = _INDEX_CACHE.get(key)
        if hit is not None:
            _INDEX_CACHE.move_to_end(key)
    if hit is not None:
        if len(texts) >= PERSIST_MIN:  # in use: the store's cap never removes its folder meanwhile
            usage.mark_used(_folder(key, root))
        return hit
    hold = holders.hold(_folder(key, root)) if _saved(texts) else None  # before loading: no pruning meanwhile
    try:
        index = _load_or_build(texts, key, root)
    except BaseException:
        if hold is not None:
            hold.release()
        raise
    released = []
    with _INDEX_LOCK:
        _INDEX_CACHE[key] = index
        released.append(_HOLDS.pop(key, None))  # built twice at once: one hold is enough
        if hold is not None:
            _HOLDS[key] = hold
        while len(_INDEX_CACHE) > maxsize:
            gone, _ = _INDEX_CACHE.popitem(last=False)
            released.append(_HOLDS.pop(gone, None))
    for old in filter(None, released):
        old.release()
    return index


def _open_folders() -> list[Path]:
    """The saved folders of the BM25 indexes kept in memory."""
    with _INDEX_LOCK:
        return [h.folder for h in _HOLDS.values()]


usage.register_holder(_open_folders)


def release_indexes() -> None:
    """Drop every BM25 index kept in memory and the holds on their folders (the folders stay)."""
    with _INDEX_LOCK:
        _INDEX_CACHE.clear()
        released = list(_HOLDS.values())
        _HOLDS.clear()
    for hold in released:
        hold.release()

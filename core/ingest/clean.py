"""Text hygiene: from the cell as read to the post's own, cleaned words.

The original cell is always kept beside the result (``text_raw``). Cleaning,
in this order:

1. twarc-csv's literal ``\\n`` (backslash + n) turned back into newlines (only
   for twarc layouts, where the escape is known to be the writer's);
2. HTML ``<br>`` tags made newlines, then HTML entities unescaped exactly once
   (``&amp;lt;`` becomes ``&lt;``, not ``<``);
3. Weibo conventions: the poster's own words are the text before the first
   ``//@`` (the rest is the repost chain); a trailing ``全文`` / ``展开全文``
   link left by a truncating crawler is removed; ``[表情]`` emoticon codes are
   removed;
4. zero-width characters removed, runs of spaces made one, blank lines limited
   to one, ends stripped.

Topics (Weibo ``#话题#`` with a closing hash, Twitter ``#hashtag``),
``@mentions`` and URLs are extracted from the cleaned text (without their
``#``/``@`` marks); they stay in the text.

Placeholders (``[removed]``, ``[deleted]``, ``转发微博``, empty, whitespace,
``nan``, deleted-post notices) make a post unscorable with a reason.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from core.text.tokenize import URL_RE, normalise_for_dedupe

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_CHAR_RE = re.compile(f"[{_CJK}]")
_BR_RE = re.compile(r"<br\s*/?>", re.IGNORECASE)
_ZERO_WIDTH_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u200e\u200f]")
_SPACES_RE = re.compile(r"[ \t\u00a0\u3000]+")
_BLANK_LINES_RE = re.compile(r"\n\s*\n+")
#: Weibo emoticon codes: 1-6 Chinese characters, or one of the few Latin ones.
WEIBO_EMOTICON_RE = re.compile(rf"\[(?:[{_CJK}]{{1,6}}|doge|good|ok|awsl)\]", re.IGNORECASE)
#: A trailing "全文" link of a truncated Weibo post (after "...", "…" or a space).
_FULLTEXT_RE = re.compile(r"(?:\s*(?:\.{2,}|…+)\s*|\s+|^)(?:展开)?全文\s*[>›c]?\s*$")
_WEIBO_TOPIC_RE = re.compile(r"#([^#\s](?:[^#\n]{0,58}?[^#\s])?)#")
_HASHTAG_RE = re.compile(r"(?<![\w&/#])[#＃]([^\W_][\w]*)", re.UNICODE)
_MENTION_RE = re.compile(r"(?<![\w.@/])@([\w\u00b7\-]{1,30})", re.UNICODE)

#: Cells (compared lower-cased, stripped) that stand for no post text.
PLACEHOLDERS: frozenset[str] = frozenset(
    {
        "[removed]", "[deleted]", "[removed by reddit]", "[ removed by reddit ]", "[deleted by user]",
        "转发微博", "轉發微博", "repost", "转发", "nan", "none", "null", "n/a", "#n/a", "na",
    }
)
_DELETED_NOTICES = ("抱歉，此微博已被作者删除", "此微博已被作者删除", "该微博因被多人投诉", "该内容已被删除",
                    "抱歉，由于作者设置", "This Tweet was deleted", "This Tweet is unavailable")


@dataclass
class CleanText:
    """A post's cleaned text and what was found in it.

    Attributes:
        text: the cleaned own text (may be empty).
        hashtags: topic and hashtag names without ``#`` marks, in text order.
        mentions: ``@`` names without the ``@``.
        urls: URLs as written.
        truncated: True when a trailing ``全文`` link was removed.
        repost: True when a ``//@`` repost chain was cut off.
        unscorable_reason: why the post cannot be scored, or None.
    """

    text: str
    hashtags: list[str] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    truncated: bool = False
    repost: bool = False
    unscorable_reason: str | None = None


def placeholder_reason(text: str) -> str | None:
    """The unscorable reason of a text that is a placeholder or empty, else None.

    Example:
        >>> placeholder_reason(" [deleted] ")
        'placeholder: [deleted]'
    """
    stripped = text.strip() if text else ""
    if not stripped:
        return "empty text"
    if stripped.lower() in PLACEHOLDERS:
        return f"placeholder: {stripped}"
    for notice in _DELETED_NOTICES:
        if stripped.startswith(notice):
            return f"placeholder: {notice}"
    return None


_ODD_SPACE_RE = re.compile(r"[\t\u00a0\u3000]| {2}")


def _tidy(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _ODD_SPACE_RE.search(text):
        text = _SPACES_RE.sub(" ", text)
    if "\n" in text:
        text = "\n".join(line.strip() for line in text.split("\n"))
        text = _BLANK_LINES_RE.sub("\n\n", text)
    return text.strip()


def extract_entities(text: str) -> tuple[list[str], list[str], list[str]]:
    """Hashtags/topics, mentions and URLs of a text, in order, without duplicates.

    In a text with Chinese characters, ``#...#`` pairs whose inside neither
    starts nor ends with a space are Weibo topics (``#iPhone SE#``); other
    ``#word`` are Twitter hashtags. Both are returned without their marks.

    Returns:
        ``(hashtags, mentions, urls)``, each a ``list[str]``.
    """
    urls: list[str] = []
    scratch = text
    if "http" in text or "www." in text or "HTTP" in text or "WWW." in text:
        urls = [u.rstrip(".,;:!?)]}>'\"…") for u in URL_RE.findall(text)]
        scratch = URL_RE.sub(" ", text)
    tags: list[str] = []
    mentions: list[str] = []

    chinese = _CJK_CHAR_RE.search(text) is not None

    def topic(m: re.Match) -> str:
        inner = m.group(1).strip()
        if chinese:
            tags.append(inner)
            return " "
        return m.group(0)

    if "#" in scratch or "＃" in scratch:
        scratch = _WEIBO_TOPIC_RE.sub(topic, scratch)
        tags.extend(_HASHTAG_RE.findall(scratch))
    if "@" in scratch:
        mentions = [m.rstrip("-") for m in _MENTION_RE.findall(scratch)]
    return list(dict.fromkeys(tags)), list(dict.fromkeys(mentions)), list(dict.fromkeys(urls))


def _drop_emoticon(m: re.Match) -> str:
    """Remove an emoticon code; keep a space only where it separated two Latin words."""
    text, start, end = m.string, m.start(), m.end()
    before = text[start - 1] if start else ""
    after = text[end] if end < len(text) else ""
    return " " if before.isascii() and before.isalnum() and after.isascii() and after.isalnum() else ""


def clean_text(raw: str, *, literal_newlines: bool = False) -> CleanText:
    """Clean one text cell (see the module docstring for the steps).

    Args:
        raw: the text as read (``""`` for a missing cell).
        literal_newlines: turn a literal backslash-n into a newline (twarc-csv).

    Returns:
        A :class:`CleanText`; ``unscorable_reason`` is set for placeholders,
        empty text, reposts without own words and texts with no letters or
        digits left once links, mentions and emoticons are removed.
    """
    reason = placeholder_reason(raw)
    if reason:
        return CleanText(text="" if reason == "empty text" else raw.strip(), unscorable_reason=reason)
    text = raw
    if literal_newlines and "\\n" in text:
        text = text.replace("\\r\\n", "\n").replace("\\n", "\n")
    if "<" in text:
        text = _BR_RE.sub("\n", text)
    if "&" in text:
        text = html.unescape(text)
    text = _ZERO_WIDTH_RE.sub("", text)
    repost = False
    cut = text.find("//@")
    if cut >= 0:
        text, repost = text[:cut], True
    truncated = False
    if "全文" in text:
        shorter = _FULLTEXT_RE.sub("", text)
        truncated = shorter != text
        text = shorter
    if "[" in text:
        text = WEIBO_EMOTICON_RE.sub(_drop_emoticon, text)
    text = _tidy(text)
    hashtags, mentions, urls = extract_entities(text)
    out = CleanText(text, hashtags, mentions, urls, truncated=truncated, repost=repost)
    reason = placeholder_reason(text)
    if reason == "empty text":
        out.unscorable_reason = "repost without own text" if repost else "empty text"
    elif reason:
        out.unscorable_reason = reason
    elif not normalise_for_dedupe(text):
        out.unscorable_reason = "no words (only links, mentions, emoticons or symbols)"
    return out

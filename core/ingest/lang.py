"""Post language: the export's language column normalised (``English``, ``zh-CN`` -> ``en``, ``zh``), else detected.

Split out of :mod:`core.ingest.read`.
"""

from __future__ import annotations

import re

from core.text.tokenize import detect_lang

_LANG_NAMES = {
    "english": "en", "chinese": "zh", "中文": "zh", "英文": "en", "汉语": "zh", "japanese": "ja",
    "spanish": "es", "french": "fr", "german": "de", "italian": "it", "korean": "ko",
    "portuguese": "pt", "russian": "ru", "arabic": "ar", "tagalog": "tl", "filipino": "tl",
    "indonesian": "in", "malay": "ms",
}
_ASCII_LETTER_RE = re.compile(r"[A-Za-z]")
_NO_LANG = frozenset({"", "und", "unknown", "nan", "none", "null", "zxx", "qme", "qht", "qam", "qst", "n/a"})


def _detect_lang(text: str) -> str:
    """``core.text.tokenize.detect_lang`` with a shortcut for ASCII text (same answer, faster)."""
    if text.isascii():
        return "en" if _ASCII_LETTER_RE.search(text) else "und"
    return detect_lang(text)


def _norm_lang(value: str) -> str | None:
    v = value.strip().lower()
    if v in _NO_LANG:
        return None
    v = _LANG_NAMES.get(v, v)
    if v.startswith("zh") or v in ("cmn", "yue", "chi", "zho"):
        return "zh"
    if "-" in v or "_" in v:
        v = v.replace("_", "-").split("-")[0]
    return v

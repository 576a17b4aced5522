"""Text utilities shared by several stages: tokenisation for BM25 and keywords,
language detection, and the regular expressions for social-media entities."""

from core.text.tokenize import detect_lang, normalise_for_dedupe, tokenize

__all__ = ["detect_lang", "normalise_for_dedupe", "tokenize"]

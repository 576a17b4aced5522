"""The Qwen3-Reranker prompt, token for token as the model card gives it.

Source: the "Usage" section of the model card of ``Qwen/Qwen3-Reranker-0.6B``
(identical for 4B and 8B) and the Qwen3 Embedding technical report
(arXiv:2506.05176, section 2). The model card builds every sequence as::

    prefix_tokens + tokenizer("<Instruct>: {instruction}\\n<Query>: {query}\\n<Document>: {doc}")
                  [: max_length - len(prefix_tokens) - len(suffix_tokens)] + suffix_tokens

where ``prefix_tokens`` / ``suffix_tokens`` are :data:`PREFIX` / :data:`SUFFIX`
encoded without special tokens. Only the end of the user turn is cut, and the
user turn ends with the document, so only the document is truncated and the
suffix (the assistant turn with an empty think block) ends every sequence. The
relevance score is ``softmax([logit("no"), logit("yes")])[1]`` at the last
position.

:data:`TEMPLATE_SHA256` identifies this exact text; it is recorded with every
score (``ScorerInfo.template_sha256``) and is part of the score-cache key.
"""

from __future__ import annotations

import hashlib

from core.rerank.modes import DEFAULT_INSTRUCTION

#: The system turn's text (model card, verbatim).
SYSTEM_PROMPT = (
    "Judge whether the Document meets the requirements based on the Query and the Instruct provided. "
    'Note that the answer can only be "yes" or "no".'
)
#: Everything before the user turn's content.
PREFIX = "<|im_start|>system\n" + SYSTEM_PROMPT + "<|im_end|>\n<|im_start|>user\n"
#: The user turn's content (``str.format`` fields: instruction, query, document).
USER_TEMPLATE = "<Instruct>: {instruction}\n<Query>: {query}\n<Document>: {document}"
#: Everything after the user turn's content: end of turn, assistant turn, empty think block.
SUFFIX = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
#: The whole template as one string (what :data:`TEMPLATE_SHA256` hashes).
TEMPLATE_TEXT = PREFIX + USER_TEMPLATE + SUFFIX
#: SHA-256 (hex) of :data:`TEMPLATE_TEXT` encoded as UTF-8.
TEMPLATE_SHA256 = hashlib.sha256(TEMPLATE_TEXT.encode("utf-8")).hexdigest()
#: The answer tokens whose last-position logits give the score.
YES_TOKEN = "yes"
NO_TOKEN = "no"

__all__ = [
    "DEFAULT_INSTRUCTION",
    "NO_TOKEN",
    "PREFIX",
    "SUFFIX",
    "SYSTEM_PROMPT",
    "TEMPLATE_SHA256",
    "TEMPLATE_TEXT",
    "USER_TEMPLATE",
    "YES_TOKEN",
    "format_prompt",
    "format_user",
    "shared_user_prefix",
]


def format_user(instruction: str | None, query: str, document: str) -> str:
    """The user turn's content for one pair (model card's ``format_instruction``).

    Args:
        instruction: English instruction; ``None`` means the model card's default
            (:data:`core.rerank.modes.DEFAULT_INSTRUCTION`).
        query: the analyst's query.
        document: the post text.

    Returns:
        ``"<Instruct>: {instruction}\\n<Query>: {query}\\n<Document>: {document}"``.
    """
    return USER_TEMPLATE.format(
        instruction=DEFAULT_INSTRUCTION if instruction is None else instruction,
        query=query,
        document=document,
    )


def shared_user_prefix(instruction: str | None, query: str) -> str:
    """The part of the user turn that every post shares for one (instruction, query).

    It ends right after ``"<Document>:"`` (the space that follows belongs to the
    document's first token in byte-level BPE), so that tokenizing it alone gives
    the same tokens as the start of :func:`format_user`'s tokenization.
    """
    full = format_user(instruction, query, "")
    return full[: len(full) - 1]  # drop the trailing space


def format_prompt(instruction: str | None, query: str, document: str) -> str:
    """The whole untruncated prompt string: :data:`PREFIX` + user turn + :data:`SUFFIX`."""
    return PREFIX + format_user(instruction, query, document) + SUFFIX

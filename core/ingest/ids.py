"""Post IDs: always strings, cleaned of spreadsheet armour, checked for damage.

IDs are read as text and never pass through a float. Cleaning removes spaces,
Excel's ``="..."`` formula armour, surrounding ``'...'``/``"..."`` quotes (and
a lone leading apostrophe) and a trailing ``.0``.

A spreadsheet that opened an export and saved it again turns 18-19 digit IDs
into floats with 15 significant digits. Signs of that damage (any one):

* an ID in scientific notation (``1.23457E+18``);
* most long numeric IDs (16+ digits) end in the same run of 3+ zeros;
* several IDs repeat with different texts (at least 2 IDs and 1% of rows).

Then the IDs cannot be trusted: rows are keyed by a content hash instead
(``h:`` + 16 hex digits of the SHA-1 of text, author, time and URL), and the
warning says "IDs corrupted by a spreadsheet".
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict

_SCI_RE = re.compile(r"^[+-]?\d(?:\.\d+)?[eE][+]?\d+$")
_FORMULA_RE = re.compile(r'^=\s*"(.*)"$')
CORRUPTED_WARNING = "IDs corrupted by a spreadsheet"


def clean_id(value: str | None) -> str:
    """One ID cell as a clean string (``""`` when missing).

    Example:
        >>> [clean_id(v) for v in ["'262596552399396864'", '="1234"', " 42.0 ", "abc"]]
        ['262596552399396864', '1234', '42', 'abc']
    """
    if value is None:
        return ""
    text = str(value).strip()
    m = _FORMULA_RE.match(text)
    if m:
        text = m.group(1).strip()
    for _ in range(2):
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"`":
            text = text[1:-1].strip()
    if text.startswith("'"):
        text = text[1:].strip()
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    if text.lower() in ("nan", "none", "null", "n/a"):
        return ""
    return text


def content_hash(*parts: str) -> str:
    """``h:`` + the first 16 hex digits of the SHA-1 of the parts (joined by U+001F)."""
    digest = hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()
    return "h:" + digest[:16]


def spreadsheet_damage(ids: list[str], text_keys: list[str]) -> str | None:
    """Say why a column of (cleaned) IDs looks damaged by a spreadsheet, or None.

    Args:
        ids: cleaned IDs, ``""`` where missing.
        text_keys: the dedupe key of each row's text (same length), used to
            tell repeated rows from different posts sharing an ID.
    """
    present = [i for i in ids if i]
    if not present:
        return None
    sci = [i for i in present if _SCI_RE.match(i)]
    if sci:
        return f"{len(sci)} IDs are in scientific notation (e.g. {sci[0]!r})"
    long_ids = [i for i in present if i.isdigit() and len(i) >= 16]
    if len(long_ids) >= 2:
        zero_ended = [i for i in long_ids if i.endswith("000")]
        if len(zero_ended) >= 2 and len(zero_ended) >= 0.5 * len(long_ids):
            return (
                f"{len(zero_ended)} of {len(long_ids)} long numeric IDs end in a run of zeros "
                f"(e.g. {zero_ended[0]!r}): the digits past the 15th were lost"
            )
    texts: dict[str, set[str]] = defaultdict(set)
    for i, key in zip(ids, text_keys):
        if i:
            texts[i].add(key)
    conflicting = [i for i, keys in texts.items() if len(keys) > 1]
    if len(conflicting) >= 2 and len(conflicting) >= 0.01 * len(present):
        return f"{len(conflicting)} IDs are shared by posts with different texts (e.g. {conflicting[0]!r})"
    return None


def unique_ids(ids: list[str]) -> tuple[list[str], list[int]]:
    """Make IDs unique by suffixing repeats with ``~2``, ``~3``, ...

    Returns:
        ``(unique, repeated)``: the IDs and the 0-based positions that were
        suffixed.
    """
    seen: Counter[str] = Counter()
    taken = set(ids)
    out: list[str] = []
    repeated: list[int] = []
    for pos, i in enumerate(ids):
        seen[i] += 1
        if seen[i] == 1:
            out.append(i)
            continue
        n = seen[i]
        candidate = f"{i}~{n}"
        while candidate in taken:
            n += 1
            candidate = f"{i}~{n}"
        taken.add(candidate)
        out.append(candidate)
        repeated.append(pos)
    return out, repeated

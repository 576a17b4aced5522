"""Turning the bytes of an export into text, in a fixed and explainable order.

The order (issue 2) is the rule, so that the same file always decodes the same
way and the report can say why:

1. a byte-order mark: UTF-8 (``utf-8-sig``), UTF-32 or UTF-16 (``utf-16``);
2. strict UTF-8 over the whole file (``utf-8``);
3. GB18030 (``gb18030``; a superset of GBK and GB2312, the encodings of
   Excel-saved Chinese CSVs);
4. UTF-16 without a BOM when NUL bytes appear (``utf-16-le``/``utf-16-be``,
   told apart by where the NULs fall);
5. cp1252 last.

Undecodable bytes are never replaced: a candidate that fails strictly is
skipped. A candidate whose header row looks like mojibake (text that was
decoded with the wrong codec and saved again, e.g. ``寰崥`` for ``微博`` or
``Ã©`` for ``é``) is rejected too, and the error says so.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

from core.errors import InputFileError

#: Characters that almost only appear in a header after a wrong decoding.
_MOJIBAKE_MARKERS = re.compile(
    "\ufffd"  # a replacement character saved into the file by a lossy decode
    "|[ÃÂ][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122]"
    "|[åæçèé][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122]{2}"
    # UTF-8 Chinese header words read as GBK: 微博 正文 发布 时间 点赞 转发 评论 内容 用户
    "|寰崥|姝ｆ枃|鍙戝竷|鏃堕棿|鐐硅禐|杞彂|璇勮|鍐呭|鐢ㄦ埛"
)
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RUN_RE = re.compile(f"[{_CJK}]+")
_ACCENTED_RE = re.compile(f"[\u00c0-\u024f{_CJK}]")
_CELL_SPLIT_RE = re.compile(r"[,\t;|]")


@dataclass
class Decoded:
    """The text of a file and how it was obtained.

    Attributes:
        text: the whole file as one ``str`` (BOM removed).
        encoding: the Python codec name that decoded it (e.g. ``"utf-8-sig"``).
        rejected: ``[(codec, reason)]`` for candidates tried before and
            rejected, in order (empty when the first candidate worked).
        notes: what else was done to the bytes (stray NUL bytes removed).
    """

    text: str
    encoding: str
    rejected: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def looks_like_mojibake(header: str) -> str | None:
    """Say whether the first lines of a file look like mojibake, and why.

    Only short cells (40 characters or fewer: header names, names, labels) are
    examined, so that a post that quotes garbled text does not condemn a file.
    A cell is mojibake when re-encoding it with a codec that is commonly used by
    mistake (GB18030/GBK, cp1252) gives valid, different UTF-8 with CJK or
    accented letters in it, or when it holds typical marker sequences
    (``寰崥``, ``Ã©``, U+FFFD).

    Args:
        header: the first lines of a decoded file.

    Returns:
        ``None`` for plausible text, else a short reason naming the offending cell.
    """
    for line in header.splitlines()[:10]:
        for cell in _CELL_SPLIT_RE.split(line):
            cell = cell.strip().strip('"\'').strip()
            if not cell or cell.isascii() or len(cell) > 40:
                continue
            for wrong, wanted in (("gb18030", _CJK_RUN_RE), ("cp1252", _ACCENTED_RE)):
                try:
                    repaired = cell.encode(wrong).decode("utf-8")
                except (UnicodeEncodeError, UnicodeDecodeError):
                    continue
                if repaired != cell and wanted.search(repaired):
                    return f"{cell!r} is UTF-8 text ({repaired!r}) that was read as {wrong.upper()} and saved again"
            match = _MOJIBAKE_MARKERS.search(cell)
            if match:
                if match.group(0) == "\ufffd":
                    return f"{cell!r} contains U+FFFD replacement characters left by an earlier lossy decoding"
                return f"{cell!r} contains {match.group(0)!r}, typical of UTF-8 read with the wrong encoding"
    return None


def _latin_as_cjk(text: str) -> bool:
    """True when GB18030 decoding probably turned accented Latin letters into CJK.

    cp1252 bytes such as ``é`` (0xE9) pair with the next ASCII letter into one
    GB18030 character, leaving single CJK characters wedged between Latin
    letters (``caf閍u``); real Chinese text has longer CJK runs.
    """
    singles = wedged = runs = 0
    for m in _CJK_RUN_RE.finditer(text):
        runs += 1
        if m.end() - m.start() == 1:
            singles += 1
            before = text[m.start() - 1] if m.start() else " "
            after = text[m.end()] if m.end() < len(text) else " "
            if (before.isascii() and before.isalpha()) or (after.isascii() and after.isalpha()):
                wedged += 1
        if runs >= 2000:
            break
    return wedged >= 3 and wedged >= 0.6 * runs


def _garbled(rejected: list[tuple[str, str]]) -> bool:
    """True when the last candidate decoded strictly but its header was mojibake."""
    return bool(rejected) and "mojibake" in rejected[-1][1]


def _header_of(text: str, lines: int = 10) -> str:
    return "\n".join(text[:20000].splitlines()[:lines])


def decode_bytes(data: bytes, *, name: str = "the file") -> Decoded:
    """Decode an export with the fixed encoding order described in the module docstring.

    Args:
        data: the raw bytes of the file.
        name: the file name used in error messages.

    Returns:
        A :class:`Decoded` with the text and the codec name.

    Raises:
        InputFileError: when no candidate decodes the bytes strictly, or every
            one that does gives a header that looks like mojibake.
    """
    rejected: list[tuple[str, str]] = []
    notes: list[str] = []

    def attempt(codec: str, payload: bytes) -> Decoded | None:
        try:
            text = payload.decode(codec)
        except UnicodeDecodeError as exc:
            rejected.append((codec, f"byte 0x{payload[exc.start]:02x} at offset {exc.start} is not valid"))
            return None
        if "\x00" in text:
            rejected.append((codec, "the decoded text contains NUL characters"))
            return None
        reason = looks_like_mojibake(_header_of(text))
        if reason:
            rejected.append((codec, f"the first lines look like mojibake: {reason}"))
            return None
        if codec == "gb18030" and _latin_as_cjk(text):
            rejected.append((codec, "single Chinese characters sit between Latin letters (Latin text)"))
            return None
        return Decoded(text.lstrip("\ufeff") if codec != "utf-8-sig" else text, codec, list(rejected), notes)

    def failure() -> InputFileError:
        """The error for the analyst once no candidate is left."""
        tried = "; ".join(f"{codec}: {why}" for codec, why in rejected)
        garbled = next((why for _, why in rejected if "mojibake" in why), None)
        if garbled:
            return InputFileError(
                f"{name}: {garbled.replace('mojibake: ', 'mojibake (', 1)}) "
                "- text that was decoded with the wrong encoding and saved again, so its posts would be garbled.",
                hint="Export the file again from the original tool as UTF-8 (in Excel: "
                "'CSV UTF-8 (Comma delimited)') instead of re-saving a garbled copy.",
            )
        return InputFileError(
            f"{name} cannot be decoded as text without losing characters ({tried}).",
            hint="Save it as UTF-8 (in Excel: 'CSV UTF-8 (Comma delimited)') and upload it again.",
        )

    # 1. byte-order marks (UTF-32 before UTF-16: FF FE 00 00 starts with FF FE)
    if data.startswith(codecs.BOM_UTF8):
        found = attempt("utf-8-sig", data)
        if found:
            return found
        if _garbled(rejected):
            raise failure()
    elif data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        found = attempt("utf-32", data)
        if found:
            return found
        if _garbled(rejected):
            raise failure()
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        found = attempt("utf-16", data)
        if found:
            return found
        if _garbled(rejected):
            raise failure()
    has_nul = b"\x00" in data[:65536]
    if has_nul and data[:65536].count(0) < 0.1 * min(len(data), 65536):
        # a few stray NULs (a crawler's C string) are not UTF-16, where every other byte is NUL
        n_nul = data.count(0)
        data = data.replace(b"\x00", b"")
        has_nul = False
        notes.append(f"{n_nul} stray NUL byte(s) were removed.")
    # 2.-3. strict UTF-8, then GB18030 (never when NUL bytes point to UTF-16)
    if not has_nul:
        for codec in ("utf-8", "gb18030"):
            found = attempt(codec, data)
            if found:
                return found
            if codec == "utf-8" and _garbled(rejected):
                # valid UTF-8 whose text is mojibake: another codec would only garble it further
                raise failure()
    # 4. UTF-16 without a BOM: ASCII characters put their NUL byte second (LE) or first (BE)
    if has_nul:
        sample = data[:65536]
        odd = sample[1::2].count(0)
        even = sample[0::2].count(0)
        codec = "utf-16-le" if odd >= even else "utf-16-be"
        found = attempt(codec, data[: len(data) - len(data) % 2])
        if found:
            return found
    # 5. cp1252 last
    if not has_nul:
        found = attempt("cp1252", data)
        if found:
            return found
    raise failure()

"""Engagement counts and publication times, from the strings exports write.

Counts: ``"1,234"`` -> 1234, ``"1.2万"`` -> 12000, ``"3.4k"`` -> 3400,
``"12.0"`` -> 12; ``N/A``, ``无``, ``-``, ``nan`` and empty cells -> missing.
A Weibo button label written instead of a number (``赞``, ``转发``, ``评论``)
means zero: Weibo shows the label when nobody has clicked yet.

Times: ISO 8601 (with or without an offset), the Twitter API form
``Wed Oct 10 20:19:24 +0000 2018``, ``2023年03月31日 12:00``, Unix epochs in
seconds or milliseconds, and what ``dateutil`` reads. Times with an offset are
converted to UTC; all results are naive ``datetime64[ns]``. Relative Weibo times
(``5分钟前``, ``昨天 12:00``) cannot be placed without the crawl time and
become NaT; so do times without a year (``03月31日``).
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

_MISSING = frozenset({"", "n/a", "na", "nan", "none", "null", "-", "--", "—", "无", "暂无", "#n/a", "nil", "?"})
_BUTTON_LABELS = frozenset({"赞", "点赞", "转发", "评论", "like", "likes", "repost", "comment", "reply"})
_COUNT_RE = re.compile(r"^([+-]?\d+(?:\.\d+)?)\s*(万|亿|千|百万|[kKmMbBwW])?\+?$")
_MULTIPLIERS = {None: 1, "万": 10_000, "w": 10_000, "W": 10_000, "亿": 100_000_000, "千": 1_000,
                "百万": 1_000_000, "k": 1_000, "K": 1_000, "m": 1_000_000, "M": 1_000_000,
                "b": 1_000_000_000, "B": 1_000_000_000}


def parse_count(value: str | None) -> tuple[int | None, bool]:
    """Parse one engagement count.

    Args:
        value: the cell as read (``None`` for a missing cell).

    Returns:
        ``(count, ok)``: ``count`` is an ``int`` or ``None`` (missing); ``ok``
        is False when the cell held something that is neither a number nor a
        missing-value marker (the count is then ``None``).

    Example:
        >>> parse_count("1,234"), parse_count("1.2万"), parse_count("无")
        ((1234, True), (12000, True), (None, True))
    """
    if value is None:
        return None, True
    text = str(value).strip().replace(",", "").replace("，", "").replace(" ", "")
    if text.lower() in _MISSING:
        return None, True
    if text.lower() in _BUTTON_LABELS:
        return 0, True
    m = _COUNT_RE.match(text)
    if not m:
        return None, False
    number = float(m.group(1)) * _MULTIPLIERS[m.group(2)]
    return round(number), True


def parse_counts(values: list[str]) -> tuple[pd.Series, list[int]]:
    """Parse a column of counts.

    Returns:
        ``(counts, bad)``: an ``Int64`` Series (``<NA>`` when missing) and the
        0-based positions of cells that were not numbers.
    """
    cache: dict[str, tuple[int | None, bool]] = {}
    out: list[int | None] = []
    bad: list[int] = []
    for i, v in enumerate(values):
        hit = cache.get(v)
        if hit is None:
            hit = cache[v] = parse_count(v)
        out.append(hit[0])
        if not hit[1]:
            bad.append(i)
    return pd.Series(pd.array(out, dtype="Int64")), bad


_RELATIVE_RE = re.compile(r"(刚刚|\d+\s*(秒|分钟|小时|天)前|^(今天|昨天|前天)|just now|\d+\s*(s|m|h|min|mins|hours?) ago)")
_CN_FULL_RE = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*(.*)$")
_CN_NOYEAR_RE = re.compile(r"^\d{1,2}\s*月\s*\d{1,2}\s*日")
_TZ_NAME_RE = re.compile(r"\s+(?:UTC|GMT|[A-Z]{2,4}T|[A-Z]{3})$")
_TWITTER_FORMAT = "%a %b %d %H:%M:%S %z %Y"


def parse_times(values: list[str]) -> tuple[pd.Series, dict[str, int]]:
    """Parse a column of publication times.

    Args:
        values: the cells as read.

    Returns:
        ``(times, counts)``: a naive ``datetime64[ns]`` Series (UTC where the
        export gave an offset) and ``{"relative": n, "no_year": n,
        "unparsed": n, "tz_names": n}`` counts of cells that became NaT or
        lost a time-zone name.
    """
    n = len(values)
    counts = {"relative": 0, "no_year": 0, "unparsed": 0, "tz_names": 0}
    prepared: list[str | None] = []
    for v in values:
        t = (v or "").strip()
        if t.lower() in _MISSING:
            prepared.append(None)
            continue
        if _RELATIVE_RE.search(t):
            counts["relative"] += 1
            prepared.append(None)
            continue
        m = _CN_FULL_RE.match(t)
        if m:
            t = f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d} {m.group(4).strip()}".strip()
        elif _CN_NOYEAR_RE.match(t):
            counts["no_year"] += 1
            prepared.append(None)
            continue
        tz = _TZ_NAME_RE.search(t)
        if tz and not re.search(r"[+-]\d{2}:?\d{2}$", t):
            t = t[: tz.start()]
            if tz.group(0).strip() not in ("UTC", "GMT"):
                counts["tz_names"] += 1
        prepared.append(t)
    series = pd.Series(prepared, dtype="object")
    result = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns, UTC]")
    todo = series.notna()
    if todo.any():
        # Unix epochs (seconds or milliseconds, possibly written as floats)
        numeric = series[todo].str.fullmatch(r"\d{9,13}(?:\.\d+)?").fillna(False).astype(bool)
        if numeric.any():
            idx = numeric[numeric].index
            nums = series[idx].astype(float)
            unit_ms = nums > 1e11
            secs = np.where(unit_ms, nums / 1000.0, nums)
            result[idx] = pd.to_datetime(secs, unit="s", utc=True)
            todo[idx] = False
    for fmt in ("ISO8601", _TWITTER_FORMAT, "mixed"):
        if not todo.any():
            break
        idx = todo[todo].index
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                parsed = pd.to_datetime(series[idx], errors="coerce", utc=True, format=fmt)
            except (ValueError, TypeError, OverflowError):
                continue
        ok = parsed.notna()
        result[idx[ok.to_numpy()]] = parsed[ok]
        todo[idx[ok.to_numpy()]] = False
    counts["unparsed"] = int(todo.sum())
    return result.dt.tz_localize(None).astype("datetime64[ns]"), counts

"""Publication times for every post that can have one, in UTC.

Three sources, tried in this order for each post:

1. **The time column**, absolute forms (ISO 8601, the Twitter API form, ``2023年03月31日 12:00``,
   Unix epochs; :func:`core.ingest.values.parse_times`). A time without an offset is read in the
   export's own zone: ``Asia/Shanghai`` for Weibo layouts (Weibo shows Beijing time), UTC for the rest.
2. **Relative and year-less Weibo times** (``刚刚``, ``5分钟前``, ``3小时前``, ``今天 12:30``,
   ``昨天 08:15``, ``前天 08:15``, ``03-15 12:30``, ``3月15日 12:30``, ``just now``, ``5m ago``),
   resolved against a *reference time*: when the page was crawled. The reference is, in order, the
   analyst's choice, the export's crawl-time column (``采集时间``, ``crawl_time``, ...; per post), or
   the file's modification time (an upload: the time it was uploaded). A year-less date takes the
   reference's year, or the year before when that would put it more than a day after the reference.
3. **X/Twitter snowflake IDs** when the post has no time from its column: the ID's top 41 bits are
   milliseconds since 2010-11-04 01:42:54.657 UTC (``SNOWFLAKE_EPOCH_MS``; Twitter's snowflake,
   https://github.com/twitter-archive/snowflake/blob/snowflake-2010/src/main/scala/com/twitter/service/snowflake/IdWorker.scala).
   Only IDs that are plainly snowflakes are decoded (:func:`snowflake_times`): never for Weibo,
   NLPCC or Reddit layouts; an ID must be all digits and decode to a time between the snowflake
   epoch and a day after the reference; outside X/Twitter layouts it must have 18 or 19 digits
   (Weibo's 16-digit IDs never qualify) and most of the column must qualify.

Every result is a ``datetime64[ns, UTC]`` Series; :class:`TimeResolution` counts the posts dated
each way, for the ingest report.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from core.ingest.values import parse_times

logger = logging.getLogger(__name__)

#: Twitter's snowflake epoch (ms since the Unix epoch): 2010-11-04 01:42:54.657 UTC.
SNOWFLAKE_EPOCH_MS = 1288834974657
#: Layouts whose IDs are X/Twitter IDs.
TWITTER_LAYOUTS = frozenset({"twint", "snscrape", "x-archive", "x-api", "twarc-csv", "crisislex"})
#: Layouts whose IDs are never snowflakes (Weibo mids, Reddit base-36 IDs).
NON_TWITTER_LAYOUTS = frozenset({"weibo", "nlpcc", "reddit"})
#: Layouts whose times without an offset are Beijing time.
BEIJING_LAYOUTS = frozenset({"weibo", "nlpcc"})
#: Column names (lower case, stripped) that hold the crawl time of each post.
CRAWL_TIME_COLUMNS = ("crawl_time", "crawl time", "crawled_at", "crawled at", "scraped_at", "scrape_time",
                      "collected_at", "collection_time", "retrieved_at", "fetch_time", "采集时间",
                      "抓取时间", "爬取时间", "获取时间", "crawl_date")

_REL_NOW_RE = re.compile(r"^(刚刚|just now|now)$", re.IGNORECASE)
_REL_AGO_RE = re.compile(
    r"^(\d+)\s*(秒|秒钟|分钟|分|小时|天|s|sec|secs|seconds?|m|min|mins|minutes?|h|hr|hrs|hours?|d|days?)\s*(前|ago)$",
    re.IGNORECASE)
_REL_DAY_RE = re.compile(r"^(今天|昨天|前天)\s*(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_NOYEAR_RE = re.compile(r"^(\d{1,2})\s*(?:-|/|月)\s*(\d{1,2})\s*日?(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_UNIT_SECONDS = {"秒": 1, "秒钟": 1, "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
                 "分钟": 60, "分": 60, "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
                 "小时": 3600, "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
                 "天": 86400, "d": 86400, "day": 86400, "days": 86400}
_DAYS_BACK = {"今天": 0, "昨天": 1, "前天": 2}


@dataclass
class TimeResolution:
    """How the posts got their times (for :class:`core.ingest.IngestReport`).

    Attributes:
        absolute: posts dated by an absolute time in the time column.
        relative: posts dated by a relative time (``5分钟前``, ``昨天 08:15``) and the reference.
        year_less: posts dated by a date without a year (``03-15 12:30``) and the reference's year.
        snowflake: posts dated by their X/Twitter snowflake ID.
        missing: posts left without a time (NaT).
        unparsed: time cells that are not times at all (part of ``missing``).
        reference: the reference time, ISO 8601 UTC (the latest, with a crawl-time column);
            ``None`` when no relative or year-less time needed one.
        reference_source: where the reference came from: ``"analyst"``, ``"crawl time column
            'NAME'"``, ``"file modification time"``, ``"upload time"``.
        naive_time_zone: the zone times without an offset were read in (``"Asia/Shanghai"``, ``"UTC"``).
        snowflake_note: why IDs were or were not decoded (``""`` when not considered).
    """

    absolute: int = 0
    relative: int = 0
    year_less: int = 0
    snowflake: int = 0
    missing: int = 0
    unparsed: int = 0
    reference: str | None = None
    reference_source: str = ""
    naive_time_zone: str = "UTC"
    snowflake_note: str = ""
    messages: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Plain JSON-able counts (``messages`` left out: they go to the report's warnings)."""
        return {k: v for k, v in self.__dict__.items() if k != "messages"}


def to_utc_timestamp(value) -> pd.Timestamp:
    """A time as a tz-aware UTC ``pd.Timestamp``; a naive value is taken as UTC.

    Raises:
        ValueError: ``value`` is not a time (message names it).
    """
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"The reference time must be a time such as 2023-10-09T12:00:00+08:00. "
                         f"Got {value!r} instead.") from exc
    if ts is pd.NaT:
        raise ValueError("The reference time is empty. Give a time such as 2023-10-09T12:00:00+08:00.")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def crawl_time_column(header: list[str]) -> str | None:
    """The column of ``header`` that holds crawl times (:data:`CRAWL_TIME_COLUMNS`), or ``None``."""
    by_name = {h.strip().lower(): h for h in header}
    return next((by_name[c] for c in CRAWL_TIME_COLUMNS if c in by_name), None)


def resolve_relative(values: list[str], reference: pd.Series, tz: str) -> tuple[pd.Series, list[str]]:
    """Resolve relative and year-less times against per-post reference times.

    Args:
        values: the time cells (stripped strings).
        reference: ``datetime64[ns, UTC]`` Series, same length: each post's reference (NaT = none).
        tz: the zone the crawler displayed times in (``"Asia/Shanghai"`` for Weibo).

    Returns:
        ``(times, kinds)``: a ``datetime64[ns, UTC]`` Series (NaT where a cell is neither form or
        its reference is missing) and per cell ``"relative"``, ``"year_less"`` or ``""``.

    Example:
        >>> ref = pd.Series(pd.to_datetime(["2023-10-09 04:00"] * 2, utc=True))
        >>> t, k = resolve_relative(["5分钟前", "昨天 08:15"], ref, "Asia/Shanghai")
        >>> [str(x) for x in t], k
        (['2023-10-09 03:55:00+00:00', '2023-10-08 00:15:00+00:00'], ['relative', 'relative'])
    """
    out: list[pd.Timestamp] = []
    kinds: list[str] = []
    for text, ref in zip(values, reference, strict=True):
        t, kind = _one_relative(text, ref, tz)
        out.append(t)
        kinds.append(kind)
    return pd.Series(pd.DatetimeIndex(out, tz="UTC") if out else [], dtype="datetime64[ns, UTC]"), kinds


def _one_relative(text: str, ref, tz: str) -> tuple[pd.Timestamp, str]:
    text = (text or "").strip()
    if not text:
        return pd.NaT, ""
    if _REL_NOW_RE.match(text):
        return (pd.NaT if pd.isna(ref) else ref), "relative"
    m = _REL_AGO_RE.match(text)
    if m:
        secs = int(m.group(1)) * _UNIT_SECONDS[m.group(2).lower()]
        return (pd.NaT if pd.isna(ref) else ref - pd.Timedelta(seconds=secs)), "relative"
    m = _REL_DAY_RE.match(text)
    if m:
        if pd.isna(ref):
            return pd.NaT, "relative"
        day = ref.tz_convert(tz).normalize() - pd.Timedelta(days=_DAYS_BACK[m.group(1)])
        clock = pd.Timedelta(hours=int(m.group(2)), minutes=int(m.group(3)), seconds=int(m.group(4) or 0))
        local = day.tz_localize(None) + clock
        return _localize(local, tz), "relative"
    m = _NOYEAR_RE.match(text)
    if m:
        if pd.isna(ref):
            return pd.NaT, "year_less"
        month, day = int(m.group(1)), int(m.group(2))
        hh, mm, ss = int(m.group(3) or 0), int(m.group(4) or 0), int(m.group(5) or 0)
        local_ref = ref.tz_convert(tz)
        for year in (local_ref.year, local_ref.year - 1):
            try:
                t = _localize(pd.Timestamp(year=year, month=month, day=day, hour=hh, minute=mm, second=ss), tz)
            except ValueError:  # 02-29 in a year without it, month 13
                continue
            if t <= ref + pd.Timedelta(days=1):
                return t, "year_less"
        return pd.NaT, "year_less"
    return pd.NaT, ""


def _localize(naive: pd.Timestamp, tz: str) -> pd.Timestamp:
    return naive.tz_localize(tz, ambiguous=True, nonexistent="shift_forward").tz_convert("UTC")


def snowflake_times(ids: list[str], *, layout: str, latest: pd.Timestamp) -> tuple[pd.Series, str]:
    """Creation times decoded from X/Twitter snowflake IDs, where the IDs are plainly snowflakes.

    A snowflake ID is ``(ms - SNOWFLAKE_EPOCH_MS) << 22 | worker/sequence bits``, so
    ``ms = (id >> 22) + SNOWFLAKE_EPOCH_MS``. An ID is decoded only when it is all digits, below
    2**63, and decodes to a time from the epoch (2010-11-04) to ``latest`` + 1 day. IDs before
    late 2010 were sequential and carry no time; they are left NaT, never guessed.

    Args:
        ids: the posts' IDs as read (quotes and spaces allowed around them).
        layout: the export layout (``core.ingest.columns``). Weibo, NLPCC and Reddit IDs are
            never decoded; outside X/Twitter layouts only 18-19 digit IDs, and only when at least
            half of the non-empty IDs qualify.
        latest: the latest plausible time (tz-aware UTC; usually now or the reference).

    Returns:
        ``(times, note)``: ``datetime64[ns, UTC]`` Series (NaT where not decoded) and a sentence
        for the report saying what was decoded and why.
    """
    n = len(ids)
    none = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns, UTC]")
    if layout in NON_TWITTER_LAYOUTS:
        return none, f"IDs not read as X/Twitter snowflakes: this is a {layout} export."
    twitter = layout in TWITTER_LAYOUTS
    min_digits = 1 if twitter else 18
    cleaned = [re.sub(r"^[\s'\"]+|[\s'\"]+$", "", str(i or "")) for i in ids]
    hi = int((latest.value // 1_000_000) + 86_400_000 - SNOWFLAKE_EPOCH_MS)
    ms = np.full(n, -1, dtype=np.int64)
    for k, s in enumerate(cleaned):
        if s.isdigit() and s.isascii() and min_digits <= len(s) <= 19:
            v = int(s)
            if 0 < v < 2**63 and 0 < (v >> 22) <= hi:
                ms[k] = (v >> 22) + SNOWFLAKE_EPOCH_MS
    ok = ms >= 0
    non_empty = sum(1 for s in cleaned if s)
    if not ok.any():
        return none, ""
    if not twitter and ok.sum() < 0.5 * non_empty:
        return none, (f"IDs not read as X/Twitter snowflakes: only {int(ok.sum()):,} of {non_empty:,} look like "
                      "one (18-19 digits decoding to a time since 2010-11-04).")
    none[ok] = pd.to_datetime(ms[ok], unit="ms", utc=True)
    kind = "an X/Twitter export" if twitter else "18-19 digit IDs that decode to plausible times"
    return none, (f"{int(ok.sum()):,} post(s) dated from their X/Twitter snowflake ID ({kind}; ms since "
                  "2010-11-04 in the ID's top bits).")


def resolve_times(
    times_raw: list[str] | None,
    ids_raw: list[str] | None,
    *,
    layout: str,
    crawl_raw: list[str] | None = None,
    crawl_column: str | None = None,
    reference: object | None = None,
    file_time: object | None = None,
    file_time_source: str = "file modification time",
) -> tuple[pd.Series, TimeResolution]:
    """The publication time of every post, from its time cell, its ID, or not at all.

    Args:
        times_raw: the time column's cells (``None`` when there is no time column).
        ids_raw: the ID column's cells (``None`` when there is none).
        layout: the export layout (picks the zone of naive times and whether IDs can be snowflakes).
        crawl_raw: the crawl-time column's cells, per post (``None`` when there is none).
        crawl_column: that column's name, for the report.
        reference: the analyst's reference time for relative times (anything ``pd.Timestamp``
            reads; naive = UTC); wins over the crawl-time column and the file time.
        file_time: the file's modification (or upload) time, the last resort reference.
        file_time_source: how to name ``file_time`` in the report.

    Returns:
        ``(times, resolution)``: ``datetime64[ns, UTC]`` Series (NaT when unknown) and a
        :class:`TimeResolution` with the counts and the reference used.

    Raises:
        ValueError: ``reference`` is not a time.
    """
    n = len(times_raw) if times_raw is not None else (len(ids_raw) if ids_raw is not None else 0)
    res = TimeResolution(naive_time_zone="Asia/Shanghai" if layout in BEIJING_LAYOUTS else "UTC")
    times = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns, UTC]")
    if times_raw is not None:
        cells = [(v or "").strip() for v in times_raw]
        kinds = [_relative_kind(v) for v in cells]
        parsed, counts = parse_times(["" if k else v for v, k in zip(cells, kinds, strict=True)])
        times = _in_zone(parsed, cells, res.naive_time_zone)
        res.absolute = int(times.notna().sum())
        todo = [k for k in range(n) if kinds[k]]
        if todo:
            ref = _reference_series(n, res, crawl_raw=crawl_raw, crawl_column=crawl_column, reference=reference,
                                    file_time=file_time, file_time_source=file_time_source)
            rel, got = resolve_relative([cells[k] for k in todo], ref.iloc[todo].reset_index(drop=True),
                                        res.naive_time_zone)
            for j, k in enumerate(todo):
                if not pd.isna(rel.iloc[j]):
                    times.iloc[k] = rel.iloc[j]
                    res.relative += got[j] == "relative"
                    res.year_less += got[j] == "year_less"
        res.unparsed = counts["unparsed"] + counts["relative"] + counts["no_year"]
        if counts["tz_names"]:
            res.messages.append(f"{counts['tz_names']} time(s) end in a time-zone name (e.g. EST) that was ignored.")
    if ids_raw is not None and times.isna().any():
        latest = to_utc_timestamp(reference) if reference is not None else pd.Timestamp.now(tz="UTC")
        todo = times.isna().to_numpy()
        flakes, note = snowflake_times([ids_raw[k] for k in np.flatnonzero(todo)], layout=layout, latest=latest)
        if note:
            res.snowflake_note = note
        got = flakes.notna().to_numpy()
        if got.any():
            idx = np.flatnonzero(todo)[got]
            times.iloc[idx] = flakes[got].to_numpy()
            res.snowflake = int(got.sum())
    res.missing = int(times.isna().sum())
    _messages(res, times_raw is not None, layout)
    return times, res


def _relative_kind(text: str) -> str:
    """``"relative"``, ``"year_less"`` or ``""`` for one stripped time cell."""
    if _REL_NOW_RE.match(text) or _REL_AGO_RE.match(text) or _REL_DAY_RE.match(text):
        return "relative"
    return "year_less" if _NOYEAR_RE.match(text) else ""


_OFFSET_RE = re.compile(r"(Z|[+-]\d{2}:?\d{2}|[+-]\d{4} \d{4}|UTC|GMT)$|^\d{9,13}(\.\d+)?$", re.IGNORECASE)


def _in_zone(parsed: pd.Series, cells: list[str], tz: str) -> pd.Series:
    """``parse_times``' naive UTC result with the times written without an offset read in ``tz``."""
    utc = parsed.dt.tz_localize("UTC")
    if tz == "UTC":
        return utc.astype("datetime64[ns, UTC]")
    local = parsed.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward").dt.tz_convert("UTC")
    has_offset = pd.Series([bool(_OFFSET_RE.search(c)) for c in cells], index=parsed.index)
    return local.where(~has_offset, utc).astype("datetime64[ns, UTC]")


def _reference_series(n: int, res: TimeResolution, *, crawl_raw, crawl_column, reference, file_time,
                      file_time_source) -> pd.Series:
    """Each post's reference time (UTC); records the choice in ``res``."""
    if reference is not None:
        ref = to_utc_timestamp(reference)
        res.reference, res.reference_source = ref.isoformat(), "analyst"
        return pd.Series([ref] * n, dtype="datetime64[ns, UTC]")
    if crawl_raw is not None:
        parsed, _ = parse_times(crawl_raw)
        crawl = parsed.dt.tz_localize(res.naive_time_zone, ambiguous="NaT", nonexistent="shift_forward")
        crawl = crawl.dt.tz_convert("UTC")
        if crawl.notna().any():
            res.reference = crawl.max().isoformat()
            res.reference_source = f"crawl time column {crawl_column!r}"
            return crawl.astype("datetime64[ns, UTC]")
    ref = to_utc_timestamp(file_time) if file_time is not None else pd.Timestamp.now(tz="UTC")
    res.reference = ref.isoformat()
    res.reference_source = file_time_source if file_time is not None else "upload time"
    return pd.Series([ref] * n, dtype="datetime64[ns, UTC]")


def _messages(res: TimeResolution, has_column: bool, layout: str) -> None:
    if res.relative or res.year_less:
        res.messages.append(
            f"{res.relative} relative time(s) (e.g. '5分钟前', '昨天 08:15') and {res.year_less} time(s) without a "
            f"year were dated against the reference time {res.reference} ({res.reference_source}); "
            "change the reference if the crawl happened at another time.")
    if res.snowflake_note and layout not in NON_TWITTER_LAYOUTS:  # "this is a Weibo export" is no warning
        res.messages.append(res.snowflake_note)
    if res.unparsed:
        res.messages.append(f"{res.unparsed} time value(s) are not times; left empty.")
    if not has_column and not res.snowflake:
        res.messages.append("No time column and no X/Twitter snowflake IDs: posts have no time, so the "
                            "time filter and timelines are not available.")


def file_time_of(path) -> datetime | None:
    """The modification time of ``path`` as an aware UTC ``datetime`` (``None`` when unknown)."""
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
    except (OSError, AttributeError):
        return None

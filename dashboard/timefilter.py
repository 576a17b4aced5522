"""The time range filter every page shares, and the display time zone.

One widget (:func:`time_filter`) at the top of Rerank, Compare, Map, Grade and Evaluate narrows the
posts *before* the first stage: its window travels with every rerank request
(:attr:`dashboard.state.RankingRequest.window`), so a ranking is always made on the posts of the
window it names. The window lives in :class:`TimeParams` in session state (remembered across pages),
is written in each page's caption and in the export bundle's provenance.

Times are stored in UTC (``core/ingest/times.py``) and shown in one zone: the Settings page's
choice, else the browser's (``st.context.timezone``), else UTC (:func:`display_tz`).
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import streamlit as st

from core.timeline import TimeWindow
from dashboard import state

#: Presets of the time filter: label -> length back from the newest post (None = all, "custom").
PRESETS: dict[str, pd.Timedelta | str | None] = {
    "All times": None,
    "Last hour": pd.Timedelta(hours=1),
    "Last 6 hours": pd.Timedelta(hours=6),
    "Last 24 hours": pd.Timedelta(hours=24),
    "Last 7 days": pd.Timedelta(days=7),
    "Last 30 days": pd.Timedelta(days=30),
    "Last 90 days": pd.Timedelta(days=90),
    "Last 365 days": pd.Timedelta(days=365),
    "Custom range": "custom",
}


@dataclass
class TimeParams:
    """The time filter's parameters (one per session).

    Attributes:
        preset: a key of :data:`PRESETS`.
        start: ISO 8601 UTC start of a custom range ("" = open).
        end: ISO 8601 UTC end of a custom range ("" = open).
    """

    preset: str = "All times"
    start: str = ""
    end: str = ""


def display_tz() -> str:
    """The IANA zone times are shown in: Settings' choice, else the browser's, else ``"UTC"``."""
    chosen = getattr(state.settings(), "display_tz", "") or ""
    if chosen:
        return chosen
    try:
        browser = st.context.timezone
    except Exception:  # noqa: BLE001 - outside a browser session (AppTest, bare mode)
        browser = None
    if browser:
        try:
            zoneinfo.ZoneInfo(browser)
            return browser
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    return "UTC"


def local_times(times: pd.Series) -> pd.Series:
    """UTC times converted to the display zone (for tables and hovers)."""
    return pd.Series(times).dt.tz_convert(display_tz())


def current_window(posts: pd.DataFrame | None = None) -> TimeWindow:
    """The session's time window; a preset counts back from the newest post of ``posts``
    (default: the loaded dataset)."""
    p = state.params(TimeParams)
    preset = PRESETS.get(p.preset)
    if preset is None:
        return TimeWindow()
    if preset == "custom":
        try:
            return TimeWindow.from_strings(p.start, p.end)
        except ValueError:
            return TimeWindow()
    if posts is None:
        ds = state.dataset()
        posts = ds.posts if ds is not None else None
    if posts is None or "time" not in posts or posts["time"].notna().sum() == 0:
        return TimeWindow()
    newest = posts["time"].max()
    return TimeWindow(newest - preset, newest)


def window_key(window: TimeWindow | None = None) -> str:
    """The window as a string for :class:`dashboard.state.RankingRequest` (``""`` = all times)."""
    w = current_window() if window is None else window
    if w.is_open:
        return ""
    d = w.to_dict()
    return f"{d['start'] or ''}/{d['end'] or ''}"


def window_from_key(key: str) -> TimeWindow:
    """The inverse of :func:`window_key`."""
    if not key:
        return TimeWindow()
    start, _, end = key.partition("/")
    return TimeWindow.from_strings(start or None, end or None)


def time_filter(posts: pd.DataFrame, *, key: str = "time") -> TimeWindow:
    """The shared time range widget and its caption; returns the window in force.

    Args:
        posts: the loaded post table (its ``time`` column gives the slider's range).
        key: widget key prefix (one per page is not needed: the value is shared).
    """
    p = state.params(TimeParams)
    times = posts["time"] if "time" in posts else pd.Series([], dtype="datetime64[ns, UTC]")
    n_timed = int(times.notna().sum())
    if n_timed == 0:
        st.caption("Time range: none of these posts has a time, so there is no time filter.")
        return TimeWindow()
    tz = display_tz()
    with st.expander(f"Time range: {current_window(posts).describe(tz)}", icon=":material/schedule:"):
        labels = list(PRESETS)
        # TimeParams is the one owner of the value: every page's widget starts from it, and writes to it
        # (Streamlit gives a keyed widget its default again on another page).
        state.set_widget(f"{key}.preset", p.preset if p.preset in labels else labels[0])
        st.selectbox("Posts from", labels, key=f"{key}.preset",
                     on_change=lambda: setattr(p, "preset", state.widget(f"{key}.preset")),
                     help="Narrows the posts before the first stage on every page. "
                          "“Last …” counts back from the newest post.")
        if p.preset == "Custom range":
            lo = times.min().tz_convert(tz).floor("min")
            hi = times.max().tz_convert(tz).ceil("min")
            cur = current_window(posts)
            a = cur.start.tz_convert(tz) if cur.start is not None else lo
            b = cur.end.tz_convert(tz) if cur.end is not None else hi
            a, b = max(lo, min(a, hi)), max(lo, min(b, hi))
            step = pd.Timedelta(minutes=1) if hi - lo <= pd.Timedelta(days=2) else pd.Timedelta(hours=1)
            picked = st.slider(f"Range ({tz})", min_value=_naive(lo), max_value=_naive(hi),
                               value=(_naive(a), _naive(b)), step=step.to_pytimedelta(),
                               format="YYYY-MM-DD HH:mm", key=f"{key}.range")
            p.start = pd.Timestamp(picked[0]).tz_localize(tz).tz_convert("UTC").isoformat()
            p.end = pd.Timestamp(picked[1]).tz_localize(tz).tz_convert("UTC").isoformat()
    window = current_window(posts)
    st.caption(window_caption(posts, window))
    return window


def window_caption(posts: pd.DataFrame, window: TimeWindow) -> str:
    """``Time range: … · N of M posts`` for a page caption (no Markdown in it but the zone name)."""
    tz = display_tz()
    n = int(window.mask(posts["time"]).sum()) if "time" in posts else len(posts)
    untimed = int(posts["time"].isna().sum()) if "time" in posts else 0
    text = f"Time range: {window.describe(tz)} · {n:,} of {len(posts):,} posts"
    if not window.is_open and untimed:
        text += f" ({untimed:,} without a time left out)"
    return text


def narrow(posts: pd.DataFrame, embeddings: np.ndarray | None, window: TimeWindow):
    """The posts (and their embedding rows) inside ``window``: ``(posts, embeddings)`` with a fresh
    ``RangeIndex``; unchanged for an open window."""
    if window.is_open:
        return posts, embeddings
    keep = window.mask(posts["time"])
    return posts[keep].reset_index(drop=True), (None if embeddings is None else embeddings[keep])


def keep_in_window(table: pd.DataFrame, posts: pd.DataFrame, window: TimeWindow | None = None) -> pd.DataFrame:
    """Rows of ``table`` (any frame with ``post_id``) whose post falls in the window."""
    w = current_window(posts) if window is None else window
    if w.is_open or table is None or not len(table):
        return table
    inside = set(posts.loc[w.mask(posts["time"]), "post_id"].astype(str))
    return table[table["post_id"].astype(str).isin(inside)].reset_index(drop=True)


def time_zone_setting() -> None:
    """Settings page: the display time zone (applies at once, remembered with the settings)."""
    s = state.settings()
    zones = [""] + sorted(zoneinfo.available_timezones())
    now = getattr(s, "display_tz", "") or ""
    chosen = st.selectbox("Display time zone", zones, index=zones.index(now) if now in zones else 0,
                          format_func=lambda z: z or f"the browser's ({_browser_tz() or 'unknown: UTC'})",
                          key="settings.display_tz",
                          help="Times are stored in UTC and shown in this zone (time filter, timelines, tables).")
    if chosen != now:
        from dashboard import remember

        s.display_tz = chosen
        remember.save_session_file()


def _browser_tz() -> str | None:
    try:
        return st.context.timezone
    except Exception:  # noqa: BLE001
        return None


def _naive(ts: pd.Timestamp) -> datetime:
    return ts.tz_localize(None).to_pydatetime()


def times_summary(report: dict) -> str | None:
    """One line saying how the posts got their times (``IngestReport.times``), or ``None``."""
    t = (report or {}).get("times") or {}
    if not t:
        return None
    parts = [f"{t.get(k, 0):,} {label}" for k, label in (
        ("absolute", "from the time column"), ("relative", "relative (e.g. 5分钟前)"),
        ("year_less", "without a year"), ("snowflake", "from X/Twitter snowflake IDs"),
        ("missing", "without a time")) if t.get(k)]
    text = "Times: " + (" · ".join(parts) if parts else "none")
    if t.get("naive_time_zone") and t.get("absolute"):
        text += f" · times without an offset read as {t['naive_time_zone']}"
    return text


def reference_editor(ds) -> None:
    """Data page: how times were resolved, and the reference time of relative times (editable)."""
    from dashboard import data
    from dashboard.widgets import escape_markdown

    rep = ds.report or {}
    summary = times_summary(rep)
    if summary:
        st.caption(escape_markdown(summary))
    t = rep.get("times") or {}
    if not (t.get("relative") or t.get("year_less") or t.get("reference")):
        return
    tz = display_tz()
    ref = pd.Timestamp(t["reference"]).tz_convert(tz) if t.get("reference") else None
    with st.expander(f"Reference time of relative times: {ref:%Y-%m-%d %H:%M} ({tz}) · "
                     f"{t.get('reference_source', '')}" if ref is not None else "Reference time",
                     icon=":material/history_toggle_off:"):
        st.caption("Relative times (5分钟前, 昨天 08:15) and dates without a year are counted back from when "
                   "the page was crawled. Change it if the crawl happened at another time.")
        with st.form("data.reference", border=False):
            c1, c2 = st.columns(2)
            day = c1.date_input("Crawl date", value=ref.date() if ref is not None else None, key="data.ref_day")
            clock = c2.time_input("Crawl time", value=ref.time() if ref is not None else None,
                                  key="data.ref_time", step=60)
            go = st.form_submit_button("Apply the reference time")
        if ds.time_reference and st.button("Use the file's own reference again", key="data.ref_reset"):
            data.reload_with_reference(ds, "")
            st.rerun()
        if go and day is not None and clock is not None:
            chosen = pd.Timestamp(datetime.combine(day, clock)).tz_localize(tz).tz_convert("UTC").isoformat()
            data.reload_with_reference(ds, chosen)
            st.rerun()

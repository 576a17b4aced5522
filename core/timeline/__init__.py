"""The conversation over time: time windows, binned counts per cluster, and what rose.

Every function takes the post table's ``time`` column (``datetime64[ns, UTC]``, NaT when unknown;
``core/ingest/times.py``) and plain arrays; nothing here knows about pages. Bins are aligned in the
display time zone (a day bin starts at local midnight), so a chart reads as the analyst's clock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

#: Bin widths tried from the finest, as (name, pandas frequency, width).
BINS: tuple[tuple[str, str, pd.Timedelta], ...] = (
    ("minute", "1min", pd.Timedelta(minutes=1)),
    ("5 minutes", "5min", pd.Timedelta(minutes=5)),
    ("15 minutes", "15min", pd.Timedelta(minutes=15)),
    ("hour", "1h", pd.Timedelta(hours=1)),
    ("6 hours", "6h", pd.Timedelta(hours=6)),
    ("day", "1D", pd.Timedelta(days=1)),
    ("week", "W-MON", pd.Timedelta(weeks=1)),
)
#: Most bins a chosen width may give (the finest width under it wins).
MAX_BINS = 200


@dataclass(frozen=True)
class TimeWindow:
    """A closed time range ``[start, end]``; ``None`` leaves a side open.

    Attributes:
        start: tz-aware start (inclusive) or ``None``.
        end: tz-aware end (inclusive) or ``None``.
    """

    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None

    @property
    def is_open(self) -> bool:
        """True when the window does not narrow anything."""
        return self.start is None and self.end is None

    def mask(self, times: pd.Series) -> np.ndarray:
        """Which posts fall in the window: bool ndarray of shape (n,).

        An open window keeps every post (those without a time too); any bound drops posts
        whose time is NaT, since they cannot be placed.
        """
        t = pd.Series(times)
        if self.is_open:
            return np.ones(len(t), dtype=bool)
        keep = t.notna().to_numpy(copy=True)
        if self.start is not None:
            keep &= (t >= self.start).fillna(False).to_numpy(dtype=bool)
        if self.end is not None:
            keep &= (t <= self.end).fillna(False).to_numpy(dtype=bool)
        return keep

    def describe(self, tz: str = "UTC") -> str:
        """The window as the analyst reads it, e.g. ``2012-10-29 00:00 – 2012-10-30 12:00 (UTC)``."""
        if self.is_open:
            return "all times"
        fmt = "%Y-%m-%d %H:%M"
        a = self.start.tz_convert(tz).strftime(fmt) if self.start is not None else "…"
        b = self.end.tz_convert(tz).strftime(fmt) if self.end is not None else "…"
        return f"{a} – {b} ({tz})"

    def to_dict(self) -> dict:
        """ISO 8601 UTC strings (``None`` for an open side), for provenance."""
        return {"start": None if self.start is None else self.start.tz_convert("UTC").isoformat(),
                "end": None if self.end is None else self.end.tz_convert("UTC").isoformat()}

    @classmethod
    def from_strings(cls, start: str | None, end: str | None) -> TimeWindow:
        """A window from ISO 8601 strings (empty or ``None`` = open; naive = UTC).

        Raises:
            ValueError: a string is not a time, or ``start`` is after ``end``.
        """
        def one(s):
            if s is None or not str(s).strip():
                return None
            try:
                ts = pd.Timestamp(str(s).strip())
            except ValueError as exc:
                raise ValueError(f"{s!r} is not a time; write it like 2012-10-29T12:00:00Z.") from exc
            return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")

        w = cls(one(start), one(end))
        if w.start is not None and w.end is not None and w.start > w.end:
            raise ValueError(f"The time range starts ({start}) after it ends ({end}). Swap them.")
        return w


def choose_bin(span: pd.Timedelta, *, max_bins: int = MAX_BINS) -> tuple[str, str]:
    """The finest bin width that gives at most ``max_bins`` bins over ``span``.

    Aims at 20-200 bins: minute, 5 minutes, 15 minutes, hour, 6 hours, day, week (week
    for anything longer, whatever the count).

    Returns:
        ``(name, pandas frequency)``, e.g. ``("hour", "1h")``.

    Example:
        >>> choose_bin(pd.Timedelta(days=3))
        ('hour', '1h')
    """
    for name, freq, width in BINS:
        if span / width + 1 <= max_bins:
            return name, freq
    return BINS[-1][0], BINS[-1][1]


def bin_starts(times: pd.Series, freq: str, tz: str = "UTC") -> pd.Series:
    """The start of each post's bin, in ``tz`` (naive local wall-clock times, NaT stays NaT).

    Args:
        times: ``datetime64[ns, UTC]`` Series.
        freq: a frequency of :data:`BINS` (``"1h"``, ``"1D"``, ``"W-MON"``, ...).
        tz: IANA zone the bins are aligned in.
    """
    return floor_local(pd.Series(times).dt.tz_convert(tz).dt.tz_localize(None), freq)


def floor_local(local: pd.Series, freq: str) -> pd.Series:
    """Naive wall-clock times floored to the start of their bin (weeks start on Monday)."""
    if freq == "W-MON":
        day = local.dt.normalize()
        return day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    return local.dt.floor(freq)


@dataclass
class Timeline:
    """Posts per bin (and per group).

    Attributes:
        bin: the bin width's name (``"hour"``, ``"day"``, ...).
        freq: its pandas frequency.
        tz: the zone the bins are aligned in.
        counts: DataFrame indexed by bin start (naive wall-clock time in ``tz``, every bin from the
            first to the last, empty ones included), one int64 column per group (in the order
            given, else by size), values = posts.
        n_posts: posts counted (the posts with a time; ``counts`` sums to it).
        n_no_time: posts left out because they have no time.
    """

    bin: str
    freq: str
    tz: str
    counts: pd.DataFrame
    n_posts: int
    n_no_time: int

    @property
    def bin_width(self) -> str:
        """The bin width in words: ``"one hour"``, ``"5 minutes"``."""
        return self.bin if self.bin[:1].isdigit() else f"one {self.bin}"

    def long(self) -> pd.DataFrame:
        """``bin_start, group, count`` rows (for plotting and CSV)."""
        out = self.counts.copy()
        out.index.name = "bin_start"
        return out.reset_index().melt(id_vars="bin_start", var_name="group", value_name="count")


def timeline(times: pd.Series, groups=None, *, freq: str | None = None, tz: str = "UTC",
             order: list | None = None) -> Timeline:
    """Count posts per time bin, per group (e.g. cluster).

    Args:
        times: ``datetime64[ns, UTC]`` Series of shape (n,) (NaT = no time; left out and counted).
        groups: array-like of shape (n,) of group labels (cluster ids, names); ``None`` = one
            group ``"posts"``.
        freq: a pandas frequency of :data:`BINS`; ``None`` = :func:`choose_bin` over the span.
        tz: IANA zone to align bins in (the display zone).
        order: the groups' column order (default: largest first).

    Returns:
        A :class:`Timeline`; ``timeline.counts.to_numpy().sum() == timeline.n_posts``.

    Raises:
        ValueError: ``groups`` has another length than ``times``, or ``freq`` is unknown.
    """
    t = pd.Series(times).reset_index(drop=True)
    g = pd.Series(["posts"] * len(t) if groups is None else list(groups))
    if len(g) != len(t):
        raise ValueError(f"groups has {len(g)} labels for {len(t)} times; give one label per post.")
    has = t.notna().to_numpy()
    t, g = t[has], g[has]
    if freq is None:
        span = (t.max() - t.min()) if len(t) else pd.Timedelta(0)
        name, freq = choose_bin(span)
    else:
        known = {f: n for n, f, _ in BINS}
        if freq not in known:
            raise ValueError(f"freq must be one of {', '.join(known)}. Got {freq!r} instead.")
        name = known[freq]
    starts = bin_starts(t, freq, tz)
    if len(t):
        index = pd.date_range(starts.min(), starts.max(), freq="7D" if freq == "W-MON" else freq)
    else:
        index = pd.DatetimeIndex([])
    table = pd.crosstab(starts.to_numpy(), g.to_numpy()) if len(t) else pd.DataFrame()
    columns = order if order is not None else list(g.value_counts().index)
    counts = table.reindex(index=index, columns=columns, fill_value=0).fillna(0).astype("int64")
    counts.index.name = "bin_start"
    counts.columns.name = None
    return Timeline(bin=name, freq=freq, tz=tz, counts=counts, n_posts=int(has.sum()),
                    n_no_time=int((~has).sum()))


def in_bin(times: pd.Series, start, freq: str, tz: str = "UTC") -> np.ndarray:
    """Which posts fall in the bin that starts at ``start`` (naive wall-clock time in ``tz``, as in
    :attr:`Timeline.counts`' index): bool ndarray of shape (n,)."""
    starts = bin_starts(pd.Series(times), freq, tz)
    return (starts == pd.Timestamp(start)).fillna(False).to_numpy()


def what_rose(times: pd.Series, groups, *, end=None, window: pd.Timedelta = pd.Timedelta(hours=6),
              min_posts: int = 1) -> pd.DataFrame:
    """The groups whose share of posts grew most in a window against the window before it.

    The current window is ``(end - window, end]``, the previous one ``(end - 2*window, end - window]``.
    A group's share is its posts over all posts in that window; ``change`` is the difference of
    shares (percentage points / 100), ``lift`` their ratio with add-one smoothing,
    ``(n_now + 1) / (total_now + k) / ((n_before + 1) / (total_before + k))`` for ``k`` groups,
    so a group absent before has a finite lift.

    Args:
        times: ``datetime64[ns, UTC]`` Series of shape (n,).
        groups: labels of shape (n,) (cluster ids; -1 = noise is a group like the others).
        end: end of the current window (tz-aware; default: the latest time).
        window: the window's length.
        min_posts: groups with fewer posts in the current window are left out.

    Returns:
        DataFrame ``group, n_now, n_before, share_now, share_before, change, lift`` (shares in
        [0, 1]), largest ``change`` first, with attributes ``attrs["now"]`` and
        ``attrs["before"]`` (:class:`TimeWindow` of each). Empty when no post has a time.

    Raises:
        ValueError: ``window`` is not positive, or ``groups`` has another length.
    """
    t = pd.Series(times).reset_index(drop=True)
    g = pd.Series(list(groups))
    if len(g) != len(t):
        raise ValueError(f"groups has {len(g)} labels for {len(t)} times; give one label per post.")
    window = pd.Timedelta(window)
    if window <= pd.Timedelta(0):
        raise ValueError(f"The window must be longer than zero. Got {window} instead.")
    cols = ["group", "n_now", "n_before", "share_now", "share_before", "change", "lift"]
    if t.notna().sum() == 0:
        return pd.DataFrame(columns=cols)
    end = t.max() if end is None else pd.Timestamp(end)
    now_mask = ((t > end - window) & (t <= end)).fillna(False)
    before_mask = ((t > end - 2 * window) & (t <= end - window)).fillna(False)
    n_now = g[now_mask.to_numpy()].value_counts()
    n_before = g[before_mask.to_numpy()].value_counts()
    labels = sorted(set(n_now.index) | set(n_before.index), key=str)
    k = max(1, len(labels))
    tot_now, tot_before = int(now_mask.sum()), int(before_mask.sum())
    rows = []
    for lab in labels:
        a, b = int(n_now.get(lab, 0)), int(n_before.get(lab, 0))
        if a < min_posts:
            continue
        s_now = a / tot_now if tot_now else 0.0
        s_before = b / tot_before if tot_before else 0.0
        lift = ((a + 1) / (tot_now + k)) / ((b + 1) / (tot_before + k))
        rows.append((lab, a, b, s_now, s_before, s_now - s_before, lift))
    out = pd.DataFrame(rows, columns=cols).sort_values(["change", "n_now"], ascending=False, kind="mergesort")
    out = out.reset_index(drop=True)
    out.attrs["now"] = TimeWindow(end - window, end)
    out.attrs["before"] = TimeWindow(end - 2 * window, end - window)
    return out


def top_posts(posts: pd.DataFrame, mask: np.ndarray, scores: dict[str, float] | None, *, n: int = 3,
              ) -> pd.DataFrame:
    """The ``n`` most relevant posts among ``posts[mask]``: by ``scores`` (post_id -> relevance, e.g.
    a ranking's ``to_run()``) where given, posts without a score after; else the newest first.

    Returns:
        Rows of ``posts`` with a ``score`` column (NaN when unscored), at most ``n``.
    """
    sel = posts[np.asarray(mask, dtype=bool)].copy()
    sel["score"] = sel["post_id"].astype(str).map(scores or {}).astype(float)
    sel = sel.sort_values(["score", "time"], ascending=[False, False], na_position="last", kind="mergesort")
    return sel.head(n)

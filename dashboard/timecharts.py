"""Timelines on the Map and Rerank pages, and the "what rose" view.

Counting is :mod:`core.timeline`'s; this module draws plotly figures (post text only in hover
labels, HTML-escaped by :func:`dashboard.widgets.hover_text`) and lists the posts of a clicked bin.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.timeline import Timeline, floor_local, in_bin, timeline, top_posts, what_rose
from dashboard.charts import CLUSTER_COLORS, NOISE_COLOR
from dashboard.timefilter import display_tz
from dashboard.widgets import counted, escape_markdown, hover_text, posts_table


def volume_figure(tl: Timeline, names: dict | None = None) -> go.Figure:
    """Stacked area of posts per bin, one band per group (click a legend entry to hide it).

    Args:
        tl: a :class:`core.timeline.Timeline` (columns = cluster ids or group names).
        names: ``{group: display name}`` (default: the group itself).

    Returns:
        A figure whose points carry the bin start (ISO) in ``customdata[0]`` for click selection.
    """
    fig = go.Figure()
    x = tl.counts.index
    for i, g in enumerate(tl.counts.columns):
        noise = isinstance(g, (int, np.integer)) and int(g) == -1
        color = NOISE_COLOR if noise else CLUSTER_COLORS[i % len(CLUSTER_COLORS)]
        label = "unclustered" if noise else str((names or {}).get(g, g))
        fig.add_trace(go.Scatter(
            x=x, y=tl.counts[g].to_numpy(), name=hover_text(label, width=40, max_chars=60), mode="lines+markers",
            stackgroup="volume", line={"width": 0.5, "color": color}, marker={"size": 4, "color": color},
            customdata=np.array([[t.isoformat()] for t in x], dtype=object) if len(x) else None,
            hovertemplate="%{x}<br>%{y} posts<extra>%{fullData.name}</extra>",
        ))
    fig.update_layout(height=360, margin={"l": 10, "r": 10, "t": 30, "b": 10}, hovermode="closest",
                      legend={"title": {"text": "cluster (click to hide)"}},
                      xaxis_title=f"time ({tl.tz}), bins of {tl.bin_width}", yaxis_title="posts")
    return fig


def scores_figure(table: pd.DataFrame, times: pd.Series, tl: Timeline) -> go.Figure:
    """When the ranked posts appeared: bars of ranked posts per bin, and each post's score over time.

    Args:
        table: a ranking's table (``post_id, rank, score, text``).
        times: the ranked posts' times (UTC), aligned with ``table``.
        tl: the timeline of the ranked posts (bars).
    """
    local = pd.Series(times).dt.tz_convert(tl.tz).dt.tz_localize(None)
    fig = go.Figure()
    x = tl.counts.index
    fig.add_trace(go.Bar(x=x, y=tl.counts.iloc[:, 0].to_numpy() if tl.counts.shape[1] else [],
                         name="ranked posts per bin", marker={"color": "#9ecae1"}, yaxis="y2",
                         customdata=np.array([[t.isoformat()] for t in x], dtype=object) if len(x) else None,
                         hovertemplate="%{x}<br>%{y} ranked posts<extra></extra>"))
    hover = [f"#{int(r)} · {s:.3f}<br>{hover_text(t)}" for r, s, t in
             zip(table["rank"], table["score"].fillna(np.nan), table["text"], strict=True)]
    fig.add_trace(go.Scatter(x=local, y=table["score"], mode="markers", name="score of a post",
                             marker={"size": 7, "color": table["score"], "colorscale": "Viridis", "cmin": 0,
                                     "cmax": 1, "opacity": 0.8},
                             customdata=np.array([[b.isoformat() if not pd.isna(b) else ""] for b in
                                                  floor_local(local, tl.freq)], dtype=object) if len(local) else None,
                             hovertext=hover, hoverinfo="text"))
    fig.update_layout(height=340, margin={"l": 10, "r": 10, "t": 30, "b": 10}, hovermode="closest",
                      xaxis_title=f"time ({tl.tz}), bins of {tl.bin_width}",
                      yaxis={"title": "score", "range": [0, 1.02]},
                      yaxis2={"title": "ranked posts", "overlaying": "y", "side": "right", "showgrid": False,
                              "rangemode": "tozero", "tickformat": ",d"},
                      legend={"orientation": "h", "y": 1.12})
    return fig


def clicked_bins(event) -> list[pd.Timestamp]:
    """Bin starts of the points chosen in a ``st.plotly_chart(..., on_select="rerun")`` event."""
    selection = event.get("selection") if isinstance(event, dict) else getattr(event, "selection", None)
    out: list[pd.Timestamp] = []
    for pt in (selection or {}).get("points", []) if selection is not None else []:
        cd = pt.get("customdata")
        if isinstance(cd, (list, tuple)) and cd:
            cd = cd[0]
        if cd:
            ts = pd.Timestamp(cd)
            if ts not in out:
                out.append(ts)
    return out


def bin_posts_table(posts: pd.DataFrame, tl: Timeline, bins: list[pd.Timestamp], *, key: str,
                    extra: pd.DataFrame | None = None) -> None:
    """List the posts of the clicked bins (plain text)."""
    if not bins:
        st.caption("Click a point or bar of the timeline to list the posts of that bin.")
        return
    mask = np.zeros(len(posts), dtype=bool)
    for b in bins:
        mask |= in_bin(posts["time"], b, tl.freq, tl.tz)
    sel = posts[mask].copy()
    sel["time"] = sel["time"].dt.tz_convert(tl.tz)
    if extra is not None:
        sel = sel.merge(extra, on="post_id", how="left")
    label = ", ".join(b.strftime("%Y-%m-%d %H:%M") for b in bins[:3]) + (" …" if len(bins) > 3 else "")
    st.markdown(f"**Posts of the bin {escape_markdown(label)}** ({len(sel):,}, one {escape_markdown(tl.bin)} each)")
    cols = [c for c in ("rank", "score", "cluster", "time", "text", "post_id", "author") if c in sel]
    posts_table(sel.sort_values("time"), columns=cols, height=300, key=key)


def cluster_volume(posts: pd.DataFrame, labels: np.ndarray, names: dict) -> None:
    """Map page: posts per cluster over time (stacked area), a click lists a bin's posts."""
    tz = display_tz()
    if posts["time"].notna().sum() == 0:
        st.caption("No post has a time: no timeline.")
        return
    sizes = pd.Series(labels).value_counts()
    order = [c for c in sizes.index if c != -1] + ([-1] if -1 in sizes.index else [])
    tl = timeline(posts["time"], labels, tz=tz, order=order)
    event = st.plotly_chart(volume_figure(tl, names), key="map.timeline", on_select="rerun",
                            selection_mode=("points",))
    st.caption(f"{tl.n_posts:,} posts in {counted(len(tl.counts), 'bin')} of {tl.bin_width} ({tz})"
               + (f" · {tl.n_no_time:,} without a time not shown" if tl.n_no_time else ""))
    shown = posts.assign(cluster=labels)
    bin_posts_table(shown, tl, clicked_bins(event), key="map.timeline_posts")


def rose_section(posts: pd.DataFrame, labels: np.ndarray, names: dict, scores: dict | None,
                 query: str | None) -> None:
    """Map page: the clusters whose share grew most in the last window against the one before."""
    if posts["time"].notna().sum() == 0:
        return
    hours = st.select_slider("Window", options=[1, 3, 6, 12, 24, 72, 168], value=24, key="map.rose_window",
                             format_func=lambda h: f"{h} h" if h < 24 else f"{h // 24} day(s)")
    rose = what_rose(posts["time"], labels, window=pd.Timedelta(hours=hours))
    if rose.empty:
        st.caption("No post in that window.")
        return
    now, before = rose.attrs["now"], rose.attrs["before"]
    tz = display_tz()
    st.caption(f"Now: {escape_markdown(now.describe(tz))} · before: {escape_markdown(before.describe(tz))} · "
               "change = share now − share before; lift = ratio of shares (add-one smoothed)"
               + (f" · best posts by relevance to “{escape_markdown(query)}”" if scores else " · newest posts"))
    rows = []
    for r in rose.head(5).itertuples(index=False):
        in_now = now.mask(posts["time"]) & (labels == r.group)
        best = top_posts(posts, in_now, scores, n=3)
        for i, b in enumerate(best.itertuples(index=False), 1):
            rows.append({"cluster": names.get(r.group, str(r.group)), "now": r.n_now, "before": r.n_before,
                         "change": r.change * 100, "lift": r.lift, "#": i, "score": b.score,
                         "text": b.text, "post_id": b.post_id})
    posts_table(pd.DataFrame(rows), columns=["cluster", "now", "before", "change", "lift", "#", "score", "text",
                                             "post_id"], height=360, key="map.rose_table",
                column_config={"change": st.column_config.NumberColumn("change (pp)", format="%+.1f"),
                               "lift": st.column_config.NumberColumn(format="%.2f"),
                               "score": st.column_config.NumberColumn(format="%.3f")})


def ranking_timeline(ranking, posts: pd.DataFrame) -> None:
    """Rerank page: when the ranked posts appeared and how their scores spread over time."""
    table = ranking.table
    times = table[["post_id"]].merge(posts[["post_id", "time"]], on="post_id", how="left")["time"]
    if times.notna().sum() == 0:
        return
    tz = display_tz()
    tl = timeline(times, tz=tz)
    st.markdown("**Over time**")
    event = st.plotly_chart(scores_figure(table, times, tl), key="rerank.timeline", on_select="rerun",
                            selection_mode=("points",))
    st.caption(f"The {len(table):,} ranked posts in bins of {tl.bin_width} ({tz}): bars count them, dots are "
               "their scores.")
    timed = table[["post_id", "rank", "score"]].merge(posts, on="post_id", how="left")
    bin_posts_table(timed, tl, clicked_bins(event), key="rerank.timeline_posts")

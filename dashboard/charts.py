"""Plotly figures of the dashboard. Post text appears only in hover labels and
is HTML-escaped there (:func:`dashboard.widgets.hover_text`)."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.colors
import plotly.graph_objects as go

from core.cluster.selection import draw_sample, posts_in_shapes
from dashboard.widgets import hover_text

#: Colour of noise points (cluster -1) on the map.
NOISE_COLOR = "#c7c7c7"
#: Distinct colours for clusters 0, 1, 2, ... (cycled), Plotly's qualitative "Dark24".
CLUSTER_COLORS = tuple(plotly.colors.qualitative.Dark24)
#: Above this many posts the map draws the density of all and a sample of this many as points.
MAP_POINTS_MAX = 50_000


def slope_chart(rankings: dict[str, object], *, k: int = 10, max_posts: int = 40) -> go.Figure:
    """Slope (bump) chart of post ranks across modes.

    Each line is one post among the union of every mode's top ``k``; the x axis
    lists the modes in the given order, the y axis is the rank (1 at the top).
    A post outside a mode's list has no point there.

    Args:
        rankings: ``{mode: Ranking}`` over the same candidates (``Ranking.table``
            has ``post_id, rank, text``).
        k: how many top posts of each mode to draw.
        max_posts: at most this many lines (best-ranked posts first).

    Returns:
        A ``plotly.graph_objects.Figure``.
    """
    modes = list(rankings)
    tables = {m: r.table.set_index(r.table["post_id"].astype(str)) for m, r in rankings.items()}
    chosen: dict[str, float] = {}
    for m in modes:
        for pid, rank in zip(tables[m].index[:k], tables[m]["rank"].iloc[:k], strict=False):
            chosen[pid] = min(chosen.get(pid, np.inf), float(rank))
    ordered = sorted(chosen, key=lambda pid: (chosen[pid], pid))[:max_posts]
    fig = go.Figure()
    for pid in ordered:
        ranks = [tables[m]["rank"].get(pid, np.nan) for m in modes]
        text = next((tables[m]["text"].get(pid) for m in modes if pid in tables[m].index), "")
        label = f"{html.escape(pid, quote=False)}<br>{hover_text(text)}"
        fig.add_trace(go.Scatter(
            x=modes, y=[float(r) if not pd.isna(r) else None for r in ranks], mode="lines+markers",
            name=pid, showlegend=False, connectgaps=False, text=[label] * len(modes),
            # post text only through %{text}: a template would also expand "%{...}" typed in a post
            hovertemplate="%{x}: rank %{y}<br>%{text}<extra></extra>",
        ))
    fig.update_yaxes(autorange="reversed", title="rank", rangemode="tozero", tickformat="d")  # ranks are whole
    fig.update_xaxes(title="mode", type="category")
    fig.update_layout(height=520, margin={"l": 40, "r": 20, "t": 30, "b": 40})
    return fig


def _density_layer(fig: go.Figure, coords: np.ndarray, x_range, y_range, *, bins: int = 300) -> None:
    """A faint heatmap of how many posts fall in each cell of the view (all posts, drawn or not)."""
    xy = np.asarray(coords, dtype=float)
    xy = xy[np.isfinite(xy).all(axis=1)]
    if not len(xy):
        return
    rng = [x_range or [xy[:, 0].min(), xy[:, 0].max()], y_range or [xy[:, 1].min(), xy[:, 1].max()]]
    counts, xe, ye = np.histogram2d(xy[:, 0], xy[:, 1], bins=bins, range=rng)
    z = np.where(counts > 0, np.log1p(counts), np.nan).T  # rows = y; empty cells transparent
    fig.add_trace(go.Heatmap(x=(xe[:-1] + xe[1:]) / 2, y=(ye[:-1] + ye[1:]) / 2, z=z, name="density",
                             colorscale="Greys", showscale=False, opacity=0.5, hoverinfo="skip",
                             zsmooth=False))


def map_figure(coords: np.ndarray, posts: pd.DataFrame, *, labels: np.ndarray | None = None,
               relevance: np.ndarray | None = None, color_by: str = "cluster",
               names: dict[int, str] | None = None, max_points: int = MAP_POINTS_MAX) -> go.Figure:
    """Scatter map of the posts in 2D (WebGL).

    Above ``max_points`` posts the figure holds a density heatmap of every post (in the
    view) under a seeded sample of ``max_points`` points in which every cluster keeps its
    share (:func:`core.cluster.selection.draw_sample`): a million hover labels would not
    reach the browser. A box or lasso still lists every post inside it
    (:func:`selected_post_ids` with ``coords``).

    Args:
        coords: float array of shape (n, 2), the 2D projection.
        posts: the n posts (``post_id``, ``text``), aligned with ``coords``.
        labels: int array of shape (n,), cluster labels (-1 = noise), or None.
        relevance: float array of shape (n,), relevance scores in [0, 1] for the
            current query (NaN for posts not scored), used with ``color_by="relevance"``.
        color_by: ``"cluster"`` or ``"relevance"``.
        names: optional ``{cluster: display name}`` for the legend (HTML-escaped).
        max_points: the most posts drawn as points (default :data:`MAP_POINTS_MAX`).

    Returns:
        A figure whose points carry ``customdata = [post_id]`` so a box/lasso
        selection maps back to posts whatever the trace split.
    """
    n_all = len(posts)
    lab_all = np.full(n_all, -1) if labels is None else np.asarray(labels)
    x_range, y_range = view_range(coords)
    fig = go.Figure()
    drawn = draw_sample(lab_all, max_points)
    if len(drawn) < n_all:
        _density_layer(fig, coords, x_range, y_range)
        coords = np.asarray(coords)[drawn]
        posts = posts.iloc[drawn]
        labels = None if labels is None else lab_all[drawn]
        relevance = None if relevance is None else np.asarray(relevance)[drawn]
    n = len(posts)
    ids = posts["post_id"].astype(str).to_numpy()
    hover = np.array([f"{html.escape(pid, quote=False)}<br>{hover_text(t, width=50, max_chars=300)}"
                      for pid, t in zip(ids, posts["text"], strict=True)], dtype=object)
    common = {"mode": "markers", "hovertemplate": "%{text}<extra></extra>"}
    if color_by == "relevance" and relevance is not None:
        rel = np.asarray(relevance, dtype=float)
        missing = np.isnan(rel)
        if missing.any():
            fig.add_trace(go.Scattergl(
                x=coords[missing, 0], y=coords[missing, 1], text=hover[missing],
                customdata=ids[missing, None], name="not scored",
                marker={"color": NOISE_COLOR, "size": 5, "opacity": 0.5}, **common))
        fig.add_trace(go.Scattergl(
            x=coords[~missing, 0], y=coords[~missing, 1], text=hover[~missing],
            customdata=ids[~missing, None], name="relevance",
            marker={"color": rel[~missing], "colorscale": "Viridis", "cmin": 0.0, "cmax": 1.0, "size": 7,
                    "colorbar": {"title": "score"}}, **common))
    else:
        lab = np.full(n, -1) if labels is None else np.asarray(labels)
        # unclustered points first, small and faint, so the clusters are drawn over them
        for c in sorted(set(lab.tolist()), key=lambda c: (c != -1, c)):
            sel = lab == c
            label = (names or {}).get(int(c), f"cluster {c}")
            name = "unclustered" if c == -1 else f"{c}: {html.escape(label)}"
            marker = {"size": 6, "opacity": 0.8, "color": CLUSTER_COLORS[int(c) % len(CLUSTER_COLORS)]}
            if c == -1:
                marker.update(color=NOISE_COLOR, opacity=0.25, size=4)
            fig.add_trace(go.Scattergl(x=coords[sel, 0], y=coords[sel, 1], text=hover[sel],
                                       customdata=ids[sel, None], name=name, marker=marker,
                                       legendrank=2000 if c == -1 else 1000, **common))
    fig.update_layout(height=600, margin={"l": 10, "r": 10, "t": 30, "b": 10}, dragmode="lasso",
                      legend={"itemsizing": "constant"})
    fig.update_xaxes(showticklabels=False, title=None, range=x_range)
    fig.update_yaxes(showticklabels=False, title=None, range=y_range)
    return fig


def view_range(coords: np.ndarray, *, tail: float = 0.005, pad: float = 0.05) -> tuple[list | None, list | None]:
    """Axis ranges that hold all but the ``tail`` share of points at each end, plus ``pad``.

    A few outliers (UMAP places a handful of odd posts far away) would
    otherwise squeeze the cloud into a corner; they stay on the figure, just
    outside the view (zoom out to see them). Returns ``(None, None)`` (plotly's
    automatic range) below 200 points.
    """
    xy = np.asarray(coords, dtype=float)
    xy = xy[np.isfinite(xy).all(axis=1)] if xy.ndim == 2 and len(xy) else np.zeros((0, 2))
    if len(xy) < 200:
        return None, None
    out = []
    for col in (0, 1):
        lo, hi = np.quantile(xy[:, col], [tail, 1.0 - tail])
        span = (hi - lo) or 1.0
        out.append([float(lo - pad * span), float(hi + pad * span)])
    return out[0], out[1]


def selected_post_ids(event, *, coords: np.ndarray | None = None, posts: pd.DataFrame | None = None) -> list[str]:
    """Post IDs of the points chosen in a ``st.plotly_chart(..., on_select="rerun")`` event.

    Uses each point's ``customdata[0]`` (set by :func:`map_figure`), so it is
    right whichever trace a point belongs to; with ``coords`` (float (n, 2)) and the
    aligned ``posts``, also every post inside the event's boxes and lassos
    (:func:`core.cluster.selection.posts_in_shapes`), drawn as a point or not.
    Clicked points first, then the posts in the shapes in table order, no repeats.
    """
    if isinstance(event, dict):
        selection = event.get("selection")
    else:
        selection = getattr(event, "selection", None)
    points = (selection or {}).get("points", []) if selection is not None else []
    out: list[str] = []
    for pt in points:
        cd = pt.get("customdata")
        if isinstance(cd, (list, tuple)) and cd:
            cd = cd[0]
        if cd is not None and str(cd) not in out:
            out.append(str(cd))
    if coords is not None and posts is not None and selection:
        rows = posts_in_shapes(coords, boxes=selection.get("box") or [], lassos=selection.get("lasso") or [])
        seen = set(out)
        for pid in posts["post_id"].iloc[rows].astype(str).tolist():  # only the rows inside: not 1M strings
            if pid not in seen:
                seen.add(pid)
                out.append(pid)
    return out

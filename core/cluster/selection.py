"""Which posts a box or lasso drawn on the map holds, among all posts, drawn or not.

A map of a million posts draws their density and only a sample as points
(:func:`draw_sample`), so the points a chart reports as selected are not all the
posts inside the shape: the shape itself (its corners, or the lasso's vertices, in
map coordinates) is tested against every post's position here. A point on the
boundary counts as inside. Plotly/Streamlit report shapes as
``{"x": [...], "y": [...]}`` (a box: two corners; a lasso: the polygon's vertices).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

import numpy as np

logger = logging.getLogger(__name__)


def _xy(shape: Mapping) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(shape.get("x", []), dtype=float)
    y = np.asarray(shape.get("y", []), dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"A selection shape needs as many x as y values. Got {x.size} x and {y.size} y instead.")
    return x, y


def in_box(coords: np.ndarray, box: Mapping) -> np.ndarray:
    """bool (n,): the rows of ``coords`` (float (n, 2)) inside the box spanned by
    ``box["x"]`` and ``box["y"]`` (two corners in any order; bounds included). NaN rows: False."""
    x, y = _xy(box)
    xy = np.asarray(coords, dtype=float)
    if x.size < 2:
        return np.zeros(len(xy), dtype=bool)
    return ((xy[:, 0] >= x.min()) & (xy[:, 0] <= x.max()) & (xy[:, 1] >= y.min()) & (xy[:, 1] <= y.max()))


def in_lasso(coords: np.ndarray, lasso: Mapping) -> np.ndarray:
    """bool (n,): the rows of ``coords`` (float (n, 2)) inside the polygon of
    ``lasso["x"]``, ``lasso["y"]`` (closed automatically; even-odd rule of
    ``matplotlib.path.Path.contains_points``, boundary included). NaN rows: False."""
    x, y = _xy(lasso)
    xy = np.asarray(coords, dtype=float)
    out = np.zeros(len(xy), dtype=bool)
    if x.size < 3 or not len(xy):
        return out
    finite = np.isfinite(xy).all(axis=1)
    # bounding box first: a lasso usually holds a small part of a million posts
    near = finite & in_box(np.where(finite[:, None], xy, np.inf), {"x": [x.min(), x.max()], "y": [y.min(), y.max()]})
    from matplotlib.path import Path as Polygon  # imported here: only a lasso needs it

    poly = Polygon(np.column_stack([x, y]))
    span = max(float(np.ptp(x)), float(np.ptp(y)), 1e-12)
    out[near] = poly.contains_points(xy[near], radius=1e-9 * span) | poly.contains_points(
        xy[near], radius=-1e-9 * span)  # the sign that widens depends on the polygon's orientation
    return out


def posts_in_shapes(coords: np.ndarray, *, boxes: Iterable[Mapping] = (),
                    lassos: Iterable[Mapping] = ()) -> np.ndarray:
    """Row indices (int64, ascending) of the posts inside any of the shapes.

    Args:
        coords: float array of shape (n, 2), every post's map position (NaN for
            posts not on the map: never selected).
        boxes: ``[{"x": [x0, x1], "y": [y0, y1]}]`` (Streamlit's ``selection.box``).
        lassos: ``[{"x": [...], "y": [...]}]`` (Streamlit's ``selection.lasso``).

    Returns:
        int64 array of the selected rows (empty when no shape).

    Raises:
        ValueError: a shape with more x than y values (or the reverse).
    """
    xy = np.asarray(coords, dtype=float)
    mask = np.zeros(len(xy), dtype=bool)
    for box in boxes:
        mask |= in_box(xy, box)
    for lasso in lassos:
        mask |= in_lasso(xy, lasso)
    return np.flatnonzero(mask).astype(np.int64)


def draw_sample(labels: np.ndarray, max_points: int, *, random_state: int = 0) -> np.ndarray:
    """Row indices (int64, ascending) of at most ``max_points`` posts to draw as points.

    Every cluster keeps its share of the drawn points (at least one point per cluster,
    so a small cluster never vanishes from the map); seeded, so the same map draws
    the same points. All rows when there are no more than ``max_points``.

    Args:
        labels: int array of shape (n,), cluster labels (-1 = noise).
        max_points: the most points to draw (>= 1).
        random_state: seed of the sample.
    """
    lab = np.asarray(labels)
    n = len(lab)
    if n <= max_points:
        return np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(random_state)
    keep = []
    for c in np.unique(lab):
        rows = np.flatnonzero(lab == c)
        m = max(1, round(len(rows) * max_points / n))
        keep.append(rows if m >= len(rows) else rng.choice(rows, size=m, replace=False))
    return np.sort(np.concatenate(keep)).astype(np.int64)

"""A map of many posts (issue 11 item 3): progress and cancel of the sampled fit, the drawn
sample, and a box or lasso that lists every post inside it, drawn or not.

No timed asserts: ``bench/map_scale.py`` measures the speed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs

from core.cluster import cluster_keywords, cluster_posts
from core.cluster.selection import draw_sample, in_box, in_lasso, posts_in_shapes
from core.errors import Cancelled


def _blobs(n=1500, centers=3, seed=3):
    x, y = make_blobs(n_samples=n, n_features=16, centers=centers, cluster_std=0.05, center_box=(-1, 1),
                      random_state=seed)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), y


def test_sampled_map_reports_progress_up_to_every_distinct_post():
    x, _ = _blobs()
    x = np.vstack([x, x[:100]])  # copies count once
    seen = []
    res = cluster_posts(x, method="kmeans", k=3, fit_sample=300, progress=lambda d, t: seen.append((d, t)))
    assert res.fit_sample_ == 300
    assert {t for _, t in seen} == {1500}  # distinct vectors
    done = [d for d, _ in seen]
    assert done[0] == 0 and 300 in done and done[-1] == 1500 and done == sorted(done)


def test_small_map_reports_start_and_end():
    x, _ = _blobs(n=200)
    seen = []
    cluster_posts(x, method="kmeans", k=3, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(0, 200), (200, 200)]


def test_cancel_stops_the_map_between_placement_blocks():
    from core.cluster import sample

    x, _ = _blobs(n=3000)
    polls = []

    def cancel_after_fit():
        polls.append(1)
        return len(polls) > 2  # before the fit: no; first block: no; second block: yes

    with pytest.raises(Cancelled, match="placing 1,024 of"):
        sample.cluster_sampled(x, fit=cluster_posts, fit_sample=300, method="kmeans", k=3,
                               should_cancel=cancel_after_fit)
    with pytest.raises(Cancelled):
        cluster_posts(x[:100], method="kmeans", k=3, should_cancel=lambda: True)


def test_keywords_come_from_every_post_of_a_cluster_not_only_the_fitted_sample():
    # the word "aftershock" is only in posts placed by their neighbours, never in a fitted one
    x, y = _blobs(n=1200, centers=2)
    res = cluster_posts(x, method="kmeans", k=2, fit_sample=200, random_state=0)
    assert res.fit_sample_ == 200
    fitted = np.random.default_rng(0).choice(1200, size=200, replace=False)  # cluster_sampled's draw
    texts = np.array([f"quake damage report {i}" if c == 0 else f"flood water rising {i}"
                      for i, c in enumerate(y)], dtype=object)
    placed_quake = np.setdiff1d(np.flatnonzero(y == 0), fitted)[:300]
    texts[placed_quake] = [f"aftershock felt again {i}" for i in placed_quake]
    kw = cluster_keywords(texts.tolist(), res.labels_)
    quake = int(np.bincount(res.labels_[y == 0]).argmax())
    assert "aftershock" in kw[quake] and "aftershock" not in kw[1 - quake]


# --- selection -> posts ----------------------------------------------------------------------


def test_box_selects_every_post_inside_including_its_bounds():
    coords = np.array([[0, 0], [1, 1], [2, 2], [1, 3], [np.nan, np.nan], [0.5, 2]])
    assert in_box(coords, {"x": [2, 0.5], "y": [0.5, 2]}).tolist() == [False, True, True, False, False, True]
    assert posts_in_shapes(coords, boxes=[{"x": [-1, 0.1], "y": [-1, 0.1]}, {"x": [0.9, 1.1], "y": [2.9, 3.1]}]
                           ).tolist() == [0, 3]


def test_lasso_selects_the_posts_inside_the_polygon():
    # a triangle (0,0) (4,0) (0,4): the hypotenuse is x + y = 4
    tri = {"x": [0, 4, 0], "y": [0, 0, 4]}
    coords = np.array([[1, 1], [3, 0.5], [3, 3], [2, 2], [-0.5, 1], [np.nan, 1], [0, 0]])
    assert in_lasso(coords, tri).tolist() == [True, True, False, True, False, False, True]
    # clockwise gives the same (boundary points included either way)
    cw = {"x": [0, 0, 4], "y": [0, 4, 0]}
    assert in_lasso(coords, cw).tolist() == in_lasso(coords, tri).tolist()
    with pytest.raises(ValueError, match="as many x as y"):
        in_lasso(coords, {"x": [0, 1, 2], "y": [0, 1]})


def test_a_lasso_on_a_large_map_lists_posts_that_were_not_drawn():
    rng = np.random.default_rng(1)
    coords = rng.uniform(-10, 10, size=(200_000, 2))
    labels = (coords[:, 0] > 0).astype(int)
    drawn = draw_sample(labels, 5000)
    square = {"x": [0, 1, 1, 0], "y": [0, 0, 1, 1]}
    picked = posts_in_shapes(coords, lassos=[square])
    truth = np.flatnonzero((coords[:, 0] >= 0) & (coords[:, 0] <= 1) & (coords[:, 1] >= 0) & (coords[:, 1] <= 1))
    assert np.array_equal(picked, truth)
    assert len(np.intersect1d(picked, drawn)) < len(picked) / 10  # most were never points on the screen


def test_draw_sample_keeps_every_cluster_and_its_share():
    labels = np.array([0] * 9000 + [1] * 990 + [2] * 9 + [-1] * 1)
    rows = draw_sample(labels, 1000, random_state=0)
    assert np.array_equal(rows, np.sort(rows)) and len(set(rows)) == len(rows)
    counts = {c: int((labels[rows] == c).sum()) for c in (-1, 0, 1, 2)}
    assert counts[0] == 900 and counts[1] == 99 and counts[2] == 1 and counts[-1] == 1
    assert np.array_equal(draw_sample(labels, 1000, random_state=0), rows)  # seeded
    assert np.array_equal(draw_sample(labels[:50], 1000), np.arange(50))


def test_selected_posts_on_the_map_page_come_from_the_shape(monkeypatch):
    from dashboard.charts import selected_post_ids

    posts = pd.DataFrame({"post_id": ["a", "b", "c", "d"], "text": list("wxyz")})
    coords = np.array([[0, 0], [1, 1], [5, 5], [np.nan, np.nan]])
    event = {"selection": {"points": [{"customdata": ["c"]}], "box": [{"x": [-1, 2], "y": [-1, 2]}],
                           "lasso": []}}
    assert selected_post_ids(event, coords=coords, posts=posts) == ["c", "a", "b"]
    assert selected_post_ids(event) == ["c"]  # without positions: the clicked points only


def test_large_map_figure_draws_density_of_all_and_a_sample_of_points():
    from dashboard.charts import map_figure

    rng = np.random.default_rng(0)
    n = 4000
    coords = rng.normal(size=(n, 2))
    coords[:2] = [[300.0, 0.0], [0.0, -300.0]]  # outliers stay outside the view
    labels = np.where(np.arange(n) % 4 == 0, -1, np.arange(n) % 3)
    posts = pd.DataFrame({"post_id": [f"p{i}" for i in range(n)], "text": ["<i>t</i>"] * n})
    fig = map_figure(coords, posts, labels=labels, max_points=500)
    assert fig.data[0].type == "heatmap" and fig.data[0].hoverinfo == "skip"  # under everything
    points = fig.data[1:]
    assert all(tr.type == "scattergl" for tr in points)
    assert points[0].name == "unclustered" and points[0].marker.opacity < points[1].marker.opacity
    assert 490 <= sum(len(tr.x) for tr in points) <= 510
    z = np.asarray(fig.data[0].z, dtype=float)
    in_view = in_box(coords, {"x": fig.layout.xaxis.range, "y": fig.layout.yaxis.range}).sum()
    assert round(np.nansum(np.expm1(z))) == in_view and in_view >= n - 2 - 0.02 * n  # every post counted
    assert all("<i>" not in str(t) for tr in points for t in tr.text)

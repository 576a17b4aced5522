"""The time range filter and timelines in the dashboard (AppTest, fake scorer and embedder)."""

from __future__ import annotations

import base64
import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from dashboard import state
from tests.test_dashboard import button, fakes, load_path, ok, rerank, sample, start  # noqa: F401 - fixtures

pytestmark = pytest.mark.usefixtures("sample")


def _captions(at) -> str:
    return " | ".join(c.value for c in at.caption)


def _values(y) -> np.ndarray:
    """A plotly array from a figure's JSON (a list, or plotly 6's typed array ``{dtype, bdata}``)."""
    if isinstance(y, dict):
        return np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"])
    return np.asarray(y)


def _choose(at, preset: str):
    at.selectbox(key="time.preset").set_value(preset).run()
    ok(at)
    return at


def test_time_filter_narrows_the_candidates_and_is_remembered_across_pages():
    at = start("rerank.py")
    posts = state.dataset(at.session_state).posts
    assert "Time range: all times" in _captions(at)
    _choose(at, "Last 30 days")
    newest = posts["time"].max()
    inside = set(posts.loc[posts["time"] >= newest - pd.Timedelta(days=30), "post_id"])
    assert 5 < len(inside) < len(posts) / 4
    assert f"{len(inside)} of {len(posts)} posts" in _captions(at)

    rerank(at, "电池", "relevance")
    (req, ranking), = state.work(at.session_state).rankings.items()
    assert req.window, "the window travels with the request"
    ranked = set(ranking.table["post_id"]) | set(ranking.unscored["post_id"])
    assert ranked and ranked <= inside, "only posts of the range reach the first stage"
    assert any("narrowed to the time range" in n for n in ranking.notes)
    assert len(at.get("plotly_chart")) == 1, "the ranking's timeline is drawn"

    at.switch_page("../pages/compare.py").run()
    ok(at)
    assert f"{len(inside)} of {len(posts)} posts" in _captions(at), "the range carries over to Compare"
    button(at, "Compare").click().run()
    ok(at)
    for r in state.work(at.session_state).rankings.values():
        assert set(r.table["post_id"]) <= inside

    at.switch_page("../pages/grade.py").run()
    ok(at)
    assert set(at.dataframe[0].value["post_id"]) <= inside

    at.switch_page("../pages/evaluate.py").run()
    ok(at)
    with zipfile.ZipFile(io.BytesIO(state.work(at.session_state).exports["sieve-bundle.zip"])) as zf:
        prov = json.loads(zf.read("provenance.json"))
    window = prov["time_filter"]["window"]
    assert pd.Timestamp(window["end"]) == newest
    assert pd.Timestamp(window["start"]) == newest - pd.Timedelta(days=30)
    assert prov["time_filter"]["runs"]["relevance"] == window

    _choose(at, "All times")
    assert "Time range: all times" in _captions(at)


def test_map_shows_cluster_volume_over_time_and_what_rose():
    at = start("map.py")
    _choose(at, "Last 90 days")
    posts = state.dataset(at.session_state).posts
    inside = (posts["time"] >= posts["time"].max() - pd.Timedelta(days=90)) & posts["scorable"]
    button(at, "Cluster").click().run()
    ok(at)
    result = state.work(at.session_state).clusters.result
    assert len(result.labels_) == int(inside.sum()), "only the range's scorable posts are clustered"
    charts = at.get("plotly_chart")
    assert len(charts) == 2, "the map and the volume timeline"
    figure = json.loads(charts[1].proto.spec)
    total = sum(int(_values(tr["y"]).sum()) for tr in figure["data"])
    assert total == len(result.labels_), "the stacked areas add up to the posts on the map"
    assert any("What rose" in h.value for h in at.subheader)
    assert any("change" in str(df.value.columns.tolist()) or "now" in df.value.columns for df in at.dataframe)


def test_reference_time_is_shown_and_can_be_changed_on_the_data_page():
    at = start("data.py")
    assert any("Times:" in c and "relative" in c for c in (x.value.replace("\\", "") for x in at.caption))
    before = state.dataset(at.session_state).posts.set_index("post_id")["time"]
    at.date_input(key="data.ref_day").set_value(pd.Timestamp("2025-05-01").date())
    at.time_input(key="data.ref_time").set_value(pd.Timestamp("2025-05-01 09:00").time())
    at.button(key="FormSubmitter:data.reference-Apply the reference time").click().run()
    ok(at)
    ds = state.dataset(at.session_state)
    assert ds.report["times"]["reference_source"] == "analyst"
    moved = (ds.posts.set_index("post_id")["time"] - before)
    assert (moved > pd.Timedelta(0)).sum() >= 3, "relative times moved with the reference"
    assert (moved >= pd.Timedelta(0)).all()


def test_a_click_on_a_bin_names_the_posts_of_that_bin():
    from core.timeline import in_bin, timeline
    from dashboard.timecharts import clicked_bins, volume_figure

    at = start("data.py")
    posts = state.dataset(at.session_state).posts
    tl = timeline(posts["time"], tz="Asia/Shanghai")
    fig = volume_figure(tl)
    busiest = int(np.argmax(tl.counts["posts"].to_numpy()))
    point = {"customdata": list(fig.data[0].customdata[busiest]), "x": str(tl.counts.index[busiest])}
    bins = clicked_bins({"selection": {"points": [point]}})
    assert bins == [tl.counts.index[busiest]]
    assert in_bin(posts["time"], bins[0], tl.freq, tl.tz).sum() == tl.counts["posts"].iloc[busiest] > 0


def test_the_maps_timeline_caption_says_its_bins_in_words(sample, tmp_path, monkeypatch):
    """The Map's "Over time" caption still read "bins of one 5 minutes" after the other
    captions were mended; it uses the same words now. Posts over 10 hours: 5-minute bins."""
    words = ["flood", "road", "rain", "power", "school", "bridge", "river", "rescue"]
    rows = [f"p{i},2024-05-01 {8 + i // 6:02d}:{(i % 6) * 10:02d}:00,{words[i % 8]} {words[(i * 3) % 8]} report {i}"
            for i in range(60)]
    (tmp_path / "day.csv").write_text("id,created_at,text\n" + "\n".join(rows) + "\n", encoding="utf-8")
    monkeypatch.setenv("SIEVE_DATA_ROOTS", str(tmp_path))
    at = start()
    load_path(at, tmp_path / "day.csv")
    at.switch_page("../pages/map.py").run()
    at.radio(key="map.method").set_value("kmeans").run()
    at.number_input(key="map.k").set_value(3).run()
    button(at, "Cluster").click().run()
    ok(at)
    said = [c.value for c in at.caption if " posts in " in c.value and " bins " in c.value]
    assert said and "bins of 5 minutes" in said[0], said

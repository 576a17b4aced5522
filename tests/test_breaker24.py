"""What a fresh reviewer found in the Map preview (commits f5837fd, 777f71d), each test failing on that
code: a per-cluster table of the preview kept under the full map; a dead build still offered as
running (with a growing time left); a kept map asked for again failing with
``CacheReplayClosureError`` (older than the preview: the cached function moved a progress bar of an
earlier run); the preview and the full map differing when two sample texts share a vector; repeated
or empty ``fit_rows`` fitting every post."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from core.candidates import dense_build
from core.candidates.dense_build import DenseIndexBuild
from core.cluster import cluster_posts, cluster_preview
from tests.test_dashboard import fakes, sample  # noqa: F401 (fixtures)
from tests.test_map_preview import RecordingEmbedder, blobs, corpus, held  # noqa: F401 (fixture)

# --- core ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("params", [{}, {"min_cluster_size": 40}, {"method": "kmeans", "k": 4}])
def test_preview_equals_full_fit_when_two_sample_texts_share_a_vector(params):
    """Two distinct texts of the sample with the same vector (a tokenizer that maps them to the same
    tokens; the fake embedder with the same character bigrams): the full map fits on the distinct
    vectors (398), the preview on all 400 rows, so places and numbers differ."""
    x = blobs()
    valid = np.flatnonzero(np.linalg.norm(x, axis=1) > 0)
    fit = np.sort(np.random.default_rng(1).choice(valid, 400, replace=False))
    x[fit[1]], x[fit[3]] = x[fit[0]], x[fit[2]]
    full = cluster_posts(x, fit_rows=fit, **params)
    pre = cluster_preview(x[fit], n_posts=len(valid), **params)
    assert full.fit_sample_ == pre.fit_sample_
    assert np.array_equal(full.coords_2d_[fit], pre.coords_2d_)
    assert np.array_equal(full.labels_[fit], pre.labels_)


def test_repeated_fit_rows_are_still_a_sample():
    """150 positions given twice (300 >= the 291 valid rows): the fit runs on every row, not on the 150."""
    x = blobs(n_per=100, k=3)
    valid = np.flatnonzero(np.linalg.norm(x, axis=1) > 0)
    res = cluster_posts(x, fit_rows=np.repeat(valid[:150], 2), fit_sample=100)
    assert res.fit_sample_ == 150


def test_empty_fit_rows_do_not_fit_every_post():
    """fit_rows=[] (or only zero rows) above fit_sample: UMAP runs on every post (a million on the
    real data) instead of a sample."""
    x = blobs(n_per=100, k=3)
    res = cluster_posts(x, fit_rows=np.zeros(0, dtype=np.int64), fit_sample=100)
    assert res.fit_sample_ is not None and res.fit_sample_ <= 100


# --- the build ----------------------------------------------------------------------------------------


class _FailsAfterSample(RecordingEmbedder):
    def embed(self, texts, **kw):
        if len(self.batches) >= 3:  # the sample (60 texts, 3 chunks of 20) went through
            time.sleep(0.05)
            raise RuntimeError("the embedder fell over")
        time.sleep(0.02)
        return super().embed(texts, **kw)


def test_a_dead_build_gives_no_time_left(tmp_path, monkeypatch):
    monkeypatch.setattr(dense_build, "PREVIEW_TEXTS", 60)
    build = DenseIndexBuild(_FailsAfterSample(), corpus(), chunk=20, root=tmp_path)
    assert build.wait_preview()
    build._thread.join(30)
    assert build.error is not None and not build._thread.is_alive()
    assert build.eta_seconds is None, (build.stage, build.eta_seconds)  # grows forever while nothing runs
    assert build.stage != "embedding"


# --- the Map page -------------------------------------------------------------------------------------


def _preview(at):
    from dashboard import state
    from tests.test_dashboard import button, ok

    button(at, "Cluster").click().run()
    ok(at)
    pre = state.work(at.session_state).clusters
    assert pre is not None and pre.preview
    return pre


def test_cluster_then_rerank_made_on_the_preview_is_dropped_with_the_full_map(held):
    """'Rerank inside each cluster' on the preview ranks the 60 sample posts; after 'Wait for the full
    map' the table stays, with the sample's sizes and best posts (same made_with), no note."""
    from dashboard import state
    from tests.test_dashboard import button, ok, start

    at = start("map.py")
    _preview(at)
    at.text_input(key="map.query").set_value("台风").run()
    button(at, "Rerank inside each cluster").click().run()
    ok(at)
    within = state.work(at.session_state).within
    assert within is not None and int(within.table["size"].sum()) <= 60
    held.set()
    button(at, "Wait for the full map").click().run()
    ok(at)
    full = state.work(at.session_state).clusters
    assert not full.preview and len(full.rows) > 60
    within = state.work(at.session_state).within
    assert within is None or int(within.table["size"].sum()) > 60, \
        "the per-cluster table still counts and ranks the preview's sample only"


def test_the_preview_offer_after_the_build_died_says_so(held):
    """The build fails after its sample: the page keeps offering 'Wait for the full map' with a time
    left that grows, and no error until the button is pressed."""
    from tests.test_dashboard import button, ok, start

    at = start("map.py")
    _preview(at)
    held.state["fail"] = True
    held.set()
    from dashboard import resources
    b = next(iter(resources._dense.values()))  # this dataset's build
    b._thread.join(30)
    assert b.error is not None
    at.run()
    info = " ".join(el.value for el in at.info)
    assert "min left" not in info, info
    assert not [x for x in at.button if x.label == "Wait for the full map"] or at.error, \
        "a dead build is offered as if it were still embedding"
    # "Try again" starts a new build, which goes on where the dead one stopped
    held.state["fail"] = False
    button(at, "Try again").click().run()
    ok(at)
    again = next(iter(resources._dense.values()))
    assert again is not b and again.error is None
    again.join(60)
    assert again.complete


def test_preview_then_time_range_settings_colour_and_sections(held):
    from dashboard import state
    from tests.test_dashboard import button, ok, rerank, start
    from tests.test_timefilter_ui import _choose

    at = rerank(start(), "台风", "relevance")
    at.switch_page("../pages/map.py").run()
    pre = _preview(at)
    at.radio(key="map.color").set_value("relevance").run()
    ok(at)
    assert any("Relevance for" in c.value for c in at.caption)
    _choose(at, "Last 30 days")
    ok(at)
    assert "made with other settings" in " ".join(c.value for c in at.caption)
    assert not [b for b in at.button if b.label == "Wait for the full map"]
    from dashboard import mapping
    mapping.PREVIEW_MIN = 5  # (monkeypatched by the fixture: restored after)
    button(at, "Cluster again with these settings").click().run()
    ok(at)
    narrow = state.work(at.session_state).clusters
    assert narrow.preview and len(narrow.rows) < 60, len(narrow.rows)
    assert any("Relevance for" in c.value for c in at.caption)
    _choose(at, "All times")
    ok(at)
    assert "made with other settings" in " ".join(c.value for c in at.caption)
    at.radio(key="map.method").set_value("kmeans").run()
    at.number_input(key="map.k").set_value(3).run()
    button(at, "Cluster again with these settings").click().run()
    ok(at)
    km = state.work(at.session_state).clusters
    assert km.preview and km.result.n_clusters_ == 3
    at.radio(key="map.method").set_value("hdbscan").run()
    at.number_input(key="map.mcs").set_value(30).run()
    button(at, "Cluster again with these settings").click().run()
    ok(at)
    assert state.work(at.session_state).clusters.preview
    del pre


def test_back_to_all_times_and_cluster_again_gives_the_kept_preview(held):
    """Preview, narrow the time range, redraw there, back to all times, 'Cluster again with these
    settings': the kept preview (a cache hit of mapping._map_of) fails with CacheReplayClosureError
    (the progress bar of an earlier run is replayed). Also on f5837fd~1 for a small dataset ('Cluster
    again' twice): older than the preview, but the preview's flows reach it."""
    from dashboard import mapping, state
    from tests.test_dashboard import button, ok, start
    from tests.test_timefilter_ui import _choose

    at = start("map.py")
    pre = _preview(at)
    mapping.PREVIEW_MIN = 5
    _choose(at, "Last 30 days")
    button(at, "Cluster again with these settings").click().run()
    ok(at)
    _choose(at, "All times")
    button(at, "Cluster again with these settings").click().run()
    ok(at)
    assert state.work(at.session_state).clusters is pre


def test_a_second_tab_waiting_for_the_same_full_map_gets_it(held):
    """Two tabs show the preview and both press 'Wait for the full map'. The second waits on the
    first's computation of mapping._map_of (one key), then Streamlit replays the first tab's progress
    bar calls into it: 'Sieve could not finish drawing the full map (CacheReplayClosureError...)', and
    that tab stays on the preview."""
    from dashboard import state
    from tests.test_dashboard import button, ok, start

    at, tab = start("map.py"), None
    _preview(at)
    tab = start("map.py")
    _preview(tab)
    tab.run()
    errors = []

    def wait(t):
        try:
            button(t, "Wait for the full map").click().run(timeout=200)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=wait, args=(t,)) for t in (at, tab)]
    threads[0].start()
    time.sleep(3)
    threads[1].start()
    time.sleep(3)
    held.set()
    for th in threads:
        th.join(250)
    assert not errors
    ok(at)
    ok(tab)
    assert not state.work(tab.session_state).clusters.preview

"""The Rerank page's live run (dashboard/live.py) with AppTest and fake models: results
batch by batch, Cancel keeps what is scored and says so, the time estimate from the
measured rate. The fakes are those of tests/test_dashboard.py."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard import state
from tests.test_dashboard import FakeScorer, button, fakes, ok, rerank, sample, start  # noqa: F401 (fixtures)


class SlowFake(FakeScorer):
    """The dashboard's fake scorer on a fake clock (0.1 s per post), counting batches;
    with ``cancel_on_call`` it presses Cancel (sets the flag the button's callback sets)
    while that batch runs, as a person would mid-run."""

    def __init__(self, clock: dict, cancel_on_call: int | None = None, rerun_on_call: int | None = None) -> None:
        super().__init__()
        self.clock, self.cancel_on_call, self.batches = clock, cancel_on_call, []
        self.rerun_on_call = rerun_on_call

    def predict(self, query, documents, *, instruction=None, progress=None, should_cancel=None):
        import streamlit as st

        from core.errors import Cancelled
        from dashboard.live import CANCEL_KEY

        self.batches.append(len(documents))
        self.clock["t"] += 0.1 * len(documents)
        if self.cancel_on_call == len(self.batches):
            st.session_state[CANCEL_KEY] = True
        if self.rerun_on_call == len(self.batches):  # another click mid-run: Streamlit stops the script
            self.rerun_on_call = None
            st.rerun()
        if should_cancel is not None and should_cancel():
            raise Cancelled("cancelled")
        return super().predict(query, documents, instruction=instruction, progress=progress)


@pytest.fixture
def slow(sample, monkeypatch):
    """Install a :class:`SlowFake` (and its clock) as the dashboard's scorer."""
    from core.rerank import stream
    from dashboard import resources

    clock = {"t": 0.0}
    monkeypatch.setattr(stream, "_now", lambda: clock["t"])

    def install(**kw):
        scorer = SlowFake(clock, **kw)
        monkeypatch.setattr(resources, "get_scorer", lambda name, device, dtype, cache_dir: scorer)
        return scorer

    return install


def test_rerank_scores_in_growing_batches_and_estimates_the_next_run(slow):
    scorer = slow()
    at = start("rerank.py")
    assert any("No scoring speed measured yet" in c.value for c in at.caption)
    at = rerank(at, "台风", "relevance")
    (ranking,) = state.work(at.session_state).rankings.values()
    n = ranking.n_candidates
    assert ranking.complete and ranking.n_scored == n
    assert scorer.batches[:2] == [10, 20] and sum(scorer.batches) == n  # first batch: the top 10 (rate unknown)
    assert not at.warning or not any("Cancelled" in w.value for w in at.warning)
    table = at.dataframe[0].value
    assert table["score"].notna().all() and table["score"].is_monotonic_decreasing
    # the rate measured on this run (10 posts per fake second) gives the estimate
    at.run()
    estimate = [c.value for c in at.caption if c.value.startswith("Estimated time")]
    assert estimate and "10.0 pairs/s" in estimate[0], [c.value for c in at.caption]


def test_cancel_keeps_what_is_scored_and_rerank_finishes_it(slow):
    slow(cancel_on_call=2)  # Cancel pressed while the second batch runs
    at = rerank(start(), "台风", "relevance")
    (ranking,) = state.work(at.session_state).rankings.values()
    assert not ranking.complete and ranking.n_scored == 10
    warning = [w.value for w in at.warning if "Cancelled" in w.value]
    assert warning and f"kept the 10 of {ranking.n_candidates}" in warning[0]
    table = at.dataframe[0].value
    scored = table["score"].notna().to_numpy()
    assert scored[:10].all() and not scored[10:].any()  # scored first, the rest after, unscored
    assert table["score"].head(10).is_monotonic_decreasing
    # Compare and Grade do not take the partial ranking as done: pressing Rerank finishes it
    slow()
    button(at, "Rerank").click().run()
    ok(at)
    (ranking,) = state.work(at.session_state).rankings.values()
    assert ranking.complete and not any("Cancelled" in w.value for w in at.warning)
    assert np.isfinite(at.dataframe[0].value["score"]).all()


def _compare(at, query: str, modes: list[str]):
    at.switch_page("../pages/compare.py").run()
    at.text_input(key="compare.query").set_value(query).run()
    at.multiselect(key="compare.modes").set_value(modes).run()
    button(at, "Compare").click().run()
    return at


def test_compare_streams_each_mode_and_compares_once_every_mode_is_complete(slow):
    scorer = slow()
    at = _compare(start(), "台风", ["relevance", "accuracy"])
    ok(at)
    work = state.work(at.session_state)
    assert work.comparison is not None and work.comparison.modes == ("relevance", "accuracy")
    rankings = list(work.rankings.values())
    assert len(rankings) == 2 and all(r.complete for r in rankings)
    n = rankings[0].n_candidates
    assert scorer.batches[:2] == [10, 20] and sum(scorer.batches) >= n  # batch by batch, top 10 first
    assert not any("Cancelled" in w.value for w in at.warning)


def test_cancel_during_compare_keeps_the_scored_part_and_compare_finishes_it(slow):
    slow(cancel_on_call=2)  # Cancel pressed while the first mode's second batch runs
    at = _compare(start(), "台风", ["relevance", "accuracy"])
    ok(at)
    work = state.work(at.session_state)
    (partial,) = work.rankings.values()  # the second mode was not started
    assert not partial.complete and partial.n_scored == 10 and work.comparison is None
    warning = [w.value for w in at.warning if "Cancelled" in w.value]
    assert warning and f"relevance 10 of {partial.n_candidates}" in warning[0]
    from dashboard import resources

    resources.get_scorer("", "", "", "").cancel_on_call = None
    button(at, "Compare").click().run()
    ok(at)
    work = state.work(at.session_state)
    assert work.comparison is not None and all(r.complete for r in work.rankings.values())
    assert not any("Cancelled" in w.value for w in at.warning)


def test_a_compare_run_stopped_by_another_click_says_so_and_compare_finishes_it(slow):
    # Any widget touched while Compare runs makes Streamlit stop the script and run it again
    # without the button: the page must not keep showing the stopped run as if it were going on.
    slow(rerun_on_call=2)
    at = _compare(start(), "台风", ["relevance", "accuracy"])
    ok(at)
    work = state.work(at.session_state)
    (partial,) = work.rankings.values()
    assert not partial.complete and partial.n_scored == 10 and work.comparison is None
    warning = [w.value for w in at.warning if "Interrupted" in w.value]
    assert warning and f"relevance 10 of {partial.n_candidates}" in warning[0]
    assert not any(c.value.startswith("Mode 1 of 2") for c in at.caption)  # no stale "scoring…" line
    button(at, "Compare").click().run()
    ok(at)
    work = state.work(at.session_state)
    assert work.comparison is not None and all(r.complete for r in work.rankings.values())
    assert not any("Interrupted" in w.value for w in at.warning)


def test_a_compare_run_stopped_between_modes_says_which_modes_it_did_not_start(slow, monkeypatch):
    # The click lands while the page draws the first mode's complete list: every ranking kept
    # is complete, the other modes were never started, and no comparison was made.
    import streamlit as st

    from dashboard import live

    slow()
    shown = live.progress_text

    def progress_text(ranking):
        if ranking.complete and ranking.mode == "relevance" and not calls:
            calls.append(ranking.mode)
            st.rerun()
        return shown(ranking)

    calls: list[str] = []
    monkeypatch.setattr(live, "progress_text", progress_text)
    at = _compare(start(), "台风", ["relevance", "accuracy", "emotion"])
    ok(at)
    assert calls == ["relevance"]
    work = state.work(at.session_state)
    assert work.comparison is None and [r.complete for r in work.rankings.values()] == [True]
    warning = [w.value for w in at.warning if "Interrupted" in w.value]
    assert warning and "relevance complete, accuracy not started, emotion not started" in warning[0]
    button(at, "Compare").click().run()
    ok(at)
    assert state.work(at.session_state).comparison is not None
    assert not any("Interrupted" in w.value for w in at.warning)


def test_the_first_stage_is_prepared_while_the_query_is_typed_not_after_the_press(slow):
    from core.candidates import scorable_texts
    from core.candidates.bm25 import _INDEX_CACHE, texts_key
    from dashboard import resources

    _INDEX_CACHE.clear()  # other tests built this sample's index
    slow()
    embedder = resources.get_embedder("", "", "")
    sizes = []
    embed = embedder.embed
    embedder.embed = lambda texts, **kw: (sizes.append(len(texts)), embed(texts, **kw))[1]
    at = start("rerank.py")  # opening the page starts embedding the loaded posts
    ds = state.dataset(at.session_state)
    n_posts = len(ds.posts)
    key = resources.posts_key(ds.dataset_hash, ds.posts["post_id"].tolist())
    _, threads = resources._warm_threads()
    (thread,) = [t for name, t in threads.items() if name.startswith(key)]
    thread.join(timeout=60)
    assert sum(sizes) >= 0.9 * n_posts  # every distinct text (the sample has a few copies)
    assert texts_key(scorable_texts(ds.posts)[1]) in _INDEX_CACHE  # the BM25 index the query will use
    before = len(sizes)
    at = rerank(at, "台风", "relevance")
    assert sum(sizes[before:]) <= 1, sizes[before:]  # only the query: the posts were embedded before
    (ranking,) = state.work(at.session_state).rankings.values()
    assert ranking.complete


def test_the_ranking_download_writes_formula_like_posts_as_text():
    import pandas as pd

    from dashboard.export import ranking_csv

    table = pd.DataFrame({"rank": [1, 2], "post_id": ["7", "8"], "score": [0.9, 0.25],
                          "text": ['=HYPERLINK("http://evil.example")', "typhoon relief"]})
    lines = ranking_csv(table, ["rank", "post_id", "score", "missing", "text"]).decode("utf-8-sig").splitlines()
    assert lines[0] == "rank,post_id,score,text"
    assert lines[1] == '1,7,0.9,"\'=HYPERLINK(""http://evil.example"")"' and lines[2] == "2,8,0.25,typhoon relief"

"""The Rerank page's boxes after a browser refresh: the query, mode, edited instruction,
top-k and budget of the last request remembered for the reopened dataset come back
(``dashboard.remember.restore_request``), and the Compare page's query with them.

A refresh is a new AppTest whose URL carries the tab's ID (``?s=``); a new tab is one
without it (it reads the analyst's ``last.json``). The models are the fakes of
test_dashboard.
"""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from dashboard import state
from tests.test_dashboard import APP, button, fakes, ok, rerank, sample  # noqa: F401 (fixtures)
from tests.test_grade_page import tab  # a browser tab; with an ID, a refresh of that tab

EDITED = "Retrieve posts that report damage to buildings"
TAB = "a" * 32


def boxes(at: AppTest) -> tuple[str, str, int]:
    """(query, mode, top-k) the Rerank page shows."""
    return (at.text_input(key="rerank.query").value, at.selectbox(key="rerank.mode").value,
            at.number_input(key="rerank.top_k").value)


def compare_shows(at: AppTest, query: str) -> None:
    """The Compare page ran without error and shows ``query`` with its default modes."""
    ok(at)
    assert at.text_input(key="compare.query").value == query
    assert at.multiselect(key="compare.modes").value == ["relevance", "accuracy"]


def open_sample(at: AppTest, name: str) -> None:
    at.switch_page("../pages/data.py").run()
    at.selectbox(key="data.sample").set_value(name).run()
    ok(at)


def rank_edited(at: AppTest) -> state.RankingRequest:
    """Rerank 台风 under accuracy with an edited instruction and top-k 20; the request."""
    at.switch_page("../pages/rerank.py").run()
    at.text_input(key="rerank.query").set_value("台风").run()
    at.selectbox(key="rerank.mode").set_value("accuracy").run()
    at.text_area(key="rerank.instruction.accuracy").set_value(EDITED).run()
    at.number_input(key="rerank.top_k").set_value(20).run()
    button(at, "Rerank").click().run()
    ok(at)
    return state.work(at.session_state).last_request


def test_a_refresh_refills_the_boxes_and_recompute_shows_that_ranking(sample):  # noqa: F811
    a = rerank(tab(TAB), "暴雨", "relevance")
    last = rank_edited(a)
    assert last.instruction == EDITED

    fresh = tab(TAB, "rerank.py")  # a refresh of the tab
    ok(fresh)
    assert boxes(fresh) == ("台风", "accuracy", 20)
    assert fresh.text_area(key="rerank.instruction.accuracy").value == EDITED
    assert any("Edited instruction" in c.value for c in fresh.caption)
    assert not state.work(fresh.session_state).rankings
    button(fresh, "Recompute earlier rankings").click().run()
    ok(fresh)
    assert state.work(fresh.session_state).last_request == last
    assert boxes(fresh) == ("台风", "accuracy", 20)
    assert fresh.text_area(key="rerank.instruction.accuracy").value == EDITED
    assert "台风" in fresh.subheader[0].value and "accuracy" in fresh.subheader[0].value

    fresh.switch_page("../pages/compare.py").run()  # the Compare page's query comes back, its modes as they were
    compare_shows(fresh, "台风")


def test_the_compare_page_has_the_query_after_a_refresh_on_it(sample):  # noqa: F811
    rerank(tab(TAB), "台风", "emotion")
    compare_shows(tab(TAB, "compare.py"), "台风")


def test_what_the_analyst_typed_in_the_session_is_not_overwritten(sample):  # noqa: F811
    rerank(tab(TAB), "台风", "accuracy")
    fresh = tab(TAB, "rerank.py")
    assert boxes(fresh)[:2] == ("台风", "accuracy")
    fresh.text_input(key="rerank.query").set_value("").run()  # cleared on purpose: stays empty
    fresh.switch_page("../pages/grade.py").run()
    fresh.switch_page("../pages/rerank.py").run()
    ok(fresh)
    assert boxes(fresh)[0] == ""
    fresh.text_input(key="rerank.query").set_value("暴雨").run()
    fresh.selectbox(key="rerank.mode").set_value("emotion").run()
    button(fresh, "Recompute earlier rankings").click().run()
    ok(fresh)
    assert boxes(fresh)[:2] == ("暴雨", "emotion")
    assert len(state.work(fresh.session_state).rankings) == 1, "the earlier ranking is recomputed all the same"


def test_an_instruction_edited_in_the_session_is_not_overwritten_by_recompute(sample):  # noqa: F811
    rerank(tab(TAB), "台风", "accuracy")
    new = tab(None, "rerank.py")
    new.text_area(key="rerank.instruction.relevance").set_value(EDITED).run()  # no query typed yet
    button(new, "Recompute earlier rankings").click().run()
    ok(new)
    assert boxes(new)[:2] == ("", "relevance")
    assert new.text_area(key="rerank.instruction.relevance").value == EDITED


def test_the_boxes_come_from_the_reopened_datasets_request_not_a_newer_one_of_another(sample):  # noqa: F811
    a = rerank(tab(TAB), "台风", "relevance")
    open_sample(a, "x_sample.csv")
    rerank(a, "flood", "emotion")  # the newest request, on another dataset
    open_sample(a, "weibo_sample.csv")

    fresh = tab(TAB, "rerank.py")
    ok(fresh)
    assert state.dataset(fresh.session_state).path.endswith("weibo_sample.csv")
    assert boxes(fresh)[:2] == ("台风", "relevance")


def test_a_dataset_without_requests_leaves_the_boxes_empty_until_recompute_on_its_own(sample):  # noqa: F811
    a = rerank(tab(TAB), "台风", "accuracy")
    open_sample(a, "x_sample.csv")  # nothing ranked on it

    fresh = tab(TAB, "rerank.py")
    ok(fresh)
    assert state.dataset(fresh.session_state).path.endswith("x_sample.csv")
    assert boxes(fresh)[0] == "", "the other dataset's request is not used"
    assert not any("earlier ranking" in i.value for i in fresh.info)
    open_sample(fresh, "weibo_sample.csv")
    fresh.switch_page("../pages/rerank.py").run()
    button(fresh, "Recompute earlier rankings").click().run()
    ok(fresh)
    assert boxes(fresh)[:2] == ("台风", "accuracy")
    assert "台风" in fresh.subheader[0].value


def test_a_new_tab_starts_empty_and_recompute_fills_the_boxes(sample):  # noqa: F811
    rank_edited(tab(TAB))
    new = tab(None, "rerank.py")  # a new tab: the analyst's last dataset, its own empty boxes
    ok(new)
    assert state.dataset(new.session_state).path.endswith("weibo_sample.csv")
    assert boxes(new)[0] == ""
    assert any("1 earlier ranking(s)" in i.value for i in new.info)
    button(new, "Recompute earlier rankings").click().run()
    ok(new)
    assert boxes(new) == ("台风", "accuracy", 20)
    assert new.text_area(key="rerank.instruction.accuracy").value == EDITED
    assert "台风" in new.subheader[0].value


def test_a_recompute_on_the_grade_page_fills_the_rerank_boxes_too(sample):  # noqa: F811
    rerank(tab(TAB), "台风", "accuracy")
    new = tab(None, "grade.py")
    button(new, "Recompute the rankings from before the page was reloaded").click().run()
    ok(new)
    new.switch_page("../pages/rerank.py").run()
    ok(new)
    assert boxes(new)[:2] == ("台风", "accuracy")


def test_another_tabs_request_never_fills_a_refreshed_tabs_boxes(sample):  # noqa: F811
    """Finding (breaker): tab B saved its own session file (Settings, Apply) with the requests every
    tab's file carries for "Recompute earlier rankings", and its refresh then showed tab A's query."""
    rerank(tab(TAB), "台风", "accuracy")
    b = tab("b" * 32, "settings.py")
    button(b, "Apply").click().run()
    ok(b)
    fresh = tab("b" * 32, "rerank.py")
    ok(fresh)
    assert boxes(fresh)[0] == "" and not state.work(fresh.session_state).rankings


def test_the_time_range_of_the_request_comes_back_with_its_boxes(sample):  # noqa: F811
    """Finding (breaker): the boxes came back without the request's time range, so Rerank made
    another request (all times) and Recompute showed the 7-day ranking under 'all times'."""
    a = tab(TAB, "rerank.py")
    a.selectbox(key="time.preset").set_value("Last 7 days").run()
    last = rerank(a, "台风", "accuracy") and state.work(a.session_state).last_request
    assert last.window
    fresh = tab(TAB, "rerank.py")
    ok(fresh)
    assert boxes(fresh)[:2] == ("台风", "accuracy")
    assert fresh.selectbox(key="time.preset").value == "Custom range"
    button(fresh, "Rerank").click().run()
    ok(fresh)
    assert state.work(fresh.session_state).last_request == last  # the same request: its window too
    assert not any("all times" in c.value for c in fresh.caption)


def test_a_mode_chosen_in_a_new_tab_is_kept_by_recompute(sample):  # noqa: F811
    rerank(tab(TAB), "台风", "accuracy")
    new = tab(None, "rerank.py")
    new.selectbox(key="rerank.mode").set_value("emotion").run()
    button(new, "Recompute earlier rankings").click().run()
    ok(new)
    assert boxes(new)[:2] == ("", "emotion")

"""A widget the browser redraws from its default comes back as the analyst left it.

Finding (a loaded 2-core machine, headless Chromium, ``tests/test_browser.py``): after
typing a query and pressing Enter, a click on Rerank that landed while that rerun was
still going ranked with budget 1 and top-k 1 (both boxes' ``min_value``), and another
time with an empty instruction. A rerun cut short by the next one can make the browser
redraw a widget from the default in its message rather than from its value (Streamlit
issues 9100 and 9056); widgets that were only seeded in session state had Streamlit's
defaults there. ``dashboard.state.bind`` makes the stored parameter the default as well;
these tests read the default each widget sends the browser, which is what it falls back to.
"""

from __future__ import annotations

import pytest

from tests.test_dashboard import fakes, sample, start  # noqa: F401 (fixtures)


def _fall_back(widget):
    """The value the browser redraws ``widget`` with when it has lost the widget's state
    (an option's label for a selectbox or radio, a list of labels for a multiselect)."""
    proto = widget.proto
    kind = type(proto).__name__
    if kind in ("Selectbox", "Radio"):
        return widget.options[proto.default]
    if kind == "MultiSelect":
        return [widget.options[i] for i in proto.default]
    return proto.default


def _shown(widget):
    """What ``widget`` shows now, in :func:`_fall_back`'s terms."""
    kind = type(widget.proto).__name__
    if kind in ("Selectbox", "Radio"):
        return widget.options[widget.index]
    if kind == "MultiSelect":
        return [widget.options[i] for i in widget.indices]
    return widget.value


def test_the_rerank_boxes_fall_back_to_the_analysts_values_after_a_page_switch(sample):  # noqa: F811
    at = start("rerank.py")
    at.number_input(key="rerank.budget").set_value(350)
    at.number_input(key="rerank.top_k").set_value(20)
    at.selectbox(key="rerank.mode").set_value("emotion").run()
    at.text_area(key="rerank.instruction.emotion").set_value("Posts by people who were there first").run()
    at.switch_page("../pages/data.py").run()
    at.switch_page("../pages/rerank.py").run()
    assert not at.exception, [e.value for e in at.exception]

    shown = {"rerank.budget": 350, "rerank.top_k": 20, "rerank.mode": "Emotional resonance",
             "rerank.instruction.emotion": "Posts by people who were there first"}
    widgets = {"rerank.budget": at.number_input(key="rerank.budget"),
               "rerank.top_k": at.number_input(key="rerank.top_k"),
               "rerank.mode": at.selectbox(key="rerank.mode"),
               "rerank.instruction.emotion": at.text_area(key="rerank.instruction.emotion")}
    for key, want in shown.items():
        assert _shown(widgets[key]) == want, key
        assert _fall_back(widgets[key]) == want, f"{key} would come back as {_fall_back(widgets[key])!r}"


def test_the_compare_boxes_fall_back_to_the_analysts_values(sample):  # noqa: F811
    at = start("compare.py")
    at.multiselect(key="compare.modes").set_value(["relevance", "novelty"])
    at.number_input(key="compare.k").set_value(7)
    at.number_input(key="compare.top_k").set_value(30).run()
    assert not at.exception, [e.value for e in at.exception]
    modes = at.multiselect(key="compare.modes")
    assert modes.value == ["relevance", "novelty"]
    assert _fall_back(modes) == _shown(modes), "the modes would come back as others"
    for key, want in {"compare.k": 7, "compare.top_k": 30}.items():
        widget = at.number_input(key=key)
        assert _shown(widget) == want, key
        assert _fall_back(widget) == want, key


@pytest.mark.parametrize("page", ["data.py", "rerank.py", "compare.py", "map.py", "evaluate.py", "settings.py"])
def test_every_bound_widget_falls_back_to_the_value_it_shows(sample, page):  # noqa: F811
    """On first draw, every widget tied to a stored parameter sends that parameter as its default."""
    at = start(page)
    assert not at.exception, [e.value for e in at.exception]
    checked = 0
    for kind in ("number_input", "text_input", "text_area", "selectbox", "multiselect", "radio", "toggle"):
        for widget in getattr(at, kind):
            key = widget.key or ""
            if not key.split(".")[0] in ("rerank", "compare", "map", "data", "evaluate", "settings"):
                continue
            if key in ("evaluate.test",):  # a plain widget (not tied to a parameter): Streamlit's default
                continue
            assert _fall_back(widget) == _shown(widget), \
                f"{page}: {key} shows {_shown(widget)!r}, falls back to {_fall_back(widget)!r}"
            checked += 1
    assert checked, f"no bound widget found on {page}"


@pytest.mark.parametrize(("env", "shown"), [("200000", 100_000), ("0", 1)])
def test_a_budget_outside_the_boxes_range_is_shown_clamped_not_a_crash(sample, monkeypatch, env, shown):  # noqa: F811
    """Finding (review): with the parameter as the widget's default, Streamlit raises on a value
    outside [min_value, max_value]; SIEVE_RERANK_BUDGET comes from outside the widget."""
    monkeypatch.setenv("SIEVE_RERANK_BUDGET", env)
    at = start("settings.py")
    assert not at.exception, [e.value for e in at.exception]
    assert at.number_input(key="settings.budget").value == shown
    at.switch_page("../pages/rerank.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.number_input(key="rerank.budget").value == shown  # the Rerank page starts from the setting
    at.switch_page("../pages/compare.py").run()  # Compare ranks with the setting: clamped there too
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["sieve.params.AppSettings"].rerank_budget == shown


@pytest.mark.parametrize("bad", ["abc", "-1"])
def test_a_bad_store_cap_in_the_environment_is_one_plain_message(sample, monkeypatch, bad):  # noqa: F811
    """Finding (newcomer): SIEVE_STORE_MAX_GB=abc showed a traceback on every page."""
    monkeypatch.setenv("SIEVE_STORE_MAX_GB", bad)
    at = start()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [
        (f"Sieve cannot start: The environment variable SIEVE_STORE_MAX_GB must be a positive number. "
         f"Got {bad!r} instead. Fix the variable and restart the server.")]

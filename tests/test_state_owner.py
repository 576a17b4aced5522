"""Dashboard state has one owner (``dashboard/state.py``), and switching dataset replaces every
page's results in one step.

* A source scan: no module of ``dashboard/`` or ``pages/`` but ``dashboard/state.py`` names
  ``session_state``; pages import nothing from ``core``
  (they reach core one way: the dashboard's job modules, see ``dashboard/__init__.py``).
  ``tests/test_architecture.py`` checks file sizes and that ``core`` never imports Streamlit.
  Each check is run once on a snippet that breaks it, so the scan itself is shown to fail.
* An AppTest flow a person takes: on dataset A rerank in two modes, compare, cluster and
  rerank inside clusters, grade, evaluate and export; then load dataset B. The session's
  :class:`dashboard.results.DatasetState` is a new one holding only B, and no page shows
  anything of A.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

from dashboard import state
from dashboard.results import DatasetState
from tests.test_dashboard import button, fakes, grade_button, ok, rerank, sample, start  # noqa: F401 (fixtures)

REPO = Path(__file__).resolve().parent.parent
OWNER = REPO / "dashboard" / "state.py"


def _ui_files() -> list[Path]:
    return sorted((REPO / "dashboard").glob("*.py")) + sorted((REPO / "pages").glob("*.py"))


def session_state_uses(source: str) -> list[int]:
    """Lines of ``source`` that name ``session_state`` (``st.session_state``, an import of it...)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        named = ((isinstance(node, ast.Attribute) and node.attr == "session_state")
                 or (isinstance(node, ast.Name) and node.id == "session_state")
                 or (isinstance(node, ast.ImportFrom) and any(a.name == "session_state" for a in node.names)))
        if named:
            lines.append(node.lineno)
    return sorted(lines)


def imported_modules(source: str) -> set[str]:
    """Every module ``source`` imports (also inside functions), by its full dotted name."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def _from_core(modules: set[str]) -> set[str]:
    return {m for m in modules if m == "core" or m.startswith("core.")}


def test_the_scans_catch_what_they_look_for():
    assert session_state_uses("import streamlit as st\nx = st.session_state.get('sieve.comparison')\n") == [2]
    assert session_state_uses("from streamlit import session_state\n") == [1]
    assert session_state_uses("import streamlit as st\nst.write('session_state')\n") == []
    assert _from_core(imported_modules("def f():\n    from core.compare import compare_rankings\n"))


def test_only_dashboard_state_touches_session_state():
    offenders = {}
    for path in _ui_files():
        if path == OWNER:
            continue
        lines = session_state_uses(path.read_text(encoding="utf-8"))
        if lines:
            offenders[str(path.relative_to(REPO))] = lines
    assert not offenders, f"session state read or written outside dashboard/state.py: {offenders}"
    assert session_state_uses(OWNER.read_text(encoding="utf-8")), "the owner is where session state is kept"


def test_pages_reach_core_only_through_the_dashboard_job_modules():
    for path in sorted((REPO / "pages").glob("*.py")):
        modules = imported_modules(path.read_text(encoding="utf-8"))
        assert not _from_core(modules), f"{path.name} imports core directly: {sorted(_from_core(modules))}"


def test_loading_another_dataset_replaces_every_pages_results_in_one_step(sample):  # noqa: F811
    at = start()
    rerank(at, "台风", "relevance")
    rerank(at, "台风", "accuracy")
    at.switch_page("../pages/compare.py").run()
    button(at, "Compare").click().run()
    ok(at)
    at.switch_page("../pages/map.py").run()
    at.radio(key="map.method").set_value("kmeans").run()
    at.number_input(key="map.k").set_value(3).run()
    button(at, "Cluster").click().run()
    at.text_input(key="map.query").set_value("台风").run()
    button(at, "Rerank inside each cluster").click().run()
    ok(at)
    at.switch_page("../pages/grade.py").run()
    for grade in (5, 4):
        grade_button(at, grade).click().run()
    ok(at)
    at.switch_page("../pages/evaluate.py").run()
    button(at, "Evaluate").click().run()
    ok(at)
    a = state.work(at.session_state)
    a_hash = a.dataset.dataset_hash
    # every page's result of dataset A is there before the switch
    assert a.rankings and a.last_request and a.comparison and a.clusters and a.within
    assert a.evaluation is not None and any(n.startswith("run-") for n in a.exports)

    at.switch_page("../pages/data.py").run()
    at.selectbox(key="data.sample").set_value("x_sample.csv").run()
    ok(at)
    b = state.work(at.session_state)
    assert b is not a, "a new DatasetState, not the old one emptied key by key"
    assert b.dataset.path.endswith("x_sample.csv") and b.dataset.dataset_hash != a_hash
    empty = DatasetState()
    for f in dataclasses.fields(DatasetState):
        if f.name != "dataset":
            assert getattr(b, f.name) == getattr(empty, f.name), f"{f.name} of dataset A survived the switch"

    at.switch_page("../pages/rerank.py").run()
    ok(at)
    assert not any("Results for" in s.value for s in at.subheader), "no ranking of A on Rerank"
    at.switch_page("../pages/compare.py").run()
    ok(at)
    assert not at.subheader and not at.get("plotly_chart"), "no comparison of A on Compare"
    at.switch_page("../pages/map.py").run()
    ok(at)
    assert not at.get("plotly_chart") and any("Press “Cluster”" in i.value for i in at.info), "no map of A"
    at.switch_page("../pages/grade.py").run()
    ok(at)
    assert any("Rerank a query first" in i.value for i in at.info), "no grading queue of A's rankings"
    at.switch_page("../pages/evaluate.py").run()
    ok(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Runs (modes) this session"] == "0" and metrics["Grades on this dataset"] == "0"
    assert not at.dataframe, "no metrics table of A on Evaluate"
    files = state.work(at.session_state).exports
    assert files and not any(n.startswith("run-") for n in files), "no run of A among the exports"


def test_reading_the_same_dataset_again_keeps_its_results(sample):  # noqa: F811
    """The same posts read again (the Data page's Reload) keep every page's results."""
    at = start()
    rerank(at, "台风", "relevance")
    before = state.work(at.session_state)
    at.switch_page("../pages/data.py").run()
    button(at, "Reload").click().run()
    ok(at)
    after = state.work(at.session_state)
    assert after.dataset.dataset_hash == before.dataset.dataset_hash
    assert list(after.rankings) == list(before.rankings) and after.last_request == before.last_request


def test_a_dataset_opened_again_offers_its_earlier_rankings_and_only_its_own(sample):  # noqa: F811
    """Rank on A, open B and rank there, open A again: A's rankings can be recomputed (B's
    are not offered on A, A's were not offered on B)."""
    at = start()
    rerank(at, "台风", "relevance")
    rerank(at, "暴雨", "accuracy")
    a_requests = list(state.work(at.session_state).rankings)
    at.switch_page("../pages/data.py").run()
    at.selectbox(key="data.sample").set_value("x_sample.csv").run()
    at.switch_page("../pages/rerank.py").run()
    ok(at)
    assert not any("earlier ranking" in i.value for i in at.info), "A's rankings offered on B"
    rerank(at, "flood", "relevance")
    at.switch_page("../pages/data.py").run()
    at.selectbox(key="data.sample").set_value("weibo_sample.csv").run()
    at.switch_page("../pages/rerank.py").run()
    ok(at)
    assert not state.work(at.session_state).rankings
    assert any("2 earlier ranking(s) of this dataset" in i.value for i in at.info)
    button(at, "Recompute earlier rankings").click().run()
    ok(at)
    assert list(state.work(at.session_state).rankings) == a_requests

"""A replaced dataset's post table is freed by the run that replaces it, not by the analyst's next click.

Measured in a real server (``bench/dashboard_memory.py`` on 200,000 posts, the process inspected after
the closing upload): the old table, its ``LoadedDataset`` and its background dense build were still
alive, held by the page scripts' globals (a lambda or callback kept in the widget metadata keeps its
page's whole namespace: Rerank, Compare, Grade), by Streamlit's previous-run copy of the session state
(replaced only when the next run starts) and by the sidebar's global ``ds``; and the Data page's own
``current`` still held it while freed memory was handed back (``malloc_trim``, Arrow's pool).
"""

from __future__ import annotations

import ast
import gc
import weakref
from pathlib import Path

from dashboard import state
from tests.test_dashboard import button, fakes, grade_button, ok, rerank, sample, start  # noqa: F401 (fixtures)

PAGES = Path(__file__).resolve().parent.parent / "pages"


def _alive(ref: weakref.ref) -> list[str]:
    """What still refers to the object behind ``ref`` (type names), after a full collection."""
    gc.collect()
    obj = ref()
    if obj is None:
        return []
    return sorted({type(r).__qualname__ + (f" {r.get('__file__')}" if isinstance(r, dict) else "")
                   for r in gc.get_referrers(obj) if not isinstance(r, list)})


def test_the_replaced_table_is_freed_by_the_run_that_replaces_it(sample, monkeypatch):  # noqa: F811
    import core.ingest.chunk

    watched: list[weakref.ref] = []  # the old table, once the flow below has made it
    handed_back: list[bool] = []  # at each hand-back of freed memory (after its gc.collect): was it gone?
    real = core.ingest.chunk.return_freed_memory

    def return_freed_memory() -> None:
        if watched:
            handed_back.append(watched[0]() is None)
        real()

    monkeypatch.setattr(core.ingest.chunk, "return_freed_memory", return_freed_memory)
    at = start()
    rerank(at, "台风", "relevance")
    rerank(at, "台风", "accuracy")
    at.switch_page("../pages/compare.py").run()
    button(at, "Compare").click().run()
    at.switch_page("../pages/grade.py").run()
    grade_button(at, 5).click().run()
    ok(at)
    old = state.work(at.session_state).dataset
    posts, dataset = weakref.ref(old.posts), weakref.ref(old)
    watched.append(posts)
    del old

    at.switch_page("../pages/data.py").run()
    at.selectbox(key="data.sample").set_value("x_sample.csv").run()  # dataset B replaces A in this run
    ok(at)
    assert state.work(at.session_state).dataset.path.endswith("x_sample.csv")
    holders = _alive(dataset)
    assert holders == [], f"the replaced LoadedDataset is still referenced by {holders}"
    assert _alive(posts) == [], "the replaced post table is still referenced"
    # and it was gone already when use_dataset handed freed memory back (malloc_trim, Arrow's pool)
    assert handed_back and handed_back[-1] is True, handed_back


# ------------------------------------------------------------------ the rule, checked on the source


def kept_page_functions(source: str) -> list[int]:
    """Lines of a page script where a function made by the page can outlive its run: a ``lambda``
    (but a ``key=`` of ``sorted``/``min``/``max``) or a function the page defines, used other than by
    calling it (a widget's callback or ``format_func``, a download's data). Streamlit keeps such a
    function with the widget, and with it the page's whole namespace (see the module docstring)."""
    tree = ast.parse(source)
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    sort_keys = {id(k.value) for n in ast.walk(tree) if isinstance(n, ast.Call)
                 for k in n.keywords if k.arg == "key"}
    lines = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Lambda) and id(n) not in sort_keys]
    lines += [n.lineno for n in ast.walk(tree)
              if isinstance(n, ast.Name) and n.id in defined and isinstance(n.ctx, ast.Load) and id(n) not in called]
    return sorted(lines)


def test_the_scan_catches_kept_functions():
    assert kept_page_functions("st.selectbox('m', xs, format_func=lambda m: modes[m].label)\n") == [1]
    assert kept_page_functions("def on_grade(g):\n    pass\nst.button('5', on_click=on_grade)\n") == [3]
    assert kept_page_functions("def draw():\n    pass\ndraw()\nxs = sorted(d, key=lambda i: -i)\n") == []
    assert kept_page_functions("st.selectbox('m', xs, format_func={m: m.upper() for m in xs}.get)\n") == []


def test_pages_make_no_function_that_outlives_their_run():
    offenders = {p.name: lines for p in sorted(PAGES.glob("*.py"))
                 if (lines := kept_page_functions(p.read_text(encoding="utf-8")))}
    assert not offenders, (f"a page passes a lambda or its own function to a widget (lines {offenders}): "
                           "put callbacks in a dashboard module and use a dict's .get as format_func")

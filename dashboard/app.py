"""Sieve's dashboard entry point: ``python -m streamlit run dashboard/app.py``.

Sets up the page, the navigation between the pages in ``pages/``, the sidebar
(the dataset and the model really in use, with a warning badge whenever the
embedded fallback scores instead of Qwen3-Reranker), reopens the last dataset
after a browser refresh, and runs the chosen page inside the error boundary.
"""

from __future__ import annotations

import streamlit as st

from dashboard import remember, session, state
from dashboard.errors import error_boundary
from dashboard.widgets import PAGES_DIR, EndPage, escape_markdown

st.set_page_config(page_title="Sieve", page_icon=":material/filter_alt:", layout="wide")

PAGES = [
    st.Page(PAGES_DIR / "data.py", title="Data", icon=":material/table:", default=True),
    st.Page(PAGES_DIR / "rerank.py", title="Rerank", icon=":material/sort:"),
    st.Page(PAGES_DIR / "compare.py", title="Compare modes", icon=":material/compare_arrows:"),
    st.Page(PAGES_DIR / "map.py", title="Map", icon=":material/scatter_plot:"),
    st.Page(PAGES_DIR / "grade.py", title="Grade", icon=":material/grading:"),
    st.Page(PAGES_DIR / "evaluate.py", title="Evaluate & export", icon=":material/analytics:"),
    st.Page(PAGES_DIR / "settings.py", title="Settings", icon=":material/settings:"),
]
page = st.navigation(PAGES)

with error_boundary("reopening the last session"):
    remember.tab_id()  # every run: the tab's ID stays in the URL, so a refresh reopens this tab's work
    remember.restore_settings()
    session.reopen_last_dataset()

try:
    with error_boundary(f"showing the page {page.title}"):
        page.run()
except EndPage:  # a page ended early (end_page): the frame below still renders
    pass

# After the page, so the sidebar shows the dataset and model the page left in place.
with st.sidebar:
    ds = state.dataset()
    if ds is not None:
        st.caption(f"Data: **{escape_markdown(ds.name)}** · {len(ds.posts):,} posts")
    with error_boundary("loading the reranker", compact=True):
        session.model_badge()

"""Sieve's dashboard entry point: ``python -m streamlit run dashboard/app.py``.

Sets up the page, the navigation between the pages in ``pages/``, the sidebar
(the dataset and the model really in use, with a warning badge whenever the
embedded fallback scores instead of Qwen3-Reranker), reopens the last dataset
after a browser refresh, and runs the chosen page inside the error boundary.
"""

from __future__ import annotations

import streamlit as st

from dashboard import auth, data, remember, state
from dashboard.errors import SieveError, error_boundary
from dashboard.state import SessionFlags
from dashboard.widgets import PAGES_DIR, EndPage, escape_markdown, model_badge

st.set_page_config(page_title="Sieve", page_icon=":material/filter_alt:", layout="wide")

try:  # a bad SIEVE_* variable: one plain message, not a traceback on every page
    state.check_environment()
except SieveError as exc:
    st.error(f"Sieve cannot start: {exc} Fix the variable and restart the server.", icon=":material/error:")
    st.stop()
auth.gate()  # team mode: only the sign-in page until someone signs in
# Each page with the permission it needs (core.security.PERMISSIONS); a page checks it again itself.
PAGES = [
    (st.Page(PAGES_DIR / "data.py", title="Data", icon=":material/table:", default=True), "data"),
    (st.Page(PAGES_DIR / "rerank.py", title="Rerank", icon=":material/sort:"), "rerank"),
    (st.Page(PAGES_DIR / "compare.py", title="Compare modes", icon=":material/compare_arrows:"), "compare"),
    (st.Page(PAGES_DIR / "map.py", title="Map", icon=":material/scatter_plot:"), "map"),
    (st.Page(PAGES_DIR / "grade.py", title="Grade", icon=":material/grading:"), "grade"),
    (st.Page(PAGES_DIR / "queue.py", title="My queue", icon=":material/assignment_ind:"), "my_queue"),
    (st.Page(PAGES_DIR / "assign.py", title="Assign", icon=":material/group_add:"), "assign"),
    (st.Page(PAGES_DIR / "review.py", title="Review", icon=":material/rate_review:"), "review"),
    (st.Page(PAGES_DIR / "evaluate.py", title="Evaluate & export", icon=":material/analytics:"), "evaluate"),
    (st.Page(PAGES_DIR / "settings.py", title="Settings", icon=":material/settings:"), "settings"),
]
page = st.navigation(auth.permitted(PAGES))

with error_boundary("reopening the last session"):
    remember.tab_id()  # every run: the tab's ID stays in the URL, so a refresh reopens this tab's work
    remember.restore_settings()
    state.settings().annotator = auth.annotator_name(state.settings().annotator)
    if auth.can("data"):
        data.reopen_last_dataset()
    remember.restore_request()  # on a refresh, the Rerank page's boxes as they were (its dataset's)

try:
    with error_boundary(f"showing the page {page.title}"):
        page.run()
except EndPage:  # a page ended early (end_page): the frame below still renders
    pass


def sidebar() -> None:
    """The sidebar: who is signed in, the dataset and the model in use. A function, so the dataset is
    a local name: a global of this script would keep a replaced dataset alive until the next run."""
    auth.sidebar()
    ds = state.dataset()
    missed = state.params(SessionFlags).reopen_missed  # until the analyst chooses a dataset (use_dataset)
    if missed:
        st.warning(escape_markdown(missed), icon=":material/history:")
    if ds is not None:
        st.caption(f"Data: **{escape_markdown(ds.name)}** · {len(ds.posts):,} posts")
    if auth.can("rerank"):
        with error_boundary("loading the reranker", compact=True):
            model_badge()


# After the page, so the sidebar shows the dataset and model the page left in place.
with st.sidebar:
    sidebar()

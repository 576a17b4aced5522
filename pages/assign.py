"""Assign: hand a query's pool out to annotators with a set overlap (each post
graded by N people), and follow progress per person and per query."""

from __future__ import annotations

import streamlit as st

from dashboard import auth, grading, state, team
from dashboard.errors import error_boundary
from dashboard.widgets import escape_markdown, page_link, require_dataset

auth.require("assign")
st.title("Assign")
ds = require_dataset()

queries = state.ranked_queries()
if not queries:
    st.info("Rerank a query first: its pool (every mode's top posts) is what you hand out.",
            icon=":material/info:")
    page_link("rerank.py", "Go to the Rerank page", icon=":material/sort:")
else:
    query = st.selectbox("Query", queries, key="assign.query")
    depth = grading.pool_depth()
    queue = grading.queue_for(query)
    n_pool = int(queue["pooled"].sum())
    scope = st.radio("Posts to hand out", ["pool", "all"], horizontal=True, key="assign.scope",
                     format_func={"pool": f"The pool: every mode's top {depth} ({n_pool} posts)",
                                  "all": f"The whole queue ({len(queue)} posts)"}.get)
    posts = queue[queue["pooled"]] if scope == "pool" else queue
    members = team.team_members()
    if members is None:  # local mode: no accounts, names as typed
        typed = st.text_input("Annotators (names separated by commas)", key="assign.names",
                              placeholder="ana, bo")
        names = [n.strip() for n in typed.split(",") if n.strip()]
    else:
        names = st.multiselect("Annotators", members, key="assign.names")
    overlap = st.number_input("Overlap: graders per post", min_value=1, max_value=max(1, len(names)),
                              value=min(2, max(1, len(names))), key="assign.overlap")
    if names:
        st.caption(f"{len(posts)} posts × {int(overlap)} graders = {len(posts) * int(overlap)} grades, "
                   f"about {len(posts) * int(overlap) / len(names):.0f} per annotator. Handing out again "
                   "replaces this query's assignments; grades already given are kept.")
    if st.button("Assign", type="primary", disabled=not names):
        with error_boundary("assigning the pool"):
            made = team.assignments().assign(ds.dataset_hash, query, posts[["post_id", "text"]], names,
                                             int(overlap), assigned_by=team.me(), dataset_name=ds.name)
            st.success(f"Assigned {made['post_id'].nunique()} posts of “{escape_markdown(query)}” to "
                       f"{', '.join(map(escape_markdown, names))} ({len(made)} assignments).",
                       icon=":material/check:")

st.subheader("Progress")
with error_boundary("reading the assignments"):
    progress = team.assignments().progress()
    if progress.empty:
        st.caption("No assignments yet.")
    else:
        per_query = progress.groupby("query", sort=False)[["assigned", "graded", "skipped", "open"]].sum()
        per_query["done"] = per_query["graded"] / per_query["assigned"]
        done = st.column_config.ProgressColumn("done", min_value=0.0, max_value=1.0, format="percent")
        st.caption("Per query")
        st.dataframe(per_query.reset_index(), hide_index=True, column_config={"done": done})
        st.caption("Per person and query")
        st.dataframe(progress[["query", "annotator", "assigned", "graded", "skipped", "open", "done"]],
                     hide_index=True, column_config={"done": done})

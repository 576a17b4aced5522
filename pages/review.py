"""Review: the posts annotators disagree on (grades 2 or more apart, or flagged
unsure) side by side; set the adjudicated grade (kept apart from the raw
grades); agreement, speed and doubt per annotator; qrels from the adjudicated,
majority or mean grade, with provenance."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import auth, state, team
from dashboard.errors import SieveError, error_boundary
from dashboard.team import CONSENSUS_RULES, GRADE_SCALE, annotator_report, disagreements
from dashboard.widgets import end_page, escape_markdown, posts_table

auth.require("review")
st.title("Review")

store = team.store()
datasets = store.datasets()
datasets = datasets[datasets["n_grades"] > 0]
if datasets.empty:
    st.info("No grades yet: nothing to review.", icon=":material/info:")
    end_page()
ids = datasets["dataset"].tolist()
names = dict(zip(datasets["dataset"], datasets["name"], strict=True))
loaded = state.dataset()
default = ids.index(loaded.dataset_hash) if loaded is not None and loaded.dataset_hash in ids else len(ids) - 1
dataset = st.selectbox("Dataset", ids, index=default, key="review.dataset",
                       format_func={d: f"{names.get(d) or d[:12]} ({d[:12]})" for d in ids}.get)
grades = store.grades(dataset)
queries = dict(zip(grades["query_id"], grades["query"], strict=False))
qid = st.selectbox("Query", [None, *queries], key="review.query",
                   format_func={None: "All queries", **queries}.get)
if qid is not None:
    grades = grades[grades["query_id"] == qid]
asg = team.assignments()
adjudicated = asg.adjudications(dataset)

st.subheader("Disagreements")
d = disagreements(grades)
if d.empty:
    st.caption("No post has grades 2 or more apart, and none is flagged unsure.")
else:
    texts = team.post_texts(dataset)
    adj = {(r.query_id, r.post_id): int(r.grade) for r in adjudicated.itertuples(index=False)}
    d["text"] = [texts.get(str(p), "") for p in d["post_id"]]
    d["adjudicated"] = pd.array([adj.get((q, p)) for q, p in zip(d["query_id"], d["post_id"], strict=True)],
                                dtype="Int64")
    grade_cols = [c for c in d.columns if c.startswith("grade:")]
    note_cols = [c for c in d.columns if c.startswith("note:") and d[c].astype(bool).any()]
    st.caption(f"{len(d)} posts: grades 2 or more apart, or flagged unsure. Each annotator's grade in its own "
               "column; the adjudicated grade is kept apart from the raw grades.")
    event = posts_table(d, columns=["reason", "adjudicated", *grade_cols, "text", *note_cols, "query", "post_id"],
                        height=300, key="review.table", on_select="rerun")
    rows = list(getattr(getattr(event, "selection", None), "rows", []) or [])
    pick = rows[0] if rows else 0
    keys = list(zip(d["query_id"], d["post_id"], strict=True))
    with st.form("adjudicate"):
        target = st.selectbox("Post", keys, index=pick, format_func={k: f"{k[1]} ({queries.get(k[0], k[0])})" for k in keys}.get)
        grade = st.segmented_control("Adjudicated grade", list(GRADE_SCALE),
                                     format_func={g: f"{g} · {m}" for g, m in GRADE_SCALE.items()}.get,
                                     key="review.grade")
        note = st.text_input("Note (optional)", key="review.note")
        if st.form_submit_button("Set the adjudicated grade", type="primary"):
            with error_boundary("saving the adjudicated grade"):
                if grade is None:
                    raise SieveError("Choose the adjudicated grade (1-5) first.")
                asg.adjudicate(dataset, target[0], target[1], int(grade), reviewer=team.me(), note=note or None)
                st.rerun()

st.subheader("Agreement per annotator")
with error_boundary("computing agreement"):
    rep = annotator_report(grades, store.history(dataset, qid))
    st.dataframe(rep, hide_index=True, column_config={
        "alpha_with_others": st.column_config.NumberColumn("alpha with others", format="%.2f",
                                                           help="Mean pairwise Krippendorff's alpha (ordinal) "
                                                                "with each other annotator, weighted by shared posts."),
        "share_unsure": st.column_config.NumberColumn("share unsure", format="percent"),
        "grades_per_hour": st.column_config.NumberColumn("grades per hour", format="%.0f",
                                                         help="Pauses over 5 minutes are not counted."),
    })

st.subheader("Qrels from a consensus")
rule = st.radio("One grade per post from", list(CONSENSUS_RULES), horizontal=True, key="review.rule")
st.caption(escape_markdown(CONSENSUS_RULES[rule]) + ". Gain = grade − 1.")
with error_boundary("building the qrels"):
    data, prov_json = team.consensus_files(grades, adjudicated, rule=rule, provenance={
        "dataset": dataset, "dataset_name": names.get(dataset), "query_id": qid})
    c1, c2 = st.columns(2)
    c1.download_button(f"Download qrels ({rule})", data, file_name=f"qrels-{rule}.txt", mime="text/plain")
    c2.download_button("Download its provenance (JSON)", prov_json,
                       file_name=f"qrels-{rule}.provenance.json", mime="application/json")

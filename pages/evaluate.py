"""Evaluate & export page: metrics per mode against the grades, with paired
significance tests; a download button for every export format and the bundle."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import auth, export, state
from dashboard.errors import error_boundary
from dashboard.state import EvaluateParams
from dashboard.timefilter import time_filter
from dashboard.widgets import counted, escape_markdown, require_dataset

auth.require("evaluate")
st.title("Evaluate & export")
ds = require_dataset()
time_filter(ds.posts)  # runs are made on the posts of the range in force when they were reranked

p = state.params(EvaluateParams)
grades = pd.DataFrame()
with error_boundary("reading the grades"):
    grades = export.grades()
n_graded = int(grades["grade"].notna().sum()) if len(grades) else 0
n_queries = grades["query_id"].nunique() if len(grades) else 0
runs = export.runs_by_name()
c = st.columns(3)
c[0].metric("Grades on this dataset", f"{n_graded:,}")
c[1].metric("Graded queries", f"{n_queries:,}")
c[2].metric("Runs (modes) this session", f"{len(runs):,}")

st.subheader("Metrics per mode")
METRICS = ["ndcg@5", "ndcg@10", "ndcg@20", "precision@5", "precision@10", "recall@10", "mrr", "map"]
metric_options = METRICS + [m for m in p.metrics if m not in METRICS]
p.metrics = st.multiselect("Metrics", metric_options,
                           **state.bind("evaluate.metrics", list(p.metrics), default_of=metric_options))
test = st.radio("Significance test (paired, per query)", ["student", "fisher"], horizontal=True,
                format_func={"student": "Student's t-test", "fisher": "Fisher's randomisation test"}.get,
                key="evaluate.test")
if st.button("Evaluate", type="primary", disabled=not (runs and n_graded and p.metrics)):
    with error_boundary("evaluating"), st.spinner("Evaluating (the first time compiles ranx's metrics)…"):
        export.evaluate(p.metrics, stat_test=test)
if not runs:
    st.caption("Rerank at least one query (Rerank or Compare modes page) to have runs to evaluate.")
elif not n_graded:
    st.caption("Grade some posts on the Grade page first.")

result = state.work().evaluation  # of this dataset: another one replaces every result
if result is not None:
    st.dataframe(result.table(), hide_index=True)
    st.caption(f"Relevant for binary metrics: {escape_markdown(result.relevance_threshold)} · "
               f"{escape_markdown(result.gain_mapping)} · {counted(len(result.queries), 'query', 'queries')} counted")
    for flag in result.flags:
        st.warning(escape_markdown(flag), icon=":material/warning:")
    if result.comparisons:
        st.markdown(f"**Paired tests** ({escape_markdown(result.stat_test)}, p < {result.max_p})")
        st.dataframe(pd.DataFrame(result.comparisons), hide_index=True)

st.subheader("Export")
st.caption("TREC qrels and runs for trec_eval / ranx; judgements as CSV (UTF-8 with BOM, opens in Excel, "
           "formula-safe) and JSON Lines; the bundle zips them all with provenance (model, "
           "instructions, dataset hash, ingest report).")
files: dict[str, bytes] = {}
with error_boundary("preparing the exports"):
    files = export.export_files(evaluation=result)
MIME = {".txt": "text/plain", ".csv": "text/csv", ".jsonl": "application/x-ndjson", ".zip": "application/zip"}
if files:
    bundle = files.get("sieve-bundle.zip")
    if bundle is not None:
        st.download_button("Download the bundle (zip)", bundle, file_name="sieve-bundle.zip",
                           mime="application/zip", type="primary", icon=":material/folder_zip:",
                           key="export.bundle")
    cols = st.columns(3)
    for i, (name, data) in enumerate(f for f in files.items() if f[0] != "sieve-bundle.zip"):
        ext = name[name.rfind("."):]
        cols[i % 3].download_button(escape_markdown(name), data, file_name=name,
                                    mime=MIME.get(ext, "application/octet-stream"),
                                    icon=":material/download:", key=f"export.{name}")

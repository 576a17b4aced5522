"""Compare modes page: 2-4 modes over the same candidates; Kendall's tau and
overlap@k per pair; the posts that moved most; a slope chart of ranks."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, resources, session, state
from dashboard.errors import error_boundary
from dashboard.state import CompareParams, RerankParams
from dashboard.widgets import escape_markdown, need_dataset_notice, posts_table, scorer_caption

st.title("Compare modes")
ds = state.dataset()
if ds is None:
    need_dataset_notice()
    st.stop()

p = state.params(CompareParams)
if not p.query:
    p.query = state.params(RerankParams).query
all_modes = {}
with error_boundary("reading the instruction modes"):
    all_modes = session.modes()
if not all_modes:
    st.stop()
p.modes = [m for m in p.modes if m in all_modes] or list(all_modes)[:2]

p.query = st.text_input("Query", key=state.seed("compare.query", p.query))
p.modes = st.multiselect("Modes (2 to 4), each with its own instruction", list(all_modes),
                         format_func=lambda m: all_modes[m].label, max_selections=4,
                         key=state.seed("compare.modes", list(p.modes)))
c1, c2 = st.columns(2)
p.k = int(c1.number_input("k for overlap@k", min_value=1, max_value=1000, key=state.seed("compare.k", p.k)))
p.top_k = int(c2.number_input("Posts ranked per mode", min_value=2, max_value=10_000, step=10,
                              key=state.seed("compare.top_k", p.top_k)))
s = state.settings()
with error_boundary("loading the reranker"):
    scorer_caption(resources.scorer_for(s).info)

ready = bool(p.query.strip()) and 2 <= len(p.modes) <= 4
if not ready:
    st.caption("Type a query and choose 2 to 4 modes.")
if st.button("Compare", type="primary", disabled=not ready, icon=":material/compare_arrows:"):
    bar = st.progress(0.0, text="Reranking…")
    with error_boundary("comparing modes"):
        from core.compare import compare_rankings

        by_mode = session.ensure_rankings(p.query.strip(), list(p.modes), top_k=p.top_k,
                                          budget=s.rerank_budget, progress_bar=bar)
        st.session_state["sieve.comparison"] = (p.query.strip(), tuple(p.modes), p.k,
                                                by_mode, compare_rankings(by_mode, k=p.k))
    bar.empty()

found = st.session_state.get("sieve.comparison")
if not found:
    st.stop()
query, modes, k, by_mode, comparison = found
st.subheader(f"“{escape_markdown(query)}”: {', '.join(escape_markdown(m) for m in modes)}")

st.markdown("**Agreement between modes** (Kendall's tau over the shared candidates; overlap@k of the top lists)")
st.dataframe(comparison.pairs, hide_index=True)

st.markdown("**Ranks across modes** (top posts of each mode; hover for the post)")
st.plotly_chart(charts.slope_chart(by_mode, k=min(k, 20)), key="compare.slope")

st.markdown("**Posts that moved most between modes**")
posts_table(comparison.moved, columns=list(comparison.moved.columns), height=400, key="compare.moved")

"""Compare modes page: 2-4 modes over the same candidates; Kendall's tau and
overlap@k per pair; the posts that moved most; a slope chart of ranks."""

from __future__ import annotations

import streamlit as st

from dashboard import auth, charts, grading, live, rerank, resources, state
from dashboard.errors import error_boundary
from dashboard.state import CompareParams, RerankParams
from dashboard.timefilter import time_filter
from dashboard.widgets import end_page, escape_markdown, posts_table, require_dataset, scorer_caption

auth.require("compare")
st.title("Compare modes")
ds = require_dataset()
rerank.warm_first_stage()  # the posts embed while the query is typed
time_filter(ds.posts)

p = state.params(CompareParams)
if not p.query:
    p.query = state.params(RerankParams).query
all_modes = {}
with error_boundary("reading the instruction modes"):
    all_modes = rerank.modes()
if not all_modes:
    end_page()
p.modes = [m for m in p.modes if m in all_modes] or list(all_modes)[:2]
s = state.settings()
info = None
with error_boundary("loading the reranker"):
    info = resources.scorer_for(s).info

p.query = st.text_input("Query", **state.bind("compare.query", p.query))
p.modes = st.multiselect("Modes (2 to 4), each with its own instruction", list(all_modes),
                         format_func={m: mode.label for m, mode in all_modes.items()}.get, max_selections=4,
                         **state.bind("compare.modes", list(p.modes), default_of=all_modes),
                         help="At most 4 modes: with more in the list, “Select all” keeps the first 4.")
if len(all_modes) > 4:
    st.caption(f"{len(all_modes)} modes exist; at most 4 are compared at once, so “Select all” keeps "
               "the first 4 of the list.")
used = rerank.compared_instructions(list(p.modes))
with st.expander("The instruction each mode is given", expanded=any(edited for _, _, edited in used)):
    for name, text, edited in used:
        st.markdown(f"**{escape_markdown(all_modes[name].label)}**"
                    f"{' (as edited on the Rerank page)' if edited else ''}: {escape_markdown(text)}")
    st.caption("Edit a mode's instruction on the Rerank page (choose the mode, then edit the box): "
               "Compare uses that text.")
by_text: dict[str, list[str]] = {}
for name, text, _ in used:
    by_text.setdefault(" ".join(text.split()), []).append(all_modes[name].label)
for labels in (v for v in by_text.values() if len(v) > 1):
    st.warning(f"{' and '.join(escape_markdown(v) for v in labels)} are given the same instruction, so the "
               "reranker scores their posts alike. To compare your own wording, edit one of them on the Rerank "
               "page (choose the mode, then edit its instruction).", icon=":material/content_copy:")
c1, c2 = st.columns(2)
p.k = state.number(c1, "k for overlap@k", "compare.k", p.k, min_value=1, max_value=1000)
p.top_k = state.number(c2, "Posts ranked per mode", "compare.top_k", p.top_k, min_value=2, max_value=10_000,
                       step=10)
if info is not None:
    scorer_caption(info)

ready = bool(p.query.strip()) and 2 <= len(p.modes) <= 4
if not ready:
    st.caption("Type a query and choose 2 to 4 modes.")
if info is not None and ready:
    st.caption(live.estimate_text(resources.scorer_for(s), len(p.modes) * s.rerank_budget))
if st.button("Compare", type="primary", disabled=not ready, icon=":material/compare_arrows:"):
    grading.follow(p.query.strip())
    p.running = (p.query.strip(), tuple(p.modes), p.top_k)  # cleared below unless a click stops this run
    # Each mode's list arrives batch by batch: first its first-stage order, then the scored posts best first.
    status, cancel_slot, preview = st.empty(), st.empty(), st.empty()
    status.caption(f"Mode 1 of {len(p.modes)} ({escape_markdown(p.modes[0])}): finding candidates…")
    cancel_slot.button("Cancel", key="compare.cancel", on_click=live.request_cancel, icon=":material/stop:",
                       help="Stop after the current batch and keep what is scored so far.")
    tops: dict[str, object] = {}
    with error_boundary("comparing modes"):
        for n, (mode, partial) in enumerate(live.compare_live(p, budget=s.rerank_budget)):
            tops[mode] = partial
            status.caption(f"Mode {list(p.modes).index(mode) + 1} of {len(p.modes)} "
                           f"({escape_markdown(mode)}): {live.progress_text(partial)}")
            with preview.container():
                for col, (name, ranking) in zip(st.columns(len(tops)), tops.items(), strict=True):
                    with col:
                        st.caption(escape_markdown(name))
                        posts_table(ranking.table.head(10), columns=["rank", "text"],
                                    key=f"compare.live.{name}.{n}")
    for slot in (status, cancel_slot, preview):
        slot.empty()
    p.running = None  # not reached when a click elsewhere stopped the run

found = state.work().comparison
if live.cancel_requested() or p.running is not None:  # a Cancel, or a run stopped by another click
    query, modes, top_k = p.running or (p.query.strip(), tuple(p.modes), p.top_k)
    kept = {m: state.rankings().get(rerank.request_for(query, m, top_k, s.rerank_budget)) for m in modes}
    done = ", ".join(f"{escape_markdown(m)} " + ("not started" if r is None else "complete" if r.complete
                                                 else f"{r.n_scored:,} of {r.n_candidates:,}")
                     for m, r in kept.items())
    how = "Cancelled" if live.cancel_requested() else "Interrupted by another click"
    st.warning(f"{how}: the comparison of “{escape_markdown(query)}” kept what was scored ({done}). Press "
               "Compare to finish it; scored posts come from the score cache.", icon=":material/stop:")
if found is not None and (found.query, found.modes) != (p.query.strip(), tuple(p.modes)):
    st.caption("The comparison below is of an earlier query or set of modes: press Compare for this one.")
elif found is not None and found.instructions != tuple(rerank.edited_instruction(m) for m in found.modes):
    st.caption("The comparison below was made before an instruction was edited on the Rerank page: press "
               "Compare for the instructions above.")
if found is None:
    end_page()
query, modes, k, by_mode, comparison = found.query, found.modes, found.k, found.by_mode, found.result
st.subheader(f"“{escape_markdown(query)}”: {', '.join(escape_markdown(m) for m in modes)}")

st.markdown("**Agreement between modes**: Kendall's tau-b over the posts both modes ranked, "
            f"and the share of posts two top-{k} lists have in common (overlap@{k})")
st.dataframe(
    comparison.pairs, hide_index=True,
    column_config={
        "mode_a": "mode A", "mode_b": "mode B",
        "tau": st.column_config.NumberColumn("Kendall's tau", format="%.3f",
                                             help="1 = same order, -1 = reversed"),
        "p_value": st.column_config.NumberColumn("p-value", format="%.3g"),
        "n_common": st.column_config.NumberColumn("common posts", format="%d"),
        "overlap_at_k": st.column_config.NumberColumn(f"overlap@{k}", format="%.2f"),
    },
)

if comparison.pairs["tau"].isna().any():
    st.caption("An empty Kendall's tau: the two modes have fewer than 2 posts in common, so there is no order "
               "to compare (a very small file or time range).")
st.markdown("**Ranks across modes** (the top posts of each mode; hover a line for the post)")
st.plotly_chart(charts.slope_chart(by_mode, k=min(k, 20)), key="compare.slope")

st.markdown("**Posts that moved most between modes**")
movers = comparison.movers
if len(movers):
    rank_cols = [c for c in movers.columns if c.startswith("rank:")]
    posts_table(movers,
                columns=["rank_change", *rank_cols, "best_mode", "worst_mode", "text", "why", "post_id"],
                height=400, key="compare.moved",
                column_config={c: st.column_config.NumberColumn(c, format="%d", help="empty (None): not among "
                                                                 "the posts this mode ranked")
                               for c in rank_cols}
                | {"rank_change": st.column_config.NumberColumn("rank_change", format="%d"),
                   "why": st.column_config.TextColumn("why", width="large")})
    if movers[rank_cols].isna().any().any():
        st.caption("An empty rank (None) means the post is not among the posts that mode ranked (“Posts ranked "
                   "per mode” above).")
else:
    st.caption("No post changed rank between these modes.")

"""Rerank page: query, mode (instruction shown and editable), top-k; a progress
bar while scoring; the ranking with score, log-odds, first-stage rank and
movement; filters."""

from __future__ import annotations

import re

import streamlit as st

from dashboard import auth, export, grading, live, remember, rerank, resources, state
from dashboard.errors import error_boundary
from dashboard.state import MAX_RERANK_BUDGET, RankingRequest, RerankParams
from dashboard.timecharts import ranking_timeline
from dashboard.timefilter import time_filter, window_key
from dashboard.widgets import (
    end_page,
    escape_markdown,
    posts_table,
    require_dataset,
    score_meaning,
    scorer_caption,
)

auth.require("rerank")
st.title("Rerank")
ds = require_dataset()
rerank.warm_first_stage()  # the posts embed while the query is typed
window = time_filter(ds.posts)

p = state.params(RerankParams)
s = state.settings()
all_modes = {}
with error_boundary("reading the instruction modes"):
    all_modes = rerank.modes()
if not all_modes:
    end_page()
if p.mode not in all_modes:
    p.mode = next(iter(all_modes))

p.query = st.text_input("Query", **state.bind("rerank.query", p.query),
                        placeholder="e.g. 深圳限制电动车和摩托车的政策 / Boston bombing victims")
c1, c2, c3 = st.columns([2, 1, 1])
p.mode = c1.selectbox("Mode", list(all_modes), format_func={m: mode.label for m, mode in all_modes.items()}.get,
                      **state.bind("rerank.mode", p.mode, index_of=all_modes))
mode = all_modes[p.mode]
p.top_k = state.number(c2, "Top-k shown", "rerank.top_k", p.top_k, min_value=1, max_value=10_000, step=10)
p.budget = state.number(c3, "Candidates scored (budget)", "rerank.budget", p.budget or s.rerank_budget,
                        min_value=1, max_value=MAX_RERANK_BUDGET, step=50,
                        help="How many first-stage (BM25 + dense) candidates the reranker scores.")
st.caption(escape_markdown(mode.description))
if rerank.overridden_builtin(p.mode):
    c_w, c_b = st.columns([3, 1])
    c_w.warning(f"The built-in mode “{escape_markdown(p.mode)}” is replaced by a saved instruction.",
                icon=":material/edit_note:")
    if c_b.button("Restore the built-in mode", key="rerank.restore_mode", icon=":material/restore:"):
        with error_boundary("restoring the mode"):
            rerank.restore_mode(p.mode)
            p.reseed = p.mode  # the editor shows the default again
            st.rerun()
# One editor per mode: switching modes shows that mode's instruction; edits stay with it, also
# across a page switch (p.edits). After a save or restore, the mode's editor starts again from
# the mode's instruction.
reseed, p.reseed = p.reseed, None
if reseed is not None:
    state.forget_widgets(f"rerank.instruction.{reseed}")
    p.edits.pop(reseed, None)
edit_key = f"rerank.instruction.{p.mode}"
instruction = st.text_area("Instruction given to the reranker (editable, English works best)",
                           **state.bind(edit_key, p.edits.get(p.mode, mode.instruction)), height=90)
if not instruction.strip():
    st.error("The instruction is empty. Write one sentence saying which posts should come first, "
             "or restore this mode's own instruction.", icon=":material/error:")
    if st.button("Restore this mode's instruction", key="rerank.restore_instruction"):
        p.reseed = p.mode
        st.rerun()
p.instruction = "" if instruction.strip() == mode.instruction.strip() else instruction.strip()
p.edits.pop(p.mode, None)
if p.instruction:
    p.edits[p.mode] = instruction
    st.caption("Edited instruction: the ranking is stored under this text.")
    with st.expander("Save this instruction as a mode"), st.form("rerank.save_mode", border=False):
        name = st.text_input("Mode name (letters, digits, - or _)", placeholder="eyewitness",
                             key="rerank.new_mode.name")
        label = st.text_input("Title shown in the list", placeholder="Eyewitness reports",
                              key="rerank.new_mode.label")
        replace_builtin = st.checkbox(
            "Replace the built-in mode of this name", key="rerank.new_mode.replace",
            help="The built-in modes (relevance, accuracy, emotion, novelty, custom) are kept unless "
                 "you tick this; a replaced one can be restored here later.")
        if st.form_submit_button("Save mode"):
            with error_boundary("saving the mode"):
                rerank.save_mode(name=name.strip(), label=label.strip() or name.strip(),
                                  instruction=p.instruction, based_on=p.mode,
                                  replace_builtin=replace_builtin)
                p.reseed = name.strip()  # its editor shows the saved text
                st.success(f"Saved the mode {escape_markdown(name.strip())}; pick it in the list above.")

info = None
with error_boundary("loading the reranker"):
    scorer = resources.scorer_for(s)
    info = scorer.info
    scorer_caption(info)
    n_scorable = int(ds.posts["scorable"].sum()) if "scorable" in ds.posts.columns else len(ds.posts)
    st.caption(live.estimate_text(scorer, min(p.budget, n_scorable)))

go = st.button("Rerank", type="primary", disabled=not (p.query.strip() and instruction.strip()),
               icon=":material/sort:")
if not p.query.strip():
    st.caption("Type a query above (then Enter) to rerank.")
request = RankingRequest(query=p.query.strip(), mode=p.mode, instruction=p.instruction,
                         top_k=p.top_k, budget=p.budget, window=window_key(window))
if go:
    grading.follow(request.query)
    # Results arrive batch by batch: first the first-stage order, then the scored posts best first.
    status, cancel_slot, preview = st.empty(), st.empty(), st.empty()
    status.caption("Finding candidates…")
    cancel_slot.button("Cancel", key="rerank.cancel", on_click=live.request_cancel, icon=":material/stop:",
                       help="Stop after the current batch and keep what is scored so far.")
    with error_boundary("reranking"):
        for partial in live.rerank_live(request):
            status.caption(live.progress_text(partial))
            with preview.container():
                posts_table(partial.table.head(10), columns=["rank", "score", "first_stage_rank", "text"])
    for slot in (status, cancel_slot, preview):
        slot.empty()

remembered = [r for r in remember.remembered_requests() if r not in state.rankings()]
if not state.rankings() and remembered:
    st.info(f"{len(remembered)} earlier ranking(s) of this dataset (before a reload, or before another dataset "
            "was opened) can be recomputed (scores come from the cache).", icon=":material/history:")
    if st.button("Recompute earlier rankings"):
        bar, drawn = st.progress(0.0), (p.query, p.mode)
        with error_boundary("recomputing earlier rankings"):
            rerank.recompute_remembered(progress_bar=bar)
        bar.empty()
        if not drawn[0] and p.query:  # the empty boxes got the request shown below: draw them again
            state.forget_widgets("rerank.query", "rerank.mode", "rerank.top_k", "rerank.budget",
                                 f"rerank.instruction.{drawn[1]}", f"rerank.instruction.{p.mode}")
            st.rerun()

# the background build's state, with or without a ranking yet
build = rerank.dense_build()
if build is not None and build.error is not None:
    st.warning(f"The dense index of this file stopped after {build.done:,} of {build.total:,} distinct texts "
               f"({escape_markdown(str(build.error))}); queries use BM25 and what is embedded. “Try again” goes "
               "on where it stopped.", icon=":material/error:")
    rerank.retry_failed_build(key="rerank.retry")
elif build is not None and not build.complete:
    st.caption(f"Dense index of this file: {build.done:,} of {build.total:,} distinct texts embedded so far "
               f"(in the background{rerank.time_left(build)}); "
               "until it is complete, the dense side covers BM25's best posts for each query, a random sample "
               "of the file embedded first, and those embedded since.")
    if build.stage != "cancelled" and st.button("Stop building the dense index", key="rerank.stop_index"):
        build.cancel()  # what is embedded stays stored; reopening the file continues
elif build is not None and build.stage == "ann":
    st.caption("Every post is embedded; the nearest-neighbour index over them is being built in the background. "
               "Until it is ready, each query compares with every stored vector (exact, a few seconds more).")
ranking = state.rankings().get(request)
if ranking is None and state.last_request() is not None and not go:
    ranking = state.rankings().get(state.last_request())
if ranking is None:
    end_page()

shown_query = ranking.query if len(ranking.query) <= 200 else ranking.query[:200] + "…"  # a pasted post
st.subheader(f"Results for “{escape_markdown(shown_query)}” · {escape_markdown(ranking.mode)}")
if not getattr(ranking, "complete", True):
    st.warning(f"{'Cancelled' if live.cancel_requested() else 'Interrupted'}: kept the {ranking.n_scored:,} of "
               f"{ranking.n_candidates:,} candidates scored so far (ranked first); the other "
               f"{ranking.n_candidates - ranking.n_scored:,} follow in first-stage order without a score. Press "
               "Rerank to finish: the scores already computed come from the cache.", icon=":material/pause:")
table = ranking.table
f1, f2, f3 = st.columns([2, 1, 1])
p.text_filter = f1.text_input("Filter: text contains", **state.bind("rerank.text_filter", p.text_filter))
p.min_score = f2.slider("Minimum score", 0.0, 1.0, **state.bind("rerank.min_score", p.min_score), step=0.05)
p.moved_only = f3.toggle("Only posts that moved", **state.bind("rerank.moved_only", p.moved_only))
view = table
if p.text_filter.strip():
    view = view[view["text"].astype(str).str.contains(p.text_filter.strip(), case=False, regex=False)]
if p.min_score > 0:
    view = view[view["score"].fillna(-1) >= p.min_score]
if p.moved_only:
    view = view[view["moved"].fillna(0) != 0]
for note in getattr(ranking, "notes", None) or []:
    st.caption(escape_markdown(note))
st.caption(f"{len(view):,} of {len(table):,} ranked posts shown · {len(ranking.unscored):,} not scored")
if "dup_count" in ds.posts:  # "copies": how many posts of the file each ranked post stands for
    copies = dict(zip(ds.posts["post_id"].astype(str), ds.posts["dup_count"], strict=False))
    view = view.assign(dup_count=view["post_id"].astype(str).map(copies))
has_part = "mode_score" in table.columns and bool(table["mode_score"].notna().any())
parts = ["relevance_score", "mode_score"] if has_part else []
posts_table(
    view, columns=["rank", "score", *parts, "log_odds", "first_stage_rank", "moved", "dup_count", "text",
                   "post_id"],
    height=560, key="rerank.table",
    column_config={
        "rank": st.column_config.NumberColumn("rank", format="%d"),
        "score": st.column_config.ProgressColumn("score", min_value=0.0, max_value=1.0, format="%.3f",
                                                 help=score_meaning(getattr(ranking, "info", None) or info)),
        "log_odds": st.column_config.NumberColumn("log-odds", format="%.2f",
                                                  help="logit(yes) − logit(no); empty for the "
                                                       "embedded scorer"),
        "relevance_score": st.column_config.NumberColumn("relevance part", format="%.3f",
                                                         help="the scorer's own relevance score"),
        "mode_score": st.column_config.NumberColumn(
            "mode part", format="%.3f",
            help=f"the mode's signal in [0, 1] ({getattr(ranking, 'mode_signal', None)}), fused with weight "
                 f"{getattr(ranking, 'mode_weight', None)} because the scorer cannot read the instruction"),
        "first_stage_rank": st.column_config.NumberColumn("first-stage rank", format="%d"),
        "moved": st.column_config.NumberColumn("moved", format="%+d",
                                               help="first-stage rank − new rank: positive = moved up"),
    },
)
st.download_button(
    "Download this ranking (CSV)",
    # made now, not when clicked (a callable): a newcomer's click landing as a rerun began left the
    # button spinning and disabled until the page was reloaded (Streamlit's deferred download)
    export.ranking_csv(view, ["rank", "post_id", "score", *parts, "log_odds", "first_stage_rank", "moved",
                              "dup_count", "text"]),
    file_name="ranking-" + re.sub(r"[^\w-]+", "-", ranking.mode) + ".csv", mime="text/csv", key="rerank.download", icon=":material/download:",
    help="The rows shown above; a post that looks like a spreadsheet formula is written as text.")
ranking_timeline(ranking, ds.posts)
if len(ranking.unscored):
    with st.expander(f"Posts not scored ({len(ranking.unscored):,})"):
        posts_table(ranking.unscored, columns=list(ranking.unscored.columns))

"""Grade page: grade posts 1-5 with one click or the keys 1-5, with a note or
"unsure". The queue is pooled like TREC: first the union of every mode's top k
(k of the Evaluate page), the posts where modes disagree most first, then the
rest. Every grade is written to the label store the moment it is given, on the
post that was on screen when the key was pressed (see
:func:`dashboard.widgets.grade_key_listener`)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import auth, grading, remember, rerank, state
from dashboard.errors import error_boundary
from dashboard.grading import GRADE_SCALE
from dashboard.timefilter import keep_in_window, time_filter
from dashboard.widgets import (
    POST_PREVIEW_CHARS,
    end_page,
    escape_markdown,
    grade_key_listener,
    page_link,
    post_text,
    post_token,
    posts_table,
    require_dataset,
)

auth.require("grade")
st.title("Grade")
ds = require_dataset()
time_filter(ds.posts)

g = grading.grade_state()
grading.enter_dataset(ds.dataset_hash)
queries = state.ranked_queries()
if not queries:
    st.info("Rerank a query first: the grading queue is made of its ranked posts "
            "(rerank it in two or more modes to see first the posts the modes disagree on).",
            icon=":material/info:")
    page_link("rerank.py", "Go to the Rerank page", icon=":material/sort:")
    if remember.remembered_requests():
        if st.button("Recompute the rankings from before the page was reloaded"):
            with error_boundary("recomputing earlier rankings"):
                rerank.recompute_remembered(progress_bar=st.progress(0.0))
                st.rerun()
    end_page()

if g.query not in queries:
    g.query = queries[0]
    state.forget_widgets("grade.query")
g.query = st.selectbox("Query", queries, **state.bind("grade.query", g.query, index_of=queries))
if grading.switch_query():  # another query: where it was left, else its first open post
    g.picks += 1
depth = grading.pool_depth()
queue = keep_in_window(grading.queue_for(g.query), ds.posts)
m = len(queue)
if m == 0:
    st.info("This query's rankings are empty: nothing to grade.")
    end_page()
ids = queue["post_id"].astype(str).tolist()
for i in ids:  # every post this page shows gets a token; a key event names its post by token
    g.tokens.setdefault(post_token(g.query, i), (g.query, i))



# Key presses 1-5 / S: each event names the post that was on screen when the key went
# down; it is applied to exactly that post, once (event ids), in the order pressed, and
# only if that post's card had been drawn completely.
grading.apply_key_events(grade_key_listener(acked=g.applied[-200:]), ids=ids)
for msg in g.problems:
    st.error(escape_markdown(msg), icon=":material/error:")
for msg in g.infos:
    st.info(escape_markdown(msg), icon=":material/info:")
g.problems.clear()
g.infos.clear()
for notice in list(g.notices):
    with st.container(border=True):
        st.warning(escape_markdown(notice.message()), icon=":material/sync_problem:")
        c_undo, c_keep = st.columns(2)
        back = "no grade" if notice.theirs is None else notice.theirs.describe(GRADE_SCALE)
        c_undo.button(f"Undo: put back {back}", key=f"grade.undo.{notice.id}", on_click=grading.undo,
                      args=(notice.id,), icon=":material/undo:")
        c_keep.button("Keep mine", key=f"grade.keep.{notice.id}", on_click=grading.dismiss, args=(notice.id,))

by_post = None
with error_boundary("reading the grades"):
    by_post = grading.current(g.query)
if by_post is None:  # no card without its grades: keys pressed meanwhile are refused, and say so
    end_page()
done = {pid for pid, r in by_post.items() if not r.skipped}
n_graded = sum(pid in done for pid in ids)

resumed = grading.resume_at(ids)
g.position = min(max(g.position, 0), m - 1)
if g.card is None and not resumed and ids[g.position] in done:
    g.position = grading.next_open(ids, g.position, done)
row = queue.iloc[g.position]
pid = str(row.post_id)
token = post_token(g.query, pid)
existing = by_post.get(pid)
now = existing.version if existing is not None else grading.version_of(g.query, pid)

# The note and "unsure" belong to the post on screen: load them when it changes, when
# Streamlit dropped the widgets' values (they were not on the last page shown), or after the
# card failed to draw. The card keeps the version it loaded: a grade changed elsewhere while
# it is open is shown on it, and grading it then is reported with an undo.
if (g.card != (g.query, pid) or token not in g.drawn
        or not state.has_widget("grade.note") or not state.has_widget("grade.unsure")):
    g.card = (g.query, pid)
    g.drawn[token] = now
    note, unsure, _ = grading.draft_for(token, existing)
    state.set_widget("grade.note", note)
    state.set_widget("grade.unsure", unsure)
version = g.drawn[token]


def draw_card() -> None:
    """The post on screen, its grade, note, "unsure", the grade buttons and navigation."""
    st.progress(n_graded / m, text=f"{n_graded} of {m} graded")
    ranks = " · ".join(
        f"{escape_markdown(c.split(':', 1)[1])} #{int(row[c])}" if not pd.isna(row[c]) else
        f"{escape_markdown(c.split(':', 1)[1])} —" for c in queue.columns if c.startswith("rank:")
    )
    pool_note = (f"in the pool (a top-{depth} post of some mode)" if bool(row.pooled)
                 else f"outside every mode's top {depth}")
    st.caption(f"Post {g.position + 1} of {m} in the queue · ID {escape_markdown(pid)} · ranks: {ranks} · "
               f"disagreement {int(row.disagreement)} · {pool_note}")
    # The container's key names the post on screen: the key listener reads it at each key press.
    with st.container(border=True, key=f"grade-post-{token}"):
        post_text(row.text, max_chars=POST_PREVIEW_CHARS, key=f"grade.full.{token}")
    if existing is not None:
        st.caption(f"Your grade: {escape_markdown(existing.describe(GRADE_SCALE))}")
    if now != version:
        what = ("was cleared" if existing is None else f"is now {existing.describe(GRADE_SCALE)} "
                f"(source {existing.source}, note “{existing.note}”)")
        st.warning(escape_markdown(
            f"This post's grade changed elsewhere while this card was open: it {what}. The note and "
            "“unsure” below still show what you had. Grading now replaces it (you can undo)."),
            icon=":material/sync_problem:")
        st.button("Show the current grade", key=f"grade.reload.{token}", on_click=grading.reload_card, args=(token,),
                  icon=":material/refresh:")

    c_note, c_unsure = st.columns([4, 1])
    c_note.text_input("Note (optional, saved with the grade)", key="grade.note", on_change=grading.keep_draft,
                      args=(token,))
    c_unsure.checkbox("Unsure", key="grade.unsure", help="Flag this grade as uncertain.",
                      on_change=grading.keep_draft, args=(token,))
    if grading.draft_for(token, existing)[2]:
        st.caption("The note and “unsure” above are not saved yet: they are saved with a grade.")

    # Buttons are keyed by the post they grade: a click always grades the post it was drawn for,
    # and names the grade version the card showed.
    buttons = st.columns(5)
    for grade, meaning in GRADE_SCALE.items():
        buttons[grade - 1].button(
            f"{grade} · {meaning}", key=f"grade.btn.{token}.{grade}", width="stretch",
            type="primary" if existing is not None and existing.grade == grade else "secondary",
            on_click=grading.grade_clicked, args=(grade, pid, g.query, version, tuple(ids)),
            help=f"Grade {grade}: {meaning} (key {grade})",
        )
    nav = st.columns(4)
    nav[0].button("Previous", key="grade.prev", icon=":material/arrow_back:", width="stretch",
                  on_click=grading.move_to, args=(g.position - 1, m), shortcut="P",
                  help="Previous post (key P)")
    nav[1].button("Next", key="grade.next", icon=":material/arrow_forward:", width="stretch",
                  on_click=grading.move_to, args=(g.position + 1, m), shortcut="N", help="Next post (key N)")
    nav[2].button("Skip (no grade)", key=f"grade.skip.{token}", width="stretch", on_click=grading.grade_clicked,
                  args=(None, pid, g.query, version, tuple(ids)),
                  help="Record that you skipped this post (key S); it does not count as graded.")
    nav[3].button("Clear my grade", key="grade.clear", width="stretch", on_click=grading.clear_clicked,
                  args=(pid, g.query, version), disabled=existing is None)


try:
    draw_card()
except Exception:
    g.drawn.pop(token, None)  # a card that failed to draw takes no key presses (they say why)
    raise
grading.remember_position()
st.caption("Keys: 1–5 grade · N next · P previous · S skip · Esc leaves the note field. Each key grades the post on screen when "
           "it is pressed, and is saved at once; "
           f"annotator: {escape_markdown(state.settings().annotator)} (change on the Settings page).")

st.subheader("Queue")
view = queue.copy()
view.insert(0, "#", range(1, m + 1))
view["grade"] = pd.array([by_post[i].grade if i in by_post else None for i in ids], dtype="Int64")
view["status"] = ["open" if i not in by_post else ("skipped" if by_post[i].skipped else "graded") for i in ids]
view["unsure"] = [by_post[i].unsure if i in by_post else False for i in ids]
view["note"] = [by_post[i].note if i in by_post else "" for i in ids]
view["pool"] = ["top-" + str(depth) if b else "" for b in view["pooled"]]
cols = ["#", "status", "grade", "unsure", "pool", "disagreement", "best_rank",
        *[c for c in queue.columns if c.startswith("rank:")], "text", "note", "post_id"]
n_pool = int(queue["pooled"].sum())
st.caption(f"Pooled like TREC: first the {n_pool} posts in some mode's top {depth} (k of the Evaluate "
           "page's metrics), the posts the modes disagree on most first, then by best rank; then "
           "the rest in the same order. Status: graded, skipped (recorded without a grade; not used by "
           "the metrics) or open.")
# A fresh table after each pick (and per query): picking the same row again later is a pick too.
event = posts_table(view, columns=cols, height=360, key=f"grade.queue.{g.picks}", on_select="rerun")
rows = list(getattr(getattr(event, "selection", None), "rows", []) or [])
if rows:
    g.picks += 1
    grading.move_to(int(rows[0]), m)
    st.rerun()
st.caption("Select a row to jump to that post.")

"""Grade page: grade posts 1-5 with one click or the keys 1-5, with a note or
"unsure"; the queue shows first the posts where modes disagree most, then by
rank; every grade is written to the label store the moment it is given."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import session, state
from dashboard.errors import error_boundary
from dashboard.session import GRADE_SCALE
from dashboard.state import GradeParams
from dashboard.widgets import (
    end_page,
    escape_markdown,
    need_dataset_notice,
    page_link,
    post_text,
    posts_table,
)

st.title("Grade")
ds = state.dataset()
if ds is None:
    need_dataset_notice()
    end_page()

p = state.params(GradeParams)
queries = state.ranked_queries()
if not queries:
    st.info("Rerank a query first: the grading queue is made of its ranked posts "
            "(rerank it in two or more modes to see first the posts the modes disagree on).",
            icon=":material/info:")
    page_link("rerank.py", "Go to the Rerank page", icon=":material/sort:")
    if state.remembered_requests():
        if st.button("Recompute the rankings from before the page was reloaded"):
            with error_boundary("recomputing earlier rankings"):
                session.recompute_remembered(progress_bar=st.progress(0.0))
                st.rerun()
    end_page()

if p.query not in queries:
    p.query = queries[0]
    st.session_state.pop("grade.query", None)
p.query = st.selectbox("Query", queries, key=state.seed("grade.query", p.query))
if st.session_state.get("grade.position_for") != p.query:  # another query: start at its first open post
    st.session_state["grade.position_for"] = p.query
    p.position = 0
    st.session_state["grade.for"] = None
by_mode = state.rankings_for_query(p.query)
queue = session.grading_queue(by_mode)
m = len(queue)
if m == 0:
    st.info("This query's rankings are empty: nothing to grade.")
    end_page()

grades = pd.DataFrame()
with error_boundary("reading the grades"):
    grades = session.current_grades(p.query)
by_post = {str(r.post_id): r for r in grades.itertuples(index=False)} if len(grades) else {}


def is_graded(pid: str) -> bool:
    g = by_post.get(pid)
    return g is not None and not pd.isna(g.grade)


ids = queue["post_id"].astype(str).tolist()
n_graded = sum(is_graded(pid) for pid in ids)


def next_open(start: int, done: set[str]) -> int:
    """Position of the next post after ``start`` not in ``done`` (wrapping), else ``start``."""
    for step in range(1, m + 1):
        i = (start + step) % m
        if ids[i] not in done:
            return i
    return start


def on_grade(grade: int | None, post_id: str, query: str, position: int) -> None:
    try:
        session.save_grade(query, post_id, grade, note=st.session_state.get("grade.note") or None,
                           unsure=bool(st.session_state.get("grade.unsure")))
    except Exception as exc:  # shown by the page's error boundary below
        st.session_state["grade.error"] = exc
        return
    done = {pid for pid in ids if is_graded(pid)} | {post_id}
    p.position = next_open(position, done)


def on_move(position: int) -> None:
    p.position = position % m


def on_clear(post_id: str, query: str) -> None:
    try:
        session.clear_grade(query, post_id)
    except Exception as exc:
        st.session_state["grade.error"] = exc


with error_boundary("saving the grade"):
    err = st.session_state.pop("grade.error", None)
    if err is not None:
        raise err

p.position = min(max(p.position, 0), m - 1)
if st.session_state.get("grade.for") is None and is_graded(ids[p.position]):
    p.position = next_open(p.position, {pid for pid in ids if is_graded(pid)})
row = queue.iloc[p.position]
pid = str(row.post_id)
existing = by_post.get(pid)

# The note and "unsure" belong to the post on screen: reload them when it changes.
if st.session_state.get("grade.for") != (p.query, pid):
    st.session_state["grade.for"] = (p.query, pid)
    st.session_state["grade.note"] = (existing.note or "") if existing is not None else ""
    st.session_state["grade.unsure"] = bool(existing.unsure) if existing is not None else False

st.progress(n_graded / m, text=f"{n_graded} of {m} graded")
ranks = " · ".join(
    f"{escape_markdown(c.split(':', 1)[1])} #{int(row[c])}" if not pd.isna(row[c]) else
    f"{escape_markdown(c.split(':', 1)[1])} —" for c in queue.columns if c.startswith("rank:")
)
st.caption(f"Post {p.position + 1} of {m} in the queue · ID {escape_markdown(pid)} · ranks: {ranks} · "
           f"disagreement {int(row.disagreement)}")
with st.container(border=True):
    post_text(row.text)
if existing is not None:
    given = ("skipped" if pd.isna(existing.grade)
             else f"{int(existing.grade)} ({GRADE_SCALE[int(existing.grade)]})")
    st.caption(f"Your grade: {given}{' · unsure' if existing.unsure else ''}")

c_note, c_unsure = st.columns([4, 1])
c_note.text_input("Note (optional, saved with the grade)", key="grade.note")
c_unsure.checkbox("Unsure", key="grade.unsure", help="Flag this grade as uncertain.")

buttons = st.columns(5)
for g, meaning in GRADE_SCALE.items():
    current = existing is not None and not pd.isna(existing.grade) and int(existing.grade) == g
    buttons[g - 1].button(
        f"{g} · {meaning}", key=f"grade.btn.{g}", shortcut=str(g), width="stretch",
        type="primary" if current else "secondary", on_click=on_grade, args=(g, pid, p.query, p.position),
        help=f"Grade {g}: {meaning} (key {g})",
    )
nav = st.columns(4)
nav[0].button("Previous", key="grade.prev", icon=":material/arrow_back:", width="stretch",
              on_click=on_move, args=(p.position - 1,), shortcut="P", help="Previous post (key P)")
nav[1].button("Next", key="grade.next", icon=":material/arrow_forward:", width="stretch",
              on_click=on_move, args=(p.position + 1,), shortcut="N", help="Next post (key N)")
nav[2].button("Skip (no grade)", key="grade.skip", width="stretch", on_click=on_grade,
              args=(None, pid, p.query, p.position), shortcut="S",
              help="Record that you skipped this post (key S); it does not count as graded.")
nav[3].button("Clear my grade", key="grade.clear", width="stretch", on_click=on_clear, args=(pid, p.query),
              disabled=existing is None)
st.caption("Keys: 1–5 grade · N next · P previous · S skip. Each grade is saved at once; "
           f"annotator: {escape_markdown(state.settings().annotator)} (change on the Settings page).")

st.subheader("Queue")
view = queue.copy()
view.insert(0, "#", range(1, m + 1))
view["grade"] = [by_post[i].grade if i in by_post else pd.NA for i in ids]
view["grade"] = view["grade"].astype("Int64")
view["unsure"] = [bool(by_post[i].unsure) if i in by_post else False for i in ids]
view["note"] = [(by_post[i].note or "") if i in by_post else "" for i in ids]
cols = ["#", "grade", "unsure", "disagreement", "best_rank",
        *[c for c in queue.columns if c.startswith("rank:")], "text", "note", "post_id"]
event = posts_table(view, columns=cols, height=360, key="grade.queue", on_select="rerun")
rows = list(getattr(getattr(event, "selection", None), "rows", []) or [])
if rows and rows != st.session_state.get("grade.last_pick"):
    st.session_state["grade.last_pick"] = rows
    p.position = int(rows[0])
    st.rerun()
st.caption("Select a row to jump to that post.")

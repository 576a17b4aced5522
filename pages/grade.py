"""Grade page: grade posts 1-5 with one click or the keys 1-5, with a note or
"unsure". The queue is pooled like TREC: first the union of every mode's top k
(k of the Evaluate page), the posts where modes disagree most first, then the
rest. Every grade is written to the label store the moment it is given, on the
post that was on screen when the key was pressed (see
:func:`dashboard.widgets.grade_key_listener`)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import session, state
from dashboard.errors import error_boundary
from dashboard.session import GRADE_SCALE
from dashboard.state import EvaluateParams, GradeParams
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

st.title("Grade")
ds = require_dataset()

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
depth = session.evaluation_depth(state.params(EvaluateParams).metrics)
queue = session.grading_queue(by_mode, pool_depth=depth)
m = len(queue)
if m == 0:
    st.info("This query's rankings are empty: nothing to grade.")
    end_page()

ids = queue["post_id"].astype(str).tolist()
# Every post this page has shown gets a token; a key event names the post by its token.
tokens: dict[str, tuple[str, str]] = st.session_state.setdefault("grade.tokens", {})
for i in ids:
    tokens.setdefault(post_token(p.query, i), (p.query, i))


def read_grades() -> dict:
    grades = session.current_grades(p.query)
    return {str(r.post_id): r for r in grades.itertuples(index=False)} if len(grades) else {}


by_post: dict = {}
with error_boundary("reading the grades"):
    by_post = read_grades()


def is_graded(pid: str) -> bool:
    g = by_post.get(pid)
    return g is not None and not pd.isna(g.grade)


def next_open(start: int, done: set[str]) -> int:
    """Position of the next post after ``start`` not in ``done`` (wrapping), else ``start``."""
    for step in range(1, m + 1):
        i = (start + step) % m
        if ids[i] not in done:
            return i
    return start


def grade_post(query: str, post_id: str, grade: int | None) -> None:
    """Save one grade (the note and "unsure" only if they were typed for this post) and
    move the queue to the next open post after it."""
    mine = st.session_state.get("grade.for") == (query, post_id)
    session.save_grade(query, post_id, grade,
                       note=(st.session_state.get("grade.note") or None) if mine else None,
                       unsure=bool(st.session_state.get("grade.unsure")) if mine else False)
    if query == p.query and post_id in ids:
        done = {pid for pid in ids if is_graded(pid)} | {post_id}
        p.position = next_open(ids.index(post_id), done)


def on_grade(grade: int | None, post_id: str, query: str) -> None:
    try:
        grade_post(query, post_id, grade)
    except Exception as exc:  # shown by the page's error boundary below
        st.session_state["grade.error"] = exc


def on_move(position: int) -> None:
    p.position = position % m


def on_clear(post_id: str, query: str) -> None:
    try:
        session.clear_grade(query, post_id)
    except Exception as exc:
        st.session_state["grade.error"] = exc


# Key presses 1-5 / S: each event names the post that was on screen when the key went
# down; it is applied to exactly that post, once (event ids), in the order pressed.
applied: list[str] = st.session_state.setdefault("grade.applied", [])
events = grade_key_listener(acked=applied[-200:])
problems: list[str] = []
for ev in events:
    if ev["id"] in applied:
        continue
    applied.append(ev["id"])
    grade = ev.get("grade")
    target = tokens.get(str(ev.get("token")))
    if target is None or (grade is not None and grade not in GRADE_SCALE):
        problems.append(f"A key press ({'skip' if grade is None else grade}) could not be matched to a "
                        "post of this session, so it was not saved. Grade that post again.")
        continue
    try:
        grade_post(target[0], target[1], grade)
        by_post = read_grades() if target[0] == p.query else by_post
    except Exception as exc:  # noqa: BLE001 - reported below, naming the post
        problems.append(f"The grade {'skip' if grade is None else grade} for post {target[1]} "
                        f"(query “{target[0]}”) was NOT saved: {exc}")
del applied[:-1000]
for msg in problems:
    st.error(escape_markdown(msg), icon=":material/error:")

with error_boundary("saving the grade"):
    err = st.session_state.pop("grade.error", None)
    if err is not None:
        raise err
    by_post = read_grades()
n_graded = sum(is_graded(pid) for pid in ids)

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
token = post_token(p.query, pid)
pool_note = (f"in the pool (a top-{depth} post of some mode)" if bool(row.pooled)
             else f"outside every mode's top {depth}")
st.caption(f"Post {p.position + 1} of {m} in the queue · ID {escape_markdown(pid)} · ranks: {ranks} · "
           f"disagreement {int(row.disagreement)} · {pool_note}")
# The container's key names the post on screen: the key listener reads it at each key press.
with st.container(border=True, key=f"grade-post-{token}"):
    post_text(row.text, max_chars=POST_PREVIEW_CHARS, key=f"grade.full.{token}")
if existing is not None:
    given = ("skipped" if pd.isna(existing.grade)
             else f"{int(existing.grade)} ({GRADE_SCALE[int(existing.grade)]})")
    st.caption(f"Your grade: {given}{' · unsure' if existing.unsure else ''}")

c_note, c_unsure = st.columns([4, 1])
c_note.text_input("Note (optional, saved with the grade)", key="grade.note")
c_unsure.checkbox("Unsure", key="grade.unsure", help="Flag this grade as uncertain.")

# Buttons are keyed by the post they grade: a click always grades the post it was drawn for.
buttons = st.columns(5)
for g, meaning in GRADE_SCALE.items():
    current = existing is not None and not pd.isna(existing.grade) and int(existing.grade) == g
    buttons[g - 1].button(
        f"{g} · {meaning}", key=f"grade.btn.{token}.{g}", width="stretch",
        type="primary" if current else "secondary", on_click=on_grade, args=(g, pid, p.query),
        help=f"Grade {g}: {meaning} (key {g})",
    )
nav = st.columns(4)
nav[0].button("Previous", key="grade.prev", icon=":material/arrow_back:", width="stretch",
              on_click=on_move, args=(p.position - 1,), shortcut="P", help="Previous post (key P)")
nav[1].button("Next", key="grade.next", icon=":material/arrow_forward:", width="stretch",
              on_click=on_move, args=(p.position + 1,), shortcut="N", help="Next post (key N)")
nav[2].button("Skip (no grade)", key=f"grade.skip.{token}", width="stretch", on_click=on_grade,
              args=(None, pid, p.query),
              help="Record that you skipped this post (key S); it does not count as graded.")
nav[3].button("Clear my grade", key="grade.clear", width="stretch", on_click=on_clear, args=(pid, p.query),
              disabled=existing is None)
st.caption("Keys: 1–5 grade · N next · P previous · S skip. Each key grades the post on screen when "
           "it is pressed, and is saved at once; "
           f"annotator: {escape_markdown(state.settings().annotator)} (change on the Settings page).")

st.subheader("Queue")
view = queue.copy()
view.insert(0, "#", range(1, m + 1))
view["grade"] = [by_post[i].grade if i in by_post else pd.NA for i in ids]
view["grade"] = view["grade"].astype("Int64")
view["status"] = ["open" if i not in by_post else ("skipped" if pd.isna(by_post[i].grade) else "graded")
                  for i in ids]
view["unsure"] = [bool(by_post[i].unsure) if i in by_post else False for i in ids]
view["note"] = [(by_post[i].note or "") if i in by_post else "" for i in ids]
view["pool"] = ["top-" + str(depth) if b else "" for b in view["pooled"]]
cols = ["#", "status", "grade", "unsure", "pool", "disagreement", "best_rank",
        *[c for c in queue.columns if c.startswith("rank:")], "text", "note", "post_id"]
n_pool = int(queue["pooled"].sum())
st.caption(f"Pooled like TREC: first the {n_pool} posts in some mode's top {depth} (k of the Evaluate "
           "page's metrics), the posts the modes disagree on most first, then by best rank; then "
           "the rest in the same order. Status: graded, skipped (recorded without a grade; not used by "
           "the metrics) or open.")
event = posts_table(view, columns=cols, height=360, key="grade.queue", on_select="rerun")
rows = list(getattr(getattr(event, "selection", None), "rows", []) or [])
if rows and rows != st.session_state.get("grade.last_pick"):
    st.session_state["grade.last_pick"] = rows
    p.position = int(rows[0])
    st.rerun()
st.caption("Select a row to jump to that post.")

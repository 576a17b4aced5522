"""My queue: grade the posts assigned to you, one at a time, blind (no model
scores, ranks or other people's grades). Every grade is saved the moment it is
given, under your name."""

from __future__ import annotations

import streamlit as st

from dashboard import auth, state, team
from dashboard.errors import error_boundary
from dashboard.state import QueueParams
from dashboard.team import GRADE_SCALE
from dashboard.widgets import POST_PREVIEW_CHARS, end_page, escape_markdown, post_text, posts_table

auth.require("my_queue")
st.title("My queue")

queries = team.my_queries()
if queries.empty:
    st.info(f"Nothing is assigned to you ({escape_markdown(team.me())}) yet. An analyst hands posts out on "
            "the Assign page.", icon=":material/info:")
    end_page()

keys = list(zip(queries["dataset"], queries["query_id"], strict=True))
labels = {k: f"{q} — {n} ({a} posts)" for k, q, n, a in
          zip(keys, queries["query"], queries["name"], queries["assigned"], strict=True)}
key = st.selectbox("Query", keys, format_func=labels.get, key="queue.query")
dataset, qid = key
query = str(queries.loc[queries["query_id"] == qid, "query"].iloc[0])
posts = team.my_posts(dataset, qid)
m = len(posts)
qs = state.params(QueueParams)
positions = qs.positions
pos = positions.get(key)
if pos is None or not 0 <= pos < m:  # start at the first open post
    open_rows = [i for i, s in enumerate(posts["status"]) if s == "open"]
    pos = open_rows[0] if open_rows else 0
positions[key] = pos


with error_boundary("saving the grade"):
    err, qs.error = qs.error, None
    if err is not None:
        raise err

n_graded = int((posts["status"] == "graded").sum())
st.progress(n_graded / m, text=f"{n_graded} of {m} graded")
row = posts.iloc[pos]
pid = str(row.post_id)
st.caption(f"Post {pos + 1} of {m} · ID {escape_markdown(pid)} · blind grading: model scores, ranks and "
           "other people's grades are not shown.")
with st.container(border=True):
    post_text(row.text, max_chars=POST_PREVIEW_CHARS, key=f"queue.full.{qid}.{pid}")
if row.status != "open":
    given = "skipped" if row.status == "skipped" else f"{int(row.grade)} ({GRADE_SCALE[int(row.grade)]})"
    st.caption(f"Your grade: {given}{' · unsure' if row.unsure else ''}")
note_key, unsure_key = f"queue.note.{qid}.{pid}", f"queue.unsure.{qid}.{pid}"
c_note, c_unsure = st.columns([4, 1])
c_note.text_input("Note (optional, saved with the grade)", value=row.note or "", key=note_key)
c_unsure.checkbox("Unsure", value=bool(row.unsure), key=unsure_key, help="Flag this grade as uncertain.")
grade_args = (dataset, query, qid, pid, note_key, unsure_key, pos, tuple(posts["status"].astype(str)))
buttons = st.columns(5)
for g, meaning in GRADE_SCALE.items():
    current = row.status == "graded" and int(row.grade) == g
    buttons[g - 1].button(f"{g} · {meaning}", key=f"queue.btn.{qid}.{pid}.{g}", width="stretch",
                          type="primary" if current else "secondary", on_click=team.queue_grade_clicked,
                          args=(g, *grade_args))
nav = st.columns(3)
nav[0].button("Previous", key="queue.prev", icon=":material/arrow_back:", width="stretch",
              on_click=team.queue_move, args=(dataset, qid, pos - 1, m))
nav[1].button("Next", key="queue.next", icon=":material/arrow_forward:", width="stretch",
              on_click=team.queue_move, args=(dataset, qid, pos + 1, m))
nav[2].button("Skip (no grade)", key=f"queue.skip.{qid}.{pid}", width="stretch", on_click=team.queue_grade_clicked,
              args=(None, *grade_args))
st.caption(f"Grading as **{escape_markdown(team.me())}**.")

st.subheader("Your posts for this query")
view = posts.copy()
view.insert(0, "#", range(1, m + 1))
view["grade"] = view["grade"].astype("Int64")
event = posts_table(view, columns=["#", "status", "grade", "unsure", "text", "note", "post_id"], height=320,
                    key="queue.table", on_select="rerun")
rows = list(getattr(getattr(event, "selection", None), "rows", []) or [])
if rows and rows != qs.last_pick:
    qs.last_pick = rows
    positions[key] = int(rows[0])
    st.rerun()

"""Data page: pick a bundled sample, upload an export or name a file; the ingest
report; the column mapping; duplicates; a preview of the posts."""

from __future__ import annotations

import streamlit as st

from dashboard import auth, data, state
from dashboard.errors import error_boundary
from dashboard.data import ROLES
from dashboard.state import DataParams
from dashboard import timefilter  # noqa: I001 - kept apart for easy merges
from dashboard.widgets import end_page, escape_markdown, posts_table

#: Posts the preview table sends to the browser.
PREVIEW_ROWS = 1_000

auth.require("data")
st.title("Data")
p = state.params(DataParams)
samples = data.available_samples()

SOURCES = {"sample": "Bundled sample", "upload": "Upload a file", "path": "A file on this machine"}
if not auth.can("server_files"):  # team mode: only an admin names files on the server
    SOURCES.pop("path")
    p.source = "upload" if p.source == "path" else p.source
if not samples:
    SOURCES.pop("sample")
    if p.source == "sample":
        p.source = "upload"
p.source = st.segmented_control("Source", list(SOURCES), format_func=SOURCES.get,
                                **state.bind("data.source", p.source, default_of=SOURCES)) or p.source

upload = None
if p.source == "sample":
    p.sample = st.selectbox("Sample", list(samples), format_func=samples.get,
                            **state.bind("data.sample",
                                         p.sample if p.sample in samples else next(iter(samples)), index_of=samples))
elif p.source == "upload":
    limit_mb = int(st.get_option("server.maxUploadSize"))
    upload = st.file_uploader(
        "Export of posts (CSV, TSV, TXT, Excel, JSON, JSON Lines)",
        type=["csv", "tsv", "txt", "xlsx", "xls", "json", "jsonl", "ndjson"], key="data.upload",
    )
    st.caption(
        f"Files up to {limit_mb} MB (the server's upload limit, `server.maxUploadSize` in "
        "`.streamlit/config.toml`). For a larger export, choose \"A file on this machine\" "
        f"and give its path (up to {data.PATH_MAX_MB:,} MB). An uploaded file is kept in the data "
        "folder so a browser refresh reopens it."
    )
else:
    p.path = st.text_input("Path of the export on this machine", **state.bind("data.path", p.path),
                           placeholder="/home/me/exports/weibo_posts.csv")
    st.caption("Only files inside these folders can be read: "
               + ", ".join(f"`{escape_markdown(r)}`" for r in auth.roots()) + " (`SIEVE_DATA_ROOTS`).")

AUTO, NONE = "(automatic)", "(none)"
# The file chosen: a new one starts from the automatic column mapping.
origin = (p.source, p.sample if p.source == "sample" else "", p.path if p.source == "path" else "",
          upload.file_id if upload is not None else "")
if p.origin is not None and p.origin != origin:
    p.columns.clear()
    state.forget_widgets(*(f"data.col.{role}" for role in ROLES))
p.origin = origin
# Widget values of this rerun are in session state before the widgets are drawn (below the
# load, so their options are the columns of the file just read).
for role in ROLES:
    if not state.has_widget(f"data.col.{role}"):
        continue  # not drawn yet: keep the stored mapping (e.g. reopened after a refresh)
    value = state.widget(f"data.col.{role}")
    if value == AUTO:
        p.columns.pop(role, None)
    else:
        p.columns[role] = None if value == NONE else value
# The "Collapse duplicates" switch acts through its callback (below): its value is the stored
# parameter, not a widget state read here (choosing "Upload a file" left the switch drawn off in
# the browser while its state said on, and the next upload read it off).
mapping_box = st.container()
current = state.dataset()

wanted = (*origin, tuple(sorted(p.columns.items(), key=str)), p.collapse_duplicates)
if current is not None and p.loaded_for is None:
    # a dataset reopened after a refresh (or at start): it stands for the current choice
    p.loaded_for = wanted
needs_load = current is None or p.loaded_for != wanted
if p.source == "path":
    needs_load = st.button("Load this file", type="primary", disabled=not p.path.strip())

reload = st.button("Reload", help="Read the source again (e.g. after fixing the file).")
failed = p.failed
with error_boundary("reading the file"):
    if failed is not None and failed[0] == wanted and not reload and p.source != "path":
        raise failed[1]  # same choice as the failed attempt: show its error, don't re-read
    if needs_load or reload:
        p.failed = None
        try:
            ds = data.load_from_params(p, upload)
        except Exception as exc:
            p.failed = (wanted, exc)
            raise
        if ds is not None:
            current = None  # the replaced dataset must be gone when use_dataset hands freed memory back
            try:
                data.use_dataset(ds)
            finally:  # what is loaded now, even if the release failed: the page matches the sidebar
                current = state.dataset()
            p.loaded_for = wanted

failed = p.failed
failed_now = failed is not None and failed[0][:len(origin)] == origin  # this file failed to load
if failed_now and current is not None:
    st.warning(f"The file above was not loaded. The previous dataset, **{escape_markdown(current.name)}** "
               f"({len(current.posts):,} posts), is still loaded, and every page works on it until a "
               "file loads.", icon=":material/history:")

with mapping_box, st.expander("Column mapping", expanded=bool(p.columns) or failed_now):
    # The columns offered are those of the file chosen above, also when it failed to load
    # (e.g. no column was recognised as the text): pick its text column here to load it.
    if failed_now:
        source_columns = data.columns_of_failed_load(failed[1], p, upload)
    else:
        source_columns = list((current.report or {}).get("source_columns") or []) if current else []
    if failed_now and source_columns:
        names = ", ".join(map(escape_markdown, source_columns))
        st.caption(f"Columns of the file that failed to load: {names}. "
                   "Choose its text column below.")
    else:
        st.caption("Sieve guesses which column holds the text, ID, time and counts. Override a guess here.")
    cols = st.columns(3)
    for i, (role, meaning) in enumerate(ROLES.items()):
        options = [AUTO, *source_columns] if role == "text" else [AUTO, NONE, *source_columns]
        chosen = AUTO if role not in p.columns else (NONE if p.columns[role] is None else p.columns[role])
        if chosen not in options:
            options.append(chosen)
        cols[i % 3].selectbox(meaning, options, **state.bind(f"data.col.{role}", chosen, index_of=options))

if current is None:
    st.info("Choose a source above to load posts.", icon=":material/info:")
    end_page()

rep = current.report or {}
st.subheader(escape_markdown(current.name) + (" (the previous dataset, still loaded)" if failed_now else ""))
m = st.columns(5)
m[0].metric("Posts", f"{len(current.posts):,}")
m[1].metric("Rows read", f"{rep.get('rows_read', 0):,}")
m[2].metric("Dropped", f"{sum((rep.get('dropped') or {}).values()):,}")
m[3].metric("Duplicates", f"{rep.get('duplicates', 0):,}")
n_scorable = int(current.posts["scorable"].sum()) if "scorable" in current.posts else len(current.posts)
m[4].metric("Scorable", f"{n_scorable:,}",
            help="; ".join(f"{k}: {v}" for k, v in (rep.get("unscorable") or {}).items()) or None)
st.toggle("Collapse duplicates for ranking (one post per group of identical texts and retweet copies; "
          "the “copies” column says how many posts each stands for)",
          value=p.collapse_duplicates, key="data.collapse",
          on_change=data.collapse_switched,
          help="On by default: queues, rankings and metrics are then about distinct posts. Turn it off to "
               "rank every copy (the novelty mode still moves copies down).")
header = rep.get("header_row")
st.caption(
    f"Format {escape_markdown(rep.get('format', '?'))} ({escape_markdown(rep.get('layout', '?'))} layout) · "
    f"encoding {escape_markdown(rep.get('encoding') or '—')} · "
    f"delimiter {escape_markdown(repr(rep.get('delimiter')) if rep.get('delimiter') else '—')} · "
    f"header on line {header + 1 if isinstance(header, int) else '—'} · "
    f"text from {escape_markdown(rep.get('text_source') or '?')} · "
    f"dataset {escape_markdown(str(current.dataset_hash)[:12])}"
)
for w in rep.get("warnings") or []:
    st.warning(escape_markdown(w), icon=":material/warning:")
with error_boundary("reading the posts again with another reference time"):
    timefilter.reference_editor(current)
with st.expander("Ingest report (all details)"):
    st.json({k: v for k, v in rep.items()}, expanded=False)
    if rep.get("columns"):
        st.caption("Columns used (role -> source column)")
        st.dataframe(
            [{"role": k, "source column": "—" if v is None else str(v)}
             for k, v in (rep.get("columns") or {}).items()],
            hide_index=True,
        )

st.subheader("Posts")
if len(current.posts) > PREVIEW_ROWS:  # the browser gets what it shows: not a million rows
    st.caption(f"The first {PREVIEW_ROWS:,} of {len(current.posts):,} posts, in file order; the other pages "
               "search, rank and map all of them.")
posts_table(current.posts.head(PREVIEW_ROWS), height=420, key="data.preview")

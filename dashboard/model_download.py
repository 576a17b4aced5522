"""Settings page panel: download a Qwen3 model into the Hugging Face cache.

Size first (the hub's file list, nothing downloaded), then a Download button
naming what it will transfer, a progress bar and a Cancel button. Cancel, like
any other click while the download runs, makes Streamlit rerun the page: the
rerun interrupts the running script at its next progress update, and
:func:`core.models.download_model` then stops its child process cleanly, keeping
the partial file so that the next Download resumes it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import streamlit as st

from core.config import QWEN3_RERANKERS
from core.models.download import (
    DOWNLOADABLE,
    ModelFiles,
    cached_model_path,
    default_cache_dir,
    download_model,
    downloads_allowed,
    format_bytes,
    how_to_get_it_here,
    list_model_files,
)
from dashboard import resources, state
from dashboard.errors import error_boundary
from dashboard.widgets import escape_markdown



@dataclass
class DownloadPanel:
    """The panel's state in a session: ``sizes`` (repo id -> :class:`ModelFiles` from
    "Check size") and ``running`` (the repo id of a download started here whose end this
    session has not seen: a click while it ran stopped it)."""

    sizes: dict[str, ModelFiles] = field(default_factory=dict)
    running: str | None = None


def _hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _label(repo_id: str) -> str:
    here = " · in the cache" if cached_model_path(repo_id) else ""
    return f"{repo_id} ({DOWNLOADABLE[repo_id]}){here}"


def render_model_download() -> None:
    """The "Get a model" panel: size, Download with progress, Cancel, and what to do offline."""
    st.subheader("Get a model")
    cache = default_cache_dir()
    if not downloads_allowed():
        advice = how_to_get_it_here(next(iter(DOWNLOADABLE)), cache)
        st.info("Downloads are turned off on this server (SIEVE_ALLOW_DOWNLOAD=0). "
                + escape_markdown(advice), icon=":material/info:")
        return
    offline = ("This server runs offline (HF_HUB_OFFLINE=1, as `make run` sets): nothing is downloaded by "
               "itself; the buttons below ask the hub only when you press them.")
    st.caption(f"Downloads go to the Hugging Face cache {escape_markdown(str(cache))}, from which Sieve "
               "loads offline. " + (offline if _hub_offline() else ""))
    repo_id = st.selectbox("Model to download", list(DOWNLOADABLE), format_func=_label, key="download.model")
    panel = state.params(DownloadPanel)
    sizes = panel.sizes
    c1, c2, c3 = st.columns(3)
    if c1.button("Check size", key="download.check"):
        with error_boundary("asking the model hub for the model's files"), st.spinner("Asking the hub…"):
            sizes[repo_id] = list_model_files(repo_id, cache_dir=cache)
    if panel.running and not state.widget("download.start"):
        cancelled = state.widget("download.cancel")
        st.info(("Download cancelled." if cancelled else "The download stopped when the page was used.")
                + f" What was downloaded of {escape_markdown(panel.running)} is kept: Check size shows it, "
                "and Download resumes from there.", icon=":material/pause:")
        sizes.pop(panel.running, None)  # what is here has changed: check again
        panel.running = None
    files = sizes.get(repo_id)
    start = False
    if files is not None:
        start = c2.button(f"Download {format_bytes(files.missing_bytes)}", type="primary",
                          key="download.start", disabled=files.missing_bytes == 0)
        c3.button("Cancel", key="download.cancel", help="Stops a running download; what was downloaded is "
                  "kept and the next Download resumes it.")
        st.write(f"{escape_markdown(files.repo_id)}: {len(files.files)} files, "
                 f"**{format_bytes(files.total_bytes)}** ({format_bytes(files.cached_bytes)} already here, "
                 f"{format_bytes(files.missing_bytes)} to download).")
    if start:
        panel.running = repo_id
        with error_boundary("downloading the model"):
            bar = st.progress(0.0, text="Connecting to the hub…")

            def progress(done: int, total: int) -> None:
                bar.progress(min(1.0, done / total) if total else 0.0,
                             text=f"{format_bytes(done)} of {format_bytes(total)}")

            path = download_model(repo_id, progress=progress, cache_dir=cache)
            sizes.pop(repo_id, None)
            bar.progress(1.0, text="Done")
            default = repo_id == QWEN3_RERANKERS["0.6B"]
            if default and callable(clear := getattr(resources.get_scorer, "clear", None)):
                clear()  # the automatic reranker ("auto") finds the new model on its next load
            st.success(f"{escape_markdown(repo_id)} is in the cache ({escape_markdown(str(path))}). "
                       + ("The automatic reranker uses it from now on; or choose" if default else "Choose")
                       + " it above (Reranker, or type it as the Embedder) and press Apply.",
                       icon=":material/check:")
        # Reached when the download ended (done, or an error shown above). A click while it ran
        # (Cancel) reruns the page instead, skipping this line: the next run says it was stopped.
        panel.running = None

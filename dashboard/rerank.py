"""The Rerank job: instruction modes, post embeddings, reranking, comparing modes.

Each function takes plain parameters (a request or a page's parameters), makes the core
call it stands for (``core.rerank``, ``core.compare``) through the cached loaders in
:mod:`dashboard.resources`, and stores the result in :mod:`dashboard.state`.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

import numpy as np
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.schema import scorable_mask
from dashboard import auth, remember, resources, state
from dashboard.state import CompareParams, Comparison, RankingRequest


def _progress_callback(bar):
    """A ``progress(done, total)`` that moves ``bar`` when called on the script thread."""
    script_thread = threading.current_thread()

    def progress(done: int, total: int) -> None:
        if bar is None or threading.current_thread() is not script_thread or get_script_run_ctx() is None:
            return
        frac = 0.0 if total <= 0 else min(1.0, done / total)
        bar.progress(frac, text=f"Scored {done:,} of {total:,} candidates")

    return progress


def modes() -> dict[str, Any]:
    """The instruction modes (defaults plus the analyst's modes file)."""
    from core.rerank.modes import load_modes

    return load_modes(state.settings().core_settings().modes_path)


def dense_build() -> Any:
    """The background embedding of every post (``resources.dense_index``) when the loaded
    dataset has more scorable posts than ``core.candidates.index.FULL_EMBED_MAX``, else None."""
    from core.candidates.index import FULL_EMBED_MAX

    ds = state.dataset()
    ok = scorable_mask(ds.posts)
    if (len(ds.posts) if ok is None else int(ok.sum())) <= FULL_EMBED_MAX:
        return None
    s = state.settings()
    key = resources.posts_key(ds.dataset_hash, ds.posts["post_id"].tolist())
    return resources.dense_index(key, s.embedder, s.device, s.dtype, str(s.core_settings().cache_dir),
                                 ds.posts["text"].fillna("").astype(str).tolist(),
                                 preview_from=None if ok is None else np.flatnonzero(ok))


def first_stage_posts(window) -> tuple[Any, np.ndarray | None]:
    """The posts a rerank ranks (those inside the time ``window``, a fresh ``RangeIndex``) and
    the post vectors it is given, float32 (len(posts), dim) or None.

    A table small enough to embed whole gets :func:`post_embeddings`. A large dataset (one with
    a background build, :func:`dense_build`) gets None over the whole table: the pipeline's
    dense pool (:func:`core.candidates.index.pool_embeddings`) opens the same store and takes
    only BM25's pool and the query's nearest stored posts (ANN once the build is complete), so a
    million stored vectors (2 GB) are never copied into this process. Inside a narrowed window
    it gets the window's stored rows (zero pages for the rest; memory grows with the window).
    """
    from dashboard.timefilter import narrow

    ds = state.dataset()
    build = dense_build()
    if build is None:
        return narrow(ds.posts, post_embeddings(), window)
    if window.is_open:
        return ds.posts, (None if build.on_disk else build.vectors())
    keep = np.flatnonzero(window.mask(ds.posts["time"]))
    return ds.posts.iloc[keep].reset_index(drop=True), build.vectors(keep)


def warm_first_stage() -> None:
    """Prepare the loaded dataset's first stage in the background (once): its BM25 index and,
    when a query will need every post's vector (:func:`post_embeddings`; a large dataset has its
    own build, :func:`dense_build`), the post vectors. So the first press of Rerank or Compare
    shows the first-stage order at once: the work happens while the query is typed."""
    ds = state.dataset()
    s = state.settings()
    key = resources.posts_key(ds.dataset_hash, ds.posts["post_id"].tolist())
    resources.warm_first_stage(key, s.embedder, s.device, s.dtype, str(s.core_settings().cache_dir), ds.posts,
                               embed=dense_build() is None)


def wait_first_stage() -> None:
    """Wait for :func:`warm_first_stage`'s work on the loaded dataset, when it runs (a query
    started meanwhile would otherwise build the same index a second time)."""
    ds = state.dataset()
    s = state.settings()
    key = resources.posts_key(ds.dataset_hash, ds.posts["post_id"].tolist())
    resources.wait_warm_first_stage(key, s.embedder, s.device, s.dtype)


def wait_dense_build(build, progress_bar=None) -> bool:
    """Wait for the background embedding ``build`` (:func:`dense_build`) to embed every post, moving
    ``progress_bar`` (an ``st.progress`` element, optional); returns whether it did (False:
    cancelled). The ANN index it builds next is not waited for (the map reads the vectors).

    Raises:
        the build's own error, when it failed.
    """
    wait_build(build.wait_embedded, build, "Embedding the posts: {done:,} of {total:,} distinct texts", progress_bar)
    return bool(build.complete)


def time_left(build) -> str:
    """``", about N min left"`` for the background ``build`` (its recent rate), or ``""`` with no rate yet."""
    left = build.eta_seconds
    return f", about {max(1, round(left / 60)):,} min left" if left is not None else ""


def retry_failed_build(where=st, key: str = "dense.retry") -> None:
    """A "Try again" button (in ``where``) for a background dense build that failed: the page runs
    again and starts a new build, which goes on where the failed one stopped."""
    if where.button("Try again", key=key, icon=":material/refresh:"):
        resources.forget_failed_builds()
        st.rerun()


def wait_build(wait, build, label: str, progress_bar=None) -> bool:
    """``wait(progress=)``, a waiting method of the background ``build``, moving ``progress_bar`` with
    ``label`` (formatted with ``done`` and ``total``); returns what ``wait`` returns.

    Raises:
        the build's own error, when it failed.
    """
    def progress(done: int, total: int) -> None:
        if progress_bar is not None:
            progress_bar.progress(min(1.0, done / max(1, total)), text=label.format(done=done, total=total))

    result = wait(progress=progress)
    if build.error is not None:
        raise build.error
    return result


def post_embeddings(task: str | None = None, progress_bar=None) -> np.ndarray:
    """Embeddings of every post of the loaded dataset, float32 (n_posts, dim), rows
    L2-normalised (zero rows for empty texts); cached per dataset, embedder and task.
    For a large dataset this waits for its background build (:func:`dense_build`).

    Args:
        task: instruction for instruction-aware embedders: ``None`` for retrieval
            (posts are documents), ``core.embed.CLUSTER_TASK`` for the map.
        progress_bar: an ``st.progress`` element to move while waiting for the build.
    """
    ds = state.dataset()
    s = state.settings()
    build = dense_build()
    if (build is not None and (not task or not getattr(resources.embedder_for(s), "uses_task", True))
            and wait_dense_build(build, progress_bar)):
        return build.vectors()
        # cancelled (a newer dataset replaced it): embed here through the disk cache instead
    key = resources.posts_key(ds.dataset_hash, ds.posts["post_id"].tolist())
    texts = ds.posts["text"].fillna("").astype(str).tolist()
    return resources.embeddings(key, s.embedder, s.device, s.dtype, str(s.core_settings().cache_dir), texts,
                                task or "")


def save_mode(*, name: str, label: str, instruction: str, based_on: str | None = None,
              replace_builtin: bool = False) -> None:
    """Add (or replace) an analyst mode in the modes file (``Settings.modes_path``).

    Args:
        name: the mode's name; a built-in name (``relevance``, ``accuracy``,
            ``emotion``, ``novelty``, ``custom``) only with ``replace_builtin``.
        label: the title shown in the list.
        instruction: the instruction text.
        based_on: the mode whose other settings (diversify, MMR) are kept.
        replace_builtin: the analyst confirmed replacing a built-in mode
            (:func:`restore_mode` brings it back).

    Raises:
        core.errors.SieveError: for a built-in name without ``replace_builtin``,
            a bad name or an empty instruction (``core.rerank.modes.Mode``).
    """
    from dataclasses import replace

    from core.errors import SieveError
    from core.rerank.modes import Mode, is_builtin, save_modes

    auth.check("modes", "change the instruction modes every user shares")
    if is_builtin(name) and not replace_builtin:
        raise SieveError(
            f"“{name}” is the name of a built-in mode, so saving would replace it (also for the "
            "command line, and runs named after it would change meaning). Choose another name, or "
            "tick “Replace the built-in mode” to replace it on purpose (you can restore it later)."
        )
    current = modes()
    base = current.get(based_on or "")
    description = f"Saved from the Rerank page{f' (based on {base.label})' if base else ''}."
    mode = (replace(base, name=name, label=label, description=description, instruction=instruction)
            if base else Mode(name=name, label=label, description=description, instruction=instruction))
    current[name] = mode
    save_modes(current, state.settings().core_settings().modes_path)


def overridden_builtin(name: str) -> bool:
    """Whether the built-in mode ``name`` is replaced by the analyst's modes file."""
    from core.rerank.modes import DEFAULT_MODES

    default = next((m for m in DEFAULT_MODES if m.name == name), None)
    return default is not None and modes().get(name) != default


def restore_mode(name: str) -> None:
    """Give the built-in mode ``name`` its default instruction again (``core.rerank.modes.reset_mode``)."""
    from core.rerank.modes import reset_mode

    auth.check("modes", "change the instruction modes every user shares")
    reset_mode(name, state.settings().core_settings().modes_path)


def run_rerank(request: RankingRequest, *, progress_bar=None) -> Any:
    """Rerank the loaded posts for ``request`` and store the ranking in the session.

    Args:
        request: query, mode, instruction ("" = the mode's), top-k and budget.
        progress_bar: an ``st.progress`` element to move while scoring.

    Returns:
        The :class:`core.rerank.pipeline.Ranking`.

    Raises:
        core.errors.SieveError: for an empty query, a bad mode, a model that cannot load.
    """
    from core.rerank.pipeline import rerank
    from dashboard.timefilter import window_from_key

    ds = state.dataset()
    s = state.settings()
    window = window_from_key(request.window)
    posts, emb = first_stage_posts(window)  # the time filter acts before the first stage
    ranking = rerank(
        posts, request.query, scorer=resources.scorer_for(s), mode=request.mode,
        instruction=request.instruction or None, top_k=request.top_k, budget=request.budget,
        embedder=resources.embedder_for(s), embeddings=emb, modes=modes(),
        progress=_progress_callback(progress_bar),
    )
    if not window.is_open:
        ranking.notes.append(f"Posts narrowed to the time range {window.describe()} before the first stage: "
                             f"{len(posts):,} of {len(ds.posts):,} posts.")
    state.put_ranking(request, ranking)
    remember.save_session_file()
    return ranking


def edited_instruction(mode: str) -> str:
    """The analyst's edit of ``mode``'s instruction on the Rerank page, stripped ("" when not
    edited: the mode's own instruction). The Compare page ranks each mode with it, so "Custom"
    compares what the analyst wrote, not the default text it starts from."""
    from dashboard.state import RerankParams

    return (state.params(RerankParams).edits.get(mode) or "").strip()


def request_for(query: str, mode: str, top_k: int, budget: int) -> RankingRequest:
    """The request of ``query`` under ``mode``'s instruction (as edited on the Rerank page,
    :func:`edited_instruction`) in the current time window."""
    from dashboard.timefilter import window_key

    return RankingRequest(query=query, mode=mode, instruction=edited_instruction(mode), top_k=top_k,
                          budget=budget, window=window_key())


def compared_instructions(mode_names: list[str]) -> list[tuple[str, str, bool]]:
    """``(mode, instruction, edited)`` of each mode the Compare page ranks: the Rerank page's edit
    when there is one, else the mode's own instruction (modes missing from the modes file skipped)."""
    all_modes = modes()
    out = []
    for name in mode_names:
        edited = edited_instruction(name)
        if name in all_modes:
            out.append((name, edited or all_modes[name].instruction.strip(), bool(edited)))
    return out


def finished_ranking(req: RankingRequest) -> Any | None:
    """The session's complete ranking for ``req``; ``None`` when there is none or it was cancelled
    part-way (then it is to be finished)."""
    found = state.rankings().get(req)
    return found if found is not None and getattr(found, "complete", True) else None


def ensure_rankings(query: str, mode_names: list[str], *, top_k: int, budget: int,
                    progress_bar=None) -> dict[str, Any]:
    """The ranking of ``query`` under each mode (its own instruction), reusing the session's.

    Returns:
        ``{mode: Ranking}`` in the order of ``mode_names``.
    """
    out = {}
    for i, name in enumerate(mode_names):
        req = request_for(query, name, top_k, budget)
        found = finished_ranking(req)
        if found is None:  # none yet, or a cancelled rerank: finished here
            if progress_bar is not None:
                progress_bar.progress(i / max(1, len(mode_names)), text=f"Reranking: mode {name}")
            found = run_rerank(req, progress_bar=progress_bar)
        out[name] = found
    return out


def recompute_remembered(progress_bar=None) -> int:
    """Recompute the rankings remembered from before a browser refresh (scores
    come from the disk cache), oldest first; returns how many were recomputed.

    The newest becomes the session's last request, the one the Rerank page shows; its boxes,
    when the analyst has typed nothing there, then show that request
    (:func:`dashboard.remember.fill_rerank_boxes`).
    """
    n = 0
    for req in remember.remembered_requests():
        if req not in state.rankings():
            run_rerank(req, progress_bar=progress_bar)
            n += 1
    if n:
        remember.fill_rerank_boxes(state.last_request())
    return n


def run_name(request: RankingRequest) -> str:
    """Name of the run of a rerank request: the mode, plus a tag when its instruction was edited."""
    if not request.instruction:
        return request.mode
    return f"{request.mode}-edited-{hashlib.sha1(request.instruction.encode('utf-8')).hexdigest()[:6]}"


def compare_modes(p: CompareParams, *, budget: int, progress_bar=None) -> Comparison:
    """Rank ``p.query`` under each of ``p.modes`` (reusing the session's rankings) and compare them.

    Returns:
        The :class:`dashboard.results.Comparison`, also stored as the Compare page's result.

    Raises:
        core.errors.SieveError: as :func:`run_rerank`.
    """
    from core.compare import compare_rankings

    query = p.query.strip()
    by_mode = ensure_rankings(query, list(p.modes), top_k=p.top_k, budget=budget, progress_bar=progress_bar)
    found = Comparison(query=query, modes=tuple(p.modes), k=p.k, by_mode=by_mode,
                       result=compare_rankings(by_mode, k=p.k),
                       instructions=tuple(edited_instruction(m) for m in p.modes))
    state.work().comparison = found
    return found

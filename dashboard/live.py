"""Reranking that shows its results as they are scored (the Rerank and Compare pages' runs).

:func:`rerank_live` runs :func:`core.rerank.stream.rerank_stream` on the loaded
posts and stores every partial ranking in the session as it arrives, so a run
that is cancelled (or interrupted by any other click, which makes Streamlit
stop the script) keeps what was scored. The Cancel button's callback sets a
flag the stream polls between and inside batches.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import streamlit as st

from dashboard import remember, rerank, resources, state
from dashboard.state import CANCEL_KEY, CompareParams, RankingRequest  # noqa: F401 (CANCEL_KEY: tests set it)


@st.cache_resource(show_spinner=False)
def rate_book(cache_dir: str):
    """The :class:`core.rerank.stream.RateBook` of the cache folder (one per server)."""
    from core.rerank.stream import RateBook

    return RateBook(cache_dir)


def _rates():
    return rate_book(str(state.settings().core_settings().cache_dir))


def request_cancel() -> None:
    """Callback of the Cancel button: the running stream stops after the current batch."""
    state.set_cancel(True)


def cancel_requested() -> bool:
    """Whether Cancel was pressed since the last run started."""
    return state.cancel_requested()


def estimate_text(scorer, n_pairs: int) -> str:
    """A sentence (Markdown-safe) estimating how long scoring ``n_pairs`` takes at this machine's
    measured rate."""
    from dashboard.widgets import escape_markdown

    info = scorer.info
    rate = _rates().rate(scorer)
    if rate is None:
        return (f"No scoring speed measured yet for {escape_markdown(info.model_id)} "
                f"({escape_markdown(info.device)}, {escape_markdown(info.dtype)}) on this "
                "machine: the first run measures it. Results appear batch by batch.")
    seconds = n_pairs / rate
    when = "under a second" if seconds < 1 else (f"about {seconds:.0f} s" if seconds < 120
                                                 else f"about {seconds / 60:.1f} min")
    return (f"Estimated time: {when} for {n_pairs:,} candidates at {rate:.1f} pairs/s (measured on this "
            f"machine with {escape_markdown(info.dtype)} on {escape_markdown(info.device)}); posts already "
            "in the score cache take no time.")


def first_batch_size(scorer) -> int:
    """Posts in the first batch: the first-stage top 10, so the first batch scored is a refined
    top 10 (a smaller one needs a second batch for it); up to 16 where 2.5 s of scoring at the
    measured rate holds more."""
    rate = _rates().rate(scorer)
    return 10 if rate is None else max(10, min(16, int(rate * 2.5)))


def progress_text(ranking: Any) -> str:
    """``"Scored 48 of 200 candidates …"`` for a (partial) ranking."""
    if ranking.complete:
        return f"Scored all {ranking.n_candidates:,} candidates."
    if ranking.n_scored == 0:
        return f"First-stage order of {ranking.n_candidates:,} candidates; scoring…"
    return (f"Scored {ranking.n_scored:,} of {ranking.n_candidates:,} candidates: the scored ones are "
            "ranked first, the rest follow in first-stage order…")


def rerank_live(request: RankingRequest) -> Iterator[Any]:
    """Rerank the loaded posts for ``request``, yielding each (partial) ranking as it arrives.

    Every ranking yielded is already stored in the session under ``request``;
    the complete one also in the session file.

    Raises:
        core.errors.SieveError: for an empty query, a bad mode, a model that cannot load.
    """
    from core.rerank.stream import rerank_stream
    from dashboard.timefilter import window_from_key

    state.set_cancel(False)
    ds = state.dataset()
    s = state.settings()
    ranking = None
    scorer = resources.scorer_for(s)
    rerank.wait_first_stage()  # the BM25 index and vectors built while the query was typed
    window = window_from_key(request.window)
    posts, emb = rerank.first_stage_posts(window)  # the time filter acts first
    for ranking in rerank_stream(
        posts, request.query, scorer=scorer, mode=request.mode, first_batch=first_batch_size(scorer),
        instruction=request.instruction or None, top_k=request.top_k, budget=request.budget,
        embedder=resources.embedder_for(s), embeddings=emb, modes=rerank.modes(),
        rates=_rates(), should_cancel=cancel_requested,
    ):
        if not window.is_open and ranking.complete:
            ranking.notes.append(f"Posts narrowed to the time range {window.describe()} before the first stage: "
                                 f"{len(posts):,} of {len(ds.posts):,} posts.")
        state.put_ranking(request, ranking)
        yield ranking
    if ranking is not None and ranking.complete:
        remember.save_session_file()


def compare_live(p: CompareParams, *, budget: int) -> Iterator[tuple[str, Any]]:
    """Rank ``p.query`` under each of ``p.modes`` as :func:`rerank_live` does, yielding
    ``(mode, ranking)`` as each (partial) ranking arrives; a mode already ranked in this
    session is yielded once, as it is. When every mode is complete the comparison is made
    and stored as the Compare page's result; after a Cancel (a mode left incomplete) the
    modes after it are not started and no comparison is made (what was scored is kept).

    Raises:
        core.errors.SieveError: as :func:`rerank_live`.
    """
    query = p.query.strip()
    state.set_cancel(False)
    for name in p.modes:
        req = rerank.request_for(query, name, p.top_k, budget)
        found = rerank.finished_ranking(req)
        if found is not None:
            yield name, found
            continue
        for found in rerank_live(req):
            yield name, found
        if found is None or not found.complete:  # cancelled: keep what is scored, start no other mode
            return
    rerank.compare_modes(p, budget=budget)


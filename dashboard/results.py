"""What the pages make from one dataset, as plain typed objects (no Streamlit here).

:class:`DatasetState` holds the loaded dataset and every page's results made from it
(rankings, the comparison, the clustering, the per-cluster rerank, the evaluation, the
export files). :mod:`dashboard.state` keeps exactly one of them in the session and
replaces it whole when another dataset is loaded (:func:`dashboard.state.set_dataset`),
so no result of the old dataset can outlive it. A test can build one and seed it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd


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


@dataclass
class Comparison:
    """The Compare page's result.

    Attributes:
        query: the query compared.
        modes: the modes compared, in the order chosen (2-4).
        k: the k of overlap@k.
        by_mode: ``{mode: core.rerank.pipeline.Ranking}``.
        result: the :class:`core.compare.Comparison` (pairs, movers, ranks).
        instructions: each mode's edited instruction it was ranked with ("" = the mode's own).
    """

    query: str
    modes: tuple[str, ...]
    k: int
    by_mode: dict[str, Any]
    result: Any
    instructions: tuple[str, ...] = ()


@dataclass
class ClusterMap:
    """The Map page's clustering.

    Attributes:
        made_with: what it was made from (posts key, embedder, method, k, minimum cluster
            size, noise assignment); another value means the settings changed since.
        result: the :class:`core.cluster.ClusterResult` (``labels_``, ``coords_2d_``, ``sizes_``...).
        keywords: ``{cluster label: [keyword, ...]}`` (c-TF-IDF).
        rows: int64 positions into the loaded dataset's table of the posts it shows, in the
            order of ``result``'s rows (the page shows these, also after the time range changed).
        preview: a large dataset's random sample, drawn before every post is embedded
            (:func:`dashboard.mapping.cluster`); the full map shows every post of its time range.
    """

    made_with: tuple
    result: Any
    keywords: dict[int, list[str]]
    rows: Any = None
    preview: bool = False

    @property
    def version(self) -> tuple:
        """``made_with`` and whether it is a preview: a preview and the full map made with the same
        settings are two clusterings (a table made on one does not describe the other)."""
        return (*self.made_with, self.preview)


@dataclass
class ClusterEdits:
    """This session's renames and merges of one map (the :class:`ClusterMap` itself is shared by
    every tab showing it and never changed; :func:`dashboard.mapping.shown` applies these).

    Attributes:
        version: the :attr:`ClusterMap.version` they apply to (another map shows none of them).
        names: ``{cluster: name}`` the analyst typed (over the keyword names).
        merged: ``{cluster: the cluster it was merged into}``.
        keywords: the keywords recounted over the merged labels (None before any merge).
    """

    version: tuple
    names: dict[int, str] = field(default_factory=dict)
    merged: dict[int, int] = field(default_factory=dict)
    keywords: dict[int, list[str]] | None = None


@dataclass
class WithinClusters:
    """The Map page's "cluster, then rerank" table.

    Attributes:
        query: the query reranked inside each cluster.
        table: one row per cluster (``core.cluster.rerank_within_clusters``).
        made_with: :attr:`ClusterMap.version` of the clustering it was made on.
    """

    query: str
    table: pd.DataFrame
    made_with: tuple


@dataclass
class DatasetState:
    """The dataset in use and every page's results made from it; replaced whole with the dataset.

    Attributes:
        dataset: the loaded dataset (``None`` before one is loaded).
        rankings: ``{RankingRequest: core.rerank.pipeline.Ranking}``, oldest first (Rerank,
            Compare; the Grade, Assign, Map and Evaluate pages read them).
        last_request: the most recent rerank request.
        comparison: the Compare page's result.
        clusters: the Map page's clustering.
        within: the Map page's per-cluster rerank.
        cluster_edits: the analyst's renames and merges of the Map page's clustering.
        evaluation: the Evaluate page's :class:`core.evaluate.metrics.EvaluationResult`.
        exports: the Evaluate page's export files ``{file name: bytes}``.
    """

    dataset: LoadedDataset | None = None
    rankings: dict[RankingRequest, Any] = field(default_factory=dict)
    last_request: RankingRequest | None = None
    comparison: Comparison | None = None
    clusters: ClusterMap | None = None
    within: WithinClusters | None = None
    cluster_edits: ClusterEdits | None = None
    evaluation: Any = None
    exports: dict[str, bytes] = field(default_factory=dict)

"""Cluster names the analyst can edit, and merging clusters.

A name defaults to the cluster's top keywords; noise (-1) is always
"unclustered", never a topic. Functions return new objects and never change
their inputs, so a dashboard can keep the history of edits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from core.errors import ParameterError

#: How noise (label -1) is shown.
NOISE_NAME = "unclustered"


def merge_clusters(labels: np.ndarray, clusters: Iterable[int], *, into: int | None = None) -> np.ndarray:
    """Relabel several clusters as one.

    Args:
        labels: int array of shape (n,), -1 = noise.
        clusters: the cluster ids to merge (>= 0; at least one).
        into: the id the merged cluster keeps (one of ``clusters``); default
            the smallest id.

    Returns:
        A new int64 array of shape (n,); other labels are unchanged (ids are
        not renumbered, so names stay attached).

    Raises:
        ValueError: a cluster id is -1 or absent from ``labels``, or ``into`` is
            not among ``clusters``.
    """
    labels = np.asarray(labels, dtype=np.int64)
    ids = sorted({int(c) for c in clusters})
    present = set(np.unique(labels).tolist())
    if not ids:
        raise ParameterError("merge_clusters needs at least one cluster id. Got none.")
    bad = [c for c in ids if c < 0 or c not in present]
    if bad:
        raise ParameterError(
            f"Cannot merge clusters {bad}: only existing clusters >= 0 can be merged "
            f"(existing: {sorted(c for c in present if c >= 0)}); noise (-1) is not a cluster."
        )
    target = ids[0] if into is None else int(into)
    if target not in ids:
        raise ParameterError(
            f"The 'into' parameter must be one of the merged clusters {ids}. Got {into!r} instead."
        )
    out = labels.copy()
    out[np.isin(labels, ids)] = target
    return out


@dataclass(frozen=True)
class ClusterNames:
    """Display names of clusters.

    Attributes:
        names: ``{cluster: name}`` for clusters >= 0; a cluster without an
            entry is shown as ``"cluster {id}"``.
    """

    names: Mapping[int, str] = field(default_factory=dict)

    @classmethod
    def from_keywords(cls, keywords: Mapping[int, list[str]], *, n_words: int = 3) -> ClusterNames:
        """Default names: the first ``n_words`` keywords joined by ``" · "``, distinct per cluster.

        Clusters of one event often share their top keywords ("hurricane · sandy · storm"
        twice), so a legend or a table would show two identical names. Clusters whose first
        ``n_words`` keywords are the same words (in any order) each get one more: their first
        further keyword that no other cluster of that group has among its keywords, else their
        first further keyword not already taken by another of the group. A name whose words are
        still another's after that ends with the cluster id, ``"... (3)"``.

        Args:
            keywords: ``{cluster: [keyword, ...]}`` best first (cluster -1 is ignored).
            n_words: keywords in a name (>= 1).
        """
        words = {int(c): [str(w) for w in ws] for c, ws in keywords.items() if int(c) >= 0}
        groups: dict[frozenset, list[int]] = {}
        for c, ws in words.items():
            groups.setdefault(frozenset(ws[:n_words]), []).append(c)
        names = {c: ws[:n_words] for c, ws in words.items()}
        for group in groups.values():
            if len(group) < 2:
                continue
            taken: set[str] = set()
            for c in sorted(group):
                others = set().union(*(words[o] for o in group if o != c))
                further = words[c][n_words:]
                extra = next((w for w in further if w not in others), None) or next(
                    (w for w in further if w not in taken), None)
                if extra is not None:
                    names[c] = names[c] + [extra]
                    taken.add(extra)
        counts: dict[frozenset, int] = {}
        for ws in names.values():
            counts[frozenset(ws)] = counts.get(frozenset(ws), 0) + 1
        return cls({c: " · ".join(ws) + (f" ({c})" if ws and counts[frozenset(ws)] > 1 else "")
                    for c, ws in names.items()})

    def name(self, cluster: int) -> str:
        """The display name of ``cluster`` (``"unclustered"`` for -1)."""
        cluster = int(cluster)
        if cluster < 0:
            return NOISE_NAME
        return self.names.get(cluster) or f"cluster {cluster}"

    def rename(self, cluster: int, name: str) -> ClusterNames:
        """A copy with ``cluster`` renamed.

        Raises:
            ValueError: ``cluster`` is -1 (noise keeps its name) or ``name`` is blank.
        """
        if int(cluster) < 0:
            raise ParameterError(f"Noise (-1) is always shown as {NOISE_NAME!r} and cannot be renamed.")
        name = " ".join(str(name or "").split())
        if not name:
            raise ParameterError(f"The new name of cluster {cluster} is empty. Type a name.")
        return ClusterNames({**self.names, int(cluster): name})

    def merge(
        self, labels: np.ndarray, clusters: Iterable[int], *, into: int | None = None, name: str | None = None
    ) -> tuple[np.ndarray, ClusterNames]:
        """Merge clusters (:func:`merge_clusters`) and keep names consistent.

        Returns:
            ``(new_labels, new_names)``: the merged cluster is named ``name``,
            else keeps the name of ``into``; the other merged ids lose theirs.
        """
        ids = sorted({int(c) for c in clusters})
        new_labels = merge_clusters(labels, ids, into=into)
        target = ids[0] if into is None else int(into)
        names = {c: v for c, v in self.names.items() if c not in ids or c == target}
        if name is not None and " ".join(name.split()):
            names[target] = " ".join(name.split())
        return new_labels, ClusterNames(names)

"""Reading a label store's grades: the current ones, the history, annotators, agreement.

:class:`StoreReads` is the read half of :class:`core.labels.store.LabelStore`
(it needs the store's ``_read(sql, params)`` and ``path``); every method returns
a fresh DataFrame or list and takes no write lock.
"""

from __future__ import annotations

import pandas as pd

from core.labels.grades import GRADE_COLUMNS, HISTORY_COLUMNS


class StoreReads:
    """Read methods of :class:`core.labels.store.LabelStore` (a mixin: no state of its own)."""

    def grades(
        self,
        dataset: str,
        query: str | None = None,
        *,
        query_id: str | None = None,
        annotator: str | None = None,
        include_skips: bool = True,
    ) -> pd.DataFrame:
        """Current grades (the latest per annotator) of a dataset.

        Args:
            dataset: dataset hash.
            query: only this query text (optional).
            query_id: only this query ID (optional).
            annotator: only this annotator (optional).
            include_skips: keep rows whose grade is missing (skips).

        Returns:
            DataFrame with :data:`GRADE_COLUMNS`: ``grade`` is ``Int64`` (1-5,
            ``<NA>`` for a skip), ``unsure`` bool, IDs and ``note`` str/None,
            ``graded_at`` the UTC ISO-8601 text. Sorted by query, post, annotator.
        """
        sql = [
            """SELECT g.dataset, g.query_id, q.text, g.post_id, g.annotator, g.grade, g.unsure, g.note,
                      g.graded_at, g.source
               FROM grades g JOIN queries q ON q.dataset = g.dataset AND q.query_id = g.query_id
               WHERE g.dataset = ?"""
        ]
        params: list = [dataset]
        if query is not None:
            sql.append("AND q.text = ?")
            params.append(query)
        if query_id is not None:
            sql.append("AND g.query_id = ?")
            params.append(query_id)
        if annotator is not None:
            sql.append("AND g.annotator = ?")
            params.append(annotator)
        if not include_skips:
            sql.append("AND g.grade IS NOT NULL")
        sql.append("ORDER BY g.query_id, g.post_id, g.annotator")
        df = pd.DataFrame(self._read(" ".join(sql), params), columns=list(GRADE_COLUMNS))
        df["grade"] = df["grade"].astype("Int64")
        df["unsure"] = df["unsure"].astype(bool)
        return df

    def history(
        self,
        dataset: str,
        query_id: str | None = None,
        post_id: str | None = None,
        *,
        annotator: str | None = None,
    ) -> pd.DataFrame:
        """Every write ever made (oldest first), including replaced and cleared grades.

        Returns:
            DataFrame with :data:`HISTORY_COLUMNS` (``seq`` is the write order).
        """
        sql = ["SELECT seq, dataset, query_id, post_id, annotator, action, grade, unsure, note, graded_at, source"
               " FROM grade_history WHERE dataset = ?"]
        params: list = [dataset]
        for column, value in (("query_id", query_id), ("post_id", post_id), ("annotator", annotator)):
            if value is not None:
                sql.append(f"AND {column} = ?")
                params.append(str(value))
        sql.append("ORDER BY seq")
        df = pd.DataFrame(self._read(" ".join(sql), params), columns=list(HISTORY_COLUMNS))
        df["grade"] = df["grade"].astype("Int64")
        df["unsure"] = df["unsure"].astype(bool)
        return df

    def annotators(self, dataset: str) -> list[str]:
        """Names of everyone with a current grade in the dataset, sorted."""
        return [r[0] for r in self._read(
            "SELECT DISTINCT annotator FROM grades WHERE dataset = ? ORDER BY annotator", (dataset,))]

    def aggregate(self, dataset: str, query: str | None = None, **kwargs) -> pd.DataFrame:
        """Aggregate grade per (query, post); see :func:`core.labels.aggregate.aggregate_grades`."""
        from core.labels.aggregate import aggregate_grades

        return aggregate_grades(self.grades(dataset, query), **kwargs)

    def krippendorff_alpha(self, dataset: str, query: str | None = None):
        """Inter-annotator agreement; see :func:`core.labels.aggregate.krippendorff_alpha`."""
        from core.labels.aggregate import krippendorff_alpha

        return krippendorff_alpha(self.grades(dataset, query))

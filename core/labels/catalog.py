"""The datasets and queries a label store knows: registering them, listing them, finding one by name.

:class:`StoreCatalog` is the part of :class:`core.labels.store.LabelStore` that
deals with the ``datasets`` and ``queries`` tables (it needs the store's
``_write()``, ``_read(sql, params)`` and ``path``). A query's ID is
:func:`core.ids.query_id_for` of its text unless given.
"""

from __future__ import annotations

import sqlite3

import pandas as pd

from core.errors import SieveError
from core.ids import query_id_for
from core.labels.grades import _check_text, _now


class StoreCatalog:
    """Dataset and query methods of :class:`core.labels.store.LabelStore` (a mixin: no state of its own)."""

    def add_dataset(self, dataset: str, *, name: str | None = None, n_posts: int | None = None) -> None:
        """Register a dataset (idempotent); a later call updates a non-None ``name``/``n_posts``.

        Args:
            dataset: content hash of the post table (``core.ingest.dataset_hash``).
            name: a human name, e.g. the export's file name.
            n_posts: number of posts in the dataset.
        """
        dataset = _check_text("dataset", dataset)
        with self._write() as con:
            self._ensure_dataset(con, dataset)
            if name is not None:
                con.execute("UPDATE datasets SET name = ? WHERE dataset = ?", (str(name), dataset))
            if n_posts is not None:
                con.execute("UPDATE datasets SET n_posts = ? WHERE dataset = ?", (int(n_posts), dataset))

    def add_query(self, dataset: str, text: str, *, query_id: str | None = None) -> str:
        """Register a query of a dataset (idempotent) and return its query ID.

        Args:
            dataset: dataset hash.
            text: the query as the analyst typed it.
            query_id: an explicit ID (e.g. from an imported TREC file); default
                :func:`query_id_for` of ``text``. An existing query with the
                same text keeps its ID.

        Returns:
            The query ID.
        """
        dataset = _check_text("dataset", dataset)
        with self._write() as con:
            return self._ensure_query(con, dataset, text, query_id)

    @staticmethod
    def _ensure_dataset(con: sqlite3.Connection, dataset: str) -> None:
        con.execute(
            "INSERT OR IGNORE INTO datasets (dataset, created_at) VALUES (?, ?)", (dataset, _now())
        )

    def _ensure_query(
        self, con: sqlite3.Connection, dataset: str, text: str | None, query_id: str | None
    ) -> str:
        self._ensure_dataset(con, dataset)
        if query_id is not None:
            query_id = _check_text("query ID", query_id)
            row = con.execute(
                "SELECT text FROM queries WHERE dataset = ? AND query_id = ?", (dataset, query_id)
            ).fetchone()
            if row is None:
                con.execute(
                    "INSERT INTO queries (dataset, query_id, text, created_at) VALUES (?, ?, ?, ?)",
                    (dataset, query_id, str(text) if text is not None and str(text).strip() else query_id,
                     _now()),
                )
            elif text is not None and str(text).strip() and row[0] == query_id and str(text) != query_id:
                # A query first known only by its ID (a qrels import) learns its text.
                con.execute(
                    "UPDATE queries SET text = ? WHERE dataset = ? AND query_id = ?",
                    (str(text), dataset, query_id),
                )
            return query_id
        text = _check_text("query", text)
        row = con.execute(
            "SELECT query_id FROM queries WHERE dataset = ? AND text = ? ORDER BY created_at LIMIT 1",
            (dataset, text),
        ).fetchone()
        if row is not None:
            return row[0]
        query_id = query_id_for(text)
        con.execute(
            "INSERT OR IGNORE INTO queries (dataset, query_id, text, created_at) VALUES (?, ?, ?, ?)",
            (dataset, query_id, text, _now()),
        )
        return query_id

    def datasets(self) -> pd.DataFrame:
        """Known datasets with their grade counts.

        Returns:
            DataFrame with columns ``dataset, name, n_posts, created_at,
            n_queries, n_grades, n_annotators`` (one row per dataset, oldest first).
        """
        rows = self._read(
            """SELECT d.dataset, d.name, d.n_posts, d.created_at,
                      (SELECT COUNT(*) FROM queries q WHERE q.dataset = d.dataset),
                      (SELECT COUNT(*) FROM grades g WHERE g.dataset = d.dataset),
                      (SELECT COUNT(DISTINCT annotator) FROM grades g WHERE g.dataset = d.dataset)
               FROM datasets d ORDER BY d.created_at, d.dataset"""
        )
        return pd.DataFrame(
            rows,
            columns=["dataset", "name", "n_posts", "created_at", "n_queries", "n_grades", "n_annotators"],
        )

    def queries(self, dataset: str) -> pd.DataFrame:
        """Queries of a dataset: DataFrame with ``query_id, query, created_at, n_grades``."""
        rows = self._read(
            """SELECT q.query_id, q.text, q.created_at,
                      (SELECT COUNT(*) FROM grades g WHERE g.dataset = q.dataset AND g.query_id = q.query_id)
               FROM queries q WHERE q.dataset = ? ORDER BY q.created_at, q.query_id""",
            (dataset,),
        )
        return pd.DataFrame(rows, columns=["query_id", "query", "created_at", "n_grades"])

    def resolve_dataset(self, dataset: str | None) -> str:
        """Find a dataset by full hash, unique hash prefix or exact name.

        Args:
            dataset: hash, prefix or name; ``None`` picks the only dataset.

        Returns:
            The full dataset hash.

        Raises:
            SieveError: when nothing or more than one dataset matches.
        """
        known = self.datasets()
        if dataset is None:
            if len(known) == 1:
                return str(known["dataset"].iloc[0])
            raise SieveError(
                f"The label store {self.path} holds {len(known)} datasets; name one with --dataset "
                f"(a hash, a hash prefix or a name). Known: {', '.join(known['dataset'].astype(str)) or 'none'}."
            )
        exact = known[(known["dataset"] == dataset) | (known["name"] == dataset)]
        hits = exact if len(exact) else known[known["dataset"].astype(str).str.startswith(str(dataset))]
        if len(hits) == 1:
            return str(hits["dataset"].iloc[0])
        what = ("No dataset in the label store {path} matches" if len(hits) == 0
                else f"{len(hits)} datasets in the label store {{path}} match").format(path=self.path)
        raise SieveError(
            f"{what} {dataset!r}. "
            f"Known: {', '.join(known['dataset'].astype(str)) or 'none'}."
        )

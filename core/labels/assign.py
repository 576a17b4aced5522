"""Assignments and adjudications, kept in the label store's SQLite file.

An analyst hands the pool of one query out to annotators with an **overlap**: each
post goes to ``overlap`` different annotators, and every annotator gets about
``n_posts * overlap / n_annotators`` posts (:func:`plan_assignments`). Each
annotator then sees only their own queue. A reviewer's **adjudicated** grade is
kept in its own table, apart from the raw grades, so exports can say which they
hold.

Tables (created when first used; the grade tables are :mod:`core.labels.store`'s):

``assignments``
    ``dataset, query_id, post_id, annotator`` (key), ``query`` (text),
    ``text`` (the post's text, so an annotator needs no dataset loaded),
    ``position`` (order in the queue), ``assigned_by``, ``assigned_at``.
``adjudications``
    ``dataset, query_id, post_id`` (key), ``grade`` 1-5, ``reviewer``, ``note``,
    ``adjudicated_at``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pandas as pd

from core.errors import SieveError
from core.ids import query_id_for
from core.labels.grades import MAX_GRADE, MIN_GRADE, _check_grade, _now
from core.labels.store import LabelStore

logger = logging.getLogger(__name__)

#: Columns of :meth:`Assignments.assignments`.
ASSIGNMENT_COLUMNS = ("dataset", "query_id", "query", "post_id", "text", "position", "annotator",
                      "assigned_by", "assigned_at")
#: Columns of :meth:`Assignments.adjudications`.
ADJUDICATION_COLUMNS = ("dataset", "query_id", "post_id", "grade", "reviewer", "note", "adjudicated_at")

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS assignments (
        dataset TEXT NOT NULL, query_id TEXT NOT NULL, query TEXT NOT NULL, post_id TEXT NOT NULL,
        text TEXT NOT NULL, position INTEGER NOT NULL, annotator TEXT NOT NULL, assigned_by TEXT,
        assigned_at TEXT NOT NULL, PRIMARY KEY (dataset, query_id, post_id, annotator))""",
    "CREATE INDEX IF NOT EXISTS assignments_annotator ON assignments (annotator, dataset, query_id)",
    f"""CREATE TABLE IF NOT EXISTS adjudications (
        dataset TEXT NOT NULL, query_id TEXT NOT NULL, post_id TEXT NOT NULL,
        grade INTEGER NOT NULL CHECK (grade BETWEEN {MIN_GRADE} AND {MAX_GRADE}), reviewer TEXT NOT NULL, note TEXT,
        adjudicated_at TEXT NOT NULL, PRIMARY KEY (dataset, query_id, post_id))""",
)


class AssignmentError(SieveError, ValueError):
    """An assignment cannot be made as asked (no annotators, overlap out of range, no posts)."""


def plan_assignments(post_ids: Sequence[str], annotators: Sequence[str], overlap: int) -> list[tuple[str, str]]:
    """Who grades which post: each post to ``overlap`` different annotators, loads balanced.

    Post ``i`` (in queue order) goes to annotators ``(i * overlap + j) mod n`` for
    ``j < overlap``, so consecutive posts rotate through the team and every
    annotator's load differs from another's by at most one post.

    Args:
        post_ids: the posts, in queue order (strings, no duplicates).
        annotators: user names (no duplicates), at least ``overlap`` of them.
        overlap: graders per post, ``1 <= overlap <= len(annotators)``.

    Returns:
        ``[(post_id, annotator), ...]``, ``len(post_ids) * overlap`` pairs.

    Raises:
        AssignmentError: no posts, no annotators, or overlap out of range.

    Example:
        >>> plan_assignments(["p1", "p2", "p3"], ["ana", "bo"], 1)
        [('p1', 'ana'), ('p2', 'bo'), ('p3', 'ana')]
    """
    names = list(dict.fromkeys(annotators))
    if not names:
        raise AssignmentError("Choose at least one annotator to hand the pool to.")
    if not 1 <= int(overlap) <= len(names):
        raise AssignmentError(f"The overlap (graders per post) must be between 1 and the number of "
                              f"annotators chosen ({len(names)}). Got {overlap} instead.")
    if not post_ids:
        raise AssignmentError("There are no posts to assign: rerank the query first.")
    n, k = len(names), int(overlap)
    return [(str(pid), names[(i * k + j) % n]) for i, pid in enumerate(post_ids) for j in range(k)]


class Assignments:
    """Assignments and adjudications in a label store's file.

    Args:
        store: the :class:`core.labels.store.LabelStore` whose file (and lock) they share.
    """

    def __init__(self, store: LabelStore) -> None:
        self.store = store
        with store._write() as con:
            for sql in _SCHEMA:
                con.execute(sql)

    def assign(self, dataset: str, query: str, posts: pd.DataFrame, annotators: Sequence[str], overlap: int,
               *, assigned_by: str, dataset_name: str | None = None) -> pd.DataFrame:
        """Hand ``posts`` of ``query`` out (replacing the query's earlier assignments).

        Grades already given stay in the label store; an annotator who loses a post
        keeps their grade of it.

        Args:
            dataset: dataset hash.
            query: the query text (its ID is :func:`core.labels.store.query_id_for`).
            posts: DataFrame with ``post_id`` and ``text``, in queue order.
            annotators: user names; overlap: graders per post (see :func:`plan_assignments`).
            assigned_by: who assigned (recorded).
            dataset_name: shown to annotators.

        Returns:
            The query's assignments (:data:`ASSIGNMENT_COLUMNS`).
        """
        plan = plan_assignments(posts["post_id"].astype(str).tolist(), annotators, overlap)
        texts = dict(zip(posts["post_id"].astype(str), posts["text"].astype(str), strict=False))
        position = {pid: i for i, pid in enumerate(posts["post_id"].astype(str))}
        self.store.add_dataset(dataset, name=dataset_name, n_posts=None)
        qid = self.store.add_query(dataset, query)
        at = _now()
        with self.store._write() as con:
            con.execute("DELETE FROM assignments WHERE dataset = ? AND query_id = ?", (dataset, qid))
            con.executemany(
                "INSERT INTO assignments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(dataset, qid, query, pid, texts[pid], position[pid], who, assigned_by, at) for pid, who in plan])
        logger.info("assigned %d posts of %s to %s (overlap %d)", len(posts), qid, list(annotators), overlap)
        return self.assignments(dataset, query_id=qid)

    def assignments(self, dataset: str | None = None, *, query_id: str | None = None,
                    annotator: str | None = None) -> pd.DataFrame:
        """Assignments (:data:`ASSIGNMENT_COLUMNS`), by query then queue position then annotator."""
        sql, params = [f"SELECT {', '.join(ASSIGNMENT_COLUMNS)} FROM assignments WHERE 1 = 1"], []
        for column, value in (("dataset", dataset), ("query_id", query_id), ("annotator", annotator)):
            if value is not None:
                sql.append(f"AND {column} = ?")
                params.append(str(value))
        sql.append("ORDER BY dataset, query_id, position, annotator")
        return pd.DataFrame(self.store._read(" ".join(sql), params), columns=list(ASSIGNMENT_COLUMNS))

    def progress(self, dataset: str | None = None) -> pd.DataFrame:
        """Progress per annotator and query.

        Returns:
            DataFrame ``dataset, query_id, query, annotator, assigned, graded, skipped, open,
            done`` (``done`` = graded / assigned in [0, 1]); a grade counts when it is the
            annotator's current grade of an assigned post.
        """
        a = self.assignments(dataset)
        cols = ["dataset", "query_id", "query", "annotator", "assigned", "graded", "skipped", "open", "done"]
        if a.empty:
            return pd.DataFrame(columns=cols)
        rows = []
        for ds, part in a.groupby("dataset", sort=False):
            g = self.store.grades(str(ds))[["query_id", "post_id", "annotator", "grade"]]
            m = part.merge(g, on=["query_id", "post_id", "annotator"], how="left", indicator=True)
            for (qid, query, who), grp in m.groupby(["query_id", "query", "annotator"], sort=False):
                graded = int(grp["grade"].notna().sum())
                skipped = int(((grp["_merge"] == "both") & grp["grade"].isna()).sum())
                rows.append((ds, qid, query, who, len(grp), graded, skipped, len(grp) - graded - skipped,
                             graded / len(grp)))
        return pd.DataFrame(rows, columns=cols)

    def adjudicate(self, dataset: str, query_id: str, post_id: str, grade: int, *, reviewer: str,
                   note: str | None = None) -> None:
        """Set the reviewer's grade of a post (replacing an earlier adjudication; raw grades untouched).

        Raises:
            core.labels.store.LabelStoreError: grade outside 1-5.
        """
        value = _check_grade(grade)
        if value is None:
            raise AssignmentError("An adjudicated grade must be 1-5, not a skip.")
        with self.store._write() as con:
            con.execute("INSERT OR REPLACE INTO adjudications VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (dataset, query_id, str(post_id), value, reviewer, note, _now()))

    def adjudications(self, dataset: str, *, query_id: str | None = None) -> pd.DataFrame:
        """Adjudicated grades (:data:`ADJUDICATION_COLUMNS`; ``grade`` Int64)."""
        sql, params = [f"SELECT {', '.join(ADJUDICATION_COLUMNS)} FROM adjudications WHERE dataset = ?"], [dataset]
        if query_id is not None:
            sql.append("AND query_id = ?")
            params.append(query_id)
        df = pd.DataFrame(self.store._read(" ".join(sql) + " ORDER BY query_id, post_id", params),
                          columns=list(ADJUDICATION_COLUMNS))
        df["grade"] = df["grade"].astype("Int64")
        return df


__all__ = ["ADJUDICATION_COLUMNS", "ASSIGNMENT_COLUMNS", "AssignmentError", "Assignments", "plan_assignments",
           "query_id_for"]

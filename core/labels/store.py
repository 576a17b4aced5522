"""The label store: relevance grades in SQLite that survive crashes and share.

An analyst's grades are the one thing Sieve must never lose, so every grade is
its own short transaction in a SQLite database in WAL mode with
``synchronous=FULL``: once :meth:`LabelStore.set_grade` returns, the grade is
on disk and survives a killed process, a browser refresh or a power cut.
Several processes (two dashboards, a dashboard and ``python -m core import``)
and several threads may write at once: writers take SQLite's write lock with
``BEGIN IMMEDIATE`` and wait up to ``busy_timeout`` for it; inside one process
a lock serialises the shared connection.

Schema (``PRAGMA user_version`` = :data:`SCHEMA_VERSION`, upgraded in place by
:data:`MIGRATIONS` when an older store is opened):

``datasets``
    ``dataset`` (content hash of the post table, see
    ``core.ingest.dataset_hash``), ``name``, ``n_posts``, ``created_at``.
``queries``
    ``dataset``, ``query_id`` (``q`` + 12 hex of the SHA-256 of the stripped
    query text, see :func:`query_id_for`, unless given), ``text``, ``created_at``.
``grades``
    the current grade of each (dataset, query_id, post_id, annotator):
    ``grade`` 1-5, or NULL for "skip"; ``unsure`` 0/1; ``note``; ``graded_at``
    (UTC ISO-8601); ``source`` (``"ui"``, ``"import:<file>"``, ...).
``grade_history``
    every write ever made, append-only, with ``action`` ``"set"`` or
    ``"clear"``; a grade set twice keeps the latest in ``grades`` and both in
    the history.

Grades are the analyst's 1-5 scale (1 = not relevant, 5 = highly relevant);
the gain used by metrics and TREC qrels is ``grade - 1`` (see
``core.evaluate.metrics``).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from core.errors import SieveError
from core.ids import query_id_for  # noqa: F401  (re-exported: older imports)

logger = logging.getLogger(__name__)

#: Lowest and highest grade an analyst can give.
MIN_GRADE, MAX_GRADE = 1, 5

#: Columns of the DataFrame returned by :meth:`LabelStore.grades`, in order.
GRADE_COLUMNS: tuple[str, ...] = (
    "dataset",
    "query_id",
    "query",
    "post_id",
    "annotator",
    "grade",
    "unsure",
    "note",
    "graded_at",
    "source",
)

#: Columns of :meth:`LabelStore.history`.
HISTORY_COLUMNS: tuple[str, ...] = (
    "seq",
    "dataset",
    "query_id",
    "post_id",
    "annotator",
    "action",
    "grade",
    "unsure",
    "note",
    "graded_at",
    "source",
)


class LabelStoreError(SieveError):
    """The label store file cannot be opened, read or written."""


def _migration_1(con: sqlite3.Connection) -> None:
    con.execute(
        """CREATE TABLE datasets (
            dataset    TEXT PRIMARY KEY,
            name       TEXT,
            n_posts    INTEGER,
            created_at TEXT NOT NULL
        )"""
    )
    con.execute(
        """CREATE TABLE queries (
            dataset    TEXT NOT NULL REFERENCES datasets(dataset),
            query_id   TEXT NOT NULL,
            text       TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (dataset, query_id)
        )"""
    )
    con.execute(
        """CREATE TABLE grades (
            dataset    TEXT NOT NULL,
            query_id   TEXT NOT NULL,
            post_id    TEXT NOT NULL,
            annotator  TEXT NOT NULL,
            grade      INTEGER CHECK (grade IS NULL OR grade BETWEEN 1 AND 5),
            unsure     INTEGER NOT NULL DEFAULT 0,
            note       TEXT,
            graded_at  TEXT NOT NULL,
            source     TEXT NOT NULL DEFAULT 'ui',
            PRIMARY KEY (dataset, query_id, post_id, annotator),
            FOREIGN KEY (dataset, query_id) REFERENCES queries(dataset, query_id)
        )"""
    )
    con.execute(
        """CREATE TABLE grade_history (
            seq        INTEGER PRIMARY KEY AUTOINCREMENT,
            dataset    TEXT NOT NULL,
            query_id   TEXT NOT NULL,
            post_id    TEXT NOT NULL,
            annotator  TEXT NOT NULL,
            action     TEXT NOT NULL CHECK (action IN ('set', 'clear')),
            grade      INTEGER,
            unsure     INTEGER NOT NULL DEFAULT 0,
            note       TEXT,
            graded_at  TEXT NOT NULL,
            source     TEXT NOT NULL DEFAULT 'ui'
        )"""
    )
    con.execute("CREATE INDEX grade_history_key ON grade_history (dataset, query_id, post_id, annotator)")


#: ``MIGRATIONS[i]`` upgrades a store from ``user_version`` i to i + 1. Never
#: edit a released migration: append a new one.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_migration_1]
#: The schema version this code writes.
SCHEMA_VERSION = len(MIGRATIONS)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _as_time(at: datetime | str | None) -> str:
    if at is None:
        return _now()
    if isinstance(at, datetime):
        if at.tzinfo is None:
            at = at.replace(tzinfo=timezone.utc)
        return at.astimezone(timezone.utc).isoformat(timespec="microseconds")
    text = str(at).strip()
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise SieveError(
            f"The grading time must be an ISO-8601 time such as 2025-01-31T08:00:00+00:00. Got {at!r} instead."
        ) from None
    return text


def _check_grade(grade) -> int | None:
    if grade is None:
        return None
    try:
        if pd.isna(grade):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(grade, str):
        grade = grade.strip()
        if grade == "":
            return None
        grade = int(grade) if grade.lstrip("-").isdigit() else grade
    try:
        value = int(grade)
    except (TypeError, ValueError):
        raise SieveError(
            f"A grade must be an integer from {MIN_GRADE} to {MAX_GRADE}, or None to skip. Got {grade!r} instead."
        ) from None
    if value != grade or not MIN_GRADE <= value <= MAX_GRADE:
        raise SieveError(
            f"A grade must be an integer from {MIN_GRADE} to {MAX_GRADE}, or None to skip. Got {grade!r} instead."
        )
    return value


def _check_text(name: str, value) -> str:
    if value is None or not str(value).strip():
        raise SieveError(f"The {name} of a grade must be a non-empty string. Got {value!r} instead.")
    return str(value)


@dataclass(frozen=True)
class GradeKey:
    """What one grade is about: ``(dataset, query_id, post_id, annotator)``."""

    dataset: str
    query_id: str
    post_id: str
    annotator: str


class LabelStore:
    """Relevance grades in one SQLite file, safe across threads and processes.

    Args:
        path: the SQLite file; created with its folder when absent. Default:
            ``core.config.get_settings().label_store_path`` (the user data
            folder, env ``SIEVE_LABEL_STORE``).
        busy_timeout_s: how long a write waits for another process's write
            lock before failing (default 30 s).

    Raises:
        LabelStoreError: when the file is not a SQLite database, was written by
            a newer Sieve (schema version above :data:`SCHEMA_VERSION`), or its
            folder cannot be created.

    Example:
        >>> store = LabelStore(tmp_path / "labels.sqlite")
        >>> store.set_grade("d1", "typhoon damage", "p1", 5, annotator="ana")
        >>> store.grades("d1")[["post_id", "grade"]].values.tolist()
        [['p1', 5]]
    """

    def __init__(self, path: str | os.PathLike | None = None, *, busy_timeout_s: float = 30.0) -> None:
        if path is None:
            from core.config import get_settings

            path = get_settings().label_store_path
        self.path = Path(path)
        self.busy_timeout_s = float(busy_timeout_s)
        self._lock = threading.RLock()
        self._con: sqlite3.Connection | None = None
        self._pid: int | None = None
        with self._lock:
            self._connection()

    # -- connection ---------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        """The process's connection (reopened after a fork). Call with the lock held."""
        if self._con is not None and self._pid == os.getpid():
            return self._con
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LabelStoreError(
                f"Cannot create the folder {self.path.parent} for the label store ({exc.strerror}). "
                "Set SIEVE_LABEL_STORE or SIEVE_DATA_DIR to a writable place."
            ) from exc
        try:
            con = sqlite3.connect(
                self.path, timeout=self.busy_timeout_s, isolation_level=None, check_same_thread=False
            )
            con.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            mode = con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                logger.warning("label store %s is in journal mode %s, not WAL", self.path, mode)
            con.execute("PRAGMA synchronous = FULL")
            con.execute("PRAGMA foreign_keys = ON")
            self._migrate(con)
        except sqlite3.DatabaseError as exc:
            raise LabelStoreError(
                f"Cannot open the label store {self.path}: {exc}. "
                "Check that the file is a Sieve label store (SQLite) and that its folder is writable."
            ) from exc
        self._con, self._pid = con, os.getpid()
        return con

    def _migrate(self, con: sqlite3.Connection) -> None:
        version = con.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise LabelStoreError(
                f"The label store {self.path} has schema version {version}, newer than this Sieve "
                f"understands ({SCHEMA_VERSION}). Upgrade Sieve, or point SIEVE_LABEL_STORE at another file."
            )
        if version == SCHEMA_VERSION:
            return
        con.execute("BEGIN IMMEDIATE")
        try:
            # Re-read under the write lock: another process may have migrated meanwhile.
            version = con.execute("PRAGMA user_version").fetchone()[0]
            for step in range(version, SCHEMA_VERSION):
                logger.info("label store %s: migrating schema %d -> %d", self.path, step, step + 1)
                MIGRATIONS[step](con)
                con.execute(f"PRAGMA user_version = {step + 1}")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    @contextmanager
    def _write(self):
        """One short write transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``)."""
        with self._lock:
            con = self._connection()
            try:
                con.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise LabelStoreError(
                    f"The label store {self.path} stayed locked by another process for "
                    f"{self.busy_timeout_s:g} s ({exc}). Try again; if it persists, close other Sieve windows."
                ) from exc
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def _read(self, sql: str, params: Iterable = ()) -> list[tuple]:
        with self._lock:
            return self._connection().execute(sql, tuple(params)).fetchall()

    def close(self) -> None:
        """Close the connection (a later call reopens it)."""
        with self._lock:
            if self._con is not None and self._pid == os.getpid():
                self._con.close()
            self._con = None

    def __enter__(self) -> LabelStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        """``PRAGMA user_version`` of the open store."""
        return self._read("PRAGMA user_version")[0][0]

    # -- datasets and queries -----------------------------------------------------------------

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
        what = "no dataset" if len(hits) == 0 else f"{len(hits)} datasets"
        raise SieveError(
            f"{what.capitalize()} in the label store {self.path} match {dataset!r}. "
            f"Known: {', '.join(known['dataset'].astype(str)) or 'none'}."
        )

    # -- grades -------------------------------------------------------------------------------

    def set_grade(
        self,
        dataset: str,
        query: str | None,
        post_id: str,
        grade: int | None,
        *,
        annotator: str,
        note: str | None = None,
        unsure: bool = False,
        query_id: str | None = None,
        at: datetime | str | None = None,
        source: str = "ui",
    ) -> GradeKey:
        """Record one grade, durably, in one transaction.

        The grade replaces this annotator's current grade of the post for this
        query; the previous one stays in :meth:`history`. Other annotators'
        grades are untouched.

        Args:
            dataset: dataset hash (registered on first use).
            query: the query text (registered on first use); may be ``None``
                when ``query_id`` names a known query.
            post_id: the post's ID (a string).
            grade: 1 (not relevant) to 5 (highly relevant), or ``None`` to
                record a skip.
            annotator: who graded (any non-empty name).
            note: optional free text.
            unsure: the annotator flagged the grade as uncertain.
            query_id: explicit query ID (default :func:`query_id_for` of ``query``).
            at: grading time (default now, UTC); imports keep the original time.
            source: where the grade came from, e.g. ``"ui"`` or ``"import:judgements.csv"``.

        Returns:
            The :class:`GradeKey` written.

        Raises:
            SieveError: for a grade outside 1-5 or an empty ID/annotator.
            LabelStoreError: when the store stays locked longer than ``busy_timeout_s``.
        """
        args = self._checked(dataset, query, post_id, grade, annotator, note, unsure, query_id, at, source)
        with self._write() as con:
            return self._insert_grade(con, *args)

    @staticmethod
    def _checked(dataset, query, post_id, grade, annotator, note, unsure, query_id, at, source) -> tuple:
        note = None if note is None or (not isinstance(note, str) and pd.isna(note)) else str(note)
        return (
            _check_text("dataset", dataset), query, _check_text("post ID", post_id), _check_grade(grade),
            _check_text("annotator", annotator), note, bool(unsure), query_id, _as_time(at), str(source),
        )

    def _insert_grade(self, con, dataset, query, post_id, value, annotator, note, unsure, query_id, graded_at,
                      source) -> GradeKey:
        qid = self._ensure_query(con, dataset, query, query_id)
        con.execute(
            """INSERT INTO grades (dataset, query_id, post_id, annotator, grade, unsure, note, graded_at, source)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (dataset, query_id, post_id, annotator) DO UPDATE SET
                 grade = excluded.grade, unsure = excluded.unsure, note = excluded.note,
                 graded_at = excluded.graded_at, source = excluded.source""",
            (dataset, qid, post_id, annotator, value, int(unsure), note, graded_at, source),
        )
        con.execute(
            """INSERT INTO grade_history
               (dataset, query_id, post_id, annotator, action, grade, unsure, note, graded_at, source)
               VALUES (?, ?, ?, ?, 'set', ?, ?, ?, ?, ?)""",
            (dataset, qid, post_id, annotator, value, int(unsure), note, graded_at, source),
        )
        return GradeKey(dataset, qid, post_id, annotator)

    def set_grades(self, records: Iterable[Mapping], *, source: str = "import", batch_size: int = 1000) -> int:
        """Record many grades (an import) in transactions of ``batch_size`` grades.

        Each record is a mapping with the keyword names of :meth:`set_grade`
        (``dataset, query, post_id, grade, annotator`` and optionally ``note,
        unsure, query_id, at``). Every record is validated before anything is
        written; a batch is all-or-nothing. Interactive grading uses
        :meth:`set_grade` (one transaction per grade).

        Returns:
            The number of grades written.

        Raises:
            SieveError: naming the record (1-based) with an invalid grade or ID.
        """
        checked = []
        for i, rec in enumerate(records, start=1):
            try:
                checked.append(self._checked(
                    rec.get("dataset"), rec.get("query"), rec.get("post_id"), rec.get("grade"),
                    rec.get("annotator"), rec.get("note"), rec.get("unsure", False), rec.get("query_id"),
                    rec.get("at"), rec.get("source", source),
                ))
            except SieveError as exc:
                raise SieveError(f"Grade record {i}: {exc}") from None
        for start in range(0, len(checked), max(1, int(batch_size))):
            with self._write() as con:
                for args in checked[start:start + batch_size]:
                    self._insert_grade(con, *args)
        return len(checked)

    def clear_grade(
        self, dataset: str, query_id: str, post_id: str, *, annotator: str, source: str = "ui"
    ) -> bool:
        """Remove an annotator's current grade (an "undo"); the history keeps it.

        Returns:
            True when a grade was removed, False when there was none.
        """
        with self._write() as con:
            return self._delete_grade(con, dataset, query_id, str(post_id), annotator, source)

    @staticmethod
    def _delete_grade(con, dataset: str, query_id: str, post_id: str, annotator: str, source: str) -> bool:
        cur = con.execute(
            "DELETE FROM grades WHERE dataset = ? AND query_id = ? AND post_id = ? AND annotator = ?",
            (dataset, query_id, post_id, annotator),
        )
        if cur.rowcount:
            con.execute(
                """INSERT INTO grade_history
                   (dataset, query_id, post_id, annotator, action, grade, unsure, note, graded_at, source)
                   VALUES (?, ?, ?, ?, 'clear', NULL, 0, NULL, ?, ?)""",
                (dataset, query_id, post_id, annotator, _now(), source),
            )
        return bool(cur.rowcount)

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

    def __repr__(self) -> str:
        return f"LabelStore({str(self.path)!r})"

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
``core.evaluate.trec``).

Parts: the scale and the checks of a grade are :mod:`core.labels.grades`, the
schema's migrations :mod:`core.labels.migrations`, the read methods
:class:`core.labels.reads.StoreReads`, datasets and queries
:class:`core.labels.catalog.StoreCatalog`; this module opens the file and writes grades.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pandas as pd

from core.errors import SieveError
from core.ids import query_id_for  # noqa: F401  (re-exported: older imports)
from core.labels.catalog import StoreCatalog
from core.labels.grades import (  # noqa: F401  (re-exported: older imports)
    GRADE_COLUMNS,
    GRADE_SCALE,
    HISTORY_COLUMNS,
    MAX_GRADE,
    MIN_GRADE,
    GradeKey,
    _as_time,
    _check_grade,
    _check_text,
    _now,
)
from core.labels.migrations import MIGRATIONS, SCHEMA_VERSION
from core.labels.reads import StoreReads

logger = logging.getLogger(__name__)


class LabelStoreError(SieveError):
    """The label store file cannot be opened, read or written."""


class LabelStore(StoreCatalog, StoreReads):
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

    def __repr__(self) -> str:
        return f"LabelStore({str(self.path)!r})"

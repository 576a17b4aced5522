"""The label store's SQLite schema, one migration per version (``PRAGMA user_version``).

``MIGRATIONS[i]`` upgrades a store from version ``i`` to ``i + 1``;
:class:`core.labels.store.LabelStore` runs the missing ones when it opens a file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from core.labels.grades import MAX_GRADE, MIN_GRADE


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
        f"""CREATE TABLE grades (
            dataset    TEXT NOT NULL,
            query_id   TEXT NOT NULL,
            post_id    TEXT NOT NULL,
            annotator  TEXT NOT NULL,
            grade      INTEGER CHECK (grade IS NULL OR grade BETWEEN {MIN_GRADE} AND {MAX_GRADE}),
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

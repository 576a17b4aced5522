"""Typed grade records with versions: what the grading card shows and saves.

A :class:`GradeRecord` is one annotator's current grade of one post for one
query, read straight from SQLite rows (never through a DataFrame), so a
missing note is ``""``, ``unsure`` a bool and ``grade`` an ``int`` or ``None``
under every pandas version: nothing past this module sees NaN.

Every write to a grade key (dataset, query, post, annotator) appends a row to
``grade_history`` whose ``seq`` only grows, so the largest ``seq`` of a key is
its **version** (0 = never written). A card remembers the version it was drawn
from; :func:`save_grade` writes in one transaction and reports whether the key
changed since (another tab, another annotator sharing the name, an import):
the write still happens (the analyst's last word wins, as in the store), but
the caller learns the value it replaced and can offer to put it back
(optimistic concurrency with a visible conflict, not a silent lost update).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from core.ids import query_id_for
from core.labels.store import LabelStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GradeRecord:
    """One annotator's current grade of one post for one query.

    Attributes:
        post_id: the post's ID (str).
        query_id: the query's ID (``q`` + 12 hex, see :func:`core.labels.store.query_id_for`).
        annotator: who graded.
        grade: 1-5, or ``None`` for a recorded skip.
        note: the note, ``""`` when there is none.
        unsure: the annotator flagged the grade as uncertain.
        graded_at: UTC ISO-8601 time of the write.
        source: where the grade came from (``"ui"``, ``"import:<file>"``, ...).
        version: ``seq`` of the key's latest history row (> 0).
    """

    post_id: str
    query_id: str
    annotator: str
    grade: int | None
    note: str
    unsure: bool
    graded_at: str
    source: str
    version: int

    @property
    def skipped(self) -> bool:
        """A skip was recorded (no grade)."""
        return self.grade is None

    def describe(self, scale: dict[int, str] | None = None) -> str:
        """``"4 (highly relevant)"``, ``"skip"``; with ``· unsure`` when flagged."""
        if self.grade is None:
            text = "skip"
        else:
            meaning = (scale or {}).get(self.grade)
            text = f"{self.grade} ({meaning})" if meaning else str(self.grade)
        return text + (" · unsure" if self.unsure else "")


@dataclass(frozen=True)
class SaveOutcome:
    """What a checked write found and left.

    Attributes:
        current: the record now in the store (``None`` after a clear).
        previous: the record it replaced (``None`` when the post had no grade).
        stale: the key changed after the card was drawn (its version was not
            ``drawn_version``): ``previous`` is a value the analyst never saw.
    """

    current: GradeRecord | None
    previous: GradeRecord | None
    stale: bool


_SELECT = """SELECT g.post_id, g.query_id, g.annotator, g.grade, g.unsure, g.note, g.graded_at, g.source,
                    (SELECT MAX(h.seq) FROM grade_history h
                      WHERE h.dataset = g.dataset AND h.query_id = g.query_id
                        AND h.post_id = g.post_id AND h.annotator = g.annotator)
             FROM grades g WHERE g.dataset = ?"""


def _record(row: tuple) -> GradeRecord:
    post_id, query_id, annotator, grade, unsure, note, graded_at, source, version = row
    return GradeRecord(post_id=str(post_id), query_id=str(query_id), annotator=str(annotator),
                       grade=None if grade is None else int(grade), note="" if note is None else str(note),
                       unsure=bool(unsure), graded_at=str(graded_at), source=str(source or ""),
                       version=int(version or 0))


def current_records(store: LabelStore, dataset: str, query: str, *, annotator: str) -> dict[str, GradeRecord]:
    """The annotator's current grades of one query: ``{post_id: GradeRecord}`` (skips included).

    Args:
        store: the label store.
        dataset: dataset hash.
        query: the query text (its ID is :func:`core.labels.store.query_id_for` of it).
        annotator: whose grades.
    """
    rows = store._read(_SELECT + " AND g.query_id = ? AND g.annotator = ?",
                       (dataset, query_id_for(query), annotator))
    return {str(r[0]): _record(r) for r in rows}


def versions(store: LabelStore, dataset: str, query: str, post_ids, *, annotator: str) -> dict[str, int]:
    """The version of each post's grade key (0 for a key never written): ``{post_id: int}``."""
    ids = [str(p) for p in post_ids]
    out = dict.fromkeys(ids, 0)
    qid = query_id_for(query)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for pid, seq in store._read(
            f"""SELECT post_id, MAX(seq) FROM grade_history WHERE dataset = ? AND query_id = ?
                AND annotator = ? AND post_id IN ({marks}) GROUP BY post_id""",
            (dataset, qid, annotator, *chunk),
        ):
            out[str(pid)] = int(seq)
    return out


def _current(con, dataset: str, query_id: str, post_id: str,
             annotator: str) -> tuple[GradeRecord | None, int]:
    """(the key's current record or None, the key's version) inside a transaction."""
    version = con.execute(
        "SELECT MAX(seq) FROM grade_history"
        " WHERE dataset = ? AND query_id = ? AND post_id = ? AND annotator = ?",
        (dataset, query_id, post_id, annotator)).fetchone()[0] or 0
    row = con.execute(_SELECT + " AND g.query_id = ? AND g.post_id = ? AND g.annotator = ?",
                      (dataset, query_id, post_id, annotator)).fetchone()
    return (_record(row) if row else None), int(version)


def save_grade(
    store: LabelStore,
    dataset: str,
    query: str,
    post_id: str,
    grade: int | None,
    *,
    annotator: str,
    drawn_version: int,
    note: str | None = None,
    unsure: bool = False,
    source: str = "ui",
) -> SaveOutcome:
    """Write one grade durably and say whether it replaced a value the card never showed.

    Args:
        store: the label store.
        dataset: dataset hash.
        query: the query text.
        post_id: the post's ID.
        grade: 1-5, or ``None`` to record a skip.
        annotator: who grades.
        drawn_version: the key's version when the card was drawn (0 = no grade then).
        note: optional note (``""``/``None`` = none).
        unsure: the uncertain flag.
        source: recorded with the grade.

    Returns:
        A :class:`SaveOutcome`; ``stale`` is True when the key's version was not
        ``drawn_version`` just before this write.

    Raises:
        core.errors.SieveError: for a grade outside 1-5 or an empty ID/annotator.
        core.labels.store.LabelStoreError: when the store stays locked.
    """
    args = store._checked(dataset, query, post_id, grade, annotator, note or None, unsure, None, None, source)
    qid = query_id_for(query)
    with store._write() as con:
        previous, version = _current(con, dataset, qid, args[2], args[4])
        store._insert_grade(con, *args)
        current, _ = _current(con, dataset, qid, args[2], args[4])
    stale = version != int(drawn_version)
    if stale:
        logger.info("grade of post %s (query %s, %s) changed since its card was drawn (v%d, now v%d)",
                    post_id, qid, annotator, drawn_version, version)
    return SaveOutcome(current=current, previous=previous, stale=stale)


def clear_grade(store: LabelStore, dataset: str, query: str, post_id: str, *, annotator: str,
                drawn_version: int, source: str = "ui") -> SaveOutcome:
    """Remove the annotator's current grade (history keeps it), checked like :func:`save_grade`.

    Returns:
        A :class:`SaveOutcome` with ``current=None``.
    """
    qid = query_id_for(query)
    with store._write() as con:
        previous, version = _current(con, dataset, qid, str(post_id), annotator)
        store._delete_grade(con, dataset, qid, str(post_id), annotator, source)
    return SaveOutcome(current=None, previous=previous, stale=version != int(drawn_version))


def restore(store: LabelStore, dataset: str, query: str, post_id: str, record: GradeRecord | None, *,
            annotator: str, drawn_version: int) -> SaveOutcome:
    """Put ``record`` back as the current grade (``None``: clear), e.g. to undo a stale overwrite.

    ``drawn_version`` is the version the analyst saw (the overwrite's), so a
    further change elsewhere is reported again.
    """
    if record is None:
        return clear_grade(store, dataset, query, post_id, annotator=annotator, drawn_version=drawn_version,
                           source="ui:undo")
    return save_grade(store, dataset, query, post_id, record.grade, annotator=annotator,
                      drawn_version=drawn_version, note=record.note, unsure=record.unsure, source="ui:undo")

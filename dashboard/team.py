"""What the team pages (My queue, Assign, Review) do with the label store.

Thin helpers over :mod:`core.labels.assign` and :mod:`core.labels.review`; the
person acting is always :func:`me` (the signed-in user in team mode).
"""

from __future__ import annotations

import pandas as pd

from core.labels.assign import Assignments
from core.labels.pool import GRADE_SCALE  # noqa: F401 (the team pages' grade buttons)
from core.labels.review import (  # noqa: F401 (the Review page's tables and rules)
    CONSENSUS_RULES,
    annotator_report,
    disagreements,
)
from dashboard import auth, resources, state


def store():
    """The session's label store (shared by the whole team)."""
    return resources.label_store_for(state.settings())


def assignments() -> Assignments:
    """Assignments and adjudications in the session's label store."""
    return Assignments(store())


def me() -> str:
    """Who is acting: the signed-in user in team mode, else the Settings page's annotator name."""
    return auth.annotator_name(state.settings().annotator)


def team_members() -> list[str] | None:
    """Every account's name in team mode (annotators first), or ``None`` in local mode."""
    if not auth.team_mode():
        return None
    users = list(auth.users_file().users().values())
    order = {"annotator": 0, "analyst": 1, "admin": 2}
    return [u.name for u in sorted(users, key=lambda u: (order.get(u.role, 3), u.name))]


def my_queries() -> pd.DataFrame:
    """The queries assigned to :func:`me`: ``dataset, name, query_id, query, assigned``."""
    mine = assignments().assignments(annotator=me())
    if mine.empty:
        return pd.DataFrame(columns=["dataset", "name", "query_id", "query", "assigned"])
    names = dict(zip(*store().datasets()[["dataset", "name"]].T.values, strict=False))
    out = mine.groupby(["dataset", "query_id", "query"], sort=False).size().rename("assigned").reset_index()
    out.insert(1, "name", [names.get(d) or str(d)[:12] for d in out["dataset"]])
    return out


def my_posts(dataset: str, query_id: str) -> pd.DataFrame:
    """:func:`me`'s assigned posts of one query, in queue order, with their own grade only:
    ``post_id, text, grade`` (Int64, <NA> open or skipped), ``status``, ``unsure``, ``note``."""
    posts = assignments().assignments(dataset, query_id=query_id, annotator=me())[["post_id", "text"]]
    g = store().grades(dataset, query_id=query_id, annotator=me())[["post_id", "grade", "unsure", "note"]]
    out = posts.merge(g, on="post_id", how="left", indicator=True).reset_index(drop=True)
    out["status"] = ["open" if m != "both" else ("skipped" if pd.isna(gr) else "graded")
                     for m, gr in zip(out["_merge"], out["grade"], strict=True)]
    out["unsure"] = out["unsure"].fillna(False).astype(bool)
    out["note"] = out["note"].fillna("")
    return out.drop(columns="_merge")


def save_my_grade(dataset: str, query: str, query_id: str, post_id: str, grade: int | None, *,
                  note: str | None = None, unsure: bool = False) -> None:
    """Write :func:`me`'s grade of an assigned post at once (``None`` records a skip)."""
    store().set_grade(dataset, query, str(post_id), grade, annotator=me(), note=note or None, unsure=unsure,
                      query_id=query_id)


def queue_grade_clicked(grade: int | None, dataset: str, query: str, query_id: str, post_id: str,
                        note_key: str, unsure_key: str, pos: int, statuses: tuple[str, ...]) -> None:
    """Callback of a grade or skip button of My queue: save the grade with the note and "unsure"
    typed (widgets ``note_key``, ``unsure_key``) and move to the next open post after ``pos``
    (``statuses``: the queue's post statuses as drawn). A failure is kept in
    :class:`dashboard.state.QueueParams` ``.error`` for the page to raise in its error boundary.

    The page's callbacks live here, not in the page: a function defined in a page script keeps that
    page's whole namespace alive for as long as Streamlit keeps the widget."""
    from dashboard.state import QueueParams

    qs = state.params(QueueParams)
    try:
        save_my_grade(dataset, query, query_id, post_id, grade, note=state.widget(note_key) or None,
                      unsure=bool(state.widget(unsure_key)))
        m = len(statuses)
        nxt = [i for i in list(range(pos + 1, m)) + list(range(pos)) if statuses[i] == "open"]
        qs.positions[(dataset, query_id)] = nxt[0] if nxt else pos
    except Exception as exc:  # noqa: BLE001 - shown by the page's error boundary
        qs.error = exc


def queue_move(dataset: str, query_id: str, to: int, m: int) -> None:
    """Callback of My queue's Previous / Next: show the post at ``to`` (modulo the queue length ``m``)."""
    from dashboard.state import QueueParams

    state.params(QueueParams).positions[(dataset, query_id)] = to % max(1, m)


def post_texts(dataset: str) -> dict[str, str]:
    """Post text by ID for a dataset: from its assignments, and from the loaded dataset if it is this one."""
    out: dict[str, str] = {}
    ds = state.dataset()
    if ds is not None and ds.dataset_hash == dataset:
        out.update(zip(ds.posts["post_id"].astype(str), ds.posts["text"].astype(str), strict=False))
    a = assignments().assignments(dataset)
    out.update(zip(a["post_id"].astype(str), a["text"].astype(str), strict=False))
    return out


def consensus_files(grades: pd.DataFrame, adjudicated: pd.DataFrame | None, *, rule: str,
                    provenance: dict) -> tuple[bytes, bytes]:
    """Qrels from one grade per post (``core.labels.review.consensus_qrels``) as TREC qrels bytes,
    and their provenance (``provenance`` plus the rule's own) as JSON bytes.

    Args:
        grades: the grades of one dataset (``LabelStore.grades``), maybe of one query.
        adjudicated: the adjudicated grades (``Assignments.adjudications``), used by the rule
            ``"adjudicated"``.
        rule: a key of ``core.labels.review.CONSENSUS_RULES``.
        provenance: what to say first in the provenance (dataset, query...).

    Raises:
        core.errors.SieveError: an unknown rule or no grade to build qrels from.
    """
    import json
    import tempfile
    from pathlib import Path

    from core.export.trec import write_qrels
    from core.labels.review import consensus_qrels

    qrels, prov = consensus_qrels(grades, adjudicated if rule == "adjudicated" else None, rule=rule)
    prov = {**provenance, "grades_held": f"one grade per post: {CONSENSUS_RULES[rule]}", **prov,
            "annotators": sorted(grades["annotator"].unique())}
    with tempfile.TemporaryDirectory() as tmp:
        write_qrels(qrels, Path(tmp) / "qrels.txt")
        data = (Path(tmp) / "qrels.txt").read_bytes()
    return data, json.dumps(prov, indent=1).encode("utf-8")

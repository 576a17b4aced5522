"""The Grade page's state and writes (the page itself is ``pages/grade.py``).

Grades never live in session state: each one goes to the label store when it
is given. What the session keeps is where the analyst is (the typed
:class:`dashboard.state.GradeParams`) and, for each card drawn completely, the
version of the post's grade it showed (:mod:`core.labels.records`). Every
write names that version, so a grade that changed elsewhere since the card was
drawn (another tab, another annotator with the same name, an import) is still
replaced, but never silently: a :class:`StaleNotice` shows both values and
offers to put the other one back.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass

import pandas as pd

from core.evaluate.names import evaluation_depth
from core.labels import records
from core.labels.pool import GRADE_SCALE, grading_queue
from core.labels.records import GradeRecord, SaveOutcome
from dashboard import remember, resources, state
from dashboard.state import EvaluateParams, GradeParams
from dashboard.widgets import post_token

logger = logging.getLogger(__name__)

_notice_ids = itertools.count(1)


@dataclass(frozen=True)
class StaleNotice:
    """A write that replaced a grade the analyst's card did not show.

    Attributes:
        id: unique within the process (widget keys).
        dataset: the dataset hash the write went to.
        annotator: whose grade it was (an undo writes this key, whatever the session's name is now).
        query: the query text.
        post_id: the post.
        theirs: the grade that was replaced (``None``: there was none, e.g. cleared elsewhere).
        mine: what this session wrote (``None`` for a clear).
        version: the version after this session's write (an undo is checked against it).
    """

    id: int
    dataset: str
    annotator: str
    query: str
    post_id: str
    theirs: GradeRecord | None
    mine: GradeRecord | None
    version: int

    def message(self) -> str:
        """Plain text naming both values (escape before rendering as Markdown)."""
        if self.theirs is None:
            was = "had no grade (it was cleared elsewhere)"
        else:
            who = f"by {self.theirs.annotator}" + (f" via {self.theirs.source}" if self.theirs.source != "ui"
                                                    else "")
            when = self.theirs.graded_at[:19].replace("T", " ")
            was = f"had been set to {self.theirs.describe(GRADE_SCALE)} {who} at {when} UTC"
        now = "cleared it" if self.mine is None else f"replaced it with {self.mine.describe(GRADE_SCALE)}"
        return (f"Post {self.post_id} (query “{self.query}”) changed elsewhere after this card was shown: "
                f"it {was}. Your action {now}; both are in the history.")


def notices_from_json(items) -> list[StaleNotice]:
    """Notices as written in the tab's session file (``asdict``); malformed ones are dropped."""
    out = []
    for item in items or []:
        try:
            fields = dict(item)
            for side in ("theirs", "mine"):
                fields[side] = GradeRecord(**fields[side]) if fields.get(side) else None
            fields["id"] = next(_notice_ids)
            out.append(StaleNotice(**fields))
        except (TypeError, ValueError, KeyError):
            logger.warning("ignoring a malformed remembered notice: %r", item)
    return out


def grade_state() -> GradeParams:
    """The session's Grade page state."""
    return state.params(GradeParams)


def enter_dataset(dataset_hash: str) -> None:
    """Start the Grade page's cards afresh when another dataset is graded: the drawn versions,
    tokens and position of the last one name posts whose IDs may repeat in this one (drafts are
    kept, under their own dataset)."""
    g = grade_state()
    if g.dataset_for and g.dataset_for != dataset_hash:
        g.drawn.clear()
        g.tokens.clear()
        g.card, g.position, g.position_for = None, 0, None
    g.dataset_for = dataset_hash


def _resume_key(query: str) -> str:
    ds = state.dataset()  # post IDs repeat across datasets: a place belongs to one dataset's query
    return f"{ds.dataset_hash if ds is not None else ''}\x1f{query}"


def switch_query() -> bool:
    """Show ``GradeParams.query`` when the cards were of another query: remember which post the
    old query showed, and start the new one where the analyst left it (see :func:`resume_at`),
    else at its first open post. Returns whether the query changed."""
    g = grade_state()
    if g.position_for == g.query:
        return False
    if g.position_for is not None and g.card is not None and g.card[0] == g.position_for:
        g.resume[_resume_key(g.position_for)] = g.card[1]
    g.position_for, g.position, g.card = g.query, 0, None
    return True


def resume_at(ids: list[str]) -> bool:
    """Move to the post the query showed when it was left (once, right after
    :func:`switch_query`); returns True when it is still in the queue ``ids``."""
    g = grade_state()
    post_id = g.resume.pop(_resume_key(g.query), None) if g.card is None else None
    if post_id is None or post_id not in ids:
        return False
    g.position = ids.index(post_id)
    return True


def _draft_key(token: str) -> str:
    ds = state.dataset()
    return f"{ds.dataset_hash if ds is not None else ''}/{token}"


def keep_draft(token: str) -> None:
    """Callback of the note and "unsure" widgets: remember what was typed on the card ``token``
    until the post is graded (a page switch or a refresh no longer loses it)."""
    g = grade_state()
    g.drafts[_draft_key(token)] = [str(state.widget("grade.note") or ""), bool(state.widget("grade.unsure"))]
    remember.save_session_file()


def drop_draft(token: str) -> None:
    """Forget what was typed on the card ``token`` of this dataset (the card shows the saved grade)."""
    grade_state().drafts.pop(_draft_key(token), None)


def draft_for(token: str, existing: GradeRecord | None) -> tuple[str, bool, bool]:
    """``(note, unsure, unsaved)`` to show on the card ``token``: the draft typed there if any,
    else the saved grade's; ``unsaved`` is True when the draft differs from what is saved."""
    saved = (existing.note, existing.unsure) if existing is not None else ("", False)
    draft = grade_state().drafts.get(_draft_key(token))
    if draft is None:
        return saved[0], saved[1], False
    note, unsure = str(draft[0]), bool(draft[1])
    return note, unsure, (note, unsure) != saved


def follow(query: str) -> None:
    """Open ``query`` on the Grade page next: called when the analyst reranks or compares it.

    Choosing an older query in the Grade page's own box then sticks until the next rerank;
    recomputing rankings after a reload does not call this, so a reopened tab keeps its place.
    """
    g = grade_state()
    if query and query != g.query:
        g.query = query
        state.forget_widgets("grade.query")


def pool_depth() -> int:
    """The depth of the grading pool: the largest k of the Evaluate page's metrics (10 without one)."""
    return evaluation_depth(state.params(EvaluateParams).metrics)


def queue_for(query: str) -> pd.DataFrame:
    """The grading queue of ``query`` over the session's rankings of it, pooled to :func:`pool_depth`
    (:func:`core.labels.pool.grading_queue`: the columns and order are documented there)."""
    return grading_queue(state.rankings_for_query(query), pool_depth=pool_depth())


def _store():
    return resources.label_store_for(state.settings())


def _context() -> tuple[str, str]:
    """(dataset hash, annotator) of the session."""
    return state.dataset().dataset_hash, state.settings().annotator


def current(query: str) -> dict[str, GradeRecord]:
    """The session annotator's current grades of ``query`` on the loaded dataset: ``{post_id: record}``."""
    dataset, annotator = _context()
    return records.current_records(_store(), dataset, query, annotator=annotator)


def version_of(query: str, post_id: str) -> int:
    """The version of the session annotator's grade key for (query, post) (0 = never written)."""
    dataset, annotator = _context()
    return records.versions(_store(), dataset, query, [post_id], annotator=annotator)[str(post_id)]


def _after_write(dataset: str, annotator: str, query: str, post_id: str,
                 outcome: SaveOutcome) -> SaveOutcome:
    """Remember the card's new version; keep a notice when the write replaced an unseen value."""
    g = grade_state()
    token = post_token(query, post_id)
    new_version = (outcome.current.version if outcome.current is not None else
                   records.versions(_store(), dataset, query, [post_id], annotator=annotator)[str(post_id)])
    if (dataset, annotator) == _context() and token in g.drawn:
        g.drawn[token] = new_version
    if outcome.stale:
        g.notices.append(StaleNotice(id=next(_notice_ids), dataset=dataset, annotator=annotator, query=query,
                                     post_id=str(post_id), theirs=outcome.previous, mine=outcome.current,
                                     version=new_version))
        del g.notices[:-20]
    remember.save_session_file()  # notices and position survive a refresh
    return outcome


def save(query: str, post_id: str, grade: int | None, *, drawn_version: int, note: str = "",
         unsure: bool = False) -> SaveOutcome:
    """Write one grade (``None`` = skip) for the card drawn at ``drawn_version``.

    Raises:
        core.errors.SieveError, core.labels.store.LabelStoreError: the grade was not saved.
    """
    ds = state.dataset()
    dataset, annotator = _context()
    store = _store()
    store.add_dataset(dataset, name=ds.name, n_posts=len(ds.posts))
    outcome = records.save_grade(store, dataset, query, str(post_id), grade, annotator=annotator,
                                 drawn_version=drawn_version, note=note, unsure=unsure)
    return _after_write(dataset, annotator, query, post_id, outcome)


def clear(query: str, post_id: str, *, drawn_version: int) -> SaveOutcome:
    """Remove the session annotator's grade of (query, post); the history keeps it."""
    dataset, annotator = _context()
    outcome = records.clear_grade(_store(), dataset, query, str(post_id), annotator=annotator,
                                  drawn_version=drawn_version)
    g = grade_state()
    token = post_token(query, post_id)
    g.notices = [n for n in g.notices if (n.dataset, n.annotator, n.query, n.post_id) !=
                 (dataset, annotator, query, str(post_id))]  # their undo would undo the clear
    drop_draft(token)
    outcome = _after_write(dataset, annotator, query, post_id, outcome)
    g.drawn.pop(token, None)  # the card shows the cleared post: no note, not unsure
    return outcome


def undo(notice_id: int) -> None:
    """Put back the grade a stale write replaced (checked again against the write's version)."""
    g = grade_state()
    notice = next((n for n in g.notices if n.id == notice_id), None)
    if notice is None:
        return
    g.notices.remove(notice)
    outcome = records.restore(_store(), notice.dataset, notice.query, notice.post_id, notice.theirs,
                              annotator=notice.annotator, drawn_version=notice.version)
    _after_write(notice.dataset, notice.annotator, notice.query, notice.post_id, outcome)


def dismiss(notice_id: int) -> None:
    """Keep this session's value: forget the notice."""
    g = grade_state()
    g.notices[:] = [n for n in g.notices if n.id != notice_id]
    remember.save_session_file()


def next_open(ids: list[str], start: int, done: set[str]) -> int:
    """Position of the next post after ``start`` (wrapping) whose ID is not in ``done``, else ``start``."""
    m = len(ids)
    for step in range(1, m + 1):
        i = (start + step) % m
        if ids[i] not in done:
            return i
    return start


def grade_and_advance(query: str, post_id: str, grade: int | None, *, drawn_version: int,
                      ids: list[str]) -> SaveOutcome | None:
    """Save a grade given on a card and move the queue to the next open post after it.

    The note and "unsure" are saved only when they were typed for this post (the
    card on screen); a grade for another post (a late key press) keeps that post's own.
    A skip (``grade=None``) never replaces a grade: on a graded post it only moves on
    (returns ``None``; "Clear my grade" removes a grade).
    """
    g = grade_state()
    before = current(query)  # one read: what was there decides the skip, and the queue's next open post
    kept = before.get(str(post_id))
    if grade is None and kept is not None and not kept.skipped:
        g.infos.append(f"Post {post_id} already has your grade {kept.describe(GRADE_SCALE)}: skip moved on "
                       "without changing it (use “Clear my grade” to remove a grade).")
        outcome = None
    else:
        token = post_token(query, post_id)
        if g.card == (query, post_id):
            note = str(state.widget("grade.note") or "")
            unsure = bool(state.widget("grade.unsure"))
        else:  # a late key press: what was typed on that post earlier, else its saved note
            note, unsure, _ = draft_for(token, kept)
        outcome = save(query, post_id, grade, drawn_version=drawn_version, note=note, unsure=unsure)
        drop_draft(token)  # saved with the grade
        if kept is not None and not kept.skipped and grade is not None and kept.grade != grade:
            # said, not silent: two quick presses meant for two posts both land on the one on screen
            now = outcome.current.describe(GRADE_SCALE) if outcome.current is not None else str(grade)
            g.infos.append(f"Post {post_id}: your grade changed from {kept.describe(GRADE_SCALE)} to {now} "
                           "(the history keeps both).")
    if query == g.query and post_id in ids:
        # the write only ever adds post_id to the graded ones (a skip never replaces a grade)
        done = {pid for pid, r in before.items() if not r.skipped} | {post_id}
        g.position = next_open(ids, ids.index(post_id), done)
    return outcome


def grade_clicked(grade: int | None, post_id: str, query: str, version: int, ids: tuple[str, ...]) -> None:
    """Callback of a grade or skip button on the card drawn at grade ``version`` of (query, post):
    :func:`grade_and_advance`; a failure is kept in ``problems`` for the page to show, naming the post.

    The Grade page's callbacks live here, not in the page: a function defined in a page script keeps
    that page's whole namespace (its dataset) alive for as long as Streamlit keeps the widget."""
    try:
        grade_and_advance(query, post_id, grade, drawn_version=version, ids=list(ids))
    except Exception as exc:  # noqa: BLE001 - shown on the page, naming the post
        label = "skip" if grade is None else grade
        grade_state().problems.append(f"The grade {label} for post {post_id} (query “{query}”) was NOT saved: {exc}")


def clear_clicked(post_id: str, query: str, version: int) -> None:
    """Callback of "Clear my grade" (see :func:`grade_clicked`)."""
    try:
        clear(query, post_id, drawn_version=version)
    except Exception as exc:  # noqa: BLE001
        grade_state().problems.append(f"The grade of post {post_id} (query “{query}”) was NOT cleared: {exc}")


def reload_card(token: str) -> None:
    """Callback of "Show the current grade": the card of ``token`` is drawn again from the store."""
    grade_state().drawn.pop(token, None)
    drop_draft(token)


def move_to(position: int, m: int) -> None:
    """Show the card at ``position`` (modulo the queue length ``m``)."""
    grade_state().position = position % max(1, m)


def remember_position() -> None:
    """Write the session file when the query or position on screen changed since it was last written."""
    g = grade_state()
    if g.saved != (g.query, g.position):
        remember.save_session_file()
        g.saved = (g.query, g.position)


def apply_key_events(events: list[dict], *, ids: list[str]) -> None:
    """Apply the key listener's events, each once, to the post it names.

    ``ids`` is the current query's queue (post IDs in order), to move to the next open post.

    An event is applied only to a post whose card this session drew without
    an error (its token is in ``GradeParams.drawn``): a key pressed while the
    card could not be shown saves nothing, and ``GradeParams.problems`` says why.
    """
    g = grade_state()
    for ev in events:
        if ev["id"] in g.applied:
            continue
        g.applied.append(ev["id"])
        grade = ev.get("grade")
        label = "skip" if grade is None else str(grade)
        token = str(ev.get("token"))
        target = g.tokens.get(token)
        if target is None or (grade is not None and grade not in GRADE_SCALE):
            g.problems.append(f"A key press ({label}) could not be matched to a post of this session, so it "
                              "was not saved. Grade that post again.")
            continue
        query, post_id = target
        if token not in g.drawn:
            g.problems.append(f"The key press {label} for post {post_id} was NOT saved: that post's card "
                              "could not be shown (see the message on the page). Grade it again once it "
                              "shows.")
            continue
        try:
            grade_and_advance(query, post_id, grade, drawn_version=g.drawn[token], ids=ids)
        except Exception as exc:  # noqa: BLE001 - reported on the page, naming the post
            g.problems.append(f"The grade {label} for post {post_id} (query “{query}”) was NOT saved: {exc}")
    del g.applied[:-1000]

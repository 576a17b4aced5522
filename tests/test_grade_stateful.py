"""A stateful test of the Grade page: random sequences of what an analyst does,
checked against a plain model of what the label store must hold and which post
must be on screen.

Hypothesis' ``RuleBasedStateMachine`` drives AppTest (the real page, the real
label store; fake models) with: grade by click and by key, skip, note, unsure,
previous, next, clear, select a queue row, change query, switch page and come
back, and reload the tab (a browser refresh). After every step: no exception
or error on the page, the card on screen is the one the model expects, and the
store equals the model.

Default run: ``SIEVE_STATEFUL_EXAMPLES`` examples (default 12) of up to 14 steps.
Long run: ``SIEVE_STATEFUL_EXAMPLES=2000 pytest -m soak tests/test_grade_stateful.py``.
"""

from __future__ import annotations

import itertools
import os
import uuid

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from streamlit.testing.v1 import AppTest
from test_dashboard import APP, button, fakes, on_screen, sample  # noqa: F401  (fixtures)

from core.labels import records
from core.labels.pool import GRADE_SCALE
from dashboard import state

QUERIES = ("台风", "烟花")
TOP_K = 6
_annotators = itertools.count(1)


def _open_tab(tab_id: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    at.query_params["s"] = tab_id
    at.run()
    return at


def _next_open(ids: list[str], start: int, done: set[str]) -> int:
    for step in range(1, len(ids) + 1):
        i = (start + step) % len(ids)
        if ids[i] not in done:
            return i
    return start


class GradePage(RuleBasedStateMachine):
    """One analyst, one tab, two ranked queries of TOP_K posts each."""

    queues: dict[str, list[str]] = {}
    rankings: dict = {}

    @initialize()
    def open_the_grade_page(self):
        self.annotator = f"hyp-{os.getpid()}-{next(_annotators)}"
        self.tab_id = uuid.uuid4().hex
        self.at = _open_tab(self.tab_id)
        self.at.session_state["sieve.params.AppSettings"].annotator = self.annotator
        if not GradePage.rankings:  # rerank through the page once; later examples reuse the rankings
            for query in QUERIES:
                self.at.switch_page("../pages/rerank.py").run()
                self.at.text_input(key="rerank.query").set_value(query).run()
                self.at.number_input(key="rerank.top_k").set_value(TOP_K).run()
                button(self.at, "Rerank").click().run()
            GradePage.rankings = dict(state.work(self.at.session_state).rankings)
        else:
            state.work(self.at.session_state).rankings = dict(GradePage.rankings)
        self.at.switch_page("../pages/grade.py").run()
        self.at.selectbox(key="grade.query").set_value(QUERIES[0]).run()
        # the model: the store, the query and position on screen, the note/unsure typed for it
        self.store: dict[tuple[str, str], tuple[int | None, str, bool]] = {}
        self.drafts: dict[tuple[str, str], tuple[str, bool]] = {}  # typed on a card, not saved yet
        self.query = QUERIES[0]
        self.position = 0
        self.events = itertools.count(1)
        if not GradePage.queues.get(QUERIES[1]):
            for query in QUERIES:
                self.at.selectbox(key="grade.query").set_value(query).run()
                GradePage.queues[query] = self.at.dataframe[0].value["post_id"].astype(str).tolist()
            self.at.selectbox(key="grade.query").set_value(QUERIES[0]).run()
        self._card_changed()

    # ------------------------------------------------------------------ model helpers

    @property
    def ids(self) -> list[str]:
        return GradePage.queues[self.query]

    @property
    def pid(self) -> str:
        return self.ids[self.position]

    def _done(self) -> set[str]:
        return {p for (q, p), v in self.store.items() if q == self.query and v[0] is not None}

    def _card_changed(self):
        stored = self.store.get((self.query, self.pid))
        self.note, self.unsure = (stored[1], stored[2]) if stored else ("", False)
        self.note, self.unsure = self.drafts.get((self.query, self.pid), (self.note, self.unsure))

    def _graded(self, grade: int | None):
        kept = self.store.get((self.query, self.pid))
        if grade is not None or kept is None or kept[0] is None:  # a skip never replaces a grade
            self.store[(self.query, self.pid)] = (grade, self.note, self.unsure)
            self.drafts.pop((self.query, self.pid), None)
        self.position = _next_open(self.ids, self.position, self._done() | {self.pid})
        self._card_changed()

    # ------------------------------------------------------------------ rules

    @rule(grade=st.sampled_from(sorted(GRADE_SCALE)))
    def grade_by_click(self, grade):
        found = [b for b in self.at.button if (b.key or "").startswith("grade.btn.")
                 and b.key.endswith(f".{grade}")]
        found[0].click().run()
        self._graded(grade)

    @rule(grade=st.sampled_from([*sorted(GRADE_SCALE), None]))
    def grade_by_key(self, grade):
        from dashboard.widgets import post_token

        event = {"id": f"e{next(self.events)}", "token": post_token(self.query, self.pid), "grade": grade}
        self.at.session_state["grade.keys"] = {"events": [event]}
        self.at.run()
        self._graded(grade)

    @rule()
    def skip_by_click(self):
        button(self.at, "Skip (no grade)").click().run()
        self._graded(None)

    @rule(note=st.sampled_from(["", "eyewitness", "看不清 :smile:", "=1+1", "**bold**"]))
    def type_a_note(self, note):
        changed = note != self.at.text_input(key="grade.note").value
        self.at.text_input(key="grade.note").set_value(note).run()
        self.note = note
        if changed:  # the widget's callback runs only on a change
            self.drafts[(self.query, self.pid)] = (self.note, self.unsure)

    @rule()
    def toggle_unsure(self):
        self.at.checkbox(key="grade.unsure").set_value(not self.unsure).run()
        self.unsure = not self.unsure
        self.drafts[(self.query, self.pid)] = (self.note, self.unsure)

    @rule()
    def previous(self):
        button(self.at, "Previous").click().run()
        self.position = (self.position - 1) % len(self.ids)
        self._card_changed()

    @rule()
    def next(self):
        button(self.at, "Next").click().run()
        self.position = (self.position + 1) % len(self.ids)
        self._card_changed()

    @precondition(lambda self: (self.query, self.pid) in self.store)
    @rule()
    def clear(self):
        button(self.at, "Clear my grade").click().run()
        del self.store[(self.query, self.pid)]
        self.drafts.pop((self.query, self.pid), None)  # the card shows the cleared post
        self.note, self.unsure = "", False

    @rule(row=st.integers(0, TOP_K - 1))
    def select_a_queue_row(self, row):
        row = row % len(self.ids)
        table = f"grade.queue.{self.at.session_state['sieve.params.GradeParams'].picks}"
        self.at.session_state[table] = {"selection": {"rows": [row], "columns": []}}
        self.at.run()
        if row != self.position:  # picking the post on screen keeps what was typed for it
            self.position = row
            self._card_changed()

    @rule()
    def change_query(self):
        self.query = QUERIES[1] if self.query == QUERIES[0] else QUERIES[0]
        self.at.selectbox(key="grade.query").set_value(self.query).run()
        self.position = 0 if self.ids[0] not in self._done() else _next_open(self.ids, 0, self._done())
        self._card_changed()

    @rule()
    def switch_page_and_come_back(self):
        self.at.switch_page("../pages/rerank.py").run()
        self.at.switch_page("../pages/grade.py").run()
        self._card_changed()  # unsaved typing comes back (kept as a draft until the post is graded)

    @rule()
    def reload_the_tab(self):
        self.at = _open_tab(self.tab_id)
        self.at.switch_page("../pages/grade.py").run()
        button(self.at, "Recompute the rankings from before the page was reloaded").click().run()
        self._card_changed()

    # ------------------------------------------------------------------ invariants

    @invariant()
    def page_is_healthy_and_shows_the_expected_post(self):
        assert not self.at.exception, [e.value for e in self.at.exception]
        assert not self.at.error, [e.value for e in self.at.error]
        assert on_screen(self.at) == (self.query, self.pid)
        assert self.at.text_input(key="grade.note").value == self.note
        assert self.at.checkbox(key="grade.unsure").value == self.unsure

    @invariant()
    def store_equals_the_model(self):
        from dashboard import resources

        ds = state.dataset(self.at.session_state)
        store = resources.label_store_for(self.at.session_state["sieve.params.AppSettings"])
        got = {}
        for query in QUERIES:
            for pid, r in records.current_records(store, ds.dataset_hash, query, annotator=self.annotator).items():
                got[(query, pid)] = (r.grade, r.note, r.unsure)
        assert got == self.store


def _run(examples: int) -> None:
    GradePage.queues, GradePage.rankings = {}, {}
    GradePage.TestCase.settings = settings(
        max_examples=examples, stateful_step_count=14, deadline=None, derandomize=examples <= 50,
        suppress_health_check=list(HealthCheck), database=None,
        phases=[Phase.explicit, Phase.generate] if os.environ.get("SIEVE_STATEFUL_NO_SHRINK") else list(Phase),
    )
    GradePage.TestCase().runTest()


def test_grade_page_state_machine(sample):
    _run(int(os.environ.get("SIEVE_STATEFUL_EXAMPLES", "12")))


@pytest.mark.soak
@pytest.mark.timeout(0)  # thousands of examples take longer than the suite's per-test limit
def test_grade_page_state_machine_long(sample):
    if "SIEVE_STATEFUL_EXAMPLES" not in os.environ:
        pytest.skip("set SIEVE_STATEFUL_EXAMPLES (e.g. 2000) for the long run")
    _run(int(os.environ["SIEVE_STATEFUL_EXAMPLES"]))

"""The Grade page under the orders of actions analysts really take: going back to a
graded post, two tabs on one query, a card that failed to draw, a refresh per tab,
and an import that replaces grades. The models are the fakes of test_dashboard."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest
from test_dashboard import (  # noqa: F401  (fixtures)
    APP,
    _key_events,
    button,
    fakes,
    grade_button,
    ok,
    on_screen,
    progress_texts,
    rerank,
    sample,
    start,
)

from core.labels import records
from core.labels.store import LabelStore, query_id_for
from dashboard import state


def _store(at: AppTest) -> LabelStore:
    from dashboard import resources

    return resources.label_store_for(at.session_state["sieve.params.AppSettings"])


def _grades(at: AppTest, query: str) -> dict[str, int | None]:
    ds = state.dataset(at.session_state)
    got = records.current_records(_store(at), ds.dataset_hash, query, annotator="analyst")
    return {pid: r.grade for pid, r in got.items()}


def tab(tab_id: str | None = None, page: str | None = None) -> AppTest:
    """A browser tab; with ``tab_id`` its URL carries that ID (a refresh of that tab)."""
    at = AppTest.from_file(APP, default_timeout=300)
    if tab_id is not None:
        at.query_params["s"] = tab_id
    at.run()
    if page:
        at.switch_page(f"../pages/{page}").run()
    return at


def two_tabs_on_one_post(id_a: str, id_b: str) -> tuple[AppTest, AppTest, str]:
    """Two tabs that reranked 台风 and opened the Grade page; the post both show first."""
    a = rerank(tab(id_a * 32), "台风", "relevance")
    b = rerank(tab(id_b * 32), "台风", "relevance")
    a.switch_page("../pages/grade.py").run()
    b.switch_page("../pages/grade.py").run()
    post = on_screen(a)[1]
    assert on_screen(b)[1] == post
    return a, b, post


def walk_to(at: AppTest, post_id: str, steps: int = 4) -> None:
    """Press Next until ``post_id`` is on screen (at most ``steps`` times)."""
    for _ in range(steps):
        if on_screen(at)[1] == post_id:
            return
        button(at, "Next").click().run()


# --------------------------------------------------------------------------- records


def test_grade_records_are_typed_with_no_nan(tmp_path):
    """Root of the crash: a missing note came back as NaN under pandas 3."""
    store = LabelStore(tmp_path / "labels.sqlite")
    store.set_grade("d", "typhoon", "p1", 2, annotator="ana", note="eyewitness")
    store.set_grade("d", "typhoon", "p2", 4, annotator="ana")
    store.set_grade("d", "typhoon", "p3", None, annotator="ana", unsure=True)
    got = records.current_records(store, "d", "typhoon", annotator="ana")
    assert got["p1"].note == "eyewitness" and got["p2"].note == "" and isinstance(got["p2"].note, str)
    assert (got["p1"].grade, got["p2"].grade, got["p3"].grade) == (2, 4, None)
    assert got["p3"].unsure is True and got["p2"].unsure is False and got["p3"].skipped
    assert got["p2"].version > got["p1"].version > 0
    assert records.versions(store, "d", "typhoon", ["p1", "zz"], annotator="ana") == {
        "p1": got["p1"].version, "zz": 0}


def test_a_checked_save_reports_a_value_changed_since_the_card_was_drawn(tmp_path):
    store = LabelStore(tmp_path / "labels.sqlite")
    first = records.save_grade(store, "d", "q", "p", 4, annotator="ana", drawn_version=0)
    assert not first.stale and first.previous is None and first.current.grade == 4
    # another tab writes 2 over the 4 it saw: not stale
    other = records.save_grade(store, "d", "q", "p", 2, annotator="ana", drawn_version=first.current.version)
    assert not other.stale
    # this tab still shows the card drawn at the first version: its 5 is saved, and stale
    mine = records.save_grade(store, "d", "q", "p", 5, annotator="ana", drawn_version=first.current.version)
    assert mine.stale and mine.previous.grade == 2 and mine.current.grade == 5
    undo = records.restore(store, "d", "q", "p", mine.previous, annotator="ana",
                           drawn_version=mine.current.version)
    assert not undo.stale and undo.current.grade == 2
    assert store.history("d", query_id_for("q"), "p")["grade"].tolist() == [4, 2, 5, 2]
    cleared = records.clear_grade(store, "d", "q", "p", annotator="ana", drawn_version=first.current.version)
    assert cleared.stale and cleared.previous.grade == 2 and cleared.current is None
    assert records.current_records(store, "d", "q", annotator="ana") == {}


# --------------------------------------------------------------------------- going back


def test_going_back_to_a_graded_post_shows_it_and_grades_it_again(sample):
    """The reproduction: grade a post with a note, the next without one, press P."""
    at = rerank(start(), "台风", "relevance")
    at.switch_page("../pages/grade.py").run()
    first = on_screen(at)[1]
    at.text_input(key="grade.note").set_value("eyewitness").run()
    grade_button(at, 2).click().run()
    second = on_screen(at)[1]
    assert second != first
    grade_button(at, 4).click().run()
    ok(at)
    button(at, "Previous").click().run()  # back to the post graded without a note
    ok(at)
    assert on_screen(at)[1] == second
    assert at.text_input(key="grade.note").value == ""
    assert any("Your grade: 4" in c.value for c in at.caption)
    assert {b.label for b in at.button} >= {"Previous", "Next"}
    button(at, "Previous").click().run()  # and to the one with a note
    ok(at)
    assert on_screen(at)[1] == first and at.text_input(key="grade.note").value == "eyewitness"
    _key_events(at, ("k-1", first, 5))  # a key on the post on screen regrades it, note kept
    ok(at)
    ds = state.dataset(at.session_state)
    got = records.current_records(_store(at), ds.dataset_hash, "台风", annotator="analyst")
    assert (got[first].grade, got[first].note, got[second].grade, got[second].note) == (5, "eyewitness", 4, "")
    # selecting the second post's row in the queue shows it
    queue = at.dataframe[0].value
    row = queue.index[queue["post_id"] == second][0]
    table = f"grade.queue.{at.session_state['sieve.params.GradeParams'].picks}"
    at.session_state[table] = {"selection": {"rows": [int(row)], "columns": []}}
    at.run()
    ok(at)
    assert on_screen(at)[1] == second
    assert "2 of" in progress_texts(at)


# --------------------------------------------------------------------------- two tabs


def test_a_grade_changed_in_another_tab_is_saved_reported_and_can_be_undone(sample):
    a, b, post = two_tabs_on_one_post("a", "b")
    grade_button(b, 4).click().run()
    grade_button(a, 1).click().run()  # tab A still shows the card without B's 4
    ok(a)
    assert _grades(a, "台风")[post] == 1, "the later grade is saved"
    warning = " ".join(w.value for w in a.warning).replace("\\", "")
    assert post in warning and "4 (highly relevant)" in warning and "1 (not relevant)" in warning
    button(a, "Undo: put back 4 (highly relevant)").click().run()
    ok(a)
    assert _grades(a, "台风")[post] == 4
    assert not [w for w in a.warning if post in w.value], "the notice is gone after the undo"
    ds = state.dataset(a.session_state)
    history = _store(a).history(ds.dataset_hash, query_id_for("台风"), post)
    assert history["grade"].tolist() == [4, 1, 4]
    # B grades again over A's undo-write it has not seen: B is told, keeps its value
    b.switch_page("../pages/grade.py").run()
    assert on_screen(b)[1] != post
    _key_events(b, ("kb-1", post, 3))  # a late key press for the card B drew before
    assert _grades(b, "台风")[post] == 3
    assert any(post in w.value for w in b.warning)
    button(b, "Keep mine").click().run()
    assert not [w for w in b.warning if post in w.value] and _grades(b, "台风")[post] == 3


def test_grading_the_same_post_twice_in_one_tab_is_not_called_a_conflict(sample):
    at = rerank(start(), "台风", "relevance")
    at.switch_page("../pages/grade.py").run()
    post = on_screen(at)[1]
    _key_events(at, ("k-1", post, 3), ("k-2", post, 5))  # two fast presses on one card
    ok(at)
    assert _grades(at, "台风")[post] == 5 and not at.warning


# --------------------------------------------------------------------------- a card that did not draw


def test_a_key_press_while_the_card_cannot_be_shown_is_saved_nowhere(sample, monkeypatch):
    from dashboard import widgets

    at = rerank(start(), "台风", "relevance")
    at.switch_page("../pages/grade.py").run()
    post = on_screen(at)[1]

    def broken(*args, **kwargs):
        raise TypeError("bad argument type for built-in operation")

    monkeypatch.setattr(widgets, "post_text", broken)
    at.run()
    assert any("could not finish" in e.value for e in at.error), [e.value for e in at.error]
    _key_events(at, ("k-1", post, 5))
    assert post not in _grades(at, "台风"), "nothing saved while the card is broken"
    assert any("NOT saved" in e.value and post in e.value for e in at.error)
    monkeypatch.undo()
    at.run()
    ok(at)
    _key_events(at, ("k-2", post, 2))
    assert _grades(at, "台风")[post] == 2


# --------------------------------------------------------------------------- a refresh per tab


def test_each_tab_reopens_its_own_dataset_and_position_after_a_refresh(sample):
    a = rerank(tab("a" * 32), "台风", "relevance")
    a.switch_page("../pages/grade.py").run()
    button(a, "Next").click().run()
    button(a, "Next").click().run()
    at_card = on_screen(a)
    b = tab("b" * 32)
    b.selectbox(key="data.sample").set_value("x_sample.csv").run()
    ok(b)
    assert state.dataset(b.session_state).path.endswith("x_sample.csv")
    new = tab()  # a new tab: the last dataset this analyst used (tab B's load)
    assert state.dataset(new.session_state).path.endswith("x_sample.csv")
    assert len(new.query_params["s"]) == 32 and new.query_params["s"] not in ("a" * 32, "b" * 32)

    a2 = tab("a" * 32, "grade.py")  # refresh of tab A
    ok(a2)
    assert state.dataset(a2.session_state).path.endswith("weibo_sample.csv")
    button(a2, "Recompute the rankings from before the page was reloaded").click().run()
    ok(a2)
    assert on_screen(a2) == at_card, "the refreshed tab shows the post it showed before"
    assert state.dataset(tab("b" * 32).session_state).path.endswith("x_sample.csv")


def test_a_malformed_tab_id_in_the_url_is_replaced(sample):
    at = tab("../../etc/passwd")
    ok(at)
    assert at.query_params["s"] != "../../etc/passwd" and len(at.query_params["s"]) == 32


# --------------------------------------------------------------------------- the command line import


def test_an_import_that_replaces_grades_says_so_and_can_be_undone(tmp_path):
    store_path = tmp_path / "labels.sqlite"
    store = LabelStore(store_path)
    store.set_grade("d", "typhoon", "p1", 4, annotator="ana", note="seen")
    store.set_grade("d", "typhoon", "p2", 2, annotator="ana")
    rows = [{"dataset": "d", "query": "typhoon", "query_id": query_id_for("typhoon"), "post_id": pid,
             "annotator": "ana", "grade": g, "unsure": False, "note": None, "graded_at": None}
            for pid, g in (("p1", 1), ("p2", 2), ("p3", 5))]
    src = tmp_path / "grades.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    cmd = [sys.executable, "-m", "core", "import", str(src), "--store", str(store_path)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "1 imported grade(s) replaced a different grade" in done.stderr and "post p1" in done.stderr
    assert "4 -> 1" in done.stderr
    undo_file = done.stderr.split("saved in ")[1].split(";")[0]
    now = records.current_records(LabelStore(store_path), "d", "typhoon", annotator="ana")
    assert {k: r.grade for k, r in now.items()} == {"p1": 1, "p2": 2, "p3": 5}
    back = subprocess.run([sys.executable, "-m", "core", "import", undo_file, "--store", str(store_path)],
                          capture_output=True, text=True, timeout=120)
    assert back.returncode == 0, back.stderr
    now = records.current_records(LabelStore(store_path), "d", "typhoon", annotator="ana")
    assert (now["p1"].grade, now["p1"].note, now["p3"].grade) == (4, "seen", 5)


@pytest.mark.parametrize("note", [None, "", "x"])
def test_notes_round_trip_through_the_store_as_strings(tmp_path, note):
    store = LabelStore(tmp_path / "labels.sqlite")
    store.set_grade("d", "q", "p", 3, annotator="a", note=note)
    rec = records.current_records(store, "d", "q", annotator="a")["p"]
    assert rec.note == (note or "") and not pd.isna(rec.note)


# --------------------------------------------------------------------------- found by a newcomer trying to break it


def test_a_grade_changed_elsewhere_while_the_card_is_open_is_shown_on_it_and_reported(sample):
    """Another write lands while the card is open and the page reruns (ticking "unsure"):
    the card says so at once; grading then replaces it with a notice and an undo."""
    at = rerank(start(), "台风", "relevance")
    at.switch_page("../pages/grade.py").run()
    post = on_screen(at)[1]
    ds = state.dataset(at.session_state)
    _store(at).set_grade(ds.dataset_hash, "台风", post, 5, annotator="analyst", note="colleague's note",
                         source="import:x.jsonl")
    at.checkbox(key="grade.unsure").check().run()
    card = " ".join(w.value for w in at.warning).replace("\\", "")
    assert "changed elsewhere while this card was open" in card and "colleague's note" in card
    grade_button(at, 2).click().run()
    ok(at)
    notice = " ".join(w.value for w in at.warning).replace("\\", "")
    assert "5 (perfectly relevant)" in notice and "2 (marginally relevant)" in notice
    button(at, "Undo: put back 5 (perfectly relevant)").click().run()
    got = records.current_records(_store(at), ds.dataset_hash, "台风", annotator="analyst")[post]
    assert (got.grade, got.note) == (5, "colleague's note")


def test_undo_writes_the_key_it_replaced_even_after_the_name_or_dataset_changed(sample):
    a, b, post = two_tabs_on_one_post("c", "d")
    grade_button(b, 4).click().run()
    grade_button(a, 1).click().run()
    a.session_state["sieve.params.AppSettings"].annotator = "carol"  # renamed in Settings meanwhile
    a.run()
    button(a, "Undo: put back 4 (highly relevant)").click().run()
    ok(a)
    ds = state.dataset(a.session_state)
    store = _store(a)
    assert records.current_records(store, ds.dataset_hash, "台风", annotator="analyst")[post].grade == 4
    assert records.current_records(store, ds.dataset_hash, "台风", annotator="carol") == {}


def test_skip_on_a_graded_post_moves_on_and_keeps_the_grade(sample):
    at = rerank(start(), "台风", "relevance")
    at.switch_page("../pages/grade.py").run()
    post = on_screen(at)[1]
    grade_button(at, 2).click().run()
    button(at, "Previous").click().run()
    assert on_screen(at)[1] == post
    _key_events(at, ("k-1", post, None))  # S, meaning "skip past this one"
    ok(at)
    assert _grades(at, "台风")[post] == 2 and on_screen(at)[1] != post
    assert any("skip moved on without changing it" in i.value for i in at.info)


def test_an_unanswered_notice_survives_a_refresh(sample):
    a, b, post = two_tabs_on_one_post("e", "f")
    grade_button(b, 3).click().run()
    grade_button(a, 1).click().run()
    a2 = tab("e" * 32, "grade.py")
    button(a2, "Recompute the rankings from before the page was reloaded").click().run()
    ok(a2)
    button(a2, "Undo: put back 3 (relevant)").click().run()
    assert _grades(a2, "台风")[post] == 3


def test_the_grade_page_follows_the_newest_rerank_and_keeps_a_query_chosen_there(sample):
    """Rerank a query, grade; rerank another: Grade opens the new one at its first open post.
    A query chosen on the Grade page itself stays through page switches."""
    at = rerank(start(), "台风", "relevance")
    at.switch_page("../pages/grade.py").run()
    ok(at)
    assert on_screen(at)[0] == "台风"
    grade_button(at, 4).click().run()
    rerank(at, "暴雨", "relevance")
    at.switch_page("../pages/grade.py").run()
    ok(at)
    assert at.selectbox(key="grade.query").value == "暴雨"
    new_queue = at.dataframe[0].value["post_id"].astype(str).tolist()
    assert on_screen(at) == ("暴雨", new_queue[0])
    at.selectbox(key="grade.query").set_value("台风").run()
    at.switch_page("../pages/data.py").run()
    at.switch_page("../pages/grade.py").run()
    ok(at)
    assert at.selectbox(key="grade.query").value == "台风"
    assert _grades(at, "台风") and 4 in _grades(at, "台风").values()


def test_choosing_a_query_again_returns_to_the_post_it_was_left_on(sample):
    """Walk three posts into one query's queue, look at another query, come back: the same
    post is on screen, not the first open one (and the other query also keeps its place), also
    after a refresh of the tab and after another dataset was graded meanwhile."""
    at = rerank(tab("c" * 32), "台风", "relevance")
    rerank(at, "暴雨", "relevance")
    at.switch_page("../pages/grade.py").run()
    at.selectbox(key="grade.query").set_value("台风").run()
    ok(at)
    first = on_screen(at)
    for _ in range(3):
        button(at, "Next").click().run()
    left_on = on_screen(at)
    assert left_on[0] == "台风" and left_on != first
    at.selectbox(key="grade.query").set_value("暴雨").run()
    button(at, "Next").click().run()
    other = on_screen(at)
    assert other[0] == "暴雨"
    at.selectbox(key="grade.query").set_value("台风").run()
    ok(at)
    assert on_screen(at) == left_on
    at.selectbox(key="grade.query").set_value("暴雨").run()
    assert on_screen(at) == other

    again = tab("c" * 32, "grade.py")  # a refresh of the tab
    button(again, "Recompute the rankings from before the page was reloaded").click().run()
    assert on_screen(again) == other
    again.switch_page("../pages/data.py").run()
    again.selectbox(key="data.sample").set_value("x_sample.csv").run()
    rerank(again, "flood", "relevance")
    again.switch_page("../pages/grade.py").run()
    grade_button(again, 3).click().run()
    again.switch_page("../pages/data.py").run()
    again.selectbox(key="data.sample").set_value("weibo_sample.csv").run()
    again.switch_page("../pages/rerank.py").run()
    button(again, "Recompute earlier rankings").click().run()
    again.switch_page("../pages/grade.py").run()
    ok(again)
    again.selectbox(key="grade.query").set_value("台风").run()
    assert on_screen(again) == left_on


def test_a_note_typed_without_grading_survives_a_page_switch_and_a_refresh(sample):
    """Type a note and tick "unsure", switch page, come back, refresh: still there and marked
    unsaved; grading then saves them with the grade."""
    at = rerank(tab("9" * 32), "台风", "relevance")
    at.switch_page("../pages/grade.py").run()
    ok(at)
    query, pid = on_screen(at)
    at.text_input(key="grade.note").set_value("eyewitness photo").run()
    at.checkbox(key="grade.unsure").set_value(True).run()
    at.switch_page("../pages/data.py").run()
    at.switch_page("../pages/grade.py").run()
    ok(at)
    assert on_screen(at) == (query, pid)
    assert at.text_input(key="grade.note").value == "eyewitness photo"
    assert at.checkbox(key="grade.unsure").value is True
    assert any("not saved yet" in c.value for c in at.caption)
    again = tab("9" * 32, "grade.py")  # a refresh of the same tab
    button(again, "Recompute the rankings from before the page was reloaded").click().run()
    ok(again)
    assert on_screen(again) == (query, pid)
    assert again.text_input(key="grade.note").value == "eyewitness photo"
    grade_button(again, 3).click().run()
    ok(again)
    got = records.current_records(_store(again), state.dataset(again.session_state).dataset_hash, query,
                                  annotator="analyst")[pid]
    assert (got.grade, got.note, got.unsure) == (3, "eyewitness photo", True)
    assert not again.session_state["sieve.params.GradeParams"].drafts


def _upload(at: AppTest, name: str, text: str) -> None:
    at.switch_page("../pages/data.py").run()
    at.segmented_control(key="data.source").set_value("upload").run()
    at.file_uploader(key="data.upload").upload(name, text.encode(), "text/csv").run()
    ok(at)


def test_a_draft_and_the_card_belong_to_their_dataset_when_post_ids_repeat(sample):
    """Breaker's finding: two exports with ids 1-4; a note typed (not graded) on post 2 of X showed on
    post 2 of Y and was saved there. Each dataset keeps its own drafts and cards."""
    x = ("id,text\n1,typhoon relief in Manila\n2,typhoon donations needed\n3,flood water rising\n"
         "4,typhoon shelter\n")
    y = ("id,text\n1,typhoon hits Taiwan coast\n2,earthquake news today\n3,typhoon warning issued\n"
         "4,nice day\n")
    at = start()
    _upload(at, "X.csv", x)
    rerank(at, "typhoon", "relevance")
    at.switch_page("../pages/grade.py").run()
    _, pid = on_screen(at)
    at.text_input(key="grade.note").set_value("NOTE-FOR-X").run()
    _upload(at, "Y.csv", y)
    rerank(at, "typhoon", "relevance")
    at.switch_page("../pages/grade.py").run()
    ok(at)
    walk_to(at, pid)  # Y's post with the id of X's draft
    assert on_screen(at)[1] == pid and at.text_input(key="grade.note").value == ""
    grade_button(at, 1).click().run()
    ok(at)
    y_hash = state.dataset(at.session_state).dataset_hash
    saved = records.current_records(_store(at), y_hash, "typhoon", annotator="analyst")[pid]
    assert (saved.grade, saved.note) == (1, "")
    _upload(at, "X.csv", x)  # back to X: its draft is still there on its post
    rerank(at, "typhoon", "relevance")
    at.switch_page("../pages/grade.py").run()
    walk_to(at, pid)
    assert at.text_input(key="grade.note").value == "NOTE-FOR-X"


def test_clear_removes_the_notice_whose_undo_would_undo_it_and_empties_the_card(sample):
    a, b, _ = two_tabs_on_one_post("1", "2")
    grade_button(b, 2).click().run()
    a.text_input(key="grade.note").set_value("mine").run()
    grade_button(a, 5).click().run()  # replaces b's 2: a notice with an undo
    assert any(btn.label.startswith("Undo") for btn in a.button)
    button(a, "Previous").click().run()
    button(a, "Clear my grade").click().run()
    ok(a)
    assert not any(btn.label.startswith("Undo") for btn in a.button)
    assert a.text_input(key="grade.note").value == ""


def test_a_refresh_whose_upload_is_gone_says_so_beside_the_sample(sample):
    """Newcomer's finding: with the kept upload deleted from the data folder, a refresh silently opened
    the bundled sample in its place; the sidebar now says which dataset could not be reopened."""
    from pathlib import Path

    a = tab("c" * 32)
    _upload(a, "kept.csv", "id,text\n1,typhoon relief in Manila\n2,flood water rising in the city\n")
    assert state.dataset(a.session_state).name == "kept.csv"
    assert not [w for w in a.sidebar.warning if "could not be reopened" in w.value]
    Path(state.dataset(a.session_state).path).unlink()
    again = tab("c" * 32)  # the refresh of that tab
    ok(again)
    assert state.dataset(again.session_state).source == "sample"
    said = [w.value.replace("\\", "") for w in again.sidebar.warning if "could not be reopened" in w.value]
    assert len(said) == 1 and "kept.csv" in said[0] and "is gone" in said[0]
    _upload(again, "other.csv", "id,text\n1,earthquake news today\n")  # a dataset chosen: the notice goes
    assert not [w for w in again.sidebar.warning if "could not be reopened" in w.value]


def test_two_quick_key_presses_on_one_post_say_the_second_replaced_the_first(sample):
    """A newcomer pressed 2 then 3 within 7 ms: both keys named the post on screen, so 3
    replaced 2 and the next post got nothing, silently. The page now says so (and going
    back to a post to change its grade gets the same confirmation); the same grade again,
    a first grade, and a skip say nothing."""
    at = rerank(start(), "台风", "relevance")
    at.switch_page("../pages/grade.py").run()
    post = on_screen(at)[1]
    _key_events(at, ("q-1", post, 2), ("q-2", post, 3))
    ok(at)
    assert _grades(at, "台风")[post] == 3
    said = [i.value.replace("\\", "") for i in at.info if "your grade changed" in i.value]  # shown escaped
    assert len(said) == 1 and f"Post {post}: your grade changed from 2 (" in said[0] and ") to 3 (" in said[0], said
    nxt = on_screen(at)[1]
    assert nxt != post
    _key_events(at, ("q-3", nxt, 4))
    assert not [i for i in at.info if "your grade changed" in i.value]  # a first grade: nothing to say
    _key_events(at, ("q-4", nxt, 4))
    assert not [i for i in at.info if "your grade changed" in i.value]  # the same grade again
    assert _grades(at, "台风")[nxt] == 4

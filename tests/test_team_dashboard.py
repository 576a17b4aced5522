"""Team mode in the dashboard (AppTest): sign-in, roles, allowed folders, assignments
with overlap, blind queues, review of disagreements.

The browser-level versions (a real server, headless Chromium) are in
``tests/test_browser_team.py``.
"""

from __future__ import annotations

import os

import pytest
from streamlit.testing.v1 import AppTest
from test_dashboard import APP, button, fakes, load_path, ok, rerank, sample, start  # noqa: F401 - fixtures

from core.labels.store import query_id_for
from core.security import UserFile
from dashboard import state

PASSWORD = {"lead": "lead-pass-1", "ana": "ana-pass-1", "bo": "bo-pass-1", "admin": "admin-pass-1"}
ROLE = {"lead": "analyst", "ana": "annotator", "bo": "annotator", "admin": "admin"}


@pytest.fixture
def team(sample, monkeypatch):  # noqa: F811 - the fixture imported above
    """Team mode with four accounts in the test's data folder."""
    monkeypatch.setenv("SIEVE_SERVE", "team")
    uf = UserFile(os.path.join(os.environ["SIEVE_DATA_DIR"], "users.json"))
    for name, pw in PASSWORD.items():
        uf.add(name, pw, role=ROLE[name])
    return uf


def sign_in(name: str, password: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    at.text_input(key="auth.name").set_value(name)
    at.text_input(key="auth.password").set_value(password or PASSWORD[name])
    button(at, "Sign in").click().run()
    return at



def test_an_unsigned_visitor_sees_only_the_sign_in(team):
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in"]
    assert state.dataset(at.session_state) is None, "nothing is loaded before signing in"
    with pytest.raises(ValueError, match=r"Known pages: \['Sign in'\]"):
        at.switch_page("../pages/data.py")  # no other page is registered before signing in


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(team):
    at = sign_in("ana", "not-her-password")
    assert [t.value for t in at.title] == ["Sign in"]
    assert "The user name or the password is wrong." in at.error[0].value.replace("\\", "")
    at2 = sign_in("nobody", "whatever-123")
    assert "The user name or the password is wrong." in at2.error[0].value.replace("\\", "")


def test_without_accounts_team_mode_says_how_to_create_one(sample, monkeypatch):  # noqa: F811
    monkeypatch.setenv("SIEVE_SERVE", "team")
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    assert [t.value for t in at.title] == ["Sign in"]
    assert "python -m core users add" in at.warning[0].value


def test_the_annotator_sees_only_their_queue_and_every_other_page_refuses(team):
    at = sign_in("ana")
    ok(at)
    assert [t.value for t in at.title] == ["My queue"]
    assert "Nothing is assigned to you (ana) yet" in at.info[0].value.replace("\\", "")
    assert state.dataset(at.session_state) is None, "no dataset is opened for an annotator"
    for page in ("data.py", "settings.py", "rerank.py", "grade.py", "assign.py", "review.py", "evaluate.py"):
        with pytest.raises(ValueError, match=r"Known pages: \['[^',]*/pages/queue.py'\]"):
            at.switch_page(f"../pages/{page}")  # not in the annotator's navigation
    assert at.session_state["sieve.params.AppSettings"].annotator == "ana"
    assert at.session_state["sieve.user_name"] == "ana", "the remembered tab sessions are filed under ana"


def test_a_page_checks_the_role_itself(team):
    """Run each page script without the navigation in an annotator's session: it refuses."""
    for page in ("data.py", "settings.py", "rerank.py", "grade.py", "assign.py", "review.py", "evaluate.py"):
        at = AppTest.from_function(_page_as_annotator, args=(page,), default_timeout=60)
        at.run()
        assert not at.exception, page
        assert any("may not use this page" in e.value for e in at.error), page
        assert [t.value for t in at.title] == [], f"{page} drew nothing"


def _page_as_annotator(page: str):
    import runpy

    import streamlit as st

    from core.security import User
    from dashboard.widgets import PAGES_DIR, EndPage

    st.session_state["sieve.user"] = User("ana", "annotator")
    try:
        runpy.run_path(str(PAGES_DIR / page))
    except EndPage:
        pass


def test_the_analyst_cannot_read_server_files_change_settings_or_edit_modes(team):
    at = sign_in("lead")
    ok(at)
    assert [t.value for t in at.title] == ["Data"]
    assert "path" not in at.segmented_control(key="data.source").options
    with pytest.raises(ValueError, match="Known pages"):
        at.switch_page("../pages/settings.py")
    # The Rerank page's "save as mode" goes through session.save_mode: refused for an analyst.
    at2 = AppTest.from_function(_save_mode_as_analyst)
    at2.run()
    assert "may not change the instruction modes" in at2.error[0].value.replace("\\", "")


def _save_mode_as_analyst():
    import os

    import streamlit as st

    from core.security import User
    from dashboard import rerank
    from dashboard.errors import error_boundary

    os.environ["SIEVE_SERVE"] = "team"
    st.session_state["sieve.user"] = User("lead", "analyst")
    with error_boundary("saving the mode"):
        rerank.save_mode(name="mine", label="Mine", instruction="Find posts about floods.")


def test_the_annotator_name_is_the_signed_in_user_not_the_settings_field(team):
    at = sign_in("admin")
    at.switch_page("../pages/settings.py").run()
    ok(at)
    field = at.text_input(key="settings.annotator")
    assert field.value == "admin" and field.disabled


def test_a_path_outside_the_allowed_folders_is_refused_for_the_admin_too(team, tmp_path, monkeypatch):
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "posts.csv").write_text("id,text\n1,typhoon relief\n2,flood\n", encoding="utf-8")
    outside = tmp_path / "outside.csv"
    outside.write_text("id,text\n1,secret\n", encoding="utf-8")
    (allowed / "link.csv").symlink_to(outside)
    monkeypatch.setenv("SIEVE_DATA_ROOTS", str(allowed))
    at = sign_in("admin")
    at.segmented_control(key="data.source").set_value("path").run()
    for path, why in ((str(outside), "outside the folders"), (str(allowed / "link.csv"), "symbolic link"),
                      (str(allowed / ".." / "outside.csv"), "'..'")):
        at.text_input(key="data.path").set_value(path).run()
        button(at, "Load this file").click().run()
        assert not at.exception
        assert at.error and why in at.error[0].value.replace("\\", ""), (path, [e.value for e in at.error])
        assert "outside" not in state.dataset(at.session_state).name
    at.text_input(key="data.path").set_value("posts.csv").run()  # relative to the allowed folder
    button(at, "Load this file").click().run()
    ok(at)
    assert state.dataset(at.session_state).name == "posts.csv"
    # The data folder on the Settings page is checked the same way.
    at.switch_page("../pages/settings.py").run()
    at.text_input(key="settings.data_dir").set_value(str(tmp_path / "elsewhere"))
    button(at, "Apply").click().run()
    assert any("outside the folders" in e.value.replace("\\", "") for e in at.error)
    assert at.session_state["sieve.params.AppSettings"].data_dir == os.environ["SIEVE_DATA_DIR"]


def test_local_mode_needs_no_sign_in_and_refuses_paths_outside_the_defaults(sample, tmp_path):  # noqa: F811
    at = start()
    ok(at)
    assert [t.value for t in at.title] == ["Data"], "local mode: no sign-in"
    load_path(at, "/etc/passwd")
    assert "outside the folders" in at.error[0].value.replace("\\", "")


def test_assign_with_overlap_two_blind_queues_and_review_of_disagreements(team):
    lead = sign_in("lead")
    rerank(lead, "台风", "relevance")
    rerank(lead, "台风", "accuracy")
    lead.switch_page("../pages/assign.py").run()
    ok(lead)
    lead.multiselect(key="assign.names").set_value(["ana", "bo"]).run()
    lead.number_input(key="assign.overlap").set_value(2).run()
    button(lead, "Assign").click().run()
    ok(lead)
    assert "Assigned" in lead.success[0].value
    ds = state.dataset(lead.session_state).dataset_hash

    grades = {"ana": [5, 4, 1], "bo": [2, 4, 1]}
    for who, given in grades.items():
        at = sign_in(who)
        ok(at)
        assert [t.value for t in at.title] == ["My queue"]
        assert "0 of" in at.get("progress")[0].proto.text
        texts = [str(m.value).lower() for m in [*at.markdown, *at.caption] if "blind grading" not in m.value]
        assert not [t for t in texts if any(w in t for w in ("score", "rank", "disagree"))], "blind grading"
        assert not any(c.startswith("rank") for c in at.dataframe[0].value.columns), "blind: no rank column"
        for g in given:
            next(b for b in at.button if (b.key or "").startswith("queue.btn.") and b.key.endswith(f".{g}")).click()
            at.run()
            ok(at)
        assert f"{len(given)} of" in at.get("progress")[0].proto.text
        shown = at.dataframe[0].value
        assert set(shown.columns) >= {"status", "grade"} and not any("grade:" in c for c in shown.columns)

    from core.labels.store import LabelStore

    store = LabelStore(os.path.join(os.environ["SIEVE_DATA_DIR"], "labels.sqlite"))
    g = store.grades(ds, query_id=query_id_for("台风"))
    assert sorted(g["annotator"].unique()) == ["ana", "bo"]
    first = g.groupby("post_id")["annotator"].nunique()
    assert (first == 2).all(), "overlap 2: every graded post was graded by both"

    lead.switch_page("../pages/review.py").run()
    ok(lead)
    table = lead.dataframe[0].value
    assert len(table) == 1 and table["grade:ana"].iloc[0] == 5 and table["grade:bo"].iloc[0] == 2
    assert table["reason"].iloc[0] == "grades differ by 3"
    lead.segmented_control(key="review.grade").set_value(4)
    button(lead, "Set the adjudicated grade").click().run()
    ok(lead)
    assert lead.dataframe[0].value["adjudicated"].iloc[0] == 4
    assert set(lead.dataframe[1].value["annotator"]) == {"ana", "bo"}, "agreement per annotator"
    # raw grades untouched
    assert sorted(store.grades(ds, query_id=query_id_for("台风"))["grade"].dropna().tolist()) == sorted([5, 4, 1, 2, 4, 1])


def test_a_removed_account_is_signed_out_at_the_next_interaction(team):
    at = sign_in("ana")
    assert [t.value for t in at.title] == ["My queue"]
    team.remove("ana")
    at.run()
    assert [t.value for t in at.title] == ["Sign in"]
    assert "sieve.user" not in at.session_state and "sieve.user_name" not in at.session_state

"""A team on one server, in headless Chromium: the server is started like ``make
serve`` (SIEVE_SERVE=team) with an admin, an analyst and two annotators.

* an unsigned visitor sees only the sign-in, whatever page address they open;
* an annotator's navigation holds only their own queue; Data and Settings cannot
  be opened by address either;
* a path outside the allowed folders is refused, for the admin too;
* the analyst hands a query's pool to both annotators with overlap 2, both grade
  it, and the Review page lists their disagreements side by side.

Skips like ``tests/test_browser.py`` when Chromium or playwright is missing.
Screenshots go to ``tests/_artifacts/team_*.png``.
"""

from __future__ import annotations

import pytest

from core.security import UserFile
from tests._browserkit import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, idle, require_browser, sieve_server

pytestmark = pytest.mark.browser

ACCOUNTS = {"admin": ("admin", "admin-pass-1"), "lead": ("analyst", "lead-pass-1"),
            "ana": ("annotator", "ana-pass-1"), "bo": ("annotator", "bo-pass-1")}
QUERY = "台风"
#: The grades each annotator gives to the first posts of their queue (same posts: overlap 2).
GRADES = {"ana": [5, 3, 1], "bo": [1, 3, 3]}  # posts 1 and 3 differ by 2 or more


@pytest.fixture(scope="module")
def team_server(tmp_path_factory):
    """A team server (every interface, like ``make serve``) on a free port; yields (url, home)."""
    require_browser()
    home = tmp_path_factory.mktemp("sieve-team")
    uf = UserFile(home / "data" / "users.json")
    for name, (role, password) in ACCOUNTS.items():
        uf.add(name, password, role=role)
    (home / "allowed").mkdir()
    (home / "secret.csv").write_text("id,text\n1,the server's private file\n", encoding="utf-8")
    env = {"SIEVE_SERVE": "team", "SIEVE_DATA_ROOTS": str(home / "allowed")}
    with sieve_server(home, env, address=None) as url:
        yield url, home


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def dismiss_not_found(page) -> bool:
    """Close Streamlit's "Page not found" dialog (shown for an address that is not one of this
    session's pages); returns whether it was there."""
    dialog = page.get_by_role("dialog").filter(has_text="Page not found")
    try:
        dialog.wait_for(state="visible", timeout=3000)
    except Exception:  # noqa: BLE001 - playwright's TimeoutError: no dialog
        return False
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    return True


def new_page(browser, url: str, path: str = ""):
    from playwright.sync_api import expect

    page = browser.new_context(viewport={"width": 1400, "height": 1600}).new_page()
    page.set_default_timeout(120_000)
    expect.set_options(timeout=120_000)
    page.goto(f"{url}/{path}")
    idle(page)
    if path:  # the root address is every session's page: no dialog to wait 3 s for
        dismiss_not_found(page)
    return page


def sign_in(browser, url: str, name: str, path: str = ""):
    from playwright.sync_api import expect

    page = new_page(browser, url, path)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password", exact=True).fill(ACCOUNTS[name][1])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {name}")).to_be_visible()
    idle(page)
    return page


def nav_links(page) -> list[str]:
    return [t.split("\n")[-1].strip() for t in page.get_by_test_id("stSidebarNav").get_by_role("link").all_inner_texts()]


def test_an_unsigned_visitor_sees_only_the_sign_in(team_server, browser):
    from playwright.sync_api import expect

    url, _ = team_server
    ARTIFACTS.mkdir(exist_ok=True)
    for path in ("", "data", "settings", "grade", "review"):
        page = new_page(browser, url, path)
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        assert page.get_by_role("heading", name="Data").count() == 0
        assert page.get_by_test_id("stDataFrame").count() == 0, "no posts before signing in"
        if path == "data":
            page.screenshot(path=str(ARTIFACTS / "team_1_sign_in.png"), full_page=True)
        page.get_by_label("User name").fill("ana")
        page.get_by_label("Password", exact=True).fill("wrong-password")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text("The user name or the password is wrong.")).to_be_visible()
        page.context.close()


def test_a_path_outside_the_allowed_folders_is_refused(team_server, browser):
    from playwright.sync_api import expect

    url, home = team_server
    page = sign_in(browser, url, "admin")
    expect(page.get_by_role("heading", name="Data")).to_be_visible()
    page.get_by_text("A file on this machine", exact=True).click()
    idle(page)
    box = page.get_by_label("Path of the export on this machine")
    for path in (str(home / "secret.csv"), str(home / "allowed" / ".." / "secret.csv")):
        box.fill(path)
        box.press("Enter")
        idle(page)
        page.get_by_role("button", name="Load this file").click()
        idle(page)
        expect(page.get_by_test_id("stAlertContentError").first).to_contain_text("not allowed" if ".." in path
                                                                                 else "outside the folders")
    assert page.get_by_text("the server's private file").count() == 0
    page.screenshot(path=str(ARTIFACTS / "team_2_path_refused.png"), full_page=True)
    page.context.close()
    # The analyst is not even offered the choice.
    lead = sign_in(browser, url, "lead")
    expect(lead.get_by_role("heading", name="Data")).to_be_visible()
    assert lead.get_by_text("A file on this machine", exact=True).count() == 0
    lead.context.close()


@pytest.mark.slow  # 41 s; AppTest runs the same assign/queue/review logic by default (test_team_dashboard.py)
def test_two_annotators_grade_one_pool_with_overlap_two_and_the_reviewer_sees_disagreements(team_server, browser):
    from playwright.sync_api import expect

    url, _ = team_server
    lead = sign_in(browser, url, "lead")
    assert "Settings" not in nav_links(lead) and "Review" in nav_links(lead)
    # Rerank the query, then hand its pool to ana and bo, each post to both.
    lead.get_by_role("link", name="Rerank").click()
    idle(lead)
    box = lead.get_by_label("Query")
    box.fill(QUERY)
    box.press("Enter")
    lead.get_by_role("button", name="Rerank", exact=True).click()
    expect(lead.get_by_text("Results for", exact=False)).to_be_visible()
    lead.get_by_role("link", name="Assign").click()
    idle(lead)
    for name in ("ana", "bo"):
        lead.get_by_test_id("stMultiSelect").click()
        lead.get_by_role("option", name=name, exact=True).click()
        idle(lead)
    lead.keyboard.press("Escape")
    overlap = lead.get_by_label("Overlap: graders per post")
    overlap.fill("2")
    overlap.press("Enter")
    idle(lead)
    lead.get_by_role("button", name="Assign", exact=True).click()
    expect(lead.get_by_text("Assigned", exact=False).first).to_be_visible()
    lead.screenshot(path=str(ARTIFACTS / "team_3_assign.png"), full_page=True)

    for who, grades in GRADES.items():
        page = sign_in(browser, url, who)
        assert nav_links(page) in ([], ["My queue"]), nav_links(page)  # one page: no other link
        expect(page.get_by_role("heading", name="My queue")).to_be_visible()
        expect(page.get_by_text("0 of", exact=False).first).to_be_visible()
        assert page.get_by_text("Embedded fallback", exact=False).count() == 0, "blind: no model badge"
        assert page.get_by_text("log-odds", exact=False).count() == 0, "blind: no model score"
        for i, g in enumerate(grades, start=1):
            page.get_by_role("button", name=f"{g} · ", exact=False).first.click()
            expect(page.get_by_text(f"{i} of", exact=False).first).to_be_visible()
            idle(page)
        if who == "ana":
            page.screenshot(path=str(ARTIFACTS / "team_4_my_queue.png"), full_page=True)
            # Data and Settings by address: not this user's pages, the queue is shown instead.
            for path in ("data", "settings", "assign"):
                page.goto(f"{url}/{path}")
                idle(page)
                dismiss_not_found(page)
                expect(page.get_by_role("heading", name="Sign in")).to_be_visible()  # a new tab session
                page.get_by_label("User name").fill(who)
                page.get_by_label("Password", exact=True).fill(ACCOUNTS[who][1])
                page.get_by_role("button", name="Sign in").click()
                idle(page)
                dismiss_not_found(page)
                expect(page.get_by_role("heading", name="My queue")).to_be_visible()
                assert page.get_by_role("heading", name="Data").count() == 0
                assert page.get_by_role("heading", name="Settings").count() == 0
                assert page.get_by_role("heading", name="Assign").count() == 0
        page.context.close()

    lead.get_by_role("link", name="Review").click()
    idle(lead)
    expect(lead.get_by_role("heading", name="Disagreements")).to_be_visible()
    expect(lead.get_by_text("2 posts: grades 2 or more apart", exact=False)).to_be_visible()
    lead.wait_for_timeout(500)
    lead.screenshot(path=str(ARTIFACTS / "team_5_review.png"), full_page=True)
    lead.context.close()

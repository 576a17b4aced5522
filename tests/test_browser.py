"""One real-browser test: start ``python -m streamlit run dashboard/app.py``, drive
headless Chromium with Playwright, upload a file, rerank, grade, refresh.

Skips with a reason when ``/usr/bin/chromium`` or the ``playwright`` package is
missing (``make test-deps`` installs Chromium from the system packages; never
``playwright install``). The server runs with temporary ``SIEVE_DATA_DIR`` and
``SIEVE_CACHE_DIR`` and the embedded scorer (no model download). Screenshots go
to ``tests/_artifacts/`` (git-ignored): look at them.
"""

from __future__ import annotations

import re

import pytest

from tests._browserkit import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, HOMES, idle, upload

pytestmark = pytest.mark.browser

#: The Grade page's button that recomputes the rankings after a browser refresh.
RECOMPUTE = "Recompute the rankings from before the page was reloaded"
#: A post that would run script or render markup if shown as HTML/Markdown.
NASTY = "<script>alert('xss')</script> **bold** [click](javascript:alert(1)) #heading"
POSTS = [
    "Explosions at the Boston Marathon finish line, several people injured",
    "Police ask everyone to stay away from Boylston Street after the blasts",
    "Praying for everyone in Boston tonight, this is heartbreaking",
    "Red Cross says blood donations are welcome at local hospitals",
    "Great weather for a run today, new personal best!",
    "Marathon organisers: runners still on the course are being diverted",
    "Two bombs exploded near the finish line, officials confirm",
    "I just want to watch the game and eat pizza",
    NASTY,
]


def test_upload_rerank_grade_and_refresh_in_chromium(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    export = tmp_path / "boston_posts.csv"
    lines = ["id,text"] + [f'"10{i:02d}","{t.replace(chr(34), chr(34) * 2)}"' for i, t in enumerate(POSTS)]
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")

    dialogs: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.set_default_timeout(90_000)
            expect.set_options(timeout=90_000)
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(server)
            expect(page.get_by_role("heading", name="Data")).to_be_visible()

            # Load a file through the uploader.
            page.get_by_text("Upload a file", exact=True).click()
            expect(page.get_by_text("Files up to 200 MB", exact=False)).to_be_visible()
            page.locator("input[type=file]").set_input_files(str(export))
            expect(page.get_by_role("heading", name="boston_posts.csv")).to_be_visible()
            idle(page)
            page.screenshot(path=str(ARTIFACTS / "browser_1_data.png"), full_page=True)

            # Rerank.
            page.get_by_role("link", name="Rerank").click()
            expect(page.get_by_role("heading", name="Rerank")).to_be_visible()
            query = page.get_by_label("Query")
            query.fill("Boston Marathon explosion")
            query.press("Enter")
            page.get_by_role("button", name="Rerank", exact=True).click()
            expect(page.get_by_text("Results for", exact=False)).to_be_visible()
            n = len(POSTS)
            expect(page.get_by_text(f"{n} of {n} ranked posts shown", exact=False)).to_be_visible()
            expect(page.get_by_text("Embedded fallback, not Qwen3")).to_be_visible()
            expect(page.get_by_test_id("stDataFrame").first).to_be_visible()  # the ranking (a canvas grid)
            page.wait_for_timeout(500)  # let the data grid paint
            idle(page)
            page.screenshot(path=str(ARTIFACTS / "browser_2_rerank.png"), full_page=True)

            # Grade one post with the keyboard, then refresh the browser.
            page.get_by_role("link", name="Grade").click()
            expect(page.get_by_text(f"0 of {len(POSTS)} graded")).to_be_visible()
            # The grid draws on a canvas; the Grade page shows the best-ranked post as text.
            expect(page.get_by_test_id("stText").filter(has_text=POSTS[0])).to_be_visible()
            # the key listener mounts with the rest of the page: a key pressed before the rerun
            # ends can be lost on a loaded machine (the count then stays at 0; press again)
            idle(page)
            page.get_by_role("heading", name="Grade").click()  # focus the page, not an input
            page.keyboard.press("4")
            expect(page.get_by_text(f"1 of {len(POSTS)} graded")).to_be_visible()
            idle(page)
            page.screenshot(path=str(ARTIFACTS / "browser_3_grade.png"), full_page=True)
            # Step through the queue (key N) to the post full of markup: it shows exactly as typed.
            shown = page.get_by_test_id("stText")
            for _ in range(len(POSTS)):
                if "<script>" in shown.first.inner_text():
                    break
                page.get_by_role("heading", name="Grade").click()
                page.keyboard.press("N")
                idle(page)
            assert shown.first.inner_text().strip() == NASTY
            page.screenshot(path=str(ARTIFACTS / "browser_3b_plain_text.png"), full_page=True)
            page.reload()
            expect(page.get_by_text("boston_posts.csv", exact=False).first).to_be_visible()
            page.get_by_role("link", name="Grade").click()
            page.get_by_role("button", name=RECOMPUTE).click()
            expect(page.get_by_text(f"1 of {len(POSTS)} graded")).to_be_visible()
            idle(page)
            page.screenshot(path=str(ARTIFACTS / "browser_4_after_refresh.png"), full_page=True)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "browser_failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    assert not dialogs, f"a post ran script in the page: {dialogs}"


def _rerank_and_grade(browser, server: str, query: str):
    """A new page that reranks ``query`` and opens the Grade page on it; returns the page."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1600})
    page.set_default_timeout(90_000)
    page.goto(f"{server}/rerank")
    box = page.get_by_label("Query")
    box.fill(query)
    box.press("Enter")
    page.get_by_role("button", name="Rerank", exact=True).click()
    expect(page.get_by_text("Results for", exact=False)).to_be_visible(timeout=120_000)
    page.get_by_role("link", name="Grade").click()
    expect(page.get_by_text("graded", exact=False).first).to_be_visible()
    idle(page)
    return page


def test_fast_keyboard_grading_grades_the_post_on_screen_at_each_press(server):
    """Finding: keys 3 4 5 2 1 pressed 150-250 ms apart graded the wrong posts and lost one.
    Each key press must be saved once, on the post that was on screen when it was pressed."""
    import sqlite3

    from playwright.sync_api import sync_playwright

    from dashboard.widgets import post_token

    query = "Boston explosion 台风 typhoon"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = _rerank_and_grade(browser, server, query)
            # Record, at each key press, which post container is on screen (and its text).
            page.evaluate("""() => { window.__rec = []; window.addEventListener('keydown', () => {
                const el = document.querySelector('[class*="st-key-grade-post-"]');
                const cls = Array.from(el.classList).find(c => c.startsWith('st-key-grade-post-'));
                window.__rec.push(cls.slice('st-key-grade-post-'.length)); }, true); }""")
            page.get_by_role("heading", name="Grade").click()
            for key, gap in zip("34521", (150, 250, 150, 250, 150), strict=True):
                page.keyboard.press(key)
                page.wait_for_timeout(gap)
            idle(page)
            page.wait_for_timeout(1000)
            idle(page)
            seen = page.evaluate("() => window.__rec")
            page.screenshot(path=str(ARTIFACTS / "browser_5_fast_keys.png"), full_page=True)
        finally:
            browser.close()
    db = HOMES[server] / "data" / "labels.sqlite"
    with sqlite3.connect(db) as con:
        qid = con.execute("SELECT query_id FROM queries WHERE text = ?", (query,)).fetchone()[0]
        rows = con.execute("SELECT post_id, grade FROM grade_history WHERE query_id = ? AND action = 'set' "
                           "ORDER BY seq", (qid,)).fetchall()
    assert len(seen) == 5
    assert [g for _, g in rows] == [3, 4, 5, 2, 1], "every key press saved once, in order"
    assert [post_token(query, pid) for pid, _ in rows] == seen, "each grade on the post on screen"


def test_esc_leaves_the_note_field_and_the_next_key_grades_with_the_note(server):
    """Keys typed in the note field are text; Esc leaves the field (keeping the text), and the
    next key grades the post on screen with that note."""
    import sqlite3

    from playwright.sync_api import expect, sync_playwright

    query = "Red Cross blood donations"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = _rerank_and_grade(browser, server, query)
            note = page.get_by_label("Note (optional, saved with the grade)")
            note.click()
            page.keyboard.type("donation 2")  # the "2" is text, not a grade
            page.keyboard.press("Escape")
            idle(page)
            page.keyboard.press("4")
            idle(page)
            expect(page.get_by_text("1 of", exact=False).first).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "browser_7_esc_note.png"), full_page=True)
        finally:
            browser.close()
    db = HOMES[server] / "data" / "labels.sqlite"
    with sqlite3.connect(db) as con:
        qid = con.execute("SELECT query_id FROM queries WHERE text = ?", (query,)).fetchone()[0]
        rows = con.execute("SELECT grade, note FROM grade_history WHERE query_id = ? AND action = 'set'",
                           (qid,)).fetchall()
    assert rows == [(4, "donation 2")]


def test_two_tabs_grading_one_post_are_told_and_can_undo(server):
    """Tab B grades the post tab A shows; A's later grade is saved, A sees both values and
    puts B's back. Each tab keeps its ID in its URL across page switches."""
    import sqlite3

    from playwright.sync_api import expect, sync_playwright

    query = "台风 两个标签页"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1400})
            context.set_default_timeout(120_000)
            expect.set_options(timeout=120_000)
            a = context.new_page()
            a.goto(f"{server}/rerank")
            box = a.get_by_label("Query")
            box.fill(query)
            box.press("Enter")
            a.get_by_role("button", name="Rerank", exact=True).click()
            expect(a.get_by_text("Results for", exact=False)).to_be_visible()
            a.get_by_role("link", name="Grade").click()
            expect(a.get_by_text(" graded", exact=False).first).to_be_visible()
            idle(a)
            assert "s=" in a.url, a.url
            b = context.new_page()  # a new tab: the same analyst's last dataset, its own session
            b.goto(f"{server}/grade")
            idle(b)
            b.get_by_role("button", name=RECOMPUTE).click()
            expect(b.get_by_text(" graded", exact=False).first).to_be_visible()
            idle(b)
            assert "s=" in b.url and b.url.split("s=")[1][:32] != a.url.split("s=")[1][:32]
            b.get_by_role("heading", name="Grade").click()
            b.keyboard.press("4")
            expect(b.get_by_text("1 of ", exact=False).first).to_be_visible()
            a.get_by_role("heading", name="Grade").click()
            a.keyboard.press("1")
            undo = a.get_by_role("button", name="Undo: put back 4 (highly relevant)")
            expect(undo).to_be_visible()
            expect(a.get_by_text("changed elsewhere after this card was shown", exact=False)).to_be_visible()
            idle(a)
            a.screenshot(path=str(ARTIFACTS / "browser_6_two_tabs.png"), full_page=True)
            undo.click()
            expect(undo).to_have_count(0)
            idle(a)
        finally:
            browser.close()
    db = HOMES[server] / "data" / "labels.sqlite"
    with sqlite3.connect(db) as con:
        qid = con.execute("SELECT query_id FROM queries WHERE text = ?", (query,)).fetchone()[0]
        history = [g for (g,) in con.execute(
            "SELECT grade FROM grade_history WHERE query_id = ? ORDER BY seq", (qid,))]
        current = con.execute("SELECT grade FROM grades WHERE query_id = ?", (qid,)).fetchall()
    assert history == [4, 1, 4] and current == [(4,)]


REAL_FILES = {
    "crisislex_boston": ("crisislex_t26/2013_Boston_bombings/2013_Boston_bombings-tweets_labeled.csv",
                         "Boston Marathon bombing victims and injuries"),
    "nlpcc_weibo": ("nlpcc2016_weibo_stance/evasampledata4-TaskAA.txt", "深圳限制电动车和摩托车的政策"),
}


# Both files are in the slow tier (`make test-all`): the default run on a fresh clone must stay under
# 15 minutes on 2 cores (it took 13 min 47 s on 2026-12-03 with the Chinese one in it). The default run
# keeps the browser tests of upload, rerank, grading by keys, refresh, two tabs, downloads, collapse and the
# team sign-in; AppTest runs this whole flow (test_dashboard.py::test_full_flow_...).
@pytest.mark.slow
@pytest.mark.parametrize("name", list(REAL_FILES))
def test_whole_flow_on_real_data_in_chromium(server, real_data, name):
    """Upload a real export, rerank, compare, cluster, grade with the keyboard, evaluate, export."""
    from playwright.sync_api import expect, sync_playwright

    relative, query = REAL_FILES[name]
    path = real_data / relative
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    ARTIFACTS.mkdir(exist_ok=True)
    dialogs: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            page.set_default_timeout(300_000)
            expect.set_options(timeout=300_000)
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(server)
            idle(page)
            upload(page, path)

            page.get_by_role("link", name="Rerank").click()
            idle(page)
            box = page.get_by_label("Query")
            box.fill(query)
            box.press("Enter")
            idle(page)
            page.get_by_role("button", name="Rerank", exact=True).click()
            expect(page.get_by_text("ranked posts shown", exact=False)).to_be_visible()
            idle(page)
            page.screenshot(path=str(ARTIFACTS / f"real_{name}_rerank.png"))

            page.get_by_role("link", name="Compare modes").click()
            idle(page)
            page.get_by_role("button", name="Compare", exact=True).click()
            expect(page.get_by_text("Agreement between modes", exact=False)).to_be_visible()
            idle(page)
            # relevance and accuracy rank differently under the embedded default too (issue 9)
            expect(page.get_by_text("Posts that moved most between modes", exact=False)).to_be_visible()
            expect(page.get_by_text("No post changed rank between these modes", exact=False)).to_have_count(0)

            page.get_by_role("link", name="Map").click()
            idle(page)
            page.get_by_role("button", name="Cluster", exact=True).click()
            expect(page.get_by_role("heading", name="Clusters")).to_be_visible()
            page.locator(".js-plotly-plot .main-svg").first.wait_for()
            idle(page)
            page.screenshot(path=str(ARTIFACTS / f"real_{name}_map.png"))

            page.get_by_role("link", name="Grade").click()
            idle(page)
            idle(page)
            expect(page.get_by_text(re.compile(r"^0 of \d+ graded"))).to_be_visible()
            for i, key in enumerate("4251", start=1):
                page.get_by_role("heading", name="Grade").click()
                page.keyboard.press(key)
                # the next key goes to the next post only once the page has moved on (the count is
                # shown with it); a key pressed earlier regrades the post still on screen, by design
                expect(page.get_by_text(re.compile(rf"^{i} of \d+ graded"))).to_be_visible()
                idle(page)

            page.get_by_role("link", name="Evaluate & export").click()
            idle(page)
            page.get_by_role("button", name="Evaluate", exact=True).click()
            idle(page)
            expect(page.get_by_text("Relevant for binary metrics", exact=False)).to_be_visible()
            with page.expect_download() as dl:
                page.get_by_role("button", name="Download the bundle (zip)").click()
            assert dl.value.suggested_filename == "sieve-bundle.zip"
            page.screenshot(path=str(ARTIFACTS / f"real_{name}_evaluate.png"))
        except Exception:
            page.screenshot(path=str(ARTIFACTS / f"real_{name}_failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    assert not dialogs

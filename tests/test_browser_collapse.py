"""Duplicates are collapsed by default for an uploaded file, in a real browser (issue 11).

AppTest cannot show it: after "Upload a file" was chosen, Chromium drew the "Collapse
duplicates" switch off while the server's widget state said on, and the upload then read
it off, so every upload ranked every copy (a 1M-post export was not collapsed). Skips
like ``test_browser.py``.
"""

from __future__ import annotations

import re

import pytest

from tests._browserkit import CHROMIUM, CHROMIUM_ARGS, idle, require_browser, sieve_server, upload

pytestmark = pytest.mark.browser


def test_an_upload_is_collapsed_by_default_and_the_switch_still_turns_it_off(tmp_path):
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    export = tmp_path / "copies.csv"
    rows = [f"{i},another post {i} about a power outage" for i in range(1, 191)]
    rows += [f"{i},another post 1 about a power outage" for i in range(191, 201)]  # 10 copies of post 1
    export.write_text("id,text\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with sieve_server(tmp_path) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page()  # the default 1280x720: the switch is below the fold (it mattered)
        page.set_default_timeout(90_000)
        page.goto(url)
        idle(page)
        upload(page, export)
        posts = page.get_by_text(re.compile(r"^Data: copies\.csv · \d+ posts$"))
        expect(posts).to_have_text("Data: copies.csv · 190 posts")
        switch = page.get_by_role("switch", name=re.compile("Collapse duplicates"))
        expect(switch).to_be_checked()
        page.get_by_text("Collapse duplicates for ranking", exact=False).first.click()  # off: every copy ranked
        idle(page)
        expect(posts).to_have_text("Data: copies.csv · 200 posts")
        page.get_by_role("link", name="Rerank").first.click()  # the choice outlives a page switch
        idle(page)
        page.get_by_role("link", name="Data").first.click()
        idle(page)
        expect(page.get_by_role("switch", name=re.compile("Collapse duplicates"))).not_to_be_checked()
        expect(posts).to_have_text("Data: copies.csv · 200 posts")
        browser.close()

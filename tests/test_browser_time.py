"""Real-browser check of the time filter and the timelines on real tweets (CrisisLex T6, Sandy).

Uploads every third tweet of the Sandy file (their times come from their snowflake IDs), narrows
the Map page to the last 24 hours with the shared time filter, clusters, and takes screenshots
of the volume timeline (``tests/_artifacts/time_*.png``: look at them). Skips like
``tests/test_browser.py`` when Chromium, playwright or the real data are absent.
"""

from __future__ import annotations

import csv
import re

import pytest

from tests._browserkit import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, idle, upload

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SANDY = "crisislex_t6/2012_Sandy_Hurricane-ontopic_offtopic.csv"


def _choose_preset(page, label: str) -> None:
    """Pick a preset in the time range's select box, opening its expander only when it is closed
    (clicking the header of an open one closes it), and opening the list again if a click was
    taken by a rerun (found: the box kept focus, the list never opened, the test waited 300 s)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    box = page.get_by_test_id("stSelectbox").filter(has_text="Posts from")
    if not box.is_visible():
        page.get_by_text("Time range:", exact=False).first.click()
        idle(page)
    option = page.get_by_role("option", name=label, exact=True)
    for _ in range(3):
        box.locator("input").click()
        try:
            option.wait_for(timeout=10_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            idle(page)
    option.click()
    idle(page)
    expect(box.locator("input")).to_have_value(label, timeout=30_000)


def test_time_filter_and_cluster_timeline_in_chromium(server, real_data, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    src = real_data / SANDY
    subset = tmp_path / "sandy_every_third.csv"
    with open(src, encoding="utf-8", newline="") as fin, open(subset, "w", encoding="utf-8", newline="") as fout:
        rows = list(csv.reader(fin))
        w = csv.writer(fout)
        w.writerow(rows[0])
        kept = rows[1::3]
        w.writerows(kept)
    n = len(kept)
    ARTIFACTS.mkdir(exist_ok=True)
    dialogs: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1800}, timezone_id="America/New_York")
        try:
            page.set_default_timeout(300_000)
            expect.set_options(timeout=300_000)
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(server)
            idle(page)
            upload(page, subset)
            expect(page.get_by_text("snowflake", exact=False).first).to_be_visible()
            idle(page)

            page.get_by_role("link", name="Map").click()
            idle(page)
            # copies are collapsed by default: read how many posts the table holds from the caption
            everything = page.get_by_text(re.compile(r"Time range: all times · ([\d,]+) of \1 posts"))
            expect(everything).to_be_visible()
            n = int(re.search(r"· ([\d,]+) of", everything.inner_text()).group(1).replace(",", ""))
            _choose_preset(page, "Last 24 hours")
            caption = page.get_by_text(re.compile(r"Time range: 2012-10-\d\d \d\d:\d\d – 2012-10-30 \d\d:\d\d "
                                                  r"\(America/New_York\) · [\d,]+ of " + f"{n:,}" + " posts"))
            expect(caption).to_be_visible()
            shown = int(re.search(r"· ([\d,]+) of", caption.inner_text()).group(1).replace(",", ""))
            assert 0 < shown < n

            page.get_by_role("button", name="Cluster", exact=True).click()
            expect(page.get_by_role("heading", name="Over time")).to_be_visible()
            page.locator(".js-plotly-plot .main-svg").nth(1).wait_for()
            expect(page.get_by_text(f"{shown:,} posts in", exact=False)).to_be_visible()
            idle(page)
            page.wait_for_timeout(1000)
            chart = page.locator(".st-key-map-timeline")
            chart.scroll_into_view_if_needed()
            chart.screenshot(path=str(ARTIFACTS / "time_1_last24h_timeline.png"))
            page.screenshot(path=str(ARTIFACTS / "time_1_last24h_page.png"), full_page=True)

            # Back to all times: the whole storm, hour by hour, per cluster.
            _choose_preset(page, "All times")
            expect(page.get_by_text(f"Time range: all times · {n:,} of {n:,} posts", exact=False)).to_be_visible()
            page.get_by_role("button", name=re.compile("^Cluster")).first.click()
            expect(page.get_by_text(f"{n:,} posts in", exact=False)).to_be_visible()
            idle(page)
            page.wait_for_timeout(1000)
            chart = page.locator(".st-key-map-timeline")
            chart.scroll_into_view_if_needed()
            chart.screenshot(path=str(ARTIFACTS / "time_2_all_timeline.png"))

            # Rerank: when the query's top posts appeared, and their scores over time.
            page.get_by_role("link", name="Rerank").click()
            idle(page)
            box = page.get_by_label("Query")
            box.fill("power outage")
            box.press("Enter")
            idle(page)
            page.get_by_role("button", name="Rerank", exact=True).click()
            expect(page.get_by_role("heading", name=re.compile("Results for"))).to_be_visible()
            expect(page.get_by_text("ranked posts in bins of ", exact=False)).to_be_visible()
            idle(page)
            page.wait_for_timeout(1000)
            chart = page.locator(".st-key-rerank-timeline")
            chart.scroll_into_view_if_needed()
            chart.screenshot(path=str(ARTIFACTS / "time_3_rerank_timeline.png"))
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "time_failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    assert not dialogs

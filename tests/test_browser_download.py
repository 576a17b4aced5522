"""Settings > Get a model in headless Chromium: size first, Download, Cancel while it runs,
then Download again resumes and finishes.

Cancel works through Streamlit's own rerun (a click during a running script stops it at
its next progress update), which AppTest cannot click, so this runs a real server. The
hub is ``tests/_hub_server.py`` on 127.0.0.1 serving a tiny random Qwen3 under the
real id; the server's Hugging Face cache is temporary. Skips like ``test_browser.py``.
"""

from __future__ import annotations

import subprocess

import pytest

from tests._browserkit import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, idle, require_browser, sieve_server
from tests._hub_server import FakeHub
from tests.conftest import build_selfmade_qwen3

pytestmark = pytest.mark.browser

QWEN = "Qwen/Qwen3-Reranker-0.6B"


def _workers(home) -> list[str]:
    """Command lines of the hub worker processes downloading into ``home``."""
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if "core.models._hub_worker" in line and str(home) in line]


def test_download_cancel_and_resume_in_chromium(tmp_path):
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    folder = build_selfmade_qwen3(tmp_path / "tiny")
    weights = folder / "model.safetensors"
    with FakeHub() as hub:
        hub.add_repo(QWEN, folder)
        stall = hub.stall(QWEN, "model.safetensors", weights.stat().st_size // 2)
        hub_env = {"HF_HOME": str(tmp_path / "hf"), "HF_ENDPOINT": hub.endpoint, "HF_HUB_CACHE": None}
        with sieve_server(tmp_path, hub_env) as url, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            page.set_default_timeout(90_000)
            page.goto(url)
            page.get_by_role("link", name="Settings").click()
            expect(page.get_by_role("heading", name="Get a model")).to_be_visible()
            page.get_by_role("button", name="Check size").click()
            expect(page.get_by_text("0 B already here", exact=False)).to_be_visible()
            assert not any(p.startswith("/cdn/") for _, p, _ in hub.requests)

            page.get_by_role("button", name="Download").click()
            assert stall.reached.wait(timeout=90), "the download never reached the weights"
            expect(page.get_by_test_id("stProgress")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "browser_download_1_running.png"), full_page=True)
            page.get_by_role("button", name="Cancel").click()
            expect(page.get_by_text("Download cancelled.", exact=False)).to_be_visible()
            idle(page)
            page.screenshot(path=str(ARTIFACTS / "browser_download_2_cancelled.png"), full_page=True)
            # Fast reruns start the new run while the old one still stops its child: the page
            # says "cancelled" only once that child has ended.
            assert not _workers(tmp_path), "the cancelled download's process is still running"
            stall.release.set()
            blobs = tmp_path / "hf" / "hub" / "models--Qwen--Qwen3-Reranker-0.6B" / "blobs"
            partial = blobs / f"{hub.etag(QWEN, 'model.safetensors')}.incomplete"
            page.wait_for_timeout(2000)  # a download still (or again) running would now finish the file
            assert partial.stat().st_size == stall.offset
            assert not any(r for m, p, r in hub.requests if p.startswith("/cdn/") and r), "a download restarted"

            page.get_by_role("button", name="Check size").click()
            expect(page.get_by_text("already here", exact=False)).to_be_visible()
            page.get_by_role("button", name="Download").click()
            expect(page.get_by_text("is in the cache", exact=False)).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "browser_download_3_done.png"), full_page=True)
            browser.close()
    etag = hub.etag(QWEN, "model.safetensors")
    assert ("GET", f"/cdn/{etag}", f"bytes={stall.offset}-") in hub.requests
    snapshot = tmp_path / "hf" / "hub" / "models--Qwen--Qwen3-Reranker-0.6B" / "snapshots"
    assert (next(snapshot.iterdir()) / "model.safetensors").read_bytes() == weights.read_bytes()

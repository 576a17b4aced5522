"""What every real-browser test shares: Chromium's path and flags, a Sieve server
started like ``make run`` on a free port with a temporary home, and the wait for a
Streamlit rerun to end.

``require_browser()`` skips with a reason when ``/usr/bin/chromium`` or the
``playwright`` package is missing (``make test-deps`` installs Chromium from the
system packages; never ``playwright install``). Screenshots go to ``ARTIFACTS``
(``tests/_artifacts/``, git-ignored): look at them.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "_artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
#: Server URL -> its temporary home (data folder under ``data/``), for the ``server`` fixture's users.
HOMES: dict[str, Path] = {}
#: Seconds a server may take to answer its health check (a loaded 2-core machine is slow).
START_TIMEOUT_S = 90


def require_browser() -> None:
    """Skip the calling test (or fixture) when Chromium or playwright is absent."""
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"{CHROMIUM} is absent (install the 'chromium' system package)")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def idle(page) -> None:
    """Wait until the app has finished its rerun (the stApp script state is no longer running)."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !['running', 'rerunRequested'].includes("
        "document.querySelector('[data-testid=\"stApp\"]')?.getAttribute('data-test-script-state'))",
        timeout=120_000)


def upload(page, path: Path) -> None:
    """Load ``path`` through the Data page's uploader (the page is open) and wait for its report."""
    from playwright.sync_api import expect

    page.get_by_text("Upload a file", exact=True).click()
    idle(page)
    page.locator("input[type=file]").set_input_files(str(path))
    expect(page.get_by_role("heading", name=path.name)).to_be_visible()
    idle(page)


@contextlib.contextmanager
def sieve_server(home: Path, env: dict[str, str] | None = None, *,
                 address: str | None = "127.0.0.1") -> Iterator[str]:
    """Run ``streamlit run dashboard/app.py`` with its data and cache under ``home``; yield its URL.

    Args:
        home: a temporary folder; ``data/`` and ``cache/`` go there, the log in ``server.log``.
        env: variables added to (or, with value ``None``, removed from) the server's environment,
            on top of the embedded scorer and ``HF_HUB_OFFLINE=1``.
        address: ``--server.address``; ``None`` leaves Streamlit's own (every interface).

    Fails the test with the log's tail when the server does not answer within
    :data:`START_TIMEOUT_S`; stops the server on exit.
    """
    port = free_port()
    full = {**os.environ, "SIEVE_DATA_DIR": str(home / "data"), "SIEVE_CACHE_DIR": str(home / "cache"),
            "SIEVE_RERANKER": "embedded", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    for key, value in (env or {}).items():
        if value is None:
            full.pop(key, None)
        else:
            full[key] = value
    cmd = [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.port", str(port),
           "--server.headless", "true"]
    if address is not None:
        cmd += ["--server.address", address]
    log_path = home / "server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=full, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while not _healthy(url):
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail("the Streamlit server did not start:\n" + log_path.read_text()[-3000:])
                time.sleep(0.5)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return r.read().strip() == b"ok"
    except OSError:
        return False

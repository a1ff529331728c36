"""A class in a real browser: two students submit a review at the same moment while a training run
(started through the runs launcher, as the Train page does) trains on the same server's machine;
both get their heatmaps, and the run is still training. Chromium via Playwright; skipped without it
(a failure in CI), as tests/test_browser.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from test_browser import ARGS, CHROMIUM, _free_port, _need_browser, no_exception, wait_idle

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REVIEWS = ("The acting was wonderful and the music lovely, though the middle dragged.",
           "A dull plot and awful dialogue; I hated the ending and the pacing was terrible.")
TOKENS = ("wonderful", "dialogue")


def _state(runs: Path, run_id: str) -> str:
    try:
        return json.loads((runs / run_id / "status.json").read_text()).get("state", "")
    except (OSError, ValueError):
        return ""


@pytest.fixture(scope="module")
def server_and_run(tmp_path_factory):
    _need_browser()
    runs = tmp_path_factory.mktemp("runs")
    env = dict(os.environ, GATESCOPE_RUNS=str(runs))
    env.setdefault("GATESCOPE_DATA", str(ROOT.parent / "shared" / "data"))
    launched = subprocess.run([sys.executable, "-m", "sentiment.runs", "launch", "--data", "hotel", "--epochs", "20",
                               "--limit", "2000", "--max-seconds", "400", "--name", "during-class"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert launched.returncode == 0, launched.stderr
    run_id = launched.stdout.strip().splitlines()[-1].split()[-1]
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=1).status == 200 and _state(runs, run_id) == "running":
                    break
            except OSError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail(f"the server or the run did not start (run state {_state(runs, run_id)!r})")
        yield url, runs, run_id
    finally:
        subprocess.run([sys.executable, "-m", "sentiment.runs", "cancel", run_id], cwd=ROOT, env=env, capture_output=True,
                       timeout=120)
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_two_pages_submitting_at_once_while_a_run_trains_both_get_their_heatmaps(server_and_run):
    from playwright.sync_api import expect, sync_playwright

    url, runs, run_id = server_and_run
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pages = [browser.new_context(viewport={"width": 1400, "height": 1600}).new_page() for _ in REVIEWS]
        for page, review in zip(pages, REVIEWS):
            page.set_default_timeout(180_000)
            page.goto(url)
            wait_idle(page)
            page.get_by_role("textbox", name="Review (English or Chinese)").fill(review)
        for page in pages:  # both at the same moment
            page.get_by_role("button", name="Analyse").click(no_wait_after=True)
        for page, token in zip(pages, TOKENS):
            expect(page.locator("[data-testid='stPlotlyChart'] text").filter(has_text=token).first).to_be_attached(
                timeout=180_000)
            wait_idle(page)
            no_exception(page)
        browser.close()
    assert _state(runs, run_id) in ("running", "finished")

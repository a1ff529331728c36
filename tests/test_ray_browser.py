"""The Train page with runs on a Ray cluster (issue 25), in a real browser: the web server has no GPU, the cluster's
worker node has the stand-in GPU resource (tests/_ray_cluster.py), and the page offers the GPU. A run started from
the page trains on the worker, its curve grows while it trains, the web server is restarted in the middle of it and
the page shows it running again, then finished, and its model opens in Explore. A second run is cancelled from the
page; a third has its training process killed and the page shows it failed with Ray's reason.
"""

# ruff: noqa: F811 (the page fixture, imported from test_browser, is a test argument here)
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="the [ray] extra (pip install -e .[ray]) runs these tests")

from _ray_cluster import cluster, env, training_pids  # noqa: E402
from test_browser import ROOT, _free_port, _need_browser, no_exception, page, wait_idle  # noqa: E402, F401

from sentiment.training import runs  # noqa: E402

try:
    from playwright.sync_api import expect
except ImportError:  # _need_browser skips (or fails in CI)
    expect = None

pytestmark = [pytest.mark.ray, pytest.mark.browser, pytest.mark.slow]
RUN_MINUTES = 8


class Server:
    """``streamlit run app.py`` on a fixed port, with the runs on the cluster; restartable."""

    def __init__(self, environ: dict[str, str]) -> None:
        self.env, self.port, self.proc = environ, _free_port(), None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port",
             str(self.port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(120):
            try:
                if urllib.request.urlopen(self.url + "/_stcore/health", timeout=1).status == 200:
                    return
            except OSError:
                time.sleep(0.5)
        raise AssertionError("streamlit did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def ray_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ray-runs")


@pytest.fixture(scope="module")
def server(ray_root):
    _need_browser()
    c = cluster()
    environ = dict(os.environ, **env(ray_root, c))
    environ.setdefault("GATESCOPE_DATA", str(ROOT.parent / "shared" / "data"))
    s = Server(environ)
    s.start()
    yield s
    s.stop()
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env(ray_root, c).items():
            mp.setenv(k, v)
        for run in runs.list_runs(ray_root):
            if run.active:
                runs.cancel(run.id, root=ray_root)


def start_run(page, name: str, epochs_to_max: bool) -> str:
    """Fill the form (hotel, ``name``, the most epochs or the fewest) and start; returns the run id."""
    page.get_by_role("combobox", name="Dataset").click()
    page.get_by_role("option", name="hotel", exact=True).click()
    wait_idle(page)
    box = page.get_by_role("textbox", name="Run name")
    box.fill(name)
    box.press("Enter")
    wait_idle(page)
    thumb = page.get_by_role("slider", name="Epochs")
    thumb.focus()
    thumb.press("End" if epochs_to_max else "Home")
    wait_idle(page)
    page.get_by_role("button", name="Start training").click()
    started = page.get_by_text(re.compile(r"Run \S+ started")).first
    expect(started).to_be_visible(timeout=120_000)
    return re.search(r"\d{8}-\d{6}-[0-9a-f]{8}", started.inner_text()).group(0)


def curve_points(page) -> int:
    chart = page.locator("[data-testid='stPlotlyChart'] .js-plotly-plot").first
    expect(chart).to_be_visible(timeout=120_000)
    # 0 while plotly has not drawn the chart yet (a rerun replaces it: g.data is then undefined for a moment)
    return chart.evaluate("g => Math.max(0, ...(g.data || []).map(d => (d.x || []).length))")


def run_state(root: Path, run_id: str, environ: dict) -> runs.Run:
    with pytest.MonkeyPatch.context() as mp:
        for k, v in environ.items():
            mp.setenv(k, v)
        return runs.get(run_id, root)


def test_a_run_trains_on_the_worker_survives_a_restart_and_opens_in_explore(page, server, ray_root):
    c = cluster()
    page.goto(f"{server.url}/train")
    wait_idle(page)
    expect(page.get_by_text(re.compile(r"Runs train on the Ray cluster at \S+: 1 GPU")).first).to_be_visible(timeout=120_000)
    # the web server has no GPU, the cluster has one: CUDA is offered without the "no GPU" warning
    page.get_by_role("radiogroup", name="Device").get_by_text("CUDA", exact=True).click()
    wait_idle(page)
    assert page.get_by_text("There is no GPU on this machine", exact=False).count() == 0
    page.get_by_role("radiogroup", name="Device").get_by_text("auto", exact=True).click()  # (the stand-in GPU has no CUDA)
    wait_idle(page)

    run_id = start_run(page, "ray-page", epochs_to_max=True)
    bar = page.locator("[data-testid='stProgress']").first
    expect(bar).to_contain_text(re.compile(r"^running · epoch"), timeout=RUN_MINUTES * 60_000)
    expect(page.get_by_text(re.compile(rf"Trains on node \S+ \({c.worker_id[:8]}\), on the CPU")).first).to_be_visible()
    expect(page.locator("[data-testid='stDataFrame']").first).to_be_visible()
    deadline = time.time() + 120
    while (first := curve_points(page)) == 0 and time.time() < deadline:  # drawn, with its first points
        page.wait_for_timeout(1000)
    deadline = time.time() + 120
    while curve_points(page) <= first and time.time() < deadline:  # the curve grows while it trains
        page.wait_for_timeout(1000)
    assert curve_points(page) > first
    no_exception(page)

    # the web server restarts in the middle of the run: the page finds it running on the cluster
    server.stop()
    assert run_state(ray_root, run_id, env(ray_root, c)).state == "running"
    server.start()
    page.goto(f"{server.url}/train")
    wait_idle(page)
    expect(page.get_by_role("combobox", name="Run", exact=True)).to_have_value(re.compile(rf"^ray-page · {run_id}$"))
    expect(bar).to_contain_text(re.compile(r"^running"), timeout=60_000)
    expect(bar).to_contain_text(re.compile(r"^finished"), timeout=RUN_MINUTES * 60_000)
    expect(page.get_by_text(re.compile(r"^Test accuracy \d+\.\d\d% on [\d,]+ reviews")).first).to_be_visible(timeout=30_000)
    run = run_state(ray_root, run_id, env(ray_root, c))
    assert run.state == "finished" and run.status["node_id"] == c.worker_id
    no_exception(page)

    page.get_by_role("button", name="Use this model").click()
    wait_idle(page)
    expect(page).to_have_url(re.compile(rf"model=[^&]*{run_id}"), timeout=60_000)
    expect(page.get_by_text(re.compile(r"ray-page \(.*trained run")).first).to_be_visible(timeout=120_000)
    expect(page.locator("[data-testid='stPlotlyChart'] .main-svg >> visible=true").first).to_be_visible(timeout=120_000)
    no_exception(page)


def test_cancel_and_a_killed_job_from_the_page(page, server, ray_root):
    c = cluster()
    page.goto(f"{server.url}/train")
    wait_idle(page)
    bar = page.locator("[data-testid='stProgress']").first

    cancelled = start_run(page, "ray-cancel", epochs_to_max=True)
    expect(bar).to_contain_text(re.compile(r"^running · epoch"), timeout=RUN_MINUTES * 60_000)
    page.get_by_role("button", name="Cancel run").click()
    expect(bar).to_contain_text(re.compile(r"^cancelled"), timeout=60_000)
    expect(page.get_by_text("Reason: cancelled", exact=True)).to_be_visible()
    assert run_state(ray_root, cancelled, env(ray_root, c)).status["ray_status"] == "STOPPED"

    killed = start_run(page, "ray-kill", epochs_to_max=True)
    expect(page.get_by_role("combobox", name="Run", exact=True)).to_have_value(re.compile(rf"{killed}$"))
    expect(bar).to_contain_text(re.compile(r"^running · epoch"), timeout=RUN_MINUTES * 60_000)
    run = run_state(ray_root, killed, env(ray_root, c))
    pids = training_pids(run.dir)
    assert len(pids) == 1
    os.kill(pids[0], signal.SIGKILL)
    expect(bar).to_contain_text(re.compile(r"^failed"), timeout=60_000)
    expect(page.get_by_text(re.compile(r"Reason: Ray: .*exit code -9 \(SIGKILL\)")).first).to_be_visible(timeout=30_000)
    run = run_state(ray_root, killed, env(ray_root, c))
    assert run.state == "failed" and not (run.dir / "model").exists()
    no_exception(page)

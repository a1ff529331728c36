"""In a real browser: the Models page's "Open your own model" (issue 21 and issue 22 item 7).

- A file that crashes its reader (tests/fixtures/h5_crash.h5: a legacy .h5 that makes the HDF5
  library segfault) gives the "could not be read safely" message in place of the result; the server
  keeps serving: its process is alive, a second browser page opens Explore and predicts, and the first
  still shows the Models page's grid.
- The own-model block after a student's state dict and vocabulary are uploaded, in English and in
  中文, is photographed as own-model-en.png and own-model-zh.png in $GATESCOPE_SCREENSHOTS (or a tmp
  dir): ``GATESCOPE_SCREENSHOTS=docs`` renews docs/own-model-*.png.

Skipped without Chromium (as tests/test_browser.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

import pytest
from test_app_own_model import student  # noqa: F401  (fixture: the student's state dict and vocabulary)
from test_browser import ARGS, CHROMIUM, ROOT, _free_port, _need_browser, no_exception, shots_dir, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

try:
    from playwright.sync_api import expect
except ImportError:
    expect = None

CRASH = ROOT / "tests" / "fixtures" / "h5_crash.h5"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """streamlit run app.py on a free port; yields (url, process)."""
    _need_browser()
    port = _free_port()
    env = dict(os.environ, GATESCOPE_RUNS=str(tmp_path_factory.mktemp("runs")))
    env.setdefault("GATESCOPE_DATA", str(ROOT.parent / "shared" / "data"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=1).status == 200:
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("streamlit did not start: " + proc.stdout.read().decode(errors="replace")[-2000:])
    yield url, proc
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def new_page(browser, height: int = 1800):
    pg = browser.new_page(viewport={"width": 1400, "height": height})
    pg.set_default_timeout(60_000)
    return pg


def open_block(page, url: str, lang: str = "en") -> None:
    page.goto(f"{url}/models" + ("?lang=zh" if lang == "zh" else ""))
    wait_idle(page)
    page.get_by_text("Open your own model" if lang == "en" else "打开你自己的模型").click()
    wait_idle(page)


def test_a_file_that_crashes_its_reader_is_a_message_and_the_server_keeps_serving(browser, server):
    url, proc = server
    page = new_page(browser)
    open_block(page, url)
    page.locator("[data-testid='stFileUploaderDropzoneInput']").nth(0).set_input_files(str(CRASH))
    wait_idle(page)
    expect(page.get_by_text("could not be read safely", exact=False).first).to_be_visible(timeout=90_000)
    expect(page.get_by_text("SIGSEGV", exact=False).first).to_be_visible()
    no_exception(page)
    assert proc.poll() is None  # the server process is alive
    expect(page.locator("[data-testid='stPlotlyChart'] .main-svg").first).to_be_attached(timeout=60_000)  # the grid stays
    # another student's session: Explore opens and predicts
    other = new_page(browser)
    other.goto(url)
    wait_idle(other)
    other.get_by_role("textbox", name="Review (English or Chinese)").fill("Not bad at all, I loved the acting.")
    other.get_by_role("button", name="Analyse").click()
    wait_idle(other)
    expect(other.locator("[data-testid='stPlotlyChart'] .main-svg").first).to_be_visible(timeout=90_000)
    expect(other.get_by_text("P(positive)", exact=False).first).to_be_visible()
    no_exception(other)
    other.close()
    page.close()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_own_model_block_in_both_languages(browser, server, student, lang, tmp_path_factory):  # noqa: F811
    url, _ = server
    page = new_page(browser, height=4200)
    open_block(page, url, lang)
    zone = page.locator("[data-testid='stFileUploaderDropzone']").first
    expect(zone).to_contain_text("64MB")  # Streamlit's own words: the app's real limit, not its default 200MB
    uploads = page.locator("[data-testid='stFileUploaderDropzoneInput']")
    uploads.nth(0).set_input_files(str(student["dir"] / "student.pt"))
    wait_idle(page)
    uploads.nth(1).set_input_files(str(student["dir"] / "vocab.json"))
    wait_idle(page)
    title = "How was it fed?" if lang == "en" else "模型是怎样输入的？"
    expect(page.get_by_text(title, exact=False).first).to_be_visible(timeout=90_000)
    padding = "padded at the back and read by the model" if lang == "en" else "在末尾填充，模型读入填充"
    expect(page.get_by_text(padding, exact=False).first).to_be_visible()
    no_exception(page)
    block = page.locator("[data-testid='stExpander']").first
    shot = shots_dir(tmp_path_factory) / f"own-model-{lang}.png"
    block.screenshot(path=str(shot))
    assert shot.stat().st_size > 20_000
    page.close()

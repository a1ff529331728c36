"""The app in a real browser: `streamlit run app.py` on 127.0.0.1, driven by Debian's Chromium via Playwright.

A person types a review, analyses it, switches cell and pooling, waits for the heatmaps, and visits
every page; no page may show an exception box. On Train a tiny run is started, watched live, and its model
opened in Explore. Screenshots go to $GATESCOPE_SCREENSHOTS (or a tmp dir).
Locally, without Chromium, the test is skipped; in CI (CI=true) a missing Chromium is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # checked in _need_browser
    expect = None

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic", "--no-sandbox"]

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _need_browser() -> None:
    if Path(CHROMIUM).exists():
        try:
            import playwright.sync_api  # noqa: F401
            return
        except ImportError:
            pass
    if os.environ.get("CI"):
        pytest.fail("CI needs Chromium (apt-get install chromium) and playwright (requirements-dev.txt)")
    pytest.skip("no Chromium or playwright here (apt-get install chromium; pip install playwright)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
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
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1800})
        pg.set_default_timeout(60_000)
        yield pg
        browser.close()


def shots_dir(tmp_path_factory) -> Path:
    d = os.environ.get("GATESCOPE_SCREENSHOTS")
    return Path(d) if d else tmp_path_factory.mktemp("shots")


def wait_idle(page) -> None:
    """Wait until Streamlit has finished the rerun (the 'running' widget disappears). The widget shows only
    after a moment of running: give a rerun up to 2 s to show it, so that a slow start is not taken for idle."""
    page.wait_for_timeout(300)
    try:
        page.wait_for_selector("[data-testid='stStatusWidget']", state="attached", timeout=2_000)
    except Exception:  # no rerun running (or one already done)
        pass
    page.wait_for_selector("[data-testid='stStatusWidget']", state="detached", timeout=90_000)


def no_exception(page) -> None:
    """No exception box, and none of the app's own "something went wrong" messages."""
    boxes = page.locator("[data-testid='stException']")
    assert boxes.count() == 0, boxes.first.inner_text()
    for words in ("Something went wrong", "could not be loaded"):
        assert page.get_by_text(words, exact=False).count() == 0, words


def pick(page, group: str, option: str) -> None:
    """Choose `option` in the model picker's segmented control `group` (Cell, Pooling)."""
    page.get_by_role("radiogroup", name=group).get_by_role("radio", name=option, exact=True).click()
    wait_idle(page)


def test_explore_type_analyse_switch_models(page, server, tmp_path_factory):
    """Typing a review and switching cell and pooling redraws the gate heatmaps, with no exception box."""
    out = shots_dir(tmp_path_factory)
    page.goto(server)
    box = page.get_by_role("textbox", name="Review (English or Chinese)")
    box.fill("Not bad at all: the acting was wonderful, though the ending dragged a little.")
    page.get_by_role("button", name="Analyse").click()
    wait_idle(page)
    page.wait_for_selector("[data-testid='stPlotlyChart'] .main-svg")
    # the heatmap's tokens are drawn on its axis
    expect(page.locator("[data-testid='stPlotlyChart'] text").filter(has_text="acting").first).to_be_attached(timeout=60_000)
    no_exception(page)
    page.screenshot(path=str(out / "explore.png"))
    pick(page, "Cell", "GRU")
    pick(page, "Pooling", "attention")
    expect(page.get_by_text("imdb-gru-attention", exact=False).first).to_be_visible(timeout=60_000)
    page.wait_for_selector("[data-testid='stPlotlyChart'] .main-svg")
    no_exception(page)
    page.screenshot(path=str(out / "explore-gru-attention.png"))


def test_dragging_over_a_heatmap_cell_picks_its_token_and_unit(page, server, tmp_path_factory):
    """A small box dragged over one cell of the input-gate panel (token 6, row 5 of 32 units) sets the
    token slider and the unit, the outline moves there and the link says token=6&unit=5."""
    import urllib.parse
    text = urllib.parse.quote("the movie was not bad at all, I loved it")
    page.goto(f"{server}/?model=imdb-lstm-max&text={text}")
    wait_idle(page)
    page.wait_for_selector("[data-testid='stPlotlyChart'] .main-svg", timeout=60_000)
    heat = page.locator("[data-testid='stPlotlyChart']").filter(has_text="input gate").first
    heat.scroll_into_view_if_needed()
    box = heat.locator(".nsewdrag").first.bounding_box()  # the first panel's plot area: 10 tokens x 32 units
    x, y = box["x"] + box["width"] * 6.5 / 10, box["y"] + box["height"] * 5.5 / 32
    page.mouse.move(x - 12, y - 9)
    page.mouse.down()
    page.mouse.move(x, y, steps=4)
    page.mouse.move(x + 12, y + 9, steps=4)
    page.mouse.up()
    expect(page).to_have_url(re.compile(r"token=6&unit=5"), timeout=30_000)
    expect(page.locator("[data-testid='stNumberInput'] input").first).to_have_value("5")
    no_exception(page)
    heat.screenshot(path=str(shots_dir(tmp_path_factory) / "explore-cell-picked.png"))


def test_chinese_review_switches_to_hotel_model(page, server, tmp_path_factory):
    """A Chinese review is read by a Chinese model; its tokens appear on the heatmap."""
    out = shots_dir(tmp_path_factory)
    page.goto(server)
    box = page.get_by_role("textbox", name="Review (English or Chinese)")
    box.fill("房间很干净，服务也很热情，下次还会再来。")
    page.get_by_role("button", name="Analyse").click()
    wait_idle(page)
    page.wait_for_selector("[data-testid='stPlotlyChart'] .main-svg")
    expect(page.get_by_text("hotel-lstm-max", exact=False).first).to_be_visible(timeout=60_000)
    expect(page.locator("[data-testid='stPlotlyChart'] text").filter(has_text="干净").first).to_be_attached(timeout=60_000)
    no_exception(page)
    page.screenshot(path=str(out / "explore-zh.png"))


def page_titles() -> list[str]:
    """The English titles of every page in the navigation but the landing page."""
    from sentiment.i18n import t
    from sentiment.ui import PAGES

    return [t(p.title_key, "en") for p in PAGES if not p.default]


@pytest.mark.parametrize("name", page_titles())
def test_every_page_draws(page, server, tmp_path_factory, name):
    """Each page of the navigation opens and draws without an exception box."""
    out = shots_dir(tmp_path_factory)
    page.goto(server)
    wait_idle(page)
    link = page.locator("[data-testid='stSidebarNav'] a, [data-testid='stTopNavLink'], a").filter(has_text=name).first
    link.click()
    wait_idle(page)
    page.wait_for_timeout(1500)
    wait_idle(page)
    no_exception(page)
    page.screenshot(path=str(out / f"{name.lower()}.png"))


def test_shared_link_opens_the_same_view(page, server, tmp_path_factory):
    """A teacher's link (?model=...&text=...&token=...&unit=...) opens Learn with that model, review, token
    and unit; its share box offers a link to the same view; presenter mode hides the sidebar and comes back."""
    from urllib.parse import quote

    out = shots_dir(tmp_path_factory)
    review = "Not bad at all: the acting was wonderful."
    page.goto(f"{server}/learn?model=imdb-gru-max&text={quote(review)}&token=5&unit=9&layer=1&dir=forward")
    wait_idle(page)
    expect(page.get_by_role("textbox", name="Review (English or Chinese)")).to_have_value(review)
    expect(page.get_by_text("Step t = 5: token “acting”, unit 9", exact=False)).to_be_visible()
    expect(page.get_by_text("imdb-gru-max", exact=False).first).to_be_visible()
    expect(page.get_by_role("slider", name="Token")).to_have_attribute("aria-valuetext", "5: acting")
    expect(page.get_by_role("spinbutton", name="Unit")).to_have_value("9")
    no_exception(page)
    assert "token=5" in page.url and "unit=9" in page.url and "model=imdb-gru-max" in page.url
    page.get_by_role("button", name="Next", exact=True).click()
    wait_idle(page)
    expect(page.get_by_text("Step t = 6: token “was”", exact=False)).to_be_visible()
    page.wait_for_function("() => location.search.includes('token=6')")
    page.get_by_role("button", name="Share this view").click()
    shared = page.locator("[data-testid='stCode'] code").first.inner_text().strip()
    assert shared.startswith(f"{server}/learn?") and "token=6" in shared and "unit=9" in shared, shared
    page.keyboard.press("Escape")
    # the shared link itself, opened afresh, shows the same step
    page.goto(shared)
    wait_idle(page)
    expect(page.get_by_text("Step t = 6: token “was”, unit 9", exact=False)).to_be_visible()
    # play steps on by itself (a fragment on a timer) and stops at the last token
    page.get_by_role("button", name="Play").click()
    expect(page.get_by_text("Step t = 7: token “wonderful”", exact=False)).to_be_visible(timeout=15_000)
    expect(page.get_by_role("button", name="Play")).to_be_visible(timeout=15_000)
    page.wait_for_function("() => location.search.includes('token=7')")
    # presenter mode: sidebar and input rows hidden, the way back visible
    page.goto(shared + "&present=1")
    wait_idle(page)
    expect(page.get_by_role("button", name="Exit presenter mode")).to_be_visible()
    expect(page.locator("[data-testid='stSidebar']")).to_be_hidden()
    expect(page.get_by_role("textbox", name="Review (English or Chinese)")).to_be_hidden()
    expect(page.get_by_text("Step t = 6: token “was”", exact=False)).to_be_visible()
    big = page.get_by_text("Step t = 6: token “was”", exact=False).evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert big >= 18, big  # enlarged for a projector (captions are 14 px otherwise)
    page.screenshot(path=str(out / "learn-presenter.png"))
    page.get_by_role("button", name="Exit presenter mode").click()
    wait_idle(page)
    expect(page.get_by_role("textbox", name="Review (English or Chinese)")).to_be_visible()
    assert "present=" not in page.url
    no_exception(page)


def test_shared_link_opens_the_same_compare_view(page, server, tmp_path_factory):
    """A Compare link opens both models, the review and the layer; picking B's pooling rewrites the URL,
    and the share box's link carries both models."""
    from urllib.parse import quote

    out = shots_dir(tmp_path_factory)
    review = "Not bad at all: the acting was wonderful."
    page.goto(f"{server}/compare?model=imdb-lstm-mean&model_b=imdb-gru-attention&text={quote(review)}&layer=1&dir=backward")
    wait_idle(page)
    expect(page.get_by_role("textbox", name="Review (English or Chinese)")).to_have_value(review)
    expect(page.get_by_text("imdb-lstm-mean", exact=False).first).to_be_visible()
    expect(page.get_by_text("imdb-gru-attention", exact=False).first).to_be_visible()
    expect(page.get_by_text("layer 1 · backward", exact=False).first).to_be_visible()
    no_exception(page)
    page.screenshot(path=str(out / "compare-link.png"))
    pools = page.get_by_role("radiogroup", name="Pooling")
    pools.nth(1).get_by_role("radio", name="max", exact=True).click()
    wait_idle(page)
    page.wait_for_function("() => location.search.includes('pooling_b=max') && location.search.includes('model_b=imdb-gru-max')")
    assert "model=imdb-lstm-mean" in page.url and "dir=backward" in page.url, page.url
    page.get_by_role("button", name="Share this view").click()
    # (the first code box of the page is a collapsed equations box: take the popover's, which has the link)
    shared = page.locator("[data-testid='stCode'] code").filter(has_text="model_b=").first.inner_text().strip()
    assert shared.startswith(f"{server}/compare?") and "model_b=imdb-gru-max" in shared, shared
    page.keyboard.press("Escape")
    no_exception(page)


def to_min(page, name: str) -> None:
    """Move the slider (or select slider) labelled `name` to its smallest value (the Home key)."""
    thumb = page.get_by_role("slider", name=name)
    thumb.focus()
    thumb.press("Home")
    wait_idle(page)


def nav(page, title: str) -> None:
    """Go to the page titled `title` through the sidebar navigation (the same browser session)."""
    page.locator("[data-testid='stSidebarNav'] a").filter(has_text=title).first.click()
    wait_idle(page)


def test_train_tiny_run_then_open_in_explore(page, server, tmp_path_factory):
    """Start a tiny run on the hotel reviews from the Train page (1 epoch, 100 reviews, 16 hidden units, 64
    tokens: the smallest the form allows); it is listed with live progress; the page stays usable meanwhile
    (Explore and back: the run is still there); it finishes with a test accuracy, and "Open in Explore" shows
    Explore with the run's model chosen in the picker and a prediction drawn by it."""
    out = shots_dir(tmp_path_factory)
    page.goto(f"{server}/train")
    wait_idle(page)
    expect(page.get_by_text("No runs yet", exact=False)).to_be_visible()
    page.get_by_role("combobox", name="Dataset").click()
    page.get_by_role("option", name="hotel", exact=True).click()
    wait_idle(page)
    name = page.get_by_role("textbox", name="Run name")
    name.fill("browser-run")
    name.press("Enter")
    wait_idle(page)
    for label in ("Epochs", "Training reviews", "Hidden units", "Max tokens per review"):
        to_min(page, label)
    for label, value in (("Epochs", "1"), ("Training reviews", "100"), ("Hidden units", "16"), ("Max tokens per review", "64")):
        expect(page.get_by_role("slider", name=label)).to_have_attribute("aria-valuetext", value)
    page.get_by_role("button", name="Start training").click()
    wait_idle(page)
    expect(page.get_by_text("started.", exact=False)).to_be_visible()
    bar = page.locator("[data-testid='stProgress']").first
    # live: the fragment re-reads the run every 2 s, so "queued" turns into "running" with no click
    expect(bar).to_contain_text(re.compile(r"^running"), timeout=30_000)
    no_exception(page)
    page.screenshot(path=str(out / "train-running.png"))
    # the page stays usable while the run trains: on Explore, an English review is analysed meanwhile
    nav(page, "Explore")
    expect(page.get_by_role("heading", name="Explore a review")).to_be_visible()
    box = page.get_by_role("textbox", name="Review (English or Chinese)")
    box.fill("The plot was thin but the actors were wonderful.")
    page.get_by_role("button", name="Analyse").click()
    wait_idle(page)
    expect(page.locator("[data-testid='stMetric']").first).to_contain_text("Prediction", timeout=60_000)
    expect(page.get_by_text(re.compile(r"^imdb-")).first).to_be_visible()
    # and back on Train the run is still listed (and selected)
    nav(page, "Train")
    run_picker = page.get_by_role("combobox", name="Run", exact=True)
    expect(run_picker).to_have_value(re.compile(r"^browser-run · "))
    expect(bar).to_contain_text(re.compile(r"^(running|finished)"), timeout=20_000)
    # the form is as it was left, not back to its defaults
    expect(page.get_by_role("textbox", name="Run name")).to_have_value("browser-run")
    for label, value in (("Epochs", "1"), ("Training reviews", "100"), ("Hidden units", "16"), ("Max tokens per review", "64")):
        expect(page.get_by_role("slider", name=label)).to_have_attribute("aria-valuetext", value)
    expect(bar).to_contain_text(re.compile(r"^finished"), timeout=120_000)
    # the picker's label carries no state that could go stale ("running" next to a finished run)
    expect(run_picker).to_have_value(re.compile(r"^browser-run · \d{8}-\d{6}-[0-9a-f]{8}$"))
    expect(page.get_by_text(re.compile(r"^Test accuracy \d+\.\d\d% on [\d,]+ reviews")).first).to_be_visible(timeout=10_000)
    no_exception(page)
    page.screenshot(path=str(out / "train-finished.png"))
    page.get_by_role("button", name="Use this model").click()
    wait_idle(page)
    expect(page.get_by_role("heading", name="Explore a review")).to_be_visible()
    expect(page.get_by_role("combobox", name="Dataset")).to_have_value("hotel · Chinese")
    picker = page.get_by_role("combobox", name="Model")
    expect(picker).to_be_visible()
    expect(picker).to_have_value(re.compile(r"^browser-run \(.*trained run"))
    expect(page.locator("[data-testid='stMetric']").first).to_contain_text("Prediction", timeout=60_000)
    expect(page.get_by_text(re.compile(r"^browser-run \(.*trained run")).first).to_be_visible(timeout=60_000)
    page.wait_for_selector("[data-testid='stPlotlyChart'] .main-svg")
    # the English review left on Explore became a Chinese example: the hotel model reads Chinese
    review = page.get_by_role("textbox", name="Review (English or Chinese)").input_value()
    assert re.search(r"[\u4e00-\u9fff]", review) and not re.search(r"[A-Za-z]{3}", review), review
    assert page.get_by_text("its prediction means little", exact=False).count() == 0
    no_exception(page)
    page.screenshot(path=str(out / "train-open-in-explore.png"))

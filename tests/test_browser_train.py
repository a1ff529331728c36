"""The Train page as a teacher uses it in class (issue 14, item 7), in a real browser: the quick run the
page offers first trains on real reviews to a model clearly better than always saying the
majority label, and the page says so; its curve has a point per logged batch, not a single dot; the
runs table fits the page; "Use this model" opens Explore on the new model, which draws its heatmaps.
On this fresh server no run has finished, so the page's first estimate comes from timing a few
batches (issue 22): it is within 30% of the run's own wall time.
The fixtures are tests/test_browser.py's (a fresh runs folder per server)."""

# ruff: noqa: F811 (the fixtures page and server, imported from test_browser, are test arguments here)
from __future__ import annotations

import json
import re

import pytest
from test_browser import no_exception, page, server, wait_idle  # noqa: F401 (fixtures)

try:
    from playwright.sync_api import expect
except ImportError:  # test_browser's fixtures skip (or fail in CI) without playwright
    expect = None

pytestmark = [pytest.mark.browser, pytest.mark.slow]
RUN_MINUTES = 12  # the quick run: about 30 s of CPU at one thread; the limit allows for a loaded CI machine


def seconds_of(shown: str) -> int:
    """'45 s', '2 min 37 s' or '3 min' (the page's durations) -> seconds."""
    m = re.fullmatch(r"(?:(\d+) min)? ?(?:(\d+) s)?", shown.strip())
    assert m and any(m.groups()), shown
    return 60 * int(m.group(1) or 0) + int(m.group(2) or 0)


def test_the_quick_run_beats_the_majority_label_and_opens_in_explore(page, server, tmp_path_factory):
    page.goto(f"{server}/train")
    wait_idle(page)
    # a fresh server has finished no run: the page times a few batches, then estimates the quick run
    shown = page.get_by_text(re.compile(r"Estimated time on this machine's CPU: about .+ \(much less")).first
    expect(shown).to_be_visible(timeout=120_000)
    expect(page.get_by_text(re.compile(r"training batches of this model and data, timed on this server")).first).to_be_visible()
    how = shown.inner_text()
    guess = seconds_of(re.search(r"about (.+?) \(much less", how).group(1))
    page.get_by_role("button", name="Start training").click()
    started = page.get_by_text(re.compile(r"Run \S+ started")).first
    expect(started).to_be_visible(timeout=60_000)
    run_id = re.search(r"\d{8}-\d{6}-[0-9a-f]{8}", started.inner_text())

    # the run ends with the plain verdict against the majority label
    # (the plain "Test accuracy ..." shows first, from the run's last event, until the run is marked finished
    # and its card can be read: wait for the verdict itself)
    verdict = page.get_by_text(re.compile(r"Test accuracy \d+\.\d\d% on [\d,]+ reviews.*than always saying"))
    expect(verdict.first).to_be_visible(timeout=RUN_MINUTES * 60_000)
    wait_idle(page)
    text = verdict.first.inner_text()
    assert "better than always saying" in text and "no better than" not in text, text
    acc, base = (float(v) for v in re.findall(r"(\d+\.\d\d)%", text)[:2])
    assert acc >= base + 2, text

    # the first estimate against the run's own wall time (started to ended, as its folder records them)
    status = list({p.resolve() for p in tmp_path_factory.getbasetemp().glob(f"runs*/{run_id.group(0)}/status.json")})
    assert len(status) == 1, status
    st = json.loads(status[0].read_text(encoding="utf-8"))
    real = st["ended"] - st["started"]
    print(f"estimate {guess} s, real {real:.1f} s ({guess / real - 1:+.0%}): {how}")
    assert abs(guess - real) <= 0.3 * real, (guess, real)

    # the curve: a point per logged batch (a one-epoch run is a line, not one dot)
    chart = page.locator("[data-testid='stPlotlyChart'] .js-plotly-plot").first
    expect(chart).to_be_visible(timeout=30_000)
    points = chart.evaluate("g => Math.max(...g.data.map(d => (d.x || []).length))")
    assert points >= 4, points

    # the runs table fits the page: no column hidden past the right edge
    frame = page.locator("[data-testid='stDataFrame']").first
    scroll, client = frame.evaluate("e => { const s = e.querySelector('.dvn-scroller'); return [s.scrollWidth, s.clientWidth] }")
    assert scroll <= client + 1, (scroll, client)
    no_exception(page)

    # "Use this model": Explore on the run's model, its gates drawn
    page.get_by_role("button", name="Use this model").click()
    wait_idle(page)
    expect(page).to_have_url(re.compile(rf"model=[^&]*{run_id.group(0)}"), timeout=60_000)
    page.wait_for_selector("[data-testid='stPlotlyChart'] .main-svg", timeout=120_000)
    expect(page.get_by_text(re.compile(rf"{run_id.group(0)}.*trained run")).first).to_be_visible(timeout=60_000)
    box = page.get_by_role("textbox", name="Review (English or Chinese)")
    expect(box).to_have_value(re.compile(r"\S"), timeout=30_000)  # a review in the model's language, all of it read
    assert page.get_by_text("did not read the", exact=False).count() == 0
    no_exception(page)

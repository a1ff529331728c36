"""Patterns over every review of a dataset in a real browser (Chromium, as tests/test_browser.py), issue 24:
a person uploads a CSV of real IMDB test reviews, traces the page's sample of it, starts the index of all
of them, watches its bar (reviews done, elapsed and expected time), stops it, continues it from where it
stopped, and then sees the same units' matches over every review. The times are printed (``-s``)."""

from __future__ import annotations

import csv
import re
import time

import pytest
from test_browser import ARGS, CHROMIUM, no_exception, wait_idle
from test_browser_patterns_first import fresh_server  # noqa: F401 (fixture: a server with an empty cache)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
REVIEWS = 6000  # IMDB test reviews of at most 950 characters: about 0.7 million tokens, a minute or more to index here
BUILD_S = 600  # the whole index, on a 2-core machine busy with a CI run


@pytest.fixture
def imdb_csv(imdb_path, tmp_path):
    """The first REVIEWS short IMDB test reviews as a label,review CSV (written in tmp, never kept)."""
    from sentiment.data import readers

    short = [(y, t) for t, y in readers.load(imdb_path).official["test"] if len(t) <= 950]
    rows = [r for r in short if r[0] == 1][: REVIEWS // 2] + [r for r in short if r[0] == 0][: REVIEWS // 2]
    path = tmp_path / "imdb-short.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["label", "review"])
        w.writerows(rows)
    return path


def test_the_whole_upload_is_indexed_with_a_bar_stopped_continued_and_matched(fresh_server, imdb_csv):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    url, _ = fresh_server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            page.goto(f"{url}/patterns")
            page.wait_for_selector("[data-testid='stPlotlyChart'] .main-svg", timeout=120_000)
            page.get_by_text("A CSV of yours").click()
            page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(imdb_csv))
            expect(page.get_by_text(f"{REVIEWS:,} labelled reviews", exact=False)).to_be_visible(timeout=120_000)
            page.get_by_role("button", name=re.compile(r"Trace [\d,]+ of your reviews")).click()
            expect(page.get_by_role("heading", name=f"In all {REVIEWS:,} reviews")).to_be_visible(timeout=300_000)

            # start: the bar says how many reviews are done, how long it has run and how long it may take
            t0 = time.perf_counter()
            page.get_by_role("button", name=re.compile(rf"Index all {REVIEWS:,} reviews")).click()
            bar = page.locator("[data-testid='stProgress']").filter(has_text="Indexing:")
            expect(bar).to_be_visible(timeout=60_000)
            expect(bar).to_contain_text(re.compile(rf"of {REVIEWS:,} reviews"))
            done = _wait_for_progress(page, bar, at_least=REVIEWS // 2)  # past the first shard (120,000 tokens): kept

            # stop: what is done is kept, and the button continues from there
            page.get_by_role("button", name="Stop indexing").click()
            expect(page.get_by_text("The index was stopped before it was complete", exact=False)).to_be_visible(timeout=120_000)
            resume = page.get_by_role("button", name=re.compile(rf"Continue the index \(([\d,]+) of {REVIEWS:,} reviews done\)"))
            expect(resume).to_be_visible()
            kept = int(re.search(r"\(([\d,]+) of", resume.inner_text()).group(1).replace(",", ""))
            assert 0 < kept < REVIEWS, (kept, done)
            no_exception(page)

            # continue: the bar starts from what was kept; at the end, matches over every review
            resume.click()
            expect(bar).to_be_visible(timeout=60_000)
            first = _reviews_done(bar.inner_text())
            assert first >= kept, (first, kept)
            ready = page.get_by_text(re.compile(rf"Index: {REVIEWS:,} reviews, [\d,]+ tokens"))
            expect(ready).to_be_visible(timeout=BUILD_S * 1000)
            print(f"\nindex of {REVIEWS:,} uploaded reviews, stopped at {kept:,} and continued: {time.perf_counter() - t0:.0f} s")
            wait_idle(page)
            matches = page.get_by_text(re.compile(r"[\d,]+ phrases? in all [\d,]+ reviews where unit"))
            expect(matches.first).to_be_visible(timeout=60_000)
            no_exception(page)
        finally:
            browser.close()


def _reviews_done(text: str) -> int:
    m = re.search(r"Indexing: ([\d,]+) of", text)
    return int(m.group(1).replace(",", "")) if m else 0


def _wait_for_progress(page, bar, at_least: int, seconds: float = BUILD_S) -> int:
    """Wait (reading the bar every half second) until it says at least ``at_least`` reviews are done."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done = _reviews_done(bar.inner_text())
        if done >= at_least:
            return done
        page.wait_for_timeout(500)
    raise AssertionError(f"the bar did not reach {at_least} reviews in {seconds} s")

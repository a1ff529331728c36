"""A lesson without rough edges (issue 14), in a real browser: `streamlit run app.py` driven by Chromium.

One test per thing a teacher tripped over: the review and model follow the class from page to page;
Patterns opens on a finding; presenter mode enlarges the charts' own text (read from the rendered SVG);
heatmap axes stay readable; a mixed-language review says what was not read; edits and numbers read
right; no "Deploy" button, tables that fit. The fixtures are tests/test_browser.py's.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from test_browser import no_exception, page, server, wait_idle  # noqa: F401 (fixtures)

try:
    from playwright.sync_api import expect
except ImportError:  # test_browser's fixtures skip (or fail in CI) without playwright
    expect = None

pytestmark = [pytest.mark.browser, pytest.mark.slow]
REVIEW_BOX = "Review (English or Chinese)"


def go_to(page, title: str) -> None:
    """Open a page by its title in the sidebar's navigation, as a person does."""
    page.locator("[data-testid='stSidebarNav'] a").filter(has_text=title).first.click()
    wait_idle(page)
    page.wait_for_timeout(500)
    wait_idle(page)


def charts_drawn(page) -> None:
    page.wait_for_selector("[data-testid='stPlotlyChart'] .main-svg", timeout=60_000)


# ---- 1. one review and one model per session ------------------------------------------------------


def test_the_review_and_model_follow_the_lesson_across_pages(page, server):
    """A review typed in Explore with a GRU model is the one Learn and Compare (model A) open on; a review
    changed on Compare is the one Explore shows next; the URL carries it on each page."""
    review = "The plot was thin, but the acting was wonderful and I was moved."
    page.goto(server)
    wait_idle(page)
    page.get_by_role("textbox", name=REVIEW_BOX).fill(review)
    page.get_by_role("button", name="Analyse").click()
    wait_idle(page)
    page.get_by_role("radiogroup", name="Cell").get_by_role("radio", name="GRU", exact=True).click()
    wait_idle(page)
    expect(page.get_by_text("imdb-gru-max", exact=False).first).to_be_visible(timeout=60_000)
    go_to(page, "Learn")
    expect(page.get_by_role("textbox", name=REVIEW_BOX)).to_have_value(review)
    expect(page.get_by_text("imdb-gru-max", exact=False).first).to_be_visible(timeout=60_000)
    page.wait_for_function("() => location.search.includes('model=imdb-gru-max')")
    go_to(page, "Compare")
    expect(page.get_by_role("textbox", name=REVIEW_BOX)).to_have_value(review)
    charts_drawn(page)
    model_a = page.locator("[data-testid='stColumn']").filter(has_text="Model A").first
    expect(model_a.get_by_text("imdb-gru-max", exact=False).first).to_be_visible(timeout=60_000)
    changed = "A dull, slow film; I left early."
    page.get_by_role("textbox", name=REVIEW_BOX).fill(changed)
    page.get_by_role("button", name="Analyse").click()
    wait_idle(page)
    go_to(page, "Explore")
    expect(page.get_by_role("textbox", name=REVIEW_BOX)).to_have_value(changed)
    expect(page.get_by_text("imdb-gru-max", exact=False).first).to_be_visible(timeout=60_000)
    page.wait_for_function("() => (new URLSearchParams(location.search).get('text') || '').startsWith('A dull, slow film')")
    no_exception(page)

"""Page paths and the frame in a real browser (Chromium, as tests/test_browser.py): a hand-typed
``/explore?model=...&text=...`` link opens Explore with that view and no "Page not found" dialog, old links
without a path still open Explore, and the language picker names the languages (English / 中文)."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from test_browser import no_exception, page, server, wait_idle  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REVIEW = "not bad at all"


def _no_dialog(page) -> None:  # noqa: F811
    assert page.get_by_text("Page not found", exact=False).count() == 0
    assert page.locator("[role='dialog']").count() == 0


@pytest.mark.parametrize("path", ["/explore", "/"], ids=["explore-path", "no-path"])
def test_explore_link_opens_the_view_without_a_dialog(page, server, path):  # noqa: F811
    from playwright.sync_api import expect

    page.goto(f"{server}{path}?model=imdb-gru-max&text={quote(REVIEW)}")
    wait_idle(page)
    expect(page.get_by_role("heading", name="Explore a review")).to_be_visible()
    expect(page.get_by_role("textbox", name="Review (English or Chinese)")).to_have_value(REVIEW)
    expect(page.locator("[data-testid='stMetric']").first).to_contain_text("Prediction", timeout=60_000)
    expect(page.get_by_text("4 tokens read", exact=False).first).to_be_visible()  # the prediction is of that review
    expect(page.get_by_text(re.compile(r"^imdb-gru-max")).first).to_be_visible()
    _no_dialog(page)
    no_exception(page)
    # nothing blocks the page: another page's link works
    page.locator("[data-testid='stSidebarNav'] a").filter(has_text="Models").first.click()
    wait_idle(page)
    page.wait_for_url(re.compile(r"/models"))
    expect(page.get_by_text("Explore a review")).to_have_count(0)
    _no_dialog(page)
    no_exception(page)


def test_language_picker_names_the_languages(page, server):  # noqa: F811
    from playwright.sync_api import expect

    page.goto(server)
    wait_idle(page)
    picker = page.locator("[data-testid='stSidebar'] [data-testid='stRadio']").first
    expect(picker).to_contain_text("English")
    expect(picker).to_contain_text("中文")
    assert not re.search(r"\b(en|zh)\b", picker.inner_text()), picker.inner_text()

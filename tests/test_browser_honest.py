"""The bag-of-words reference in a real browser (Chromium, as tests/test_browser.py): Compare with it as
model B draws its per-word contributions for an English and a Chinese review, and the Models page's
grids draw its row."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from test_browser import no_exception, page, server, wait_idle  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize("a,b,text", [("imdb-lstm-max", "imdb-bow", "I expected a boring film, but it was great."),
                                      ("hotel-lstm-max", "hotel-bow", "本来以为房间很差，结果很好。")], ids=["en", "zh"])
def test_compare_draws_the_bag_of_words_as_model_b(page, server, a, b, text):  # noqa: F811
    from playwright.sync_api import expect

    page.goto(f"{server}/compare?model={a}&model_b={b}&text={quote(text)}")
    wait_idle(page)
    expect(page.get_by_text("What the bag of words adds up", exact=False).first).to_be_visible(timeout=90_000)
    expect(page.get_by_text("Bag of words: each word's contribution", exact=False).first).to_be_visible(timeout=90_000)
    expect(page.get_by_text(b, exact=False).first).to_be_visible()
    no_exception(page)


def test_models_page_draws_the_bag_of_words_row(page, server):  # noqa: F811
    from playwright.sync_api import expect

    page.goto(f"{server}/models")
    wait_idle(page)
    expect(page.locator("[data-testid='stPlotlyChart'] .main-svg").first).to_be_visible(timeout=90_000)
    expect(page.get_by_text("BOW (reference)").first).to_be_visible(timeout=60_000)
    no_exception(page)

"""Patterns in a real browser (Chromium, the fixtures of tests/test_browser.py) after a switch: another dataset
leaves no review of the previous one on the page; 中文 → English leaves no Chinese label and every choice
chosen; the page opens on the review being followed between pages (Explore's, a link's), else on the same
default review. What AppTest cannot see: the label a browser keeps for a choice Streamlit does not send again
(tests/test_app_patterns.py follows the same from the messages)."""

# ruff: noqa: F811 (the fixtures page and server, imported from test_browser, are test arguments here)
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
CJK = re.compile(r"[\u4e00-\u9fff]")
REVIEW = "The plot was thin, but the acting was wonderful and I was moved."
REVIEW_BOX = "Review (English or Chinese)"


def opened(page) -> None:
    """The page has drawn its review's heatmap and is idle."""
    page.wait_for_selector("[data-testid='stPlotlyChart'] .main-svg", timeout=180_000)
    wait_idle(page)
    page.wait_for_timeout(500)
    wait_idle(page)


def chosen(page, label: str) -> str:
    """The text a selectbox shows as its choice (the value of its combobox, as drawn)."""
    return page.get_by_role("combobox", name=label).input_value()


def go_to(page, title: str) -> None:
    """Open a page by its title in the sidebar's navigation, as a person does."""
    page.locator("[data-testid='stSidebarNav'] a").filter(has_text=title).first.click()
    wait_idle(page)
    page.wait_for_timeout(500)
    wait_idle(page)


def test_switching_the_dataset_leaves_no_review_of_the_previous_one(page, server):
    page.goto(f"{server}/patterns")
    opened(page)
    imdb = chosen(page, "Review of the sample")
    assert imdb.startswith("#") and not CJK.search(imdb), imdb
    page.get_by_role("combobox", name="Dataset").first.click()
    page.get_by_role("option").filter(has_text="hotel").first.click()
    wait_idle(page)
    opened(page)
    hotel = chosen(page, "Review of the sample")
    assert hotel != imdb and CJK.search(hotel), hotel  # a hotel review, in Chinese
    assert page.get_by_text(imdb, exact=False).count() == 0
    no_exception(page)


def test_switching_to_english_leaves_no_chinese_label_and_every_choice_chosen(page, server):
    page.goto(f"{server}/patterns?lang=zh")
    opened(page)
    expect(page.get_by_role("radiogroup", name="要追踪的评论").get_by_role("radio", checked=True)).to_have_count(1)
    page.locator("[data-testid='stSidebar']").get_by_text("English", exact=True).click()
    wait_idle(page)
    opened(page)
    expect(page.get_by_text("Reviews to trace", exact=True)).to_be_visible()
    trace = page.get_by_role("radiogroup", name="Reviews to trace")
    expect(trace.get_by_role("radio", checked=True)).to_have_count(1)
    expect(trace.get_by_role("radio", checked=True)).to_have_accessible_name("The model's test split")
    assert chosen(page, "Dataset") == "hotel · Chinese"
    assert chosen(page, "Gate or state") == "h_t · hidden state"
    assert chosen(page, "Layer and direction") == "layer 1 · forward"
    review = chosen(page, "Review of the sample")
    assert re.search(r" · (Positive|Negative) · \d+ tokens? · ", review), review
    no_exception(page)


def test_switching_to_english_keeps_the_open_tab(page, server):
    page.goto(f"{server}/patterns?lang=zh")
    opened(page)
    page.get_by_role("tab", name="单元与词").click()
    wait_idle(page)
    page.locator("[data-testid='stSidebar']").get_by_text("English", exact=True).click()
    wait_idle(page)
    expect(page.get_by_role("tab", name="Unit words")).to_have_attribute("aria-selected", "true", timeout=60_000)
    no_exception(page)


def test_from_explore_patterns_opens_on_the_review_explore_showed(page, server):
    page.goto(server)
    wait_idle(page)
    page.get_by_role("textbox", name=REVIEW_BOX).fill(REVIEW)
    page.get_by_role("button", name="Analyse").click()
    wait_idle(page)
    page.wait_for_selector("[data-testid='stPlotlyChart'] .main-svg", timeout=120_000)
    go_to(page, "Patterns")
    opened(page)
    expect(page.get_by_role("textbox", name="Your review")).to_have_value(REVIEW)
    no_exception(page)


def test_a_link_to_patterns_opens_on_its_review_and_a_plain_visit_on_the_default(page, server):
    page.goto(f"{server}/patterns?model=imdb-gru-max&text={quote(REVIEW)}")
    opened(page)
    expect(page.get_by_role("textbox", name="Your review")).to_have_value(REVIEW)
    page.goto(f"{server}/patterns")
    opened(page)
    first = chosen(page, "Review of the sample")
    page.goto(f"{server}/patterns")
    opened(page)
    assert chosen(page, "Review of the sample") == first
    no_exception(page)

"""Every page in Chinese in a real browser: the text Chromium renders (page and chart SVG) has no English word
outside model names, gate symbols, technical names and the user's text (the same check as test_app_chinese).

Plotly draws its titles, axis titles, legends and colour bars as SVG text, which AppTest cannot see; this walk
reads them as drawn. Each page is opened with ?lang=zh (the language switch reads it on a new session).
"""

from __future__ import annotations

import urllib.parse

import pytest
from _visible_text import english_words
from test_app_chinese import MODELS, USER_WORDS, ZH_REVIEW
from test_browser import no_exception, page, server, shots_dir, wait_idle  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# every text node of the page but icons (drawn from ligature names), code, formulas (KaTeX) and charts (read below)
TEXT_NODES = """(sel) => {
  const skip = "[data-testid='stIconMaterial'], code, pre, .katex, [data-testid='stPlotlyChart'], script, style, " +
               "[data-testid='stFileUploaderDropzone']";  // Streamlit's own uploader text (its language, not the app's)
  const out = [];
  document.querySelectorAll(sel).forEach(root => {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    let node;
    while ((node = walker.nextNode())) {
      const parent = node.parentElement;
      if (!parent || parent.closest(skip) || !node.textContent.trim()) continue;
      if (getComputedStyle(parent).fontFamily.includes("Material")) continue;  // an icon drawn from its name
      out.push(node.textContent.trim());
    }
  });
  return out;
}"""

PAGES = ["explore", "compare", "patterns", "learn", "models", "train"]


def rendered_words(pg) -> list[tuple[str, list[str]]]:
    """(line, its English words) for the main area, the sidebar and every chart's SVG text, as drawn."""
    texts = pg.evaluate(TEXT_NODES, "[data-testid='stMain'], [data-testid='stSidebar']")
    texts += pg.locator("[data-testid='stPlotlyChart'] svg text").all_text_contents()
    found = []
    for text in texts:
        for line in text.splitlines():
            words = english_words(line, USER_WORDS | {"Language", "English"}, MODELS)  # the switch is bilingual on purpose
            if words:
                found.append((line[:120], words))
    return found


@pytest.mark.parametrize("name", PAGES)
def test_every_page_in_chinese_as_the_browser_draws_it(page, server, tmp_path_factory, name):  # noqa: F811
    text = urllib.parse.quote(ZH_REVIEW)
    path = "" if name == "explore" else name  # the landing page lives at /
    page.goto(f"{server}/{path}?lang=zh&model=hotel-lstm-max&text={text}")
    wait_idle(page)
    if name not in ("patterns", "train"):
        page.wait_for_selector("[data-testid='stPlotlyChart'] .main-svg", timeout=180_000)
        wait_idle(page)
    no_exception(page)
    page.screenshot(path=str(shots_dir(tmp_path_factory) / f"{name}-zh.png"))
    found = rendered_words(page)
    assert found == [], "\n".join(f"{words}: {line!r}" for line, words in found)

"""Tables and overlays in a real browser at a 1280 px wide window (issue 22, item 6).

The Models page's "All models" tables (test scores; size, training and calibration; negation and
contrast) show every header and every value whole, in English and in 中文:
st.dataframe draws its grid on a canvas (glide-data-grid), so the column widths are read from the grid
lines drawn on it and compared with each header's and each value's text width measured in the grid's
font (the texts come from the grid's accessibility table). In presenter mode, the "Exit presenter mode"
button covers no chart, at the top of the page and after scrolling. Chromium via Playwright; skipped
without it (a failure in CI), as tests/test_browser.py."""

from __future__ import annotations

import pytest
from test_browser import ARGS, CHROMIUM, server, wait_idle  # noqa: F401 (fixtures)

from sentiment.i18n import TABLES
from sentiment.ui.models import ACCURACY_COLS, LESSON_COLS, MAKING_COLS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAD_PX = 14  # a cell pads its text 8 px on each side: at least 14 px of room besides the text itself

# Per dataframe: the column edges drawn on its canvas (the grid lines along the top row of the header, where
# no text is), its headers and the values of its rows now drawn (the accessibility table, by column), and the
# width of each text in the grid's font.
MEASURE = """(root) => [...root.querySelectorAll("[data-testid='stDataFrame']")].map(df => {
  const canvas = df.querySelector("canvas[data-testid='data-grid-canvas']");
  const ctx = canvas.getContext("2d");
  const dpr = window.devicePixelRatio || 1;
  const row = ctx.getImageData(0, Math.round(3 * dpr), canvas.width, 1).data;
  const px = x => row.slice(4 * x, 4 * x + 3).join(",");
  const counts = {};
  for (let x = 0; x < canvas.width; x++) counts[px(x)] = (counts[px(x)] || 0) + 1;
  const bg = Object.entries(counts).sort((a, b) => b[1] - a[1])[0][0];
  const edges = [0];
  for (let x = 1; x < canvas.width - 2; x++) if (px(x) !== bg && px(x - 1) === bg) edges.push(x / dpr);
  edges.push(canvas.width / dpr);
  const m = document.createElement("canvas").getContext("2d");
  m.font = "14px " + getComputedStyle(df).fontFamily;
  const width = s => m.measureText(s).width;
  const heads = [...df.querySelectorAll("[role='columnheader']")].map(th => th.textContent.trim());
  const cells = {};
  df.querySelectorAll("td").forEach(td => {
    const i = Number(td.getAttribute("aria-colindex"));
    (cells[i] = cells[i] || []).push(td.textContent.trim());
  });
  return {edges, heads, shown: df.getBoundingClientRect().width, canvas: canvas.width / dpr,
          headWidths: heads.map(width),
          cells: Object.entries(cells).map(([i, vs]) => [Number(i), vs.map(v => [v, width(v)])])};
})"""


@pytest.fixture(scope="module")
def browser(server):  # noqa: F811
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _page(browser, height=1000):
    pg = browser.new_page(viewport={"width": 1280, "height": height})
    pg.set_default_timeout(120_000)
    return pg


def _cut(table: dict, lang: str) -> list[str]:
    """What this table cuts: headers and values wider than their column less its padding."""
    edges = table["edges"]
    widths = [b - a for a, b in zip(edges, edges[1:])]
    out = []
    if len(widths) != len(table["heads"]):
        out.append(f"{len(widths)} columns drawn for {len(table['heads'])} headers {table['heads']} (some out of view)")
        return out
    for head, need, w in zip(table["heads"], table["headWidths"], widths):
        if need + PAD_PX > w:
            out.append(f"[{lang}] header {head!r}: {need:.0f} px of text in a {w:.0f} px column")
    for i, values in table["cells"]:
        for value, need in values:
            if need + PAD_PX > widths[i - 1]:
                out.append(f"[{lang}] value {value!r} in {table['heads'][i - 1]!r}: {need:.0f} px in {widths[i - 1]:.0f} px")
    return out


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_models_tables_show_every_header_and_value_whole(browser, server, lang):  # noqa: F811
    pg = _page(browser)
    try:
        pg.goto(f"{server}/models?lang={lang}")
        wait_idle(pg)
        pg.wait_for_selector("[data-testid='stDataFrame'] canvas[data-testid='data-grid-canvas']")
        pg.wait_for_timeout(1500)  # the grid draws after it mounts
        words = TABLES[lang]
        expected = [[words[f"col.s.{c}"] for c in cols] for cols in (ACCURACY_COLS, MAKING_COLS, LESSON_COLS)]
        main = pg.locator("[data-testid='stMain']")
        tables = pg.evaluate(MEASURE, main.element_handle())
        found = [tb for tb in tables if tb["heads"] in expected]
        assert len(found) == 3, [tb["heads"] for tb in tables]
        problems = []
        for tb in found:
            assert tb["canvas"] <= tb["shown"] + 1, f"the table is wider than its place: {tb['canvas']} > {tb['shown']}"
            assert tb["cells"], "no rows read from the grid"
            problems += _cut(tb, lang)
        # the rows further down too: scroll each grid to its end and measure again
        pg.evaluate("""(root) => root.querySelectorAll("[data-testid='stDataFrame'] .dvn-scroller")
                                     .forEach(s => s.scrollTop = s.scrollHeight)""", main.element_handle())
        pg.wait_for_timeout(800)
        for tb in pg.evaluate(MEASURE, main.element_handle()):
            if tb["heads"] in expected:
                problems += _cut(tb, lang)
        assert not problems, "\n".join(sorted(set(problems)))
    finally:
        pg.close()


def _overlap(a: dict, b: dict) -> bool:
    return (min(a["x"] + a["width"], b["x"] + b["width"]) - max(a["x"], b["x"]) > 0.5
            and min(a["y"] + a["height"], b["y"] + b["height"]) - max(a["y"], b["y"]) > 0.5)


def test_presenter_exit_button_covers_no_chart_when_the_page_scrolls(browser, server):  # noqa: F811
    pg = _page(browser, height=900)
    try:
        pg.goto(f"{server}/models?present=1")
        wait_idle(pg)
        pg.wait_for_selector("[data-testid='stPlotlyChart'] .main-svg")
        button = pg.get_by_role("button", name="Exit presenter mode")
        button.wait_for(state="visible", timeout=60_000)  # (the page may still be drawing on a loaded machine)
        scroller = "[data-testid='stMain']"
        seen, tops = 0, set()
        for step in range(8):
            pg.evaluate(f"""(y) => {{ const el = document.querySelector("{scroller}");
                                      el.scrollTop = y; window.scrollTo(0, y); }}""", step * 350)
            pg.wait_for_timeout(250)
            box = button.bounding_box()
            if box is None:
                continue
            for i, chart in enumerate(pg.locator("[data-testid='stPlotlyChart']").all()):
                cbox = chart.bounding_box()
                if cbox is None:
                    continue
                seen += 1
                if i == 0:
                    tops.add(round(cbox["y"]))
                assert not _overlap(box, cbox), f"after scrolling {step * 350} px the exit button {box} covers chart {i} {cbox}"
        assert seen, "no chart measured"
        assert len(tops) > 2, f"the page did not scroll (first chart at {tops})"
        button.click()
        wait_idle(pg)
        assert pg.get_by_role("button", name="Exit presenter mode").count() == 0
    finally:
        pg.close()

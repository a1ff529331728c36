"""Gate heatmaps a class can read (issue 22, item 2): token labels on every panel, a long review opened on
a window of readable columns with an overview strip to move along it, unit labels of 12 px or more, and
the cell state's colours clipped at a high percentile with its true range on the colour bar.

The JSON tests build figures from synthetic traces; the browser test opens Explore's Gates tab on a long
review written for this test and measures the drawn chart."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from sentiment import figures, probe
from sentiment.figures import gates as gates_fig
from sentiment.i18n import t

ROOT = Path(__file__).resolve().parent.parent

# A long review written for this test (no dataset text): about 340 tokens.
LONG_REVIEW = " ".join([
    "I went to this film expecting very little, because the trailer made it look like a loud and empty chase movie.",
    "The first half hour did nothing to change my mind: the hero runs, the villain shouts, and the music never stops.",
    "Then something odd happens. The story slows down, the camera stays on faces, and the two brothers finally talk.",
    "Their scene in the kitchen is not funny at all, though the actors are good, and I was not bored for a minute.",
    "The middle drags a little, and the plan to rob the museum makes no sense whatsoever if you think about it.",
    "Still, the sister who keeps the family books is the best character I have seen this year, dry and sharp and sad.",
    "I did not expect to care about her, but by the end I cared about little else in the whole film.",
    "The ending is not bad, although it tries to tie every thread into a bow and a few of them snap.",
    "The photography is lovely in the night scenes and flat in the day ones; the sound mix buries half the lines.",
    "If you can forgive the first thirty minutes, there is a small, warm, clever film hiding inside a dull one.",
    "I would not call it great, yet I would not call it a waste of time either: it is a decent evening out.",
    "Bring patience, skip the popcorn, and watch the sister; she is worth the ticket on her own, honestly.",
    "My friend hated it and walked out before the kitchen scene, which is a shame, because that is where it starts.",
    "Seven out of ten from me, and I might even watch it again when it comes out on a quiet Sunday afternoon.",
    "The director clearly loves these people, and in the end that love is what carries the film past its faults.",
    "Not a masterpiece, not a mess: a flawed and human little story that deserved a better trailer than it got.",
])


def spec(fig) -> dict:
    return json.loads(fig.to_json())


def synthetic(T: int = 340, H: int = 32, cell: str = "lstm", seed: int = 0) -> probe.Trace:
    """A Trace of the probe's own class with random values of the right shapes; the cell state mostly small
    with a few large values (as a trained LSTM's: a handful of units count up over a long review)."""
    rng = np.random.default_rng(seed)
    words = "the film was not funny at all though the actors are good".split()
    tokens = [words[i % len(words)] for i in range(T)]
    gates = {}
    for g in probe.GATE_NAMES[cell]:
        x = rng.normal(size=(T, H)).astype(np.float32)
        if g in probe.SIGMOID_GATES[cell]:
            gates[g] = 1 / (1 + np.exp(-x))
        elif g == "c":
            c = 0.3 * x
            k = max(1, T // 6)
            c[-k:, 0] = np.linspace(0, 7.5, k)  # one unit counting up to 7.5 at the end, one down to -6
            c[-k:, 1] = -np.linspace(0, 6.0, k)
            gates[g] = c
        else:
            gates[g] = np.tanh(x)
    layers = [probe.LayerTrace(0, "forward", gates)]
    p = rng.uniform(size=T).astype(np.float32)
    return probe.Trace(
        text=" ".join(tokens), tokens=tokens, ids=list(range(T)), unk=[False] * T, length=T, language="en",
        cell=cell, pooling="max", hidden_size=H, num_layers=1, bidirectional=False, model_name="synthetic",
        layers=layers, pooled=rng.normal(size=H).astype(np.float32), pool_weights=np.full(T, 1 / T, np.float32),
        pool_winners=rng.integers(0, T, size=H), logits=np.array([0.1, 0.3], np.float32),
        probs=np.array([0.45, 0.55], np.float32), label="positive", prefix_probs=p, occlusion=(p - 0.5) / 10,
        integrated_gradients=None, truncated=0, note="")


def x_axes(lay: dict) -> list[dict]:
    return [lay[k] for k in sorted((k for k in lay if k.startswith("xaxis")), key=lambda k: int(k[5:] or 1))]


@pytest.mark.parametrize("cell,n", [("lstm", 6), ("gru", 4)])
@pytest.mark.parametrize("T", [12, 340])
def test_every_panel_has_its_token_labels(cell, n, T):
    lay = spec(figures.gate_heatmaps(synthetic(T, cell=cell)))["layout"]
    axes = x_axes(lay)
    assert len(axes) == n
    for ax in axes:
        assert ax["showticklabels"] is True
        assert ax["ticktext"] and len(ax["ticktext"]) == len(ax["tickvals"])
        assert ax["ticktext"] == axes[0]["ticktext"]
    if T == 12:  # a short review: every token, whole, as before
        assert axes[0]["ticktext"] == synthetic(T, cell=cell).tokens
        assert axes[0]["range"] == [-0.5, T - 0.5]
        assert not any("rangeslider" in ax for ax in axes)
    # a panel's labels have room under it: the gap between panels is at least the labels' height
    doms = [lay[f"yaxis{i + 1 if i else ''}"]["domain"] for i in range(n)]
    plot_h = lay["height"] - lay["margin"]["t"] - lay["margin"]["b"]
    for upper, lower in zip(doms, doms[1:]):
        assert (upper[0] - lower[1]) * plot_h >= 40 + 34


def test_a_long_review_opens_on_a_window_of_readable_columns_with_an_overview_strip():
    tr = synthetic(340)
    lay = spec(figures.gate_heatmaps(tr))["layout"]
    axes = x_axes(lay)
    lo, hi = axes[0]["range"]
    visible = hi - lo
    assert lo == -0.5 and visible <= gates_fig.PLOT_PX / 12
    assert gates_fig.PLOT_PX / visible >= 12  # px a token column
    assert lay["meta"]["window"] == round(visible) < 340
    # the panels move together: every other axis matches the first; the bottom one has the overview strip
    assert all(ax.get("matches") == "x" for ax in axes[1:])
    slider = axes[-1]["rangeslider"]
    assert slider["visible"] is True and slider["range"] == [-0.5, 339.5]
    assert sum("rangeslider" in ax for ax in axes) == 1
    # every token in the window has its label (no "41:movie" thinning needed at this width)
    assert axes[0]["tickvals"][: int(visible)] == list(range(int(visible)))
    # a narrower chart (Compare's half width) shows fewer tokens, as wide
    half = spec(figures.gate_heatmaps(tr, max_ticks=26))["layout"]["xaxis"]["range"]
    assert half[1] - half[0] <= gates_fig.PLOT_PX * 26 / 60 / 12
    wide = spec(figures.gate_heatmaps(tr, width_px=1200))["layout"]["xaxis"]["range"]
    assert 1200 / (wide[1] - wide[0]) >= 12


def test_unit_labels_are_12_px_or_more_and_larger_in_presenter_mode():
    fig = figures.gate_heatmaps(synthetic(40, H=16))
    lay = spec(fig)["layout"]
    ys = [lay[k] for k in lay if k.startswith("yaxis")]
    assert ys and all(y["tickfont"]["size"] >= 12 and y["showticklabels"] for y in ys)
    # each unit row has the room plotly needs to label every row at that size (1.2 x font + 1 px)
    plot_h = lay["height"] - lay["margin"]["t"] - lay["margin"]["b"]
    d = ys[0]["domain"]
    assert (d[1] - d[0]) * plot_h / 16 >= 1.2 * ys[0]["tickfont"]["size"] + 1
    # presenter mode's scaling (sentiment.ui.present.scale_figure) makes them larger still
    from sentiment.ui import present
    grown = present._grown(lay, present.CHART_FONT / 13)
    assert all(grown[k]["tickfont"]["size"] > 12 for k in lay if k.startswith("yaxis"))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_cell_state_colours_stop_at_a_high_percentile_and_the_bar_states_the_true_range(lang):
    tr = synthetic(340)
    c = tr.gate("c")
    lay = spec(figures.gate_heatmaps(tr, lang=lang))["layout"]
    ca = lay["coloraxis3"]
    clip = float(np.percentile(np.abs(c), gates_fig.CELL_CLIP))
    assert ca["cmax"] == pytest.approx(clip, rel=1e-5) and ca["cmin"] == pytest.approx(-clip, rel=1e-5)
    assert clip < np.abs(c).max() / 2  # well inside the true range: most values get colours
    title = ca["colorbar"]["title"]["text"]
    expected = t("fig.cell_clipped", lang, clip=clip, lo=float(c.min()), hi=float(c.max()))
    assert expected in title and t("fig.cell", lang) in title
    assert f"{float(c.min()):.2g}" in title and f"{float(c.max()):.2g}" in title
    assert ca["colorbar"]["ticktext"][0].startswith("≤") and ca["colorbar"]["ticktext"][-1].startswith("≥")
    assert lay["meta"]["cell_range"] == [pytest.approx(float(c.min())), pytest.approx(float(c.max()))]
    # the gates keep their fixed ranges
    assert (lay["coloraxis"]["cmin"], lay["coloraxis"]["cmax"]) == (0, 1)
    assert (lay["coloraxis2"]["cmin"], lay["coloraxis2"]["cmax"]) == (-1, 1)


def test_a_cell_state_without_outliers_is_not_called_clipped():
    tr = synthetic(3, H=2)  # 6 values: the 98th percentile is close to the largest, never above it
    tr.layers[0].gates["c"][:] = 0.5
    ca = spec(figures.gate_heatmaps(tr))["layout"]["coloraxis3"]
    assert ca["cmax"] == pytest.approx(0.5)
    assert ca["colorbar"]["title"]["text"].endswith(t("fig.cell_values", "en", lo=0.5, hi=0.5))


# ---- the real browser (fixtures as in tests/test_browser.py) ------------------------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic", "--no-sandbox"]
SHOT = ROOT / "docs" / "heatmaps-readable.png"


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


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    _need_browser()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, GATESCOPE_RUNS=str(tmp_path_factory.mktemp("runs")))
    env.setdefault("GATESCOPE_DATA", str(ROOT.parent / "shared" / "data"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
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
        pytest.fail("streamlit did not start")
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
        pg = browser.new_page(viewport={"width": 1280, "height": 1600})
        pg.set_default_timeout(60_000)
        yield pg
        browser.close()


def _wait_idle(page) -> None:
    page.wait_for_timeout(300)
    try:
        page.wait_for_selector("[data-testid='stStatusWidget']", state="attached", timeout=2_000)
    except Exception:  # no rerun running (or one already done)
        pass
    page.wait_for_selector("[data-testid='stStatusWidget']", state="detached", timeout=90_000)


MEASURE = """(el) => {
  const gd = el.querySelector('.js-plotly-plot');
  const L = gd._fullLayout;
  const names = Object.keys(L).filter(k => /^xaxis\\d*$/.test(k));
  const first = el.querySelector('.draglayer .xy .nsewdrag').getBoundingClientRect();
  const firstLabels = [...el.querySelectorAll('.subplot.xy .xaxislayer-above .xtick text')]
    .map(n => { const r = n.getBoundingClientRect(); return {text: n.textContent, top: r.top, bottom: r.bottom, w: r.width, h: r.height}; })
    .filter(r => r.w > 0 && r.h > 0);
  return {
    ranges: names.map(k => L[k].range.slice()),
    width: L.xaxis._length,
    panelTop: first.top, panelBottom: first.bottom,
    firstLabels,
    yFont: L.yaxis.tickfont.size,
    slider: !!el.querySelector('.rangeslider-container'),
  };
}"""


@pytest.mark.slow
@pytest.mark.browser
def test_explore_gates_tab_long_review_reads_in_the_browser(page, server):
    """Explore's Gates tab on a ~340-token review: the first panel has its token labels, a column is at
    least 12 px wide, unit labels at least 12 px, and dragging the overview strip moves every panel
    together. Screenshot: docs/heatmaps-readable.png."""
    from playwright.sync_api import expect

    text = urllib.parse.quote(LONG_REVIEW)
    page.goto(f"{server}/?model=imdb-lstm-max&text={text}")
    _wait_idle(page)
    page.wait_for_selector("[data-testid='stPlotlyChart'] .main-svg", timeout=90_000)
    heat = page.locator("[data-testid='stPlotlyChart']").filter(has_text="input gate").first
    expect(heat.locator(".rangeslider-container")).to_have_count(1, timeout=60_000)
    heat.scroll_into_view_if_needed()
    m = heat.evaluate(MEASURE)
    n_tokens = len(json.loads(heat.evaluate("el => JSON.stringify(el.querySelector('.js-plotly-plot')._fullLayout.meta.tokens)")))
    assert n_tokens >= 300
    lo, hi = m["ranges"][0]
    visible = hi - lo
    assert visible < n_tokens
    assert m["width"] / visible >= 12, m  # px a token column
    # the first panel (i_t) has its token labels, just under it
    under = [r for r in m["firstLabels"] if r["top"] >= m["panelBottom"] - 2]
    assert len(under) >= 10, m["firstLabels"][:5]
    assert all(r["top"] - m["panelBottom"] < 40 for r in under), (m["panelBottom"], under[:5])
    assert m["yFont"] >= 12
    assert all(r == m["ranges"][0] for r in m["ranges"])
    # the whole chart in one picture: a viewport as tall as the chart (Chromium paints only what is in view)
    tall = int(heat.bounding_box()["height"]) + 400
    page.set_viewport_size({"width": 1280, "height": tall})
    page.wait_for_timeout(800)
    heat.scroll_into_view_if_needed()
    SHOT.parent.mkdir(exist_ok=True)
    heat.screenshot(path=str(SHOT))
    page.set_viewport_size({"width": 1280, "height": 1600})
    page.wait_for_timeout(500)
    heat.locator(".rangeslider-slidebox").first.scroll_into_view_if_needed()
    # drag the overview strip's window to the right: every panel moves along
    box = heat.locator(".rangeslider-slidebox").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 300, box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()
    page.wait_for_timeout(500)
    moved = heat.evaluate(MEASURE)["ranges"]
    assert moved[0][0] > lo + 20, moved
    assert all(r == moved[0] for r in moved)
    assert moved[0][1] - moved[0][0] == pytest.approx(visible, abs=1)

"""Edit & compare, cell updates and before/after (AppTest): Explore's "Edit & compare" and "Cell updates"
tabs, the keep/write split on the Learn page, and the before/after difference on the Compare page.

The shipped models (assets/models) read the reviews; every number checked on a page is recomputed
here from the probe's own traces.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import make_checkpoint
from streamlit.testing.v1 import AppTest
from test_figures import bdata

from sentiment import probe
from sentiment.i18n import t
from sentiment.modeling import checkpoint

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "assets" / "models"
EN = "The movie was good and the acting was wonderful."
ZH = "房间很干净，服务很热情。"


@pytest.fixture(autouse=True)
def no_runs(monkeypatch, tmp_path):
    monkeypatch.setenv("GATESCOPE_RUNS", str(tmp_path / "runs"))  # only the shipped models


def page(script: str, tab: str | None = None, **state) -> AppTest:
    """The page alone, with ``state`` in its session and, on Explore, the tab ``tab`` (a string key) open."""
    at = AppTest.from_file(str(ROOT / "tests" / script), default_timeout=120)
    for k, v in state.items():
        at.session_state[k] = v
    if tab:
        at.session_state["ex_tab"] = t(tab, state.get("lang", "en"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def charts(at: AppTest, kind: str) -> list[dict]:
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    return [s for s in specs if s["layout"].get("meta", {}).get("kind") == kind]


def explore(text: str, tab: str = "tab.edit") -> AppTest:
    at = page("_explore_page.py", tab)
    at.text_area(key="ex_text").input(text).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def traced(model: str, text: str):
    return probe.trace(checkpoint.load(MODELS / model), text, occlusion=False)


@pytest.mark.slow
def test_unedited_review_shows_no_difference_yet():
    """The edit box starts as the review: the tab says to change it, and draws no difference."""
    at = explore(EN)
    assert at.text_area(key="ex_edit_text").value == EN
    assert any("same as the review" in i.value for i in at.info)
    assert not charts(at, "diff_heatmaps") and not charts(at, "diff_prefix")


@pytest.mark.slow
def test_edited_text_gives_two_predictions_and_diff_heatmaps():
    """Typing an edit: A's and B's predictions with the change, and B − A per gate on aligned tokens,
    equal to the differences of the two traces."""
    edited = "The movie was not good and the acting was wonderful."
    at = explore(EN)
    at.text_area(key="ex_edit_text").input(edited).run()
    assert not at.exception and not at.error
    a, b = traced("imdb-lstm-max", EN), traced("imdb-lstm-max", edited)
    metrics = {m.label: m for m in at.metric}
    assert metrics["B · edited"].delta == f"{100 * float(b.probs[1] - a.probs[1]):+.1f} pp P(positive)"  # percentage points
    heat = charts(at, "diff_heatmaps")[0]
    meta = heat["layout"]["meta"]
    assert meta["labels"] == ["the", "movie", "was", "+not", "good", "and", "the", "acting", "was", "wonderful"]
    assert [d["name"] for d in heat["data"]] == ["i", "f", "g", "o", "c", "h"]
    assert meta["layer"] == 0 and meta["direction"] == "forward"
    f = bdata(heat["data"][1]["z"]).astype(float)  # Δf, [K units, R rows]
    unit = meta["units"][0]
    assert np.isnan(f[0, 3])  # "not" has no partner in A
    for row, (i, j) in enumerate(meta["rows"]):
        if i is not None and j is not None:
            assert f[0, row] == pytest.approx(b.gate("f")[j, unit] - a.gate("f")[i, unit], abs=1e-4)
    assert np.allclose(f[0, :3], 0, atol=1e-6)  # forward direction: nothing changed before the edit
    assert len(charts(at, "diff_prefix")) == 1


@pytest.mark.slow
def test_builtin_negation_english():
    """Picking the built-in negation of "good" edits the text and draws the difference."""
    at = explore(EN)
    pick = at.selectbox(key="ex_edit_pick")
    assert pick.options[:2] == ["Negation: “good” → “not good”", "Negation: “wonderful” → “not wonderful”"]
    pick.select("negate:0").run()
    assert at.text_area(key="ex_edit_text").value == "The movie was not good and the acting was wonderful."
    assert any("Applied: Negation" in s.value for s in at.success)
    assert "+not" in charts(at, "diff_heatmaps")[0]["layout"]["meta"]["labels"]


@pytest.mark.slow
def test_builtin_negation_chinese():
    """A Chinese review through the hotel model: “干净” → “不干净”, with Chinese labels."""
    at = page("_explore_page.py", "tab.edit", lang="zh")
    at.text_area(key="ex_text").input(ZH).run()
    assert at.selectbox(key="ex_dataset").value[1] == "zh"
    at.selectbox(key="ex_edit_pick").select("negate:0").run()
    assert not at.exception and not at.error
    assert at.text_area(key="ex_edit_text").value == "房间很不干净，服务很热情。"
    heat = charts(at, "diff_heatmaps")[0]
    assert "+不" in heat["layout"]["meta"]["labels"] and "门控的变化" in heat["layout"]["title"]["text"]
    assert {m.label for m in at.metric} >= {"A · 原文", "B · 编辑后"}



@pytest.mark.slow
def test_chinese_delta_starts_with_its_sign():
    """st.metric takes its arrow and colour from the delta's leading sign: in Chinese too a fall reads as a fall."""
    at = page("_explore_page.py", "tab.edit", lang="zh")
    at.text_area(key="ex_text").input(ZH).run()
    at.selectbox(key="ex_edit_pick").select("negate:0").run()
    delta = {m.label: m for m in at.metric}["B · 编辑后"].delta
    assert delta[0] in "+-" and delta.endswith("P(正面)"), delta

@pytest.mark.slow
def test_edit_that_does_not_apply_says_why():
    """Bad input tried: a review with no sentiment word from the list. No built-in edit is offered,
    a caption says why for each kind, and the edit box keeps the review."""
    text = "I saw it on a Tuesday with my sister."
    at = explore(text)
    assert at.selectbox(key="ex_edit_pick").options == []
    refusal = next(c.value for c in at.caption if c.value.startswith("Not applicable to this text"))
    assert "Negation (no sentiment word from the built-in list" in refusal and "Contrast (" in refusal
    assert at.text_area(key="ex_edit_text").value == text


@pytest.mark.slow
def test_empty_edit_is_refused_and_changes_nothing():
    """Bad input tried: an emptied edit box. The error says the review is empty; no difference is drawn."""
    at = explore(EN)
    at.text_area(key="ex_edit_text").input("   ").run()
    assert any("empty" in e.value for e in at.error)
    assert not charts(at, "diff_heatmaps")
    assert at.text_area(key="ex_text").value == EN  # the review itself is untouched


@pytest.mark.slow
def test_new_review_resets_the_edit_box():
    at = explore(EN)
    at.text_area(key="ex_edit_text").input("The movie was bad.").run()
    at.text_area(key="ex_text").input("What a dull film.").run()
    assert at.text_area(key="ex_edit_text").value == "What a dull film."


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.slow
def test_cell_updates_tab_adds_up(cell):
    """Kept and written bars of the picked unit add up to the state line, which is the traced c_t / h_t."""
    at = explore(EN, "tab.updates")
    at.segmented_control(key="ex_cell").set_value(cell).run()
    at.number_input(key="ex_upd_unit").set_value(5).run()
    heat = charts(at, "update_heatmaps")[0]
    assert heat["layout"]["meta"]["panels"] == ["kept", "written", "c" if cell == "lstm" else "h"]
    unit = charts(at, "update_unit")[0]
    assert unit["layout"]["meta"]["unit"] == 5
    kept, written, state = (bdata(d["y"]).astype(float) for d in unit["data"])
    assert np.allclose(kept + written, state, atol=1e-5)
    tr = traced(f"imdb-{cell}-max", EN)
    assert np.allclose(state, tr.gate("c" if cell == "lstm" else "h")[:, 5], atol=1e-6)
    assert any(c.value.startswith("Unit 5: on average") for c in at.caption)



def test_cell_updates_start_at_the_unit_that_wrote_most():
    """On opening, before any pick, the unit split over the review is the heatmap's top unit (most written),
    not unit 0 (which need not be shown at all)."""
    at = page("_explore_page.py", "tab.updates")
    top = charts(at, "update_heatmaps")[0]["layout"]["meta"]["units"][0]
    assert at.number_input(key="ex_upd_unit").value == top
    assert charts(at, "update_unit")[0]["layout"]["meta"]["unit"] == top

@pytest.mark.slow
def test_plain_rnn_has_no_split():
    at = explore(EN, "tab.updates")
    at.segmented_control(key="ex_cell").set_value("rnn").run()
    assert any("no gates" in i.value for i in at.info) and not charts(at, "update_heatmaps")


@pytest.mark.slow
def test_learn_page_shows_the_split_for_the_picked_unit():
    at = page("_learn_page.py")
    at.text_area(key="le_text").set_value(EN).run()
    at.number_input(key="le_unit").set_value(7).run()
    unit = charts(at, "update_unit")[0]
    assert unit["layout"]["meta"]["unit"] == 7 and unit["layout"]["meta"]["tokens"] == traced("imdb-lstm-max", EN).tokens
    kept, written, state = (bdata(d["y"]).astype(float) for d in unit["data"])
    assert np.allclose(kept + written, state, atol=1e-5)


def compare(text: str = EN) -> AppTest:
    at = page("_compare_page.py")
    at.text_area(key="cmp_text").input(text).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.slow
def test_compare_before_after_same_architecture():
    """Two LSTMs of one size (max and mean pooling): B − A of their gates on the same review."""
    at = compare()
    at.segmented_control(key="cmp_b_cell").set_value("lstm").run()
    at.segmented_control(key="cmp_b_pooling").set_value("mean").run()
    heat = charts(at, "diff_heatmaps")
    assert len(heat) == 1
    meta = heat[0]["layout"]["meta"]
    assert all(op == "equal" for op in meta["ops"])
    a, b = traced("imdb-lstm-max", EN), traced("imdb-lstm-mean", EN)
    h = bdata(heat[0]["data"][-1]["z"]).astype(float)  # Δh [K, T]
    assert np.allclose(h, (b.gate("h") - a.gate("h"))[:, meta["units"]].T, atol=1e-5)
    assert any("B − A" in c.value and "P(positive)" in c.value for c in at.caption)
    assert any("trained starting from A's weights" in c.value for c in at.caption)  # two separately trained models


@pytest.mark.slow
def test_compare_before_after_same_model_is_zero():
    at = compare()
    at.segmented_control(key="cmp_b_cell").set_value("lstm").run()
    heat = charts(at, "diff_heatmaps")[0]
    assert all(np.allclose(bdata(d["z"]).astype(float), 0) for d in heat["data"])
    assert any("every difference is 0" in c.value for c in at.caption)


@pytest.mark.slow
def test_compare_before_after_mismatched_cells():
    """LSTM vs GRU: no difference drawn, and the page says why."""
    at = compare()
    assert not charts(at, "diff_heatmaps")
    assert any("No difference of the gates is shown: the cells differ (LSTM vs GRU)" in i.value for i in at.info)


@pytest.mark.slow
def test_compare_before_after_mismatched_hidden_size(tmp_path, monkeypatch):
    """Two LSTMs with 8 and 16 hidden units: no difference, and the sizes are named."""
    make_checkpoint(tmp_path / "models" / "tiny-lstm-max", cell="lstm", pooling="max", hidden=8)
    make_checkpoint(tmp_path / "models" / "tiny-lstm-mean", cell="lstm", pooling="mean", hidden=16)
    monkeypatch.setenv("GATESCOPE_MODELS", str(tmp_path / "models"))
    at = compare("the movie was not good at all")
    at.segmented_control(key="cmp_b_cell").set_value("lstm").run()
    at.segmented_control(key="cmp_b_pooling").set_value("mean").run()
    assert not charts(at, "diff_heatmaps")
    assert any("the hidden sizes differ (8 vs 16)" in i.value for i in at.info), [i.value for i in at.info]

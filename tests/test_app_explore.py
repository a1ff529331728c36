"""The app, driven headless with AppTest: Explore (type, pick, click; the charts' data; bad input) and Compare.

The app is pointed at tiny random-weight models through GATESCOPE_MODELS / GATESCOPE_RUNS. AppTest
runs no JavaScript: what plotly draws in a browser is for the browser tests; here we read each
chart's figure JSON (``json.loads(el.proto.spec)``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import make_checkpoint
from streamlit.testing.v1 import AppTest
from test_figures import bdata

from sentiment import spec

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
RUN_ID = "20260101-120000-0a1b2c3d"
COMPARE_APP = """
import streamlit as st
from sentiment.ui import PAGES, navigation
st.set_page_config(layout="wide")
navigation([p for p in PAGES if p.url_path == "compare"]).run()
"""


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory):
    """Shipped: tiny en LSTM max / GRU attention / 2-layer RNN max, zh GRU max, one empty dir, one with bad
    weights; one run with an LSTM mean model."""
    root = tmp_path_factory.mktemp("app")
    models, runs = root / "models", root / "runs"
    make_checkpoint(models / "tiny-lstm-max", cell="lstm", pooling="max")
    make_checkpoint(models / "tiny-gru-attention", cell="gru", pooling="attention", seed=1)
    make_checkpoint(models / "tiny-rnn-max", cell="rnn", pooling="max", layers=2)
    make_checkpoint(models / "hotel-gru-max", cell="gru", pooling="max", language="zh")
    make_checkpoint(models / "tiny-gru-last", cell="gru", pooling="last")
    w = models / "tiny-gru-last" / "model.safetensors"
    w.write_bytes(w.read_bytes()[:100])  # truncated weights: listed, fails only when loaded
    (models / "broken-lstm-max").mkdir()
    (runs / RUN_ID).mkdir(parents=True)
    (runs / RUN_ID / "config.json").write_text(json.dumps({"name": "my-run"}))
    make_checkpoint(runs / RUN_ID / "model", cell="lstm", pooling="mean", seed=2)
    mp = pytest.MonkeyPatch()
    mp.setenv("GATESCOPE_MODELS", str(models))
    mp.setenv("GATESCOPE_RUNS", str(runs))
    yield models, runs
    mp.undo()


@pytest.fixture
def app(model_dirs) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def charts(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def chart(at: AppTest, kind: str) -> dict:
    found = [c for c in charts(at) if c["layout"].get("meta", {}).get("kind") == kind]
    assert len(found) == 1, [c["layout"].get("meta", {}).get("kind") for c in charts(at)]
    return found[0]


def heat_axis(spec: dict) -> list[str]:
    """Token labels on a heatmap figure's bottom x axis."""
    n = sum(d["type"] == "heatmap" for d in spec["data"])
    return spec["layout"][f"xaxis{n if n > 1 else ''}"]["ticktext"]


def open_tab(at: AppTest, key: str, prefix: str = "ex") -> AppTest:
    """Open one of the page's tabs (its label in English), as a click on it does."""
    from sentiment.i18n import t

    at.session_state[f"{prefix}_tab"] = t(key, "en")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def analyse(at: AppTest, text: str) -> AppTest:
    at.text_area(key="ex_text").input(text)
    at.button(key="ex_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_landing_page(app):
    at = app
    assert at.title[0].value == "Explore a review"
    assert at.text_area(key="ex_text").value.startswith("What a wonderful film")  # the first English example
    pred = at.metric[0]
    assert pred.label == "Prediction"
    assert pred.value in ("Positive", "Negative") and pred.delta.endswith("% sure")
    assert not at.error and not at.warning
    kinds = [c["layout"]["meta"]["kind"] for c in charts(at)]
    assert kinds == ["gate_heatmaps"]  # only the open tab is computed
    heat = chart(at, "gate_heatmaps")
    assert [d["name"] for d in heat["data"]] == ["i", "f", "g", "o", "c", "h"]
    assert all(bdata(d["z"]).shape[0] == 8 for d in heat["data"])  # 8 hidden units
    assert any("tiny-lstm-max" in c for c in at.caption.values)
    assert any("test accuracy 50.0%" in c for c in at.caption.values)
    # the broken directory and its message are listed, not raised
    exp = [e for e in at.expander if "unavailable" in e.label]
    assert exp and any("broken-lstm-max" in c.value and "missing" in c.value for c in exp[0].caption)


@pytest.mark.slow
def test_each_tab_draws_its_charts_when_opened(app):
    """The tabs track which one is open; a tab's charts are computed when it is opened (the Reading tab's
    full trace only then), and the Gates tab's picks are kept meanwhile."""
    at = app
    at.selectbox(key="ex_layer").select((0, "backward")).run()
    expected = {"tab.pooling": ["pooling_bar"], "tab.reading": ["prefix_curve", "attribution_bar"],
                "tab.saturation": ["saturation_histogram"], "tab.edit": [], "tab.updates": ["update_heatmaps", "update_unit"],
                "tab.downloads": []}
    for key, kinds in expected.items():
        open_tab(at, key)
        assert [c["layout"]["meta"]["kind"] for c in charts(at)] == kinds, key
    assert at.get("download_button")  # the Downloads tab
    sat = chart(open_tab(at, "tab.saturation"), "saturation_histogram")
    assert "backward" in json.dumps(sat["layout"]["title"])  # the Gates tab's layer and direction, kept
    assert [c["layout"]["meta"]["kind"] for c in charts(open_tab(at, "tab.gates"))] == ["gate_heatmaps"]
    assert at.selectbox(key="ex_layer").value == (0, "backward")


@pytest.mark.slow
@pytest.mark.slow
def test_the_open_tab_stays_open_when_the_language_changes(app):
    at = open_tab(app, "tab.reading")
    at.session_state["lang"] = "zh"
    at.run()
    assert not at.exception
    assert at.session_state["ex_tab"] == "阅读" and [c["layout"]["meta"]["kind"] for c in charts(at)] == ["prefix_curve", "attribution_bar"]


@pytest.mark.slow
def test_type_pick_click(app):
    at = app
    at.segmented_control(key="ex_cell").set_value("gru").run()
    assert at.segmented_control(key="ex_pooling").value == "attention"  # the only GRU pooling that loads
    analyse(at, "The movie was not bad at all!")
    tokens = ["the", "movie", "was", "not", "bad", "at", "all", "!"]
    heat = chart(at, "gate_heatmaps")
    assert [d["name"] for d in heat["data"]] == ["r", "z", "n", "h"]
    assert heat_axis(heat) == tokens
    assert heat["layout"]["meta"]["tokens"] == tokens
    assert bdata(heat["data"][0]["z"]).shape == (8, len(tokens))
    pool = chart(open_tab(at, "tab.pooling"), "pooling_bar")
    assert pool["layout"]["xaxis"]["ticktext"] == tokens
    assert sum(bdata(d["y"]).sum() for d in pool["data"]) == pytest.approx(1.0, abs=1e-5)
    prefix = chart(open_tab(at, "tab.reading"), "prefix_curve")
    assert len(bdata(prefix["data"][0]["y"])) == len(tokens)
    assert any("tiny-gru-attention" in c for c in at.caption.values)


@pytest.mark.slow
def test_units_sorted_and_filtered(app):
    at = app
    at.slider(key="ex_topk").set_value(3)
    at.selectbox(key="ex_sort").select("variance").run()
    heat = chart(at, "gate_heatmaps")
    assert len(heat["layout"]["meta"]["units"]) == 3
    assert all(bdata(d["z"]).shape[0] == 3 for d in heat["data"])
    at.selectbox(key="ex_sort").select("correlation").run()  # needs the prefix predictions: computed on demand
    heat = chart(at, "gate_heatmaps")
    assert "most correlated with the prediction first" in heat["layout"]["title"]["text"] and not at.error
    at.multiselect(key="ex_gates_lstm").set_value(["f", "c"]).run()
    heat = chart(at, "gate_heatmaps")
    assert [d["name"] for d in heat["data"]] == ["f", "c"]


@pytest.mark.slow
def test_layers_and_directions(app):
    at = app
    at.segmented_control(key="ex_cell").set_value("rnn").run()
    sel = at.selectbox(key="ex_layer")
    assert sel.options == ["layer 1 · forward", "layer 1 · backward", "layer 2 · forward", "layer 2 · backward"]
    sel.select((1, "backward")).run()
    heat = chart(at, "gate_heatmaps")
    assert heat["layout"]["meta"]["layer"] == 1 and heat["layout"]["meta"]["direction"] == "backward"
    assert [d["name"] for d in heat["data"]] == ["h"]
    sat = chart(open_tab(at, "tab.saturation"), "saturation_histogram")
    assert sat["layout"]["meta"]["gates"] == ["h"]


@pytest.mark.slow
def test_run_model_is_offered(app):
    at = app
    at.segmented_control(key="ex_pooling").set_value("mean").run()
    assert not at.exception and not at.error
    assert any("my-run" in c and "trained run" in c for c in at.caption.values)


@pytest.mark.parametrize("text,message", [
    ("", "The review is empty"),
    ("   \n\t ", "The review is empty"),
    ("😀🎉👍🔥", "No words found"),
    ("\x00\x01\x02\x7f", "No words found"),
])
@pytest.mark.slow
def test_bad_input_gives_a_message(app, text, message):
    at = analyse(app, text)
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert not at.get("plotly_chart") and not at.metric


@pytest.mark.slow
def test_other_language(app):
    at = app
    at.checkbox(key="ex_follow").uncheck().run()
    # Chinese through an English tokenizer: no words at all -> an error that says why
    analyse(at, "房间很干净，服务也不错")
    assert any("looks Chinese, but the model reads English" in e.value for e in at.error), [e.value for e in at.error]
    assert not at.metric
    # English through the Chinese model: Latin words are read -> a prediction with a warning
    at.selectbox(key="ex_dataset").select(("tiny", "zh")).run()
    analyse(at, "The hotel was clean and the staff were friendly")
    assert any("looks English, but the model reads Chinese" in w.value for w in at.warning), [w.value for w in at.warning]
    assert at.metric


@pytest.mark.slow
def test_huge_paste_is_cut(app, monkeypatch):
    from sentiment.data.text import MAX_PASTE

    monkeypatch.setattr(spec, "READ_LIMIT", 50)  # the reading limit (2,000), lowered to keep the page quick

    # a 0.5 MB paste, as the browser's text box sends it: cut at MAX_PASTE characters (issue 16)
    at = analyse(app, ("good movie " * 50_000 + "😀")[:MAX_PASTE])
    assert len(at.text_area(key="ex_text").value) == MAX_PASTE
    assert any("was cut to its first" in w.value for w in at.warning)
    assert any("was cut to the model's first 50 tokens" in w.value for w in at.warning)
    assert len(chart(at, "gate_heatmaps")["layout"]["meta"]["tokens"]) == 50
    at = analyse(at, "x" * MAX_PASTE)  # no space: one long (unknown) word, read and answered
    assert not at.exception and not at.error and at.metric[0].value.lower() in ("positive", "negative")
    assert len(chart(at, "gate_heatmaps")["layout"]["meta"]["tokens"]) == 1


@pytest.mark.slow
def test_example_follows_language(app):
    at = app
    at.selectbox(key="ex_example").select("zh:0").run()
    assert at.text_area(key="ex_text").value.startswith("房间宽敞明亮")
    assert at.selectbox(key="ex_dataset").value == ("tiny", "zh")
    assert not at.warning
    assert any("hotel-gru-max" in c for c in at.caption.values)
    heat = chart(at, "gate_heatmaps")
    assert any(len(tok) > 1 and "\u4e00" <= tok[0] <= "\u9fff" for tok in heat_axis(heat))  # jieba words


@pytest.mark.slow
def test_chinese_interface(app):
    at = app
    at.radio(key="lang").set_value("zh").run()
    assert at.title[0].value == "探索一条评论"
    assert at.metric[0].label == "预测" and at.metric[0].value in ("正面", "负面")
    heat = chart(at, "gate_heatmaps")
    assert "层" in heat["layout"]["title"]["text"]
    analyse(at, "")
    assert any("评论为空" in e.value for e in at.error)


@pytest.mark.slow
def test_model_that_fails_to_load_is_unavailable(app):
    at = app
    at.segmented_control(key="ex_cell").set_value("gru").run()
    at.segmented_control(key="ex_pooling").set_value("last").run()
    assert any("could not be loaded" in e.value and "model.safetensors" in e.value for e in at.error)
    at.run()  # next run: listed as unavailable, the picker moves on to a model that works
    assert not at.error and at.metric
    exp = [e for e in at.expander if "unavailable" in e.label][0]
    assert "2 model(s)" in exp.label and any("tiny-gru-last" in c.value for c in exp.caption)


@pytest.mark.slow
def test_downloads(app):
    at = open_tab(app, "tab.downloads")
    labels = [b.label for b in at.get("download_button")] if at.get("download_button") else []
    assert labels == ["Trace (JSON)", "Per-token table (CSV)", "All gate values (CSV, long format)"]
    assert any("PNG" in i.value for i in at.info)


@pytest.mark.slow
def test_compare_page(model_dirs):
    at = AppTest.from_string(COMPARE_APP, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Compare two models"
    assert at.segmented_control(key="cmp_a_cell").value == "lstm" and at.segmented_control(key="cmp_b_cell").value == "gru"
    at.text_area(key="cmp_text").input("I loved it but the plot was awful").run()
    assert len(at.metric) == 2
    kinds = [c["layout"]["meta"]["kind"] for c in charts(at)]
    assert kinds == ["compare_pooling", "compare_prefix", "gate_heatmaps", "gate_heatmaps"]
    prefix = chart(at, "compare_prefix")
    assert [d["name"] for d in prefix["data"]] == ["tiny-lstm-max", "tiny-gru-attention"]
    heats = [c for c in charts(at) if c["layout"]["meta"]["kind"] == "gate_heatmaps"]
    assert [len(h["data"]) for h in heats] == [6, 4]
    assert heat_axis(heats[0]) == heat_axis(heats[1]) == "i loved it but the plot was awful".split()
    # same model both sides: a note, still drawn
    at.segmented_control(key="cmp_b_cell").set_value("lstm").run()
    assert any("same model" in i.value for i in at.info)
    at.text_area(key="cmp_text").input("").run()
    assert any("empty" in e.value for e in at.error) and not at.get("plotly_chart")


def test_pages_are_listed_once():
    from sentiment.ui import PAGES

    assert [p.url_path for p in PAGES][:2] == ["explore", "compare"]
    assert sum(p.default for p in PAGES) == 1 and len({p.url_path for p in PAGES}) == len(PAGES)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_examples(language):
    from sentiment.data.text import guess_language, tokenize

    items = json.loads((ROOT / "assets" / "examples" / f"{language}.json").read_text(encoding="utf-8"))
    assert len(items) >= 12 and len({e["id"] for e in items}) == len(items)
    assert {e["kind"] for e in items} == {"positive", "negative", "mixed", "negation", "sarcasm"}
    for e in items:
        assert guess_language(e["text"]) == language, e["id"]
        assert len(tokenize(e["text"], {"language": language, "mode": "word"})) >= 5, e["id"]
        assert e["expected"] in ("positive", "negative", None)

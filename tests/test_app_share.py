"""Classroom mode in AppTest: a shared link (query parameters) opens the same view, the widgets write the
link back, bad links give a message and the defaults, presenter mode switches on and off, and the Learn
page's step-through moves the token with its equations. The shipped models (assets/models) are used."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sentiment import probe
from sentiment.modeling import checkpoint
from sentiment.ui import present

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
LEARN = str(ROOT / "tests" / "_learn_page.py")
COMPARE = str(ROOT / "tests" / "_compare_page.py")
REVIEW = "The plot was thin but the acting was wonderful and I was not bored at all."
TOKENS = "the plot was thin but the acting was wonderful and i was not bored at all".split()


def open_link(script: str, **params: str) -> AppTest:
    at = AppTest.from_file(script, default_timeout=90)
    at.query_params.update(params)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shipped_trace(name: str, text: str = REVIEW):
    return probe.trace(checkpoint.load(ROOT / "assets" / "models" / name), text, prefix=False, occlusion=False)


def heatmap(at: AppTest) -> dict:
    found = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    return next(f for f in found if f["layout"].get("meta", {}).get("kind") == "gate_heatmaps")


def numbers(line: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d+\.\d{3}", line)]


def learn_h_line(at: AppTest) -> list[float]:
    """The GRU's h_t line with numbers: z, n, z, h_prev, h."""
    line = next(l.value for l in at.latex if l.value.strip("$\n").startswith("h_t = (1 -") and "times" in l.value)
    return numbers(line)


def qp(at: AppTest) -> dict[str, str]:
    """The app's query parameters now (the last value of each)."""
    return {k: v[-1] if isinstance(v, list) else v for k, v in at.query_params.items()}


def warnings(at: AppTest) -> list[str]:
    return [w.value for w in at.warning]


# ---- a link opens the same view ----------------------------------------------------------------------


@pytest.mark.slow
def test_link_opens_the_same_learn_view():
    """model, review, layer, token and unit from the link are the ones shown, with the trace's numbers."""
    at = open_link(LEARN, model="imdb-gru-max", text=REVIEW, token="8", unit="5", layer="1", dir="backward")
    assert not warnings(at)
    assert at.segmented_control(key="le_cell").value == "gru" and at.segmented_control(key="le_pooling").value == "max"
    assert at.text_area(key="le_text").value == REVIEW
    assert at.selectbox(key="le_layer").value == (0, "backward")
    assert at.select_slider(key="le_token").value == 8 and at.number_input(key="le_unit").value == 5
    z, n, _, h_prev, h = learn_h_line(at)
    tr = shipped_trace("imdb-gru-max")
    assert tr.tokens[8] == "wonderful"
    assert abs(z - tr.gate("z", 0, "backward")[8, 5]) < 1e-3 and abs(n - tr.gate("n", 0, "backward")[8, 5]) < 1e-3
    assert abs(h_prev - tr.gate("h", 0, "backward")[9, 5]) < 1e-3 and abs(h - tr.gate("h", 0, "backward")[8, 5]) < 1e-3


@pytest.mark.slow
def test_link_opens_the_same_explore_view():
    """On Explore (the landing page) the link picks the model, review, layer, gates, token and unit: the
    heatmaps outline that token and unit and the unit's gate values there are the trace's."""
    at = open_link(APP, model="imdb-lstm-attention", text=REVIEW, token="12", unit="3", layer="1", dir="forward",
                   gates="f,c")
    assert not warnings(at)
    assert at.segmented_control(key="ex_pooling").value == "attention"
    assert any("imdb-lstm-attention" in c for c in at.caption.values)
    heat = heatmap(at)
    assert heat["layout"]["meta"]["tokens"] == TOKENS and heat["layout"]["meta"]["gates"] == ["f", "c"]
    assert heat["layout"]["meta"]["selection"] == {"token": 12, "unit": 3, "row": 3}
    assert len(heat["layout"]["shapes"]) == 2 * 4  # a column and a row outline (each over a halo) in each of the two panels
    tr = shipped_trace("imdb-lstm-attention")
    shown = {m.label.split(" ")[0]: float(m.value) for m in at.metric[1:]}
    assert set(shown) == {"i_t", "f_t", "g_t", "o_t", "c_t", "h_t"}
    for g in ("i", "f", "g", "o", "c", "h"):
        assert abs(shown[f"{g}_t"] - tr.gate(g)[12, 3]) < 1e-3, g


@pytest.mark.slow
def test_chinese_link_without_a_model_reads_chinese():
    """A link with a Chinese review and no model opens a Chinese model, in the Chinese interface."""
    at = open_link(APP, text="房间很干净，服务也很热情，下次还会再来。", lang="zh")
    assert at.title[0].value == "探索一条评论"
    assert at.selectbox(key="ex_dataset").value[1] == "zh"
    assert not at.error and at.metric


# ---- the widgets write the link ------------------------------------------------------------------------


@pytest.mark.slow
def test_changing_widgets_writes_the_link():
    """Picking another cell, review, token and unit rewrites the query parameters and the share box's link."""
    at = open_link(LEARN)
    assert qp(at)["model"] == "imdb-lstm-max"
    at.segmented_control(key="le_cell").set_value("gru").run()
    at.text_area(key="le_text").set_value("not good, not bad").run()
    at.select_slider(key="le_token").set_value(2).run()
    at.number_input(key="le_unit").set_value(9).run()
    params = qp(at)
    assert {k: params[k] for k in ("model", "pooling", "text", "token", "unit", "layer", "dir")} == {
        "model": "imdb-gru-max", "pooling": "max", "text": "not good, not bad", "token": "2", "unit": "9",
        "layer": "1", "dir": "forward"}
    link = at.code[0].value
    assert link.startswith("?") and "model=imdb-gru-max" in link and "text=not%20good%2C%20not%20bad" in link
    assert "token=2" in link and "unit=9" in link
    # the link, opened afresh, is the same view
    again = open_link(LEARN, **params)
    assert again.select_slider(key="le_token").value == 2 and again.number_input(key="le_unit").value == 9
    assert learn_h_line(again) == learn_h_line(at)


@pytest.mark.slow
def test_a_review_too_long_for_a_link_is_left_out():
    """A review over viewstate.MAX_TEXT characters is not put in the URL, and the share box says so."""
    from sentiment.viewstate import MAX_TEXT

    at = open_link(LEARN)
    at.text_area(key="le_text").set_value("a good film " * (MAX_TEXT // 10)).run()
    assert "text" not in qp(at)
    assert any("too long for a link" in c.value for c in at.caption)


# ---- bad links: a message and the defaults ------------------------------------------------------------


@pytest.mark.parametrize("params,message", [
    ({"model": "no-such-model"}, "there is no usable model “no-such-model” here"),
    ({"model": "../../etc/passwd"}, "there is no usable model"),
    ({"pooling": "median"}, "“median” is not a pooling"),
    ({"model": "imdb-rnn-max", "pooling": "attention"}, "there is no attention-pooling sibling of imdb-rnn-max"),
])
@pytest.mark.slow
def test_unknown_model_falls_back_to_the_default(params, message):
    """A link naming a model (or pooling) that is not here: a message, the default model (imdb-lstm-max)."""
    at = open_link(LEARN, text=REVIEW, **params)
    assert any(message in w for w in warnings(at)), warnings(at)
    model = params.get("model")
    expected = model if model == "imdb-rnn-max" else "imdb-lstm-max"
    assert any(c.startswith(expected + " ·") for c in at.caption.values)
    assert at.text_area(key="le_text").value == REVIEW  # the rest of the link still applies
    assert qp(at)["model"] == expected  # the URL now says what is shown


@pytest.mark.parametrize("params,message", [
    ({"token": "999"}, "token 999 is past the review's end (its tokens are 0 to 15)"),
    ({"token": "-1"}, "token = “-1” is not a whole number"),
    ({"token": "3.5"}, "token = “3.5” is not a whole number"),
    ({"unit": "abc"}, "unit = “abc” is not a whole number"),
    ({"unit": "1e9"}, "unit = “1e9” is not a whole number"),
    ({"unit": "128"}, "unit 128 does not exist (this model's units are 0 to 127)"),
    ({"unit": "99999999999999999999"}, "is not a whole number"),
    ({"layer": "3"}, "layer 3 forward is not in this model (1 layer(s))"),
    ({"layer": "0"}, "layer = “0” is not a whole number"),
    ({"dir": "sideways"}, "dir = “sideways” is neither forward nor backward"),
])
@pytest.mark.slow
def test_bad_selection_falls_back_to_the_first(params, message):
    """A token past the end, a unit that is not a number or not in the model, a missing layer: a message,
    token 0 / unit 0 / the first layer, and the model and review of the link still shown."""
    at = open_link(LEARN, model="imdb-gru-max", text=REVIEW, **params)
    assert any(message in w for w in warnings(at)), warnings(at)
    assert at.select_slider(key="le_token").value == 0 and at.number_input(key="le_unit").value == 0
    assert at.selectbox(key="le_layer").value == (0, "forward")
    assert at.segmented_control(key="le_cell").value == "gru" and at.text_area(key="le_text").value == REVIEW
    assert qp(at)["token"] == "0" and qp(at)["unit"] == "0"


@pytest.mark.parametrize("text,message", [
    ("x" * 2_001, "has 2,001 characters, more than the 2,000 a link may carry"),
    ("good " * 20_000, "has 100,000 characters"),  # (past 512 Ki characters Streamlit drops the whole query string)
    ("   ", "the review in the link is empty"),
])
@pytest.mark.slow
def test_overlong_or_empty_text_gives_the_default_review(text, message):
    """A review in the link longer than a link may carry (or blank): a message and the first example."""
    at = open_link(LEARN, model="imdb-gru-max", text=text)
    assert any(message in w for w in warnings(at)), warnings(at)
    assert at.text_area(key="le_text").value.startswith("What a wonderful film")
    assert at.segmented_control(key="le_cell").value == "gru"


@pytest.mark.slow
def test_bad_link_messages_speak_chinese():
    at = open_link(APP, model="nope", unit="x", lang="zh")
    assert any("这里没有可用的模型“nope”" in w for w in warnings(at)), warnings(at)
    assert any("unit = “x”不是" in w for w in warnings(at)), warnings(at)


@pytest.mark.slow
def test_link_is_read_once_per_session():
    """After the first run the widgets rule: a changed unit is not put back to the link's."""
    at = open_link(LEARN, model="imdb-gru-max", text=REVIEW, unit="5")
    at.number_input(key="le_unit").set_value(6).run()
    at.run()
    assert at.number_input(key="le_unit").value == 6 and qp(at)["unit"] == "6"


# ---- Compare: two models ------------------------------------------------------------------------------


def heatmaps(at: AppTest) -> list[dict]:
    return [f for f in (json.loads(c.proto.spec) for c in at.get("plotly_chart"))
            if f["layout"].get("meta", {}).get("kind") == "gate_heatmaps"]


def compare_view(at: AppTest) -> tuple:
    """What Compare shows: each side's (cell, pooling), the review, the layer picked."""
    return tuple((at.segmented_control(key=f"cmp_{s}_cell").value, at.segmented_control(key=f"cmp_{s}_pooling").value)
                 for s in "ab") + (at.text_area(key="cmp_text").value, at.selectbox(key="cmp_layer").value)


def share_link(at: AppTest) -> str:
    return next(c.value for c in at.code if c.value.startswith("?"))


def test_link_opens_the_same_compare_view():
    """model/pooling (A), model_b/pooling_b (B), the review, layer and dir from the link are what Compare
    shows: both heatmaps are that layer and direction of those two models' traces of that review."""
    at = open_link(COMPARE, model="imdb-lstm-mean", model_b="imdb-gru-attention", text=REVIEW, layer="1", dir="backward")
    assert not warnings(at)
    assert compare_view(at) == (("lstm", "mean"), ("gru", "attention"), REVIEW, (0, "backward"))
    shown = heatmaps(at)
    assert [(h["layout"]["meta"]["layer"], h["layout"]["meta"]["direction"]) for h in shown] == [(0, "backward")] * 2
    for h, name in zip(shown, ("imdb-lstm-mean", "imdb-gru-attention")):
        tr = shipped_trace(name)
        assert h["layout"]["meta"]["tokens"] == TOKENS == tr.tokens
        assert any(c.startswith(name + " ·") for c in at.caption.values), name
    assert {k: qp(at)[k] for k in ("model", "pooling", "model_b", "pooling_b", "layer", "dir")} == {
        "model": "imdb-lstm-mean", "pooling": "mean", "model_b": "imdb-gru-attention", "pooling_b": "attention",
        "layer": "1", "dir": "backward"}


def test_compare_link_with_poolings_only():
    """pooling and pooling_b without models: each side's default cell (A LSTM, B GRU) with that pooling."""
    at = open_link(COMPARE, pooling="last", pooling_b="mean", text=REVIEW)
    assert not warnings(at)
    assert compare_view(at)[:2] == (("lstm", "last"), ("gru", "mean"))


@pytest.mark.parametrize("params,message", [
    ({"model_b": "no-such-model"}, "there is no usable model B “no-such-model” here; showing the default model B"),
    ({"model_b": "m" * 300}, "there is no usable model B “mmmm"),
    ({"pooling_b": "median"}, "pooling_b = “median” is not a pooling"),
    ({"model_b": "imdb-rnn-max", "pooling_b": "attention"}, "no attention-pooling sibling of imdb-rnn-max (model B)"),
])
@pytest.mark.slow
def test_bad_model_b_falls_back_to_the_default(params, message):
    """Bad input tried: an unknown model_b, an overlong one, an unknown pooling_b, a pooling that model B
    lacks. A message naming model B; B is its default (GRU, max) or the named model; A and the review of
    the link still apply, and the URL says what is shown."""
    at = open_link(COMPARE, model="imdb-lstm-mean", text=REVIEW, **params)
    assert any(message in w for w in warnings(at)), warnings(at)
    expected_b = ("rnn", "max") if params.get("model_b") == "imdb-rnn-max" else ("gru", "max")
    assert compare_view(at)[:3] == (("lstm", "mean"), expected_b, REVIEW)
    assert qp(at)["model_b"] == f"imdb-{expected_b[0]}-max" and qp(at)["model"] == "imdb-lstm-mean"


@pytest.mark.parametrize("params,message", [
    ({"layer": "2"}, "layer 2 forward is not in both models (they share 1 layer(s))"),
    ({"dir": "up"}, "dir = “up” is neither forward nor backward"),
])
@pytest.mark.slow
def test_bad_compare_layer_falls_back_to_the_first(params, message):
    """Bad input tried: a layer neither model has, a direction that is no direction: a message, the first
    layer, the link's two models kept."""
    at = open_link(COMPARE, model="imdb-lstm-max", model_b="imdb-gru-max", text=REVIEW, **params)
    assert any(message in w for w in warnings(at)), warnings(at)
    assert compare_view(at)[3] == (0, "forward") and qp(at)["layer"] == "1" and qp(at)["dir"] == "forward"


def test_markdown_in_a_compare_link_is_shown_as_plain_text():
    """Bad input tried: model_b a Markdown link; its warning shows it escaped, not as a link."""
    at = open_link(COMPARE, text=REVIEW, model_b="[click](https://evil.example)")
    shown = [w for w in warnings(at) if "no usable model B" in w]
    assert shown and "\\[click\\]\\(https://evil.example\\)" in shown[0], warnings(at)


@pytest.mark.slow
def test_compare_widgets_write_the_link():
    """Picking B's cell and pooling, a review and a direction rewrites the URL (model, model_b, their
    poolings, text, layer, dir; none of Explore's token/unit/gates) and the share box; the link opened
    afresh is the same comparison."""
    at = open_link(COMPARE)
    assert (qp(at)["model"], qp(at)["model_b"]) == ("imdb-lstm-max", "imdb-gru-max")
    at.segmented_control(key="cmp_b_cell").set_value("lstm").run()
    at.segmented_control(key="cmp_b_pooling").set_value("mean").run()
    at.text_area(key="cmp_text").set_value("not good, not bad").run()
    at.selectbox(key="cmp_layer").set_value((0, "backward")).run()
    params = qp(at)
    assert params == {"model": "imdb-lstm-max", "pooling": "max", "model_b": "imdb-lstm-mean", "pooling_b": "mean",
                      "text": "not good, not bad", "layer": "1", "dir": "backward"}
    link = share_link(at)
    assert "model_b=imdb-lstm-mean" in link and "pooling_b=mean" in link and "dir=backward" in link
    assert any("same two models, review and layer" in c.value for c in at.caption)
    again = open_link(COMPARE, **params)
    assert not warnings(again) and compare_view(again) == compare_view(at)
    at.run()
    assert compare_view(at)[1] == ("lstm", "mean")  # the link is read once: the widgets rule afterwards


def test_explore_link_drops_compare_parameters():
    """An Explore view writes no model_b/pooling_b (a stale one from a Compare link is removed)."""
    at = open_link(APP, model="imdb-gru-max", model_b="imdb-lstm-max", text=REVIEW)
    assert not warnings(at) and "model_b" not in qp(at) and qp(at)["model"] == "imdb-gru-max"


# ---- presenter mode ---------------------------------------------------------------------------------


def presenter_css(at: AppTest) -> list[str]:
    return [h.proto.body for h in at.get("html") if 'data-gatescope="presenter"' in h.proto.body]


@pytest.mark.slow
def test_presenter_mode_toggles():
    """The sidebar switch puts the presenter CSS (sidebar and control rows hidden, large type), the review
    in large type, ?present=1 and an exit button; the exit button turns it all off."""
    at = open_link(APP, text=REVIEW)
    assert not presenter_css(at) and "present" not in qp(at)
    at.toggle(key="present").set_value(True).run()
    css = presenter_css(at)
    assert css and 'section[data-testid="stSidebar"]' in css[0] and "st-key-gs_controls_" in css[0]
    assert "font-size" in css[0]
    assert qp(at)["present"] == "1"
    assert any("gs-present-review" in m.value and "acting was wonderful" in m.value for m in at.markdown)
    assert heatmap(at)["layout"]["font"]["size"] == 18  # charts enlarged too
    assert "present=1" in at.code[0].value  # the shared link keeps presenter mode
    at.button(key="present_exit").click().run()
    assert not presenter_css(at) and "present" not in qp(at) and at.toggle(key="present").value is False
    assert heatmap(at)["layout"]["font"]["size"] == 13


@pytest.mark.slow
def test_presenter_mode_from_the_link():
    at = open_link(APP, present="1", text=REVIEW)
    assert presenter_css(at) and at.toggle(key="present").value is True
    assert at.button(key="present_exit").label == "Exit presenter mode"


# ---- step-through -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_step_next_and_previous_move_the_token_and_the_equations():
    """Next moves the token one on and the equations' numbers follow it; previous moves back; at the first
    token 'previous' is disabled."""
    at = open_link(LEARN, model="imdb-gru-max", text=REVIEW, token="0", unit="4")
    tr = shipped_trace("imdb-gru-max")
    hf = tr.gate("h")
    assert at.button(key="le_prev").disabled
    for expected in (1, 2, 3):
        at.button(key="le_next").click().run()
        assert at.select_slider(key="le_token").value == expected
        z, n, _, h_prev, h = learn_h_line(at)
        assert abs(h - hf[expected, 4]) < 1e-3 and abs(h_prev - hf[expected - 1, 4]) < 1e-3
        assert abs(z - tr.gate("z")[expected, 4]) < 1e-3
        assert any(f"Step t = {expected}: token “{TOKENS[expected]}”" in c for c in at.caption.values)
        assert qp(at)["token"] == str(expected)
    at.button(key="le_prev").click().run()
    assert at.select_slider(key="le_token").value == 2 and abs(learn_h_line(at)[-1] - hf[2, 4]) < 1e-3


class FakeClock:
    """The player's clock (sentiment.ui.present.now), moved by hand instead of sleeping."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    c = FakeClock()
    monkeypatch.setattr(present, "now", c)
    return c


@pytest.mark.slow
def test_play_steps_on_and_stops_at_the_end(clock):
    """Play moves one token on per interval (0.5 s here) and stops, paused, at the last token."""
    at = open_link(LEARN, model="imdb-gru-max", text="not bad at all")  # 4 tokens
    at.segmented_control(key="le_speed").set_value(0.5).run()
    at.button(key="le_play").click().run()
    assert at.session_state["le_playing"] is True and at.button(key="le_play").label == "Pause"
    assert at.select_slider(key="le_token").value == 0  # not before the first tick
    at.run()
    assert at.select_slider(key="le_token").value == 0  # nor on a rerun before the interval is up
    seen = []
    for _ in range(6):
        clock.advance(0.55)
        at.run()
        seen.append(at.select_slider(key="le_token").value)
    assert seen[:3] == [1, 2, 3] and seen[-1] == 3
    assert at.session_state["le_playing"] is False and at.button(key="le_play").label == "Play"


@pytest.mark.slow
def test_pause_stops_stepping(clock):
    at = open_link(LEARN, model="imdb-gru-max", text=REVIEW)
    at.segmented_control(key="le_speed").set_value(0.5).run()
    at.button(key="le_play").click().run()
    clock.advance(0.55)
    at.run()
    assert at.select_slider(key="le_token").value == 1
    at.button(key="le_play").click().run()  # pause
    clock.advance(0.6)
    at.run()
    assert at.select_slider(key="le_token").value == 1 and at.session_state["le_playing"] is False


@pytest.mark.slow
def test_markdown_in_a_link_is_shown_as_plain_text():
    """Bad input tried: a crafted link whose model is a Markdown link and an image; the warning shows
    them escaped (no clickable link, no remote image inside the app's message)."""
    at = open_link(LEARN, text=REVIEW, model="[Session expired, log in](https://evil.example)![](https://evil.example/p.png)")
    shown = [w for w in warnings(at) if "no usable model" in w]
    assert shown, warnings(at)
    assert "\\[Session expired, log in\\]\\(https://evil.example\\)" in shown[0]
    assert "\\!\\[\\]\\(" in shown[0]


def _widget_keys_in_block(at: AppTest, suffix: str) -> set[str]:
    """The keys of the widgets inside the container whose key ends the block's id with ``suffix``."""
    found: set[str] = set()

    def keys(node) -> None:
        for child in getattr(node, "children", {}).values():
            if getattr(child, "key", None):
                found.add(child.key)
            keys(child)

    def find(node) -> None:
        for child in getattr(node, "children", {}).values():
            proto = getattr(child, "proto", None)
            if proto is not None and str(getattr(proto, "id", "")).endswith("-" + suffix):
                keys(child)
            find(child)

    find(at._tree)
    return found


@pytest.mark.slow
def test_compare_in_presenter_mode_shows_the_review_large_and_hides_its_inputs():
    """Compare in presenter mode: the review in large type; its inputs (review box, both model pickers,
    heatmap controls) inside the containers the presenter CSS hides (AppTest runs no CSS)."""
    from sentiment.ui import present
    at = AppTest.from_file(COMPARE, default_timeout=90)
    at.session_state["present"] = True
    at.session_state["cmp_text"] = REVIEW
    at.run()
    assert not at.exception, at.exception
    assert any("gs-present-review" in m.value and "acting was wonderful" in m.value for m in at.markdown)
    assert "cmp_text" in _widget_keys_in_block(at, f"{present.CONTROLS_PREFIX}cmp")
    assert "cmp_a_cell" in _widget_keys_in_block(at, f"{present.CONTROLS_PREFIX}cmp_a")
    assert "cmp_b_cell" in _widget_keys_in_block(at, f"{present.CONTROLS_PREFIX}cmp_b")
    assert "cmp_sort" in _widget_keys_in_block(at, f"{present.CONTROLS_PREFIX}cmp_heat")

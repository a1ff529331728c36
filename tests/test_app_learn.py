"""The Learn page (AppTest): the equations with numbers are the trace's own values; the vanishing-gradient
view compares the dataset's RNN, LSTM and GRU."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sentiment import probe
from sentiment.modeling import checkpoint
from sentiment.probe import reference

ROOT = Path(__file__).resolve().parent.parent
REVIEW = "The plot was thin but the acting was wonderful and I was not bored at all."


def page(cell: str = "lstm") -> AppTest:
    at = AppTest.from_file(str(ROOT / "tests" / "_learn_page.py"), default_timeout=90)
    at.run()
    at.text_area(key="le_text").set_value(REVIEW).run()
    at.segmented_control(key="le_cell").set_value(cell).run()
    assert not at.exception, at.exception
    return at


def latex(at: AppTest) -> list[str]:
    return [l.value.strip("$").strip() for l in at.latex]


def numbers(latex: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d+\.\d{3}", latex)]


@pytest.mark.slow
def test_lstm_numbers_are_the_traces():
    """For the picked token and unit, f_t, i_t, g_t, c_{t-1}, c_t and h_t shown equal the probe's trace."""
    at = page("lstm")
    at.select_slider(key="le_token").set_value(3).run()
    at.number_input(key="le_unit").set_value(5).run()
    shown = latex(at)
    c_line = next(s for s in shown if s.startswith("c_t =") and "times" in s)
    f, c_prev, i, g, c = numbers(c_line)
    name = next(c.value for c in at.caption if "lstm" in c.value).split(" ·")[0]
    tr = probe.trace(checkpoint.load(ROOT / "assets" / "models" / name), REVIEW, prefix=False, occlusion=False)
    lt = tr.layers[0]
    assert abs(f - lt.gates["f"][3, 5]) < 1e-3 and abs(i - lt.gates["i"][3, 5]) < 1e-3 and abs(g - lt.gates["g"][3, 5]) < 1e-3
    assert abs(c_prev - lt.gates["c"][2, 5]) < 1e-3 and abs(c - lt.gates["c"][3, 5]) < 1e-3
    assert abs(f * c_prev + i * g - c) < 5e-3  # the numbers shown recombine as the equation says
    assert any("The numbers add up" in m.value for m in at.success)


@pytest.mark.slow
def test_backward_direction_reads_the_next_token():
    """In the backward direction the previous state c_{t-1} is the trace's c at the token after."""
    at = page("lstm")
    at.selectbox(key="le_layer").set_value((0, "backward")).run()
    at.select_slider(key="le_token").set_value(4).run()
    at.number_input(key="le_unit").set_value(7).run()
    c_line = next(s for s in latex(at) if s.startswith("c_t =") and "times" in s)
    f, c_prev, i, g, c = numbers(c_line)
    name = next(c.value for c in at.caption if "lstm" in c.value).split(" ·")[0]
    tr = probe.trace(checkpoint.load(ROOT / "assets" / "models" / name), REVIEW, prefix=False, occlusion=False)
    cb = tr.gate("c", 0, "backward")
    assert abs(c_prev - cb[5, 7]) < 1e-3 and abs(c - cb[4, 7]) < 1e-3
    assert abs(f - tr.gate("f", 0, "backward")[4, 7]) < 1e-3


@pytest.mark.slow
def test_one_token_review_and_chinese_labels():
    """A one-word review has one step to show (no slider); the page speaks Chinese when asked."""
    at = AppTest.from_file(str(ROOT / "tests" / "_learn_page.py"), default_timeout=90)
    at.session_state["lang"] = "zh"
    at.run()
    at.text_area(key="le_text").set_value("wonderful").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.title[0].value == "学习门控机制"
    assert all(s.key != "le_token" for s in at.select_slider)
    assert any(m.value.startswith("**代入本条评论的数值**") for m in at.markdown)


@pytest.mark.slow
def test_gru_equations_follow_pytorch():
    """The GRU page shows PyTorch's h_t = (1 - z_t) n_t + z_t h_{t-1}, with numbers that recombine."""
    at = page("gru")
    shown = latex(at)
    assert r"h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}" in shown
    h_line = next(s for s in shown if s.startswith("h_t = (1 -") and "times" in s)
    z, n, z2, h_prev, h = numbers(h_line)
    assert z == z2 and abs((1 - z) * n + z * h_prev - h) < 5e-3


@pytest.mark.slow
def test_vanishing_gradient_view_compares_three_cells():
    """One line per cell (RNN, LSTM, GRU of the same dataset), one point per token."""
    at = page("lstm")
    fig = [json.loads(c.proto.spec) for c in at.get("plotly_chart")][-1]
    names = {d["name"] for d in fig["data"]}
    assert {"imdb-rnn-max", "imdb-lstm-max", "imdb-gru-max"} == names
    assert all(len(d["y"]) == len(fig["data"][0]["y"]) > 10 for d in fig["data"])
    spread = next(c.value for c in at.caption if "largest / smallest" in c.value)
    assert all(name in spread for name in names)


def test_recombine_and_the_probe_hold_to_the_reference_equations(tiny_checkpoint):
    """For every step and unit of a traced model, the page's check (reference.states_from_gates) and
    figures.recombine give the same states, and those are the probe's."""
    from sentiment import figures

    for cell in ("lstm", "gru", "rnn"):
        tr = probe.trace(tiny_checkpoint(cell=cell, layers=2), "the movie was not good at all", prefix=False, occlusion=False)
        for layer, direction in [(lt.layer, lt.direction) for lt in tr.layers]:
            for t in range(tr.length):
                for unit in range(tr.hidden_size):
                    v = figures.step_values(tr, layer, direction, t, unit)
                    want = reference.states_from_gates(cell, v)
                    got = figures.recombine(cell, v)
                    assert set(got) == set(want) == {"lstm": {"c", "h"}, "gru": {"h"}, "rnn": set()}[cell]
                    for k, x in want.items():
                        assert abs(got[k] - x) < 1e-12, (cell, layer, direction, t, unit, k)
                        assert abs(x - v[k]) < 1e-5, (cell, layer, direction, t, unit, k)

"""sentiment.viewstate (a view as query parameters) and sentiment.figures.marks (the selection on a heatmap):
pure functions, no streamlit."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from sentiment import figures, probe, viewstate
from sentiment.figures import marks
from sentiment.modeling import catalog

pytest.importorskip("hypothesis", reason="the property tests draw their cases with hypothesis: pip install -e .[dev]")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def entries() -> list[catalog.ModelEntry]:
    return [e for e in catalog.list_models() if e.available]


def test_encode_then_parse_is_the_same_view():
    values = {"model": "imdb-gru-max", "pooling": "max", "text": "not bad, 不错 & 100% fun?", "layer": 1, "dir": "backward",
              "gates": ["z", "h"], "token": 4, "unit": 17}
    params = dict(parse_qsl(viewstate.query_string(viewstate.encode(values))))
    assert params["layer"] == "2"  # the link counts layers from 1, as the interface does
    state, problems = viewstate.parse(params)
    assert not problems
    assert (state.model, state.pooling, state.text, state.layer, state.direction, state.gates, state.token, state.unit) == (
        "imdb-gru-max", "max", "not bad, 不错 & 100% fun?", 1, "backward", ["z", "h"], 4, 17)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
@pytest.mark.slow
def test_any_review_round_trips_through_a_link(text):
    params = dict(parse_qsl(viewstate.query_string(viewstate.encode({"text": text})), keep_blank_values=True))
    state, problems = viewstate.parse(params)
    if text.strip():
        assert state.text == text and not problems
    else:
        assert state.text is None


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["model", "pooling", "model_b", "pooling_b", "text", "token", "unit", "layer", "dir",
                                        "gates", "present", "x"]),
                       st.text(max_size=40)))
def test_parse_never_raises(params):
    state, problems = viewstate.parse(params)
    for name in ("token", "unit", "layer"):
        v = getattr(state, name)
        assert v is None or (isinstance(v, int) and 0 <= v <= viewstate.MAX_INDEX)
    assert all(isinstance(p, viewstate.Problem) for p in problems)


def test_compare_link_round_trips_both_models():
    """Compare's view: model A (model, pooling), model B (model_b, pooling_b), the review, layer and direction."""
    values = {"model": "imdb-lstm-mean", "pooling": "mean", "model_b": "hotel-gru-attention", "pooling_b": "attention",
              "text": "好看 but slow", "layer": 0, "dir": "backward"}
    params = dict(parse_qsl(viewstate.query_string(viewstate.encode(values))))
    assert params["model_b"] == "hotel-gru-attention" and params["pooling_b"] == "attention"
    state, problems = viewstate.parse(params)
    assert not problems
    assert (state.model, state.pooling, state.model_b, state.pooling_b, state.text, state.layer, state.direction) == (
        "imdb-lstm-mean", "mean", "hotel-gru-attention", "attention", "好看 but slow", 0, "backward")


def test_an_explore_link_says_nothing_of_model_b():
    """A link without model_b/pooling_b (every Explore and Learn link) parses as before: B is None, no problem."""
    state, problems = viewstate.parse({"model": "imdb-gru-max", "pooling": "max", "unit": "3"})
    assert (state.model, state.pooling, state.model_b, state.pooling_b, state.unit) == ("imdb-gru-max", "max", None, None, 3)
    assert not problems
    assert set(viewstate.encode({"model": "imdb-gru-max", "text": "ok"})) == {"model", "text"}


@pytest.mark.parametrize("params,code", [
    ({"pooling_b": "median"}, "pooling_unknown_b"),  # not a pooling
    ({"pooling_b": "MAX"}, "pooling_unknown_b"),  # poolings are lower case
    ({"model_b": "m" * 201}, "model_unknown_b"),  # longer than any model's name or key
])
def test_bad_model_b_is_a_problem_of_b(params, code):
    """Bad input tried: an unknown pooling_b, an upper-case one, an overlong model_b; each a problem with
    B's own code (so its message names model B), B left None and model A untouched."""
    state, problems = viewstate.parse({"model": "imdb-gru-max", "pooling": "max", **params})
    assert [p.code for p in problems] == [code]
    assert state.model_b is None and state.pooling_b is None and (state.model, state.pooling) == ("imdb-gru-max", "max")


def test_find_model_b_names_its_problems_as_b():
    ok = entries()
    e, problems = viewstate.find_model("imdb-gru-maxx", ok, side=viewstate.SIDE_B)
    assert e is None and [p.code for p in problems] == ["model_unknown_b"]
    e, problems = viewstate.find_model("imdb-rnn-max", ok, pooling="mean", side=viewstate.SIDE_B)
    assert e.name == "imdb-rnn-max" and [p.code for p in problems] == ["pooling_missing_b"]


def test_check_layer_against_the_shared_layers():
    """Compare checks only the layer and direction, against the pairs both models have."""
    shared = [(0, "forward"), (0, "backward")]
    assert viewstate.check_layer(viewstate.ViewState(), shared) == (None, [])
    assert viewstate.check_layer(viewstate.ViewState(direction="backward"), shared) == ((0, "backward"), [])
    choice, problems = viewstate.check_layer(viewstate.ViewState(layer=1), shared)
    assert choice is None and problems[0].code == "layer_missing" and problems[0].details == {
        "layer": 2, "direction": "forward", "n": 1}


@pytest.mark.parametrize("raw", ["-1", "1.5", "abc", "", " ", "٣", "1e3", "99999999", "0x10"])
def test_bad_index_is_a_problem_not_a_number(raw):
    """Negative, fractional, words, blank, non-ASCII digits, exponents, huge: each one a not_index problem."""
    state, problems = viewstate.parse({"unit": raw})
    assert state.unit is None and [p.code for p in problems] == ["not_index"]


def test_text_past_the_limit_is_refused():
    state, problems = viewstate.parse({"text": "a" * (viewstate.MAX_TEXT + 1)})
    assert state.text is None and problems[0].code == "text_long" and problems[0].details["chars"] == viewstate.MAX_TEXT + 1
    assert "text" not in viewstate.encode({"text": "a" * (viewstate.MAX_TEXT + 1)})


def test_find_model_by_name_key_and_pooling():
    ok = entries()
    e, problems = viewstate.find_model("imdb-gru-max", ok)
    assert e.name == "imdb-gru-max" and not problems
    e, _ = viewstate.find_model("shipped:hotel-lstm-mean", ok)
    assert e.name == "hotel-lstm-mean"
    e, problems = viewstate.find_model("imdb-gru-max", ok, pooling="attention")  # a sibling with that pooling
    assert e.name == "imdb-gru-attention" and not problems
    e, problems = viewstate.find_model("imdb-rnn-max", ok, pooling="mean")  # none: the model itself, and a problem
    assert e.name == "imdb-rnn-max" and problems[0].code == "pooling_missing"
    e, problems = viewstate.find_model("imdb-gru-maxx", ok)
    assert e is None and problems[0].code == "model_unknown"


def test_check_selection_against_a_trace():
    layers = [(0, "forward"), (0, "backward")]
    state = viewstate.ViewState(token=5, unit=7, layer=0, direction="backward")
    ok, problems = viewstate.check_selection(state, length=6, hidden=8, layers=layers)
    assert ok == {"token": 5, "unit": 7, "layer": (0, "backward")} and not problems
    ok, problems = viewstate.check_selection(viewstate.ViewState(token=6, unit=8, layer=1), length=6, hidden=8, layers=layers)
    assert ok == {} and [p.code for p in problems] == ["token_range", "unit_range", "layer_missing"]


def test_marks_outline_the_token_and_unit(tiny_checkpoint):
    tr = probe.trace(tiny_checkpoint(cell="gru"), "the movie was not good at all", prefix=False, occlusion=False)
    fig = figures.gate_heatmaps(tr, gates=["r", "h"], sort="variance", top_k=4)
    shown = fig.layout.meta["units"]
    marks.mark_selection(fig, 3, shown[2])
    assert fig.layout.meta["selection"] == {"token": 3, "unit": shown[2], "row": 2}
    orange = [s for s in fig.layout.shapes if s.line.color == marks.MARK_COLOR]
    assert len(fig.layout.shapes) == 2 * len(orange)  # each outline over a dark halo
    cols = [s for s in orange if s.yref.endswith("domain")]
    rows = [s for s in orange if s.xref.endswith("domain")]
    assert [(s.x0, s.x1, s.xref) for s in cols] == [(2.5, 3.5, "x"), (2.5, 3.5, "x2")]
    assert [(s.y0, s.y1, s.yref) for s in rows] == [(1.5, 2.5, "y"), (1.5, 2.5, "y2")]
    hidden = next(u for u in range(tr.hidden_size) if u not in shown)
    fig = marks.mark_selection(figures.gate_heatmaps(tr, sort="variance", top_k=4), 0, hidden)
    assert fig.layout.meta["selection"]["row"] is None and len(fig.layout.shapes) == 2 * 4  # columns only, 4 panels


@pytest.mark.parametrize("selection,want", [
    ({"box": [{"x": [0.6, 1.4], "y": [1.7, 2.2]}]}, (1, 2)),  # a small box: the cell under its centre
    ({"points": [{"x": 2, "y": "u9"}]}, (2, 9)),  # a point labelled by its unit
    ({"box": [{"x": [0.9, 1.1], "y": [-0.8, 2.5]}]}, (1, None)),  # a band over the whole unit axis: token only
    ({"box": [{"x": [-0.5, 2.5], "y": [0.8, 1.1]}]}, (None, 9)),  # a band over every token: unit only
    ({"box": [{"x": [-3, -2], "y": [9, 10]}]}, (0, None)),  # outside: the nearest token, no unit row
    ({"points": [{"x": 1, "y": "u7"}]}, (1, None)),  # a unit not shown
    ({}, (None, None)),
    (None, (None, None)),
])
def test_a_box_over_a_heatmap_cell_gives_its_token_and_unit(selection, want):
    """Bad input tried: boxes outside the figure, a unit label that is not shown, no selection."""
    meta = {"tokens": ["a", "b", "c"], "units": [5, 9, 2]}
    assert marks.cell_from_selection(selection, meta) == want

"""Figures: pure functions Trace -> plotly Figure (no Streamlit), on tiny random-weight models
traced by the real probe."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import pytest

from sentiment import figures, probe


def bdata(arr) -> np.ndarray:
    """A plotly JSON array (plain list, or {'dtype', 'bdata'[, 'shape']} binary) as numpy."""
    import base64

    if isinstance(arr, dict) and "bdata" in arr:
        a = np.frombuffer(base64.b64decode(arr["bdata"]), dtype=np.dtype(arr["dtype"]))
        if "shape" in arr:
            a = a.reshape([int(s) for s in str(arr["shape"]).split(",")])
        return a
    return np.asarray(arr)


def spec(fig: go.Figure) -> dict:
    return json.loads(fig.to_json())


EN = "I loved the acting but the plot was not good at all !"
ZH = "酒店 房间 很 干净，服务 不错！"


@pytest.fixture
def tr(tiny_checkpoint):
    def make(text=EN, prefix=True, ig=False, **kw):
        return probe.trace(tiny_checkpoint(**kw), text, prefix=prefix, occlusion=prefix, integrated_gradients=ig)

    return make


# ---- tests ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cell,gates", [("lstm", ["i", "f", "g", "o", "c", "h"]), ("gru", ["r", "z", "n", "h"]), ("rnn", ["h"])])
def test_heatmap_panels_per_gate(tr, cell, gates):
    t = tr(cell=cell, hidden=8)
    fig = figures.gate_heatmaps(t)
    s = spec(fig)
    heat = [d for d in s["data"] if d["type"] == "heatmap"]
    assert [d["name"] for d in heat] == gates
    for d in heat:
        z = bdata(d["z"])
        assert z.shape == (8, len(t.tokens))  # units x tokens
    meta = s["layout"]["meta"]
    assert meta["tokens"] == t.tokens and meta["gates"] == gates and len(meta["units"]) == 8
    # the bottom panel's x axis carries the tokens
    bottom = s["layout"][f"xaxis{len(gates) if len(gates) > 1 else ''}"]
    assert bottom["ticktext"] == t.tokens
    # panel titles name the equations' symbols
    titles = [a["text"] for a in s["layout"]["annotations"]]
    assert titles[0].startswith(figures.GATE_INFO[gates[0]][0])


def test_heatmap_colour_axes_by_kind(tr):
    t = tr(cell="lstm")
    s = spec(figures.gate_heatmaps(t))
    axis = {d["name"]: d["coloraxis"] for d in s["data"]}
    assert axis["i"] == axis["f"] == axis["o"] == "coloraxis"
    assert axis["g"] == axis["h"] == "coloraxis2"
    assert axis["c"] == "coloraxis3"
    lay = s["layout"]
    assert (lay["coloraxis"]["cmin"], lay["coloraxis"]["cmax"]) == (0, 1)
    assert (lay["coloraxis2"]["cmin"], lay["coloraxis2"]["cmax"]) == (-1, 1)
    assert lay["coloraxis3"]["cmin"] == -lay["coloraxis3"]["cmax"]
    assert "Noto Sans CJK SC" in lay["font"]["family"]



def test_colour_bars_hang_under_the_token_labels(tr):
    """Each horizontal colour bar sits under the token labels in paper coordinates, title on top: with
    container coordinates Streamlit's plotly.js drew the titles across the bars."""
    t = tr(cell="lstm")
    for fig in (figures.gate_heatmaps(t), figures.update_heatmaps(t)):
        lay = spec(fig)["layout"]
        plot_h = lay["height"] - lay["margin"]["t"] - lay["margin"]["b"]
        bars = [lay[k]["colorbar"] for k in ("coloraxis", "coloraxis2", "coloraxis3") if "colorbar" in lay.get(k, {})]
        assert bars
        for cb in bars:
            assert cb["orientation"] == "h" and cb["yref"] == "paper" and cb["yanchor"] == "top"
            assert cb["title"]["side"] == "top"
            below = -cb["y"] * plot_h  # pixels under the plot area
            assert 40 <= below <= lay["margin"]["b"] - 40  # under the token labels, room left for bar and ticks

def test_heatmap_hover_shows_token_position_unit_value(tr):
    t = tr(cell="gru")
    d = spec(figures.gate_heatmaps(t))["data"][0]
    for part in ("%{text}", "%{x}", "%{y}", "%{z"):
        assert part in d["hovertemplate"]
    assert np.asarray(d["text"]).shape == (8, len(t.tokens))
    assert [x.split(" (")[0] for x in d["text"][0]] == t.tokens
    assert [x.endswith("(not in the vocabulary)") for x in d["text"][0]] == list(t.unk)


def test_unit_sort_and_top_k(tr):
    t = tr(cell="lstm", hidden=8)
    h = t.gate("h")
    for sort in figures.SORTS:
        order = figures.unit_order(t, sort=sort, top_k=3)
        assert len(order) == 3 and len(set(order.tolist())) == 3
    assert figures.unit_order(t, sort="activity").tolist() == np.argsort(-np.abs(h).mean(0), kind="stable").tolist()
    assert figures.unit_order(t, sort="variance")[0] == int(np.argmax(h.var(0)))
    fig = figures.gate_heatmaps(t, sort="variance", top_k=3)
    s = spec(fig)
    assert len(s["layout"]["meta"]["units"]) == 3
    assert all(bdata(d["z"]).shape == (3, len(t.tokens)) for d in s["data"])
    # the heatmap values are the trace's, for the chosen units
    u = s["layout"]["meta"]["units"]
    np.testing.assert_allclose(bdata(s["data"][5]["z"]), t.gate("h")[:, u].T, rtol=1e-6)
    with pytest.raises(ValueError):
        figures.unit_order(t, sort="bogus")


def test_heatmap_layers_and_directions(tr):
    t = tr(cell="lstm", layers=2, bidirectional=True)
    assert figures.layer_choices(t) == [(0, "forward"), (0, "backward"), (1, "forward"), (1, "backward")]
    s = spec(figures.gate_heatmaps(t, layer=1, direction="backward", gates=["f", "h"]))
    assert [d["name"] for d in s["data"]] == ["f", "h"]
    with pytest.raises(ValueError):
        figures.gate_heatmaps(t, layer=2)


@pytest.mark.parametrize("pooling", ["last", "max", "mean", "attention"])
def test_pooling_bar(tr, pooling):
    t = tr(cell="gru", pooling=pooling)
    s = spec(figures.pooling_bar(t))
    total = sum(bdata(d["y"]).sum() for d in s["data"])
    assert total == pytest.approx(1.0, abs=1e-5)
    assert s["layout"]["xaxis"]["ticktext"] == t.tokens
    if pooling == "last":  # forward reads the last token, backward the first
        fwd, bwd = (bdata(d["y"]) for d in s["data"])
        assert fwd[-1] == pytest.approx(0.5) and bwd[0] == pytest.approx(0.5)
    if pooling == "mean":
        np.testing.assert_allclose(bdata(s["data"][0]["y"]), 1 / len(t.tokens), rtol=1e-5)


def test_prefix_curve_and_attribution(tr):
    t = tr(cell="lstm")
    s = spec(figures.prefix_curve(t))
    line = s["data"][0]
    assert line["type"] == "scatter"
    np.testing.assert_allclose(bdata(line["y"]), t.prefix_probs, rtol=1e-5)
    assert s["layout"]["yaxis"]["range"] == [0, 1]
    b = spec(figures.attribution_bar(t, "occlusion"))
    np.testing.assert_allclose(bdata(b["data"][0]["y"]), t.occlusion, rtol=1e-5)
    # integrated gradients not computed: an empty figure with a note, not an error
    empty = spec(figures.attribution_bar(t, "integrated_gradients"))
    assert empty["data"] == [] and empty["layout"]["annotations"]
    html = figures.attribution_html(["<b>", "good"], [0.5, -1.0], [True, False])
    assert "&lt;b&gt;" in html and "<b>" not in html.replace("&lt;b&gt;", "")
    assert html.count("<span") == 2


def test_saturation_histogram(tr):
    t = tr(cell="lstm")
    s = spec(figures.saturation_histogram(t))
    assert [d["type"] for d in s["data"]] == ["bar"] * 3
    for d in s["data"]:
        assert bdata(d["y"]).sum() == pytest.approx(1.0, abs=1e-5)
    shares = figures.saturation_shares(t)
    assert set(shares) == {"i", "f", "o"}
    v = t.gate("f")
    assert shares["f"] == pytest.approx(((v < 0.1).mean(), (v > 0.9).mean()))
    r = spec(figures.saturation_histogram(tr(cell="rnn")))
    assert len(r["data"]) == 1 and r["layout"]["xaxis"]["range"] == [-1, 1]


def test_chinese_labels_and_tokens(tr):
    t = tr(ZH, cell="gru", language="zh")
    s = spec(figures.gate_heatmaps(t, lang="zh"))
    assert "门" in s["layout"]["annotations"][0]["text"]
    assert s["layout"]["xaxis4"]["ticktext"] == t.tokens
    assert any("酒店" in tok for tok in t.tokens)
    assert "层" in s["layout"]["title"]["text"]


def test_compare_figures(tr):
    a, b = tr(cell="lstm", pooling="max"), tr(cell="gru", pooling="attention", seed=1)
    s = spec(figures.compare_prefix([a, b], ["A", "B"]))
    assert [d["name"] for d in s["data"]] == ["A", "B"]
    p = spec(figures.compare_pooling([a, b], ["A", "B"]))
    assert len(p["data"]) == 2
    for d in p["data"]:
        assert bdata(d["y"]).sum() == pytest.approx(1.0, abs=1e-5)


def test_csv_exports(tr):
    t = tr(cell="gru", hidden=4)
    rows = figures.tokens_csv(t).splitlines()
    assert rows[0].startswith("position,token,id,unk,pool_weight,prefix_p_positive,occlusion")
    assert len(rows) == 1 + len(t.tokens)
    g = figures.gates_csv(t).splitlines()
    assert g[0] == "layer,direction,gate,position,token,unit,value"
    assert len(g) == 1 + 2 * 4 * len(t.tokens) * 4  # directions x gates x tokens x units
    assert g[1].startswith(f"0,forward,r,0,{t.tokens[0]},0,")


def synthetic_trace(T: int = 400, H: int = 128, cell: str = "lstm", pooling: str = "max", seed: int = 0):
    """A Trace of the probe's own class filled with random values of the right shapes and ranges
    (independent of the probe's speed): for timing the figures alone."""
    rng = np.random.default_rng(seed)
    words = "the movie was not bad at all i loved it ! but the plot was awful".split()
    tokens = [words[i % len(words)] for i in range(T)]
    layers = []
    for direction in ("forward", "backward"):
        gates = {}
        for g in probe.GATE_NAMES[cell]:
            x = rng.normal(size=(T, H)).astype(np.float32)
            gates[g] = 1 / (1 + np.exp(-x)) if g in probe.SIGMOID_GATES[cell] else (2 * x if g == "c" else np.tanh(x))
        layers.append(probe.LayerTrace(0, direction, gates))
    winners = rng.integers(0, T, size=2 * H)
    weights = np.bincount(winners, minlength=T).astype(np.float32) / (2 * H)
    p = rng.uniform(size=T).astype(np.float32)
    return probe.Trace(
        text=" ".join(tokens), tokens=tokens, ids=list(range(T)), unk=[False] * T, length=T, language="en",
        cell=cell, pooling=pooling, hidden_size=H, num_layers=1, bidirectional=True, model_name="synthetic",
        layers=layers, pooled=rng.normal(size=2 * H).astype(np.float32), pool_weights=weights, pool_winners=winners,
        logits=np.array([0.1, 0.3], np.float32), probs=np.array([0.45, 0.55], np.float32), label="positive",
        prefix_probs=p, occlusion=(p - 0.5) / 10, integrated_gradients=None, truncated=0, note="")


def test_long_review_heatmap_keeps_every_token():
    """400 tokens, 128 units: the heatmap holds them all, labels every k-th token (its time: bench/limits.py)."""
    t = synthetic_trace()
    s = spec(figures.gate_heatmaps(t, top_k=128))
    assert all(bdata(d["z"]).shape == (128, 400) for d in s["data"])
    # long reviews open on a window of readable columns (tests/test_gate_heatmaps_readable.py), every token
    # in it labelled; the labels go along with the overview strip
    lo, hi = s["layout"]["xaxis6"]["range"]
    assert hi - lo < 80 and len(s["layout"]["xaxis6"]["ticktext"]) == 400

"""The probe shows the gates of exactly the model that predicted.

- recompute() against the fused nn.LSTM / nn.GRU / nn.RNN: every h_t, the final (h, c), for random
  weights, random lengths, 1-3 layers, both directions, padded batches (max abs diff < 1e-5);
- the gates recombine into h by the cell's equations;
- the reference equations (sentiment.probe.reference, also the baseline of bench/probe.py) equal
  PyTorch's own cells, and their step-by-step loop agrees with the probe gate for gate;
- Trace: probabilities equal model(...)'s; prefix predictions and occlusion equal running the
  variants through the model; integrated gradients are complete; JSON round-trips; truncation is
  noted; bad input raises InputError and the CLI says ``error: ...`` with exit 2;
- the shipped models in assets/models/ on the example reviews.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from sentiment import probe, spec
from sentiment.data.batching import collate
from sentiment.errors import InputError
from sentiment.modeling import checkpoint
from sentiment.probe import reference, variants
from sentiment.probe.cli import main as trace_main

pytest.importorskip("hypothesis", reason="the property tests draw their cases with hypothesis: pip install -e .[dev]")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TOL = 1e-5
CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


# ---- the reference: sentiment.probe.reference, one step at a time, against PyTorch's own cells -----


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_reference_step_equals_torch_cell(cell, bias):
    """reference.lstm_step / gru_step / rnn_step give nn.LSTMCell / GRUCell / RNNCell's h (and c)."""
    torch.manual_seed(1)
    mod = {"lstm": nn.LSTMCell, "gru": nn.GRUCell, "rnn": nn.RNNCell}[cell](5, 7, bias=bias)
    x, h, c = torch.randn(3, 5), torch.randn(3, 7), torch.randn(3, 7)
    w = (mod.weight_ih, mod.weight_hh, mod.bias_ih, mod.bias_hh)
    with torch.no_grad():
        if cell == "lstm":
            got, (h_t, c_t) = reference.lstm_step(x, h, c, *w), mod(x, (h, c))
            assert (got["c"] - c_t).abs().max() < TOL
        else:
            got, h_t = reference.step(cell, x, {"h": h}, w), mod(x, h)
    assert (got["h"] - h_t).abs().max() < TOL
    assert list(got) == probe.GATE_NAMES[cell]


def test_reference_gates_are_the_equations():
    """Each gate of lstm_step / gru_step is its own equation (PyTorch's order: i, f, g, o; r, z, n)."""
    torch.manual_seed(2)
    H = 3
    x, h, c = torch.randn(4), torch.randn(H), torch.randn(H)
    W_ih, W_hh, b_ih, b_hh = torch.randn(4 * H, 4), torch.randn(4 * H, H), torch.randn(4 * H), torch.randn(4 * H)
    pre = W_ih @ x + b_ih + W_hh @ h + b_hh
    got = reference.lstm_step(x, h, c, W_ih, W_hh, b_ih, b_hh)
    want = dict(i=torch.sigmoid(pre[:H]), f=torch.sigmoid(pre[H:2 * H]), g=torch.tanh(pre[2 * H:3 * H]),
                o=torch.sigmoid(pre[3 * H:]))
    for k, v in want.items():
        assert (got[k] - v).abs().max() < TOL, k
    assert (got["c"] - (want["f"] * c + want["i"] * want["g"])).abs().max() < TOL
    # GRU: the reset gate multiplies the hidden projection *with* its bias b_hn
    W_ih, W_hh, b_ih, b_hh = W_ih[:3 * H], W_hh[:3 * H], b_ih[:3 * H], b_hh[:3 * H]
    got = reference.gru_step(x, h, W_ih, W_hh, b_ih, b_hh)
    gi, gh = W_ih @ x + b_ih, W_hh @ h + b_hh
    r, z = torch.sigmoid(gi[:H] + gh[:H]), torch.sigmoid(gi[H:2 * H] + gh[H:2 * H])
    n = torch.tanh(gi[2 * H:] + r * gh[2 * H:])
    for k, v in dict(r=r, z=z, n=n, h=(1 - z) * n + z * h).items():
        assert (got[k] - v).abs().max() < TOL, k


def fused(rnn: nn.RNNBase, x: torch.Tensor, lengths: torch.Tensor):
    """The fused module itself on a padded batch: top-layer outputs [B, T, D], h_n (and c_n)."""
    with torch.no_grad():
        out, hn = rnn(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    return out, (hn if isinstance(hn, tuple) else (hn,))


def random_case(cell: str, layers: int, bi: bool, seed: int, B: int = 4, T: int = 11, E: int = 5, H: int = 7):
    torch.manual_seed(seed)
    rnn = CELLS[cell](E, H, layers, batch_first=True, bidirectional=bi).eval()
    with torch.no_grad():  # wider than PyTorch's init, so gates reach saturation too
        for p in rnn.parameters():
            p.uniform_(-1.0, 1.0)
    lengths = torch.randint(1, T + 1, (B,))
    lengths[0] = T  # the padded batch is as long as its longest review
    return rnn, torch.randn(B, T, E), lengths


def check_against_fused(rnn: nn.RNNBase, x: torch.Tensor, lengths: torch.Tensor) -> None:
    recs = probe.recompute(rnn, x, lengths)
    dirs = 2 if rnn.bidirectional else 1
    assert [(r["layer"], r["direction"]) for r in recs] == [
        (l, d) for l in range(rnn.num_layers) for d in ("forward", "backward")[:dirs]]
    out, final = fused(rnn, x, lengths)
    top = torch.cat([r["gates"]["h"] for r in recs[-dirs:]], -1)
    assert (top - out).abs().max() < TOL
    assert (torch.stack([r["h_n"] for r in recs]) - final[0]).abs().max() < TOL
    if probe.cell_of(rnn) == "lstm":
        assert (torch.stack([r["c_n"] for r in recs]) - final[1]).abs().max() < TOL
    pad = ~(torch.arange(x.shape[1])[None, :] < lengths[:, None])  # [B, T]
    for r in recs:
        assert set(r["gates"]) == set(probe.GATE_NAMES[probe.cell_of(rnn)])
        for v in r["gates"].values():
            assert v.shape == (x.shape[0], x.shape[1], rnn.hidden_size)
            assert (v[pad] == 0).all()


@pytest.mark.parametrize("bi", [False, True])
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_recompute_equals_fused_module(cell, layers, bi):
    check_against_fused(*random_case(cell, layers, bi, seed=layers * 7 + bi))


@pytest.mark.parametrize("B", [1, 3])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_recompute_without_padding_equals_fused_module(cell, layers, B):
    """Reviews of one length (one review, the app's case): both directions' gates in one pass."""
    rnn, x, _ = random_case(cell, layers, True, seed=B * 3 + layers, B=B)
    check_against_fused(rnn, x, torch.full((B,), x.shape[1]))


@settings(max_examples=15, deadline=None)
@given(cell=st.sampled_from(["lstm", "gru", "rnn"]), layers=st.integers(1, 3), bi=st.booleans(),
       B=st.integers(1, 5), T=st.integers(1, 30), H=st.integers(1, 12), seed=st.integers(0, 10_000))
def test_recompute_equals_fused_module_random_shapes(cell, layers, bi, B, T, H, seed):
    check_against_fused(*random_case(cell, layers, bi, seed, B=B, T=T, H=H))


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_reference_step_loop_agrees_with_probe(cell):
    """The vectorized recompute gives, gate for gate, what reference.step_by_step gives one step at a time."""
    rnn, x, lengths = random_case(cell, 2, True, seed=3)
    recs = probe.recompute(rnn, x, lengths)
    for b in range(x.shape[0]):
        L = int(lengths[b])
        naive = reference.step_by_step(rnn, x[b, :L])
        for r, n in zip(recs, naive):
            for k, v in n.items():
                assert (r["gates"][k][b, :L] - v).abs().max() < TOL, (r["layer"], r["direction"], k)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_gates_recombine_into_h(cell):
    rnn, x, lengths = random_case(cell, 2, True, seed=5)
    recs = probe.recompute(rnn, x, lengths)
    inp = x
    for l in range(rnn.num_layers):
        for d in range(2):
            g = recs[2 * l + d]["gates"]
            for b in range(x.shape[0]):
                L = int(lengths[b])
                steps = range(L - 1, -1, -1) if d else range(L)
                prev_t = None
                for t in steps:
                    h_prev = g["h"][b, prev_t] if prev_t is not None else torch.zeros(rnn.hidden_size)
                    if cell == "lstm":
                        c_prev = g["c"][b, prev_t] if prev_t is not None else torch.zeros(rnn.hidden_size)
                        assert (g["c"][b, t] - (g["f"][b, t] * c_prev + g["i"][b, t] * g["g"][b, t])).abs().max() < TOL
                        assert (g["h"][b, t] - g["o"][b, t] * torch.tanh(g["c"][b, t])).abs().max() < TOL
                    elif cell == "gru":
                        want = (1 - g["z"][b, t]) * g["n"][b, t] + g["z"][b, t] * h_prev
                        assert (g["h"][b, t] - want).abs().max() < TOL
                    else:
                        sfx = f"_l{l}" + ("_reverse" if d else "")
                        pre = (getattr(rnn, "weight_ih" + sfx) @ inp[b, t] + getattr(rnn, "bias_ih" + sfx)
                               + getattr(rnn, "weight_hh" + sfx) @ h_prev + getattr(rnn, "bias_hh" + sfx))
                        assert (g["h"][b, t] - torch.tanh(pre)).abs().max() < TOL
                    prev_t = t
        inp = torch.cat([recs[2 * l]["gates"]["h"], recs[2 * l + 1]["gates"]["h"]], -1)


# ---- Trace ------------------------------------------------------------------------------------


REVIEW = "I loved the acting but the plot was not good at all ! the film was awful and i hated it"


def model_probs(ckpt, ids: list[list[int]]) -> np.ndarray:
    with torch.no_grad():
        i, L = collate(ids)
        return ckpt.probabilities(ckpt.model(i, L)).numpy()  # calibrated, as every shown probability


MODELS = [dict(cell=c, pooling=p, layers=l, bidirectional=bi)
          for c, p, l, bi in [("lstm", "max", 1, True), ("lstm", "attention", 2, True), ("lstm", "last", 2, False),
                              ("gru", "mean", 1, True), ("gru", "last", 2, True), ("gru", "attention", 1, False),
                              ("rnn", "max", 2, True), ("rnn", "mean", 1, False), ("lstm", "mean", 3, True),
                              ("gru", "max", 3, False)]]


def heavy_slow(kw: dict, heavy: bool):
    """A case of MODELS, marked slow when heavy (3 layers, or a long review in many chunks)."""
    return pytest.param(kw, marks=pytest.mark.slow) if heavy else kw


@pytest.mark.parametrize("kw", [heavy_slow(kw, kw["layers"] == 3 or kw["pooling"] == "attention" and kw["layers"] == 2) for kw in MODELS],
                         ids=lambda kw: "-".join(str(v) for v in kw.values()))
def test_trace_equals_model_prefixes_and_occlusion(tiny_checkpoint, kw):
    ckpt = tiny_checkpoint(**kw, hidden=6, embed=5)
    with torch.no_grad():  # wider weights: more varied predictions than the default init
        for p in ckpt.model.parameters():
            p.mul_(3)
        ckpt.model.embedding.weight[0] = 0
    tr = probe.trace(ckpt, REVIEW + " zzzunknown", integrated_gradients=True, ig_steps=48)
    enc = ckpt.encode(REVIEW + " zzzunknown")
    T = len(enc.ids)
    assert tr.tokens == enc.tokens and tr.ids == enc.ids and tr.length == T and tr.unk[-1] and not tr.unk[0]
    assert np.abs(tr.probs - model_probs(ckpt, [enc.ids])[0]).max() < TOL
    assert tr.label == ("positive" if tr.probs[1] > tr.probs[0] else "negative")
    with torch.no_grad():
        out = ckpt.model.forward_full(*collate([enc.ids]))
    assert np.abs(tr.pooled - out.pool.pooled[0].numpy()).max() < TOL
    assert np.abs(tr.pool_weights.sum() - 1) < 1e-5 and tr.pool_weights.shape == (T,)
    assert (tr.pool_winners is not None) == (kw["pooling"] in ("max", "last"))
    # prefix t: what the model says of the first t + 1 tokens
    want = model_probs(ckpt, [enc.ids[: t + 1] for t in range(T)])[:, 1]
    assert np.abs(tr.prefix_probs - want).max() < TOL
    # occlusion t: P(pos) - P(pos with token t replaced by <unk>)
    want = tr.probs[1] - model_probs(ckpt, [enc.ids[:t] + [1] + enc.ids[t + 1:] for t in range(T)])[:, 1]
    assert np.abs(tr.occlusion - want).max() < TOL
    assert abs(tr.occlusion[-1]) < TOL  # the <unk> token occluded by <unk>: no change
    # integrated gradients: complete (they add up to P(x) - P(baseline)); max pooling switches
    # winners along the path (not smooth), so its quadrature error is larger
    assert tr.integrated_gradients.shape == (T,)
    assert abs(tr.ig_delta) < (1e-1 if kw["pooling"] == "max" else 2e-3)
    # the layers: order, shapes, the top layer's h is what the head read
    dirs = 2 if kw["bidirectional"] else 1
    assert [(lt.layer, lt.direction) for lt in tr.layers] == [
        (l, d) for l in range(kw["layers"]) for d in ("forward", "backward")[:dirs]]
    top = np.concatenate([lt.gates["h"] for lt in tr.layers[-dirs:]], -1)
    assert np.abs(top - out.outputs[0].numpy()).max() < TOL
    for lt in tr.layers:
        assert list(lt.gates) == probe.GATE_NAMES[kw["cell"]]
        assert all(v.shape == (T, 6) and v.dtype == np.float32 for v in lt.gates.values())


def test_backward_rows_belong_to_their_tokens(tiny_checkpoint):
    ckpt = tiny_checkpoint(cell="lstm", bidirectional=True)
    tr = probe.trace(ckpt, REVIEW, prefix=False, occlusion=False)
    enc = ckpt.encode(REVIEW)
    x = ckpt.model.embedding(torch.tensor([enc.ids])).detach()
    _, (h_n, c_n) = fused(ckpt.model.rnn, x, torch.tensor([len(enc.ids)]))
    # the backward direction ends at token 0: its row 0 is its final state; forward ends at T - 1
    assert np.abs(tr.gate("h", 0, "backward")[0] - h_n[1, 0].numpy()).max() < TOL
    assert np.abs(tr.gate("c", 0, "backward")[0] - c_n[1, 0].numpy()).max() < TOL
    assert np.abs(tr.gate("h", 0, "forward")[-1] - h_n[0, 0].numpy()).max() < TOL
    with pytest.raises(KeyError):
        tr.gate("r")
    with pytest.raises(KeyError):
        tr.gate("h", layer=3)


def test_json_round_trip_and_shape(tiny_checkpoint):
    ckpt = tiny_checkpoint(cell="gru", pooling="max", layers=2)
    tr = probe.trace(ckpt, REVIEW, integrated_gradients=True, ig_steps=8)
    s = tr.to_json()
    d = json.loads(s)
    assert {"tokens", "ids", "cell", "probs", "layers"} <= set(d)
    assert d["cell"] == "gru" and d["ids"] == tr.ids
    assert [(x["layer"], x["direction"]) for x in d["layers"]] == [(0, "forward"), (0, "backward"), (1, "forward"), (1, "backward")]
    assert set(d["layers"][1]["gates"]) == {"r", "z", "n", "h"}
    assert len(d["layers"][1]["gates"]["z"]) == tr.length and len(d["layers"][1]["gates"]["z"][0]) == 8
    back = probe.Trace.from_json(s)
    for f in dataclasses.fields(probe.Trace):
        a, b = getattr(tr, f.name), getattr(back, f.name)
        if f.name == "layers":
            for la, lb in zip(a, b):
                assert (la.layer, la.direction, list(la.gates)) == (lb.layer, lb.direction, list(lb.gates))
                assert all(np.array_equal(la.gates[k], lb.gates[k]) and lb.gates[k].dtype == np.float32 for k in la.gates)
        elif isinstance(a, np.ndarray):
            assert np.array_equal(a, b), f.name
        else:
            assert a == b, f.name
    assert back.to_json() == s


def test_long_review_is_cut_with_a_note(tiny_checkpoint, monkeypatch):
    """Past the reading limit (spec.READ_LIMIT, here lowered to 50) a review is cut, and the note says so."""
    monkeypatch.setattr(spec, "READ_LIMIT", 50)
    ckpt = tiny_checkpoint(max_len=20)
    tr = probe.trace(ckpt, " ".join(["good film"] * 40))
    assert tr.length == 50 and tr.truncated == 30 and "50" in tr.note and len(tr.prefix_probs) == 50


def test_a_review_longer_than_the_training_length_is_read_whole(tiny_checkpoint):
    """A model trained on 50 tokens reads a 600-token review to its end (the limit is spec.READ_LIMIT)."""
    tr = probe.trace(tiny_checkpoint(max_len=50), " ".join(["good film"] * 300), occlusion=False)
    assert tr.length == 600 and tr.truncated == 0 and tr.note == "" and len(tr.prefix_probs) == 600


@pytest.mark.parametrize("text", ["", "   ", "😀😀🎉", "... ,,, :-)"])
def test_bad_input(tiny_checkpoint, text, capsys, tmp_path):
    ckpt = tiny_checkpoint()
    with pytest.raises(InputError):
        probe.trace(ckpt, text)
    assert trace_main(["--model", ckpt.path, text]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert trace_main(["--model", str(tmp_path / "nope"), "good"]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_cli(tiny_checkpoint, capsys):
    ckpt = tiny_checkpoint(cell="lstm")
    assert trace_main(["--model", ckpt.path, "--json", REVIEW]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["tokens"][:2] == ["i", "loved"] and d["cell"] == "lstm"
    assert set(d["layers"][0]["gates"]) == {"i", "f", "g", "o", "c", "h"}
    assert trace_main(["--model", ckpt.path, "--ig", REVIEW]) == 0
    out = capsys.readouterr().out
    assert "P(positive)" in out and "loved" in out and "saturation" in out


def test_saturation(tiny_checkpoint):
    """Per unit, the fraction of steps a sigmoid gate spends below 0.1 ("left") and above 0.9 ("right")."""
    ckpt = tiny_checkpoint(cell="lstm", layers=2, hidden=2)
    tr = probe.trace(ckpt, "good film but awful plot", prefix=False, occlusion=False)
    assert tr.length == 5
    lt = next(lt for lt in tr.layers if (lt.layer, lt.direction) == (1, "backward"))
    # unit 0 saturates both ways, unit 1 never; 0.1 and 0.9 themselves are not saturated
    lt.gates["f"] = np.array([[0.05, 0.5], [0.1, 0.5], [0.95, 0.5], [0.99, 0.11], [0.9, 0.89]], np.float32)
    sat = tr.saturation()
    assert set(sat) == {(l, d, g) for l in (0, 1) for d in ("forward", "backward") for g in "ifo"}
    assert sat[(1, "backward", "f")]["left"].tolist() == [0.2, 0.0]
    assert sat[(1, "backward", "f")]["right"].tolist() == [0.4, 0.0]
    wide = tr.saturation(0.2, 0.6)[(1, "backward", "f")]
    assert wide["left"].tolist() == [0.4, 0.2] and wide["right"].tolist() == [0.6, 0.2]
    assert probe.trace(tiny_checkpoint(cell="rnn"), REVIEW).saturation() == {}  # no sigmoid gates


def test_dataset_saturation_pools_the_steps_of_all_reviews(tiny_checkpoint):
    ckpt = tiny_checkpoint(cell="gru", layers=1)
    texts = [REVIEW, "good film", "the acting was awful !", "😀", ("not good at all", 0)] + ["a great movie"] * 3
    sat = probe.dataset_saturation(ckpt, texts, batch_size=3)
    traces = [probe.trace(ckpt, t if isinstance(t, str) else t[0], prefix=False, occlusion=False)
              for t in texts if t != "😀"]
    steps = sum(t.length for t in traces)
    for key in [(0, "forward", "r"), (0, "backward", "z")]:
        want = sum(t.saturation()[key]["left"] * t.length for t in traces) / steps
        assert np.abs(sat[key]["left"] - want).max() < 1e-9
        assert sat[key]["steps"] == steps and sat[key]["reviews"] == len(traces)
    assert set(k[2] for k in sat) == {"r", "z"}
    with pytest.raises(InputError):
        probe.dataset_saturation(ckpt, ["😀"])


def test_training_mode_is_restored(tiny_checkpoint):
    ckpt = tiny_checkpoint()
    ckpt.model.train()
    probe.trace(ckpt, REVIEW, prefix=False, occlusion=False)
    assert ckpt.model.training


# ---- the shipped models ---------------------------------------------------------------------------

MODELS_DIR = ROOT / "assets" / "models"
SHIPPED = sorted(p for p in MODELS_DIR.iterdir() if p.is_dir()) if MODELS_DIR.is_dir() else []


@pytest.mark.slow  # every shipped model on long reviews
def test_shipped_models_on_real_reviews():
    """SHIPPED MODELS: every directory in assets/models/, on the example reviews of its language.

    Skipped (visibly) only while assets/models/ is empty; once anything is there, every entry must
    load and at least one model must be checked."""
    if not SHIPPED:
        pytest.skip("assets/models/ holds no models yet")
    checked = 0
    for d in SHIPPED:
        ckpt = checkpoint.load(d)
        if ckpt.is_bow:  # the bag-of-words reference has no gates (tests/test_bow.py reads it)
            continue
        reviews = [e["text"] for e in json.loads((ROOT / "assets" / "examples" / f"{ckpt.language}.json").read_text("utf-8"))]
        reviews = reviews[:1] + [" ".join(reviews)]  # a short one and a long one
        for text in reviews:
            tr = probe.trace(ckpt, text, prefix=False, occlusion=False)
            enc = ckpt.encode(text)
            assert np.abs(tr.probs - model_probs(ckpt, [enc.ids])[0]).max() < TOL, d.name
            x = ckpt.model.embedding(torch.tensor([enc.ids])).detach()
            out, final = fused(ckpt.model.rnn, x, torch.tensor([len(enc.ids)]))
            dirs = ckpt.config.directions
            top = np.concatenate([lt.gates["h"] for lt in tr.layers[-dirs:]], -1)
            assert np.abs(top - out[0].numpy()).max() < TOL, d.name
            if ckpt.config.cell == "lstm":  # the cell states' end points, from the recurrence c = f c' + i g
                # trained cells reach |c| > 10; float32 (the fused kernel's own rounding) then gives
                # ~1e-6 relative, so the bound is 1e-5 relative to max(1, |c|)
                ends = np.stack([lt.gates["c"][-1 if lt.direction == "forward" else 0] for lt in tr.layers])
                fc = final[1][:, 0].numpy()
                assert (np.abs(ends - fc) / np.maximum(1, np.abs(fc))).max() < TOL, d.name
        checked += 1
    assert checked >= 1


@pytest.mark.parametrize("kw", [heavy_slow(kw, i > 0) for i, kw in enumerate(MODELS[:4])],
                         ids=lambda kw: "-".join(str(v) for v in kw.values()))
def test_prefixes_and_occlusion_batched_in_many_chunks(tiny_checkpoint, kw, monkeypatch):
    """A long review whose variants do not fit one batch (models that keep layer 0's states: blocks
    of 11 variants, each one staggered batch, and chunks of 7 pooled together, each prefix chunk
    only as long as its longest row; models pooled as the loop runs: one batch) still gives exactly
    what the model says of each prefix and occluded review."""
    dirs = 2 if kw["bidirectional"] else 1
    monkeypatch.setattr(variants, "VARIANT_FLOATS", 11 * 400 * dirs * 6)  # blocks of at least 11 variants
    monkeypatch.setattr(variants, "HEAD_ROWS", 7 * 60)  # chunks of at least 7 variants
    ckpt = tiny_checkpoint(**kw, hidden=6, embed=5)
    with torch.no_grad():
        for p in ckpt.model.parameters():
            p.mul_(3)
    text = " ".join([REVIEW, "zzzunknown", REVIEW.upper(), REVIEW])[:400]
    ids = ckpt.encode(text).ids
    T = len(ids)
    assert T >= 40  # several chunks of 7
    tr = probe.trace(ckpt, text)
    want = model_probs(ckpt, [ids[: t + 1] for t in range(T)])[:, 1]
    assert np.abs(tr.prefix_probs - want).max() < TOL
    want = tr.probs[1] - model_probs(ckpt, [ids[:t] + [1] + ids[t + 1:] for t in range(T)])[:, 1]
    assert np.abs(tr.occlusion - want).max() < TOL

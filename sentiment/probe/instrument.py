"""The instrumented model: a ``Trace`` of every gate, cell and hidden state of a SentimentRNN.

This module owns
- ``recompute``: the gates of a fused ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN``, per layer and direction;
- ``Trace`` (with ``LayerTrace``) and its JSON form;
- ``trace``: (checkpoint, text) -> Trace: gates, pooling credit, prediction, the prediction after
  each prefix, occlusion (both batched in ``sentiment.probe.variants``, importable from here) and
  integrated-gradients attributions;
- gate saturation per review (``Trace.saturation``) and over a sample of a dataset (``dataset_saturation``).

How the gates are obtained. Each layer and direction is run by a one-layer, one-direction fused
module whose parameters *are* the model's (the same Parameter objects, not copies), so every h_t
is the fused kernel's own. The gates are then recomputed for all steps at once from x_t and
h_{t-1} (the equations of ``sentiment.probe.reference``, each line annotated; PyTorch's gate order: LSTM i, f, g, o; GRU r, z, n with
n = tanh(W_in x + b_in + r * (W_hn h + b_hn))), and the LSTM cell c_t = f_t c_{t-1} + i_t g_t by a
parallel (log-depth) linear scan. A backward direction is handled by reversing each sequence within
its own length, so it has the same shape as a forward one; rows of every returned array belong to
token t in both directions. The probe assumes eval mode (no dropout) and sets it while it runs.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sentiment.data.readers import LABEL_NAMES
from sentiment.data.text import UNK_ID
from sentiment.errors import InputError
from sentiment.i18n import Note
from sentiment.modeling.calibration import probabilities
from sentiment.modeling.checkpoint import Checkpoint
from sentiment.modeling.model import SentimentRNN, cell_of, cudnn_disabled, direction_modules, reverse_padded, run_rnn
from sentiment.modeling.pooling import length_mask
from sentiment.probe.variants import occlusion_probs, prefix_probs  # noqa: F401 (importable from here too)
from sentiment.spec import DIRECTIONS, GATE_NAMES, SIGMOID_GATES  # noqa: E402,F401 (shared names)

ROWS_PER_CHUNK = 32_768  # integrated gradients and framed prefixes are batched so that batch * T stays under this


def run_fused(mod: nn.RNNBase, x: Tensor, lengths: Tensor, hx=None) -> Tensor:
    """x [B, T, In] right-padded, lengths [B] (>= 1) -> every h_t [B, T, H] of a one-layer module; zeros at pads.

    Real steps come before any padding, so they are exactly what the packed sequence would give."""
    out, _ = mod(x, hx)
    return out * length_mask(lengths.to(x.device), x.shape[1])[:, :, None].to(out.dtype)


def linear_scan(a: Tensor, b: Tensor) -> Tensor:
    """c_t = a_t * c_{t-1} + b_t along dim 1 with c_{-1} = 0, in log2(T) vectorized steps (Hillis-Steele).

    a, b [B, T, H] -> c [B, T, H]. With a in [0, 1] (forget gates) every partial product stays in
    [0, 1], so float32 loses no more than a step loop does (checked against one in tests)."""
    # Invariant after the round with span k: b_t = sum over s in (t - 2k, t] of (a_{s+1} ... a_t) b_s,
    # a_t = a_{t-2k+1} ... a_t; so once 2k >= T, b_t = sum_{s<=t} (prod_{s<r<=t} a_r) b_s = c_t.
    k, T = 1, a.shape[1]
    while k < T:
        # b_t <- b_t + a_t * b_{t-k}: the window of k more steps, carried through a_t (= prod of k forget gates)
        b = torch.cat([b[:, :k], torch.addcmul(b[:, k:], a[:, k:], b[:, :-k])], 1)
        if 2 * k < T:  # the last round needs no products
            # a_t <- a_t * a_{t-k}: the product of the forget gates over the doubled window
            a = torch.cat([a[:, :k], a[:, k:] * a[:, :-k]], 1)
        k *= 2
    return b  # c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t, for every t


def gates_of(cell: str, mod: nn.RNNBase, x: Tensor, h: Tensor, mask: Tensor | None) -> dict[str, Tensor]:
    """All gates of one layer and direction, every step at once, in the direction's own step order.

    x [B, T, In] its inputs, h [B, T, H] its outputs (h_{-1} = 0), mask [B, T, 1] (None: no pads)
    -> name -> [B, T, H], zeros at pads."""
    b_ih, b_hh = getattr(mod, "bias_ih_l0", None), getattr(mod, "bias_hh_l0", None)
    gi = F.linear(x, mod.weight_ih_l0, b_ih)  # [B, T, G*H]: W_i* x_t + b_i* for every gate * and step t
    gh = F.linear(_previous(h), mod.weight_hh_l0, b_hh)  # [B, T, G*H]: W_h* h_{t-1} + b_h*
    return _gates_from(cell, gi, gh, h, mask)


def _previous(h: Tensor) -> Tensor:
    """h_{t-1} for every step: h [..., T, H] shifted one step, h_{-1} = 0."""
    return F.pad(h, (0, 0, 1, 0))[..., :-1, :]


def _gates_both(cell: str, mods: list[nn.RNNBase], x: Tensor, h: Tensor) -> dict[str, Tensor]:
    """gates_of for both directions of an unpadded layer at once (one batched product for each of
    x W_ih and h W_hh, one pass of the elementwise work): x, h [2, B, T, *] (forward, then the
    backward direction in its own step order) -> name -> [2, B, T, H]."""
    _, B, T, In = x.shape
    W_ih = torch.stack([m.weight_ih_l0 for m in mods]).transpose(1, 2)  # [2, In, G*H]
    W_hh = torch.stack([m.weight_hh_l0 for m in mods]).transpose(1, 2)  # [2, H, G*H]
    G = W_ih.shape[2]
    if mods[0].bias:
        b_ih = torch.stack([m.bias_ih_l0 for m in mods])[:, None]  # [2, 1, G*H]
        b_hh = torch.stack([m.bias_hh_l0 for m in mods])[:, None]
        gi = torch.baddbmm(b_ih, x.reshape(2, B * T, In), W_ih)  # [2, B*T, G*H]: W_i* x_t + b_i*
        gh = torch.baddbmm(b_hh, _previous(h).reshape(2, B * T, -1), W_hh)  # W_h* h_{t-1} + b_h*
    else:
        gi = torch.bmm(x.reshape(2, B * T, In), W_ih)  # W_i* x_t (no biases)
        gh = torch.bmm(_previous(h).reshape(2, B * T, -1), W_hh)  # W_h* h_{t-1}
    return _gates_from(cell, gi.view(2, B, T, G), gh.view(2, B, T, G), h, None)


def _gates_from(cell: str, gi: Tensor, gh: Tensor, h: Tensor, mask: Tensor | None) -> dict[str, Tensor]:
    """The gates from their pre-activations gi = W_i* x_t + b_i*, gh = W_h* h_{t-1} + b_h* [..., T, G*H].

    The same equations as ``sentiment.probe.reference`` (one step there, every step at once here);
    h_t itself is the fused module's, so only the gates (and the LSTM's c_t) are computed."""
    m = (lambda v: v) if mask is None else (lambda v: v * mask)  # zeros at pads
    if cell == "lstm":
        pre = gi.add_(gh)  # [..., T, 4H]: W_i* x_t + b_i* + W_h* h_{t-1} + b_h* for * = i, f, g, o (PyTorch's order)
        H = pre.shape[-1] // 4
        s = torch.sigmoid(pre)  # one sigmoid over all four blocks (g's block is not used)
        # i_t = σ(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi), f_t = σ(... f ...), o_t = σ(... o ...)
        i, f, o = m(s[..., :H]), m(s[..., H:2 * H]), m(s[..., 3 * H:])
        g = m(torch.tanh(pre[..., 2 * H:3 * H].contiguous()))  # g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg); contiguous first: 3x faster here
        shape = f.shape
        # c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t, c_{-1} = 0: a linear recurrence, solved by a parallel scan
        c = linear_scan(f.reshape(-1, *shape[-2:]), (i * g).reshape(-1, *shape[-2:])).view(shape)
        return {"i": i, "f": f, "g": g, "o": o, "c": c, "h": h}  # h_t = o_t ⊙ tanh(c_t), the fused kernel's
    if cell == "gru":
        ir, iz, i_n = gi.chunk(3, -1)  # W_ir x_t + b_ir, W_iz x_t + b_iz, W_in x_t + b_in (PyTorch's order r, z, n)
        hr, hz, h_n = gh.chunk(3, -1)  # W_hr h_{t-1} + b_hr, W_hz h_{t-1} + b_hz, W_hn h_{t-1} + b_hn
        r = torch.sigmoid(ir + hr)  # r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
        z = torch.sigmoid(iz + hz)  # z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        n = torch.tanh(i_n + r * h_n)  # n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))
        return {"r": m(r), "z": m(z), "n": m(n), "h": h}  # h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}, the fused kernel's
    return {"h": h}  # h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), the fused kernel's


def recompute(rnn: nn.RNNBase, x: Tensor, lengths: Tensor) -> list[dict]:
    """Gates of every layer and direction for a padded batch x [B, T, E] with true lengths [B].

    Returns, ordered layer 0 forward, layer 0 backward, layer 1 forward, ...:
    ``{"layer", "direction", "gates": name -> [B, T, H] (row t = token t, zeros at pads),
    "h_n": [B, H], "c_n": [B, H] (LSTM)}``; h_n / c_n are the direction's final state (forward: at
    the last true token; backward: at token 0), read from the recomputed arrays."""
    cell = cell_of(rnn)
    B, T, _ = x.shape
    lengths = lengths.to(x.device)
    full = bool((lengths == T).all())  # no pads (one review): plain flips, no masks
    mask = None if full else length_mask(lengths, T)[..., None].to(x.dtype)  # [B, T, 1]
    last = (lengths - 1).view(B, 1, 1).expand(B, 1, rnn.hidden_size)  # [B, 1, H]
    rev = (lambda v: v.flip(1)) if full else (lambda v: reverse_padded(v, lengths))
    records, inp = [], x
    for l, mods in enumerate(direction_modules(rnn)):
        if full and len(mods) == 2:  # one review, bidirectional: both directions' gates in one pass
            xs = torch.stack([inp, inp.flip(1)])  # [2, B, T, In], each direction in its own step order
            hd = torch.stack([mods[0](xs[0])[0], mods[1](xs[1])[0]])  # [2, B, T, H]
            both = _gates_both(cell, mods, xs, hd)
            for d in range(2):
                g = {k: v[d] if d == 0 else v[d].flip(1) for k, v in both.items()}  # rows: token t
                rec = {"layer": l, "direction": DIRECTIONS[d], "gates": g,
                       "h_n": hd[d].gather(1, last)[:, 0]}
                if "c" in both:
                    rec["c_n"] = both["c"][d].gather(1, last)[:, 0]
                records.append(rec)
            inp = torch.cat([records[-2]["gates"]["h"], records[-1]["gates"]["h"]], -1)  # [B, T, 2H]
            continue
        hs = []
        for d, mod in enumerate(mods):
            xd = inp if d == 0 else rev(inp)  # the direction's own step order
            h = mod(xd)[0] if full else run_fused(mod, xd, lengths)  # [B, T, H]
            g = gates_of(cell, mod, xd, h, mask)
            rec = {"layer": l, "direction": DIRECTIONS[d], "h_n": g["h"].gather(1, last)[:, 0]}
            if "c" in g:
                rec["c_n"] = g["c"].gather(1, last)[:, 0]
            rec["gates"] = g if d == 0 else {k: rev(v) for k, v in g.items()}
            records.append(rec)
            hs.append(rec["gates"]["h"])
        inp = torch.cat(hs, -1)  # [B, T, dirs*H], the next layer's input
    return records


def _chunks(n: int, T: int) -> Iterator[slice]:
    """Slices of n reviews of T tokens each (integrated gradients' path points, framed prefixes): at
    most ROWS_PER_CHUNK rows x tokens a batch, and at most max(16, T // 16) reviews."""
    size = max(1, min(ROWS_PER_CHUNK // max(T, 1), max(16, T // 16)))
    for a in range(0, n, size):
        yield slice(a, min(n, a + size))


def p_positive_from_embeddings(model: SentimentRNN, x: Tensor, lengths: Tensor, temperature: float = 1.0) -> Tensor:
    """P(positive) [B] (calibrated) from embeddings x [B, T, E]: SentimentRNN.encode after its embedding layer."""
    out = run_rnn(model.rnn, x, lengths)  # [B, T, D]
    return probabilities(model.head(out, lengths).logits, temperature)[:, 1]


def ig_attributions(model: SentimentRNN, x: Tensor, steps: int = 32, temperature: float = 1.0) -> tuple[np.ndarray, float]:
    """Integrated gradients of P(positive) w.r.t. the embeddings x [1, T, E], summed over embedding dims.

    Baseline: all-zero embeddings (the <pad> row) of the same length. The path integral uses
    Gauss-Legendre nodes (as Captum's default). Returns ([T] attributions, completeness gap
    sum(attributions) - (P(x) - P(baseline)))."""
    T = x.shape[1]
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    alphas = torch.tensor((nodes + 1) / 2, dtype=x.dtype, device=x.device)  # [S] in (0, 1)
    w = torch.tensor(weights / 2, dtype=x.dtype, device=x.device)  # [S], sums to 1
    x = x.detach()
    base = torch.zeros_like(x)
    total = torch.zeros_like(x[0])  # [T, E]
    with torch.enable_grad(), cudnn_disabled():  # cuDNN's RNN backward needs train mode
        for sl in _chunks(steps, T):
            a = alphas[sl, None, None]
            xs = (base + a * (x - base)).requires_grad_(True)  # [k, T, E]
            p = p_positive_from_embeddings(model, xs, torch.full((len(a),), T, device=x.device), temperature)
            (g,) = torch.autograd.grad(p.sum(), xs)
            total += (w[sl, None, None] * g).sum(0)
    attr = ((x - base)[0] * total).sum(-1)  # [T]
    with torch.no_grad():
        ends = p_positive_from_embeddings(model, torch.cat([x, base]), torch.full((2,), T, device=x.device), temperature)
    return attr.detach().cpu().numpy(), float(attr.sum() - (ends[0] - ends[1]))


# ---- the Trace ---------------------------------------------------------------------------------


@dataclass
class LayerTrace:
    layer: int
    direction: str  # "forward" | "backward"
    gates: dict[str, np.ndarray]  # name -> float32 [T, H]; LSTM i f g o c h; GRU r z n h; RNN h


_FLOAT_ARRAYS = ("pooled", "pool_weights", "logits", "probs", "prefix_probs", "occlusion", "integrated_gradients")


@dataclass
class Trace:
    text: str
    tokens: list[str]  # as the model read them (after truncation)
    ids: list[int]  # vocabulary ids fed to the embedding
    unk: list[bool]  # True where the id is <unk>
    length: int  # T
    language: str  # tokenizer language of the model ("en" / "zh")
    cell: str  # "lstm" | "gru" | "rnn"
    pooling: str  # "last" | "max" | "mean" | "attention"
    hidden_size: int
    num_layers: int
    bidirectional: bool
    model_name: str
    layers: list[LayerTrace]  # layer 0 forward, layer 0 backward, layer 1 forward, ...
    pooled: np.ndarray  # [D]
    pool_weights: np.ndarray  # [T] per-token credit (sums to 1)
    pool_winners: np.ndarray | None  # [D] step each pooled unit was read from (max, last), else None
    logits: np.ndarray  # [C]
    probs: np.ndarray  # [C]; index 1 = positive
    label: str  # "positive" | "negative"
    prefix_probs: np.ndarray | None  # [T] P(positive) had the review ended after token t
    occlusion: np.ndarray | None  # [T] P(pos | review) - P(pos | token t replaced by <unk>)
    integrated_gradients: np.ndarray | None  # [T] attribution to P(positive), summed over embedding dims
    truncated: int  # tokens cut past max_len
    note: str  # user-facing note ("" if none), in English
    ig_delta: float | None = None  # completeness gap of the integrated gradients
    occlusion_method: str = "unk"  # each token replaced by <unk> (not dropped)
    padding: list[bool] | None = None  # imported models that read padding: True at pad steps (traced too)
    notes: list = field(default_factory=list)  # the note as sentiment.i18n.Notes (codes and params; t(note, lang))

    def gate(self, name: str, layer: int = 0, direction: str = "forward") -> np.ndarray:
        """[T, H] values of one gate (or c, h) of one layer and direction."""
        for lt in self.layers:
            if lt.layer == layer and lt.direction == direction:
                if name not in lt.gates:
                    raise KeyError(f"a {self.cell.upper()} has no {name!r}; it has {', '.join(lt.gates)}")
                return lt.gates[name]
        raise KeyError(f"no layer {layer} {direction} in this model")

    def saturation(self, threshold_low: float = 0.1, threshold_high: float = 0.9) -> dict:
        """{(layer, direction, gate): {"left": [H], "right": [H]}}: per unit, the fraction of this
        review's steps with the gate below threshold_low / above threshold_high (sigmoid gates only)."""
        return {
            (lt.layer, lt.direction, g): {"left": (lt.gates[g] < threshold_low).mean(0),
                                          "right": (lt.gates[g] > threshold_high).mean(0)}
            for lt in self.layers for g in SIGMOID_GATES[self.cell]
        }

    def to_json(self) -> str:
        """All fields; arrays as (nested) lists, gates as [T][H]; float32 values round-trip exactly."""
        d: dict = {"format": "gatescope-trace/1"}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "layers":
                v = [{"layer": lt.layer, "direction": lt.direction, "gates": {k: a.tolist() for k, a in lt.gates.items()}}
                     for lt in v]
            elif isinstance(v, np.ndarray):
                v = v.tolist()
            elif f.name == "notes":
                v = [{"code": n.code, "params": n.params} for n in v]
            d[f.name] = v
        return json.dumps(d, ensure_ascii=False)

    @classmethod
    def from_json(cls, s: str) -> Trace:
        d = json.loads(s)
        kw = {}
        for f in fields(cls):
            if f.name not in d:
                continue
            v = d[f.name]
            if f.name == "layers":
                v = [LayerTrace(int(x["layer"]), x["direction"],
                                {k: np.asarray(a, dtype=np.float32).reshape(len(a), -1) for k, a in x["gates"].items()})
                     for x in v]
            elif f.name in _FLOAT_ARRAYS and v is not None:
                v = np.asarray(v, dtype=np.float32)
            elif f.name == "pool_winners" and v is not None:
                v = np.asarray(v, dtype=np.int64)
            elif f.name == "notes":
                v = [Note(n["code"], **n["params"]) for n in v]
            kw[f.name] = v
        return cls(**kw)


@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    was = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was)


def _np(t: Tensor) -> np.ndarray:
    return t.detach().float().cpu().numpy()


def framed_prefix_probs(ckpt: Checkpoint, ids: list[int], padding: list[bool]) -> np.ndarray:
    """[T] P(positive) had the review ended after step t, for a model that reads padding: the
    review's ids up to t (pads left out) framed again to the fixed length, as its framework would
    have padded the shorter review. ids, padding [T]."""
    model, c = ckpt.model, ckpt.config
    dev = next(model.parameters()).device
    T, pad_id = len(ids), getattr(ckpt.vocab, "pad_id", 0)
    rows = []
    for t in range(T):
        real = [i for i, p in zip(ids[: t + 1], padding[: t + 1], strict=True) if not p]
        pads = [pad_id] * (T - len(real))
        rows.append(pads + real if c.padding == "pre" else real + pads)
    out = []
    for sl in _chunks(T, T):
        batch = torch.tensor(rows[sl], device=dev)  # [n, T]
        logits = model(batch, torch.full((len(batch),), T, device=dev))
        out.append(ckpt.probabilities(logits)[:, 1])  # calibrated
    return torch.cat(out).cpu().numpy()


def trace(ckpt: Checkpoint, text: str, prefix: bool = True, occlusion: bool = True,
          integrated_gradients: bool = False, ig_steps: int = 32) -> Trace:
    """Everything the views draw for one review. InputError for empty text or text with no words;
    a review longer than the model's max length is cut, and Trace.note says so."""
    if ckpt.is_bow:
        raise InputError("bow.no_gates", fn="sentiment.probe.words.read")
    enc = ckpt.encode(text)
    model, c = ckpt.model, ckpt.config
    dev = next(model.parameters()).device
    T = len(enc.ids)
    with _eval_mode(model), torch.no_grad():
        ids = torch.tensor([enc.ids], device=dev)  # [1, T]
        lengths = torch.tensor([T], device=dev)  # [1]
        x = model.embedding(ids)  # [1, T, E]
        records = recompute(model.rnn, x, lengths)
        top = torch.cat([r["gates"]["h"] for r in records[-c.directions:]], -1)  # [1, T, D]
        out = model.head(top, lengths)
        temp = ckpt.temperature
        probs = ckpt.probabilities(out.logits)[0]  # [C], calibrated
        unk_id = getattr(ckpt.vocab, "unk_id", UNK_ID)
        if prefix and enc.padding is not None:  # a model that reads padding: each prefix framed again
            pp = framed_prefix_probs(ckpt, enc.ids, enc.padding)
        else:
            pp = prefix_probs(model, records, x, temp) if prefix else None
        occ = float(probs[1]) - occlusion_probs(model, records, x, unk_id, temp) if occlusion else None
        ig = ig_delta = None
        if integrated_gradients:
            ig, ig_delta = ig_attributions(model, x, ig_steps, temp)
    layers = [LayerTrace(r["layer"], r["direction"], {k: _np(v[0]) for k, v in r["gates"].items()}) for r in records]
    return Trace(
        text=text, tokens=enc.tokens, ids=list(enc.ids), unk=[i == unk_id for i in enc.ids], length=T,
        language=ckpt.language, cell=c.cell, pooling=c.pooling, hidden_size=c.hidden_size,
        num_layers=c.num_layers, bidirectional=c.bidirectional,
        model_name=Path(ckpt.path).name if ckpt.path else "", layers=layers,
        pooled=_np(out.pool.pooled[0]), pool_weights=_np(out.pool.weights[0]),
        pool_winners=None if out.pool.winners is None else out.pool.winners[0].cpu().numpy(),
        logits=_np(out.logits[0]), probs=_np(probs), label=LABEL_NAMES[int(probs.argmax())],
        prefix_probs=None if pp is None else pp.astype(np.float32),
        occlusion=None if occ is None else occ.astype(np.float32),
        integrated_gradients=None if ig is None else ig.astype(np.float32),
        truncated=enc.truncated, note=enc.note, ig_delta=ig_delta, padding=enc.padding, notes=list(enc.notes),
    )


# ---- saturation over a dataset -----------------------------------------------------------------


def dataset_saturation(ckpt: Checkpoint, texts: Sequence, max_reviews: int = 500, batch_size: int = 64,
                       threshold_low: float = 0.1, threshold_high: float = 0.9, seed: int = 0) -> dict:
    """Gate saturation over a sample of a dataset (Karpathy et al. 2015): per unit, the fraction of
    all true steps of up to max_reviews reviews (a seeded sample) spent below threshold_low ("left")
    and above threshold_high ("right"). Same keys as Trace.saturation, each entry also with
    "steps" (tokens counted) and "reviews". Items may be texts or (text, label) pairs; reviews the
    model cannot read (no words) are skipped."""
    items = [t[0] if isinstance(t, (tuple, list)) else t for t in texts]
    if len(items) > max_reviews:
        items = random.Random(seed).sample(items, max_reviews)
    seqs = []
    for t in items:
        try:
            seqs.append(ckpt.encode(t).ids)
        except InputError:
            continue
    if not seqs:
        raise InputError("review.none_readable")
    model, cell = ckpt.model, ckpt.config.cell
    dev = next(model.parameters()).device
    seqs.sort(key=len)
    sums: dict = {}
    steps = 0
    with _eval_mode(model), torch.no_grad():
        for a in range(0, len(seqs), batch_size):
            batch = seqs[a: a + batch_size]
            lengths = torch.tensor([len(s) for s in batch], device=dev)
            ids = torch.zeros(len(batch), int(lengths.max()), dtype=torch.long, device=dev)
            for b, s in enumerate(batch):
                ids[b, : len(s)] = torch.tensor(s, device=dev)
            mask = length_mask(lengths, ids.shape[1])[..., None]  # [B, T, 1]
            steps += int(lengths.sum())
            for r in recompute(model.rnn, model.embedding(ids), lengths):
                for g in SIGMOID_GATES[cell]:
                    v = r["gates"][g]  # [B, T, H]
                    left = ((v < threshold_low) & mask).sum((0, 1))  # [H]
                    right = ((v > threshold_high) & mask).sum((0, 1))
                    key = (r["layer"], r["direction"], g)
                    if key in sums:
                        sums[key][0] += left
                        sums[key][1] += right
                    else:
                        sums[key] = [left, right]
    return {k: {"left": (l.double() / steps).cpu().numpy(), "right": (r.double() / steps).cpu().numpy(),
                "steps": steps, "reviews": len(seqs)} for k, (l, r) in sums.items()}

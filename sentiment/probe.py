"""The instrumented model: a ``Trace`` of every gate, cell and hidden state of a SentimentRNN.

This module owns
- ``recompute``: the gates of a fused ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN``, per layer and direction;
- ``Trace`` (with ``LayerTrace``) and its JSON form;
- ``trace``: (checkpoint, text) -> Trace: gates, pooling credit, prediction, the prediction after
  each prefix, occlusion and integrated-gradients attributions;
- gate saturation per review (``Trace.saturation``) and over a sample of a dataset (``dataset_saturation``).

How the gates are obtained. Each layer and direction is run by a one-layer, one-direction fused
module whose parameters *are* the model's (the same Parameter objects, not copies), so every h_t
is the fused kernel's own. The gates are then recomputed for all steps at once from x_t and
h_{t-1} (PyTorch's gate order: LSTM i, f, g, o; GRU r, z, n with
n = tanh(W_in x + b_in + r * (W_hn h + b_hn))), and the LSTM cell c_t = f_t c_{t-1} + i_t g_t by a
parallel (log-depth) linear scan. A backward direction is handled by reversing each sequence within
its own length, so it has the same shape as a forward one; rows of every returned array belong to
token t in both directions. The probe assumes eval mode (no dropout) and sets it while it runs.
"""

from __future__ import annotations

import json
import random
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .checkpoint import Checkpoint
from .data import LABEL_NAMES
from .errors import InputError
from .model import SentimentRNN, cell_of, direction_modules, reverse_padded, run_rnn
from .pooling import length_mask
from .text import UNK_ID

GATE_NAMES = {"lstm": ["i", "f", "g", "o", "c", "h"], "gru": ["r", "z", "n", "h"], "rnn": ["h"]}
SIGMOID_GATES = {"lstm": ["i", "f", "o"], "gru": ["r", "z"], "rnn": []}
DIRECTIONS = ("forward", "backward")
ROWS_PER_CHUNK = 32_768  # variants (prefixes, occlusions) are batched so that batch * T stays under this


def run_fused(mod: nn.RNNBase, x: Tensor, lengths: Tensor, hx=None) -> Tensor:
    """x [B, T, In] right-padded, lengths [B] (>= 1) -> every h_t [B, T, H] of a one-layer module; zeros at pads.

    Real steps come before any padding, so they are exactly what the packed sequence would give."""
    out, _ = mod(x, hx)
    return out * length_mask(lengths.to(x.device), x.shape[1])[:, :, None].to(out.dtype)


def linear_scan(a: Tensor, b: Tensor) -> Tensor:
    """c_t = a_t * c_{t-1} + b_t along dim 1 with c_{-1} = 0, in log2(T) vectorized steps (Hillis-Steele).

    a, b [B, T, H] -> c [B, T, H]. Computed in float64, so the result is as exact as a step loop."""
    dtype = b.dtype
    a, b = a.double(), b.double()
    k, T = 1, a.shape[1]
    while k < T:
        b = torch.cat([b[:, :k], torch.addcmul(b[:, k:], a[:, k:], b[:, :-k])], 1)
        a = torch.cat([a[:, :k], a[:, k:] * a[:, :-k]], 1)
        k *= 2
    return b.to(dtype)


def gates_of(cell: str, mod: nn.RNNBase, x: Tensor, h: Tensor, mask: Tensor) -> dict[str, Tensor]:
    """All gates of one layer and direction, every step at once, in the direction's own step order.

    x [B, T, In] its inputs, h [B, T, H] its outputs (h_{-1} = 0), mask [B, T, 1] -> name -> [B, T, H], zeros at pads."""
    b_ih, b_hh = getattr(mod, "bias_ih_l0", None), getattr(mod, "bias_hh_l0", None)
    gi = F.linear(x, mod.weight_ih_l0, b_ih)  # [B, T, G*H]
    h_prev = F.pad(h, (0, 0, 1, 0))[:, :-1]  # [B, T, H]: h_{t-1}
    gh = F.linear(h_prev, mod.weight_hh_l0, b_hh)  # [B, T, G*H]
    if cell == "lstm":
        i, f, g, o = (gi + gh).chunk(4, -1)
        i, f, g, o = torch.sigmoid(i) * mask, torch.sigmoid(f) * mask, torch.tanh(g) * mask, torch.sigmoid(o) * mask
        return {"i": i, "f": f, "g": g, "o": o, "c": linear_scan(f, i * g), "h": h}
    if cell == "gru":
        ir, iz, i_n = gi.chunk(3, -1)
        hr, hz, h_n = gh.chunk(3, -1)
        r = torch.sigmoid(ir + hr)
        z = torch.sigmoid(iz + hz)
        n = torch.tanh(i_n + r * h_n)
        return {"r": r * mask, "z": z * mask, "n": n * mask, "h": h}
    return {"h": h}


def recompute(rnn: nn.RNNBase, x: Tensor, lengths: Tensor) -> list[dict]:
    """Gates of every layer and direction for a padded batch x [B, T, E] with true lengths [B].

    Returns, ordered layer 0 forward, layer 0 backward, layer 1 forward, ...:
    ``{"layer", "direction", "gates": name -> [B, T, H] (row t = token t, zeros at pads),
    "h_n": [B, H], "c_n": [B, H] (LSTM)}``; h_n / c_n are the direction's final state (forward: at
    the last true token; backward: at token 0), read from the recomputed arrays."""
    cell = cell_of(rnn)
    B, T, _ = x.shape
    lengths = lengths.to(x.device)
    mask = length_mask(lengths, T)[..., None].to(x.dtype)  # [B, T, 1]
    last = (lengths - 1).view(B, 1, 1).expand(B, 1, rnn.hidden_size)  # [B, 1, H]
    records, inp = [], x
    for l, mods in enumerate(direction_modules(rnn)):
        hs = []
        for d, mod in enumerate(mods):
            xd = inp if d == 0 else reverse_padded(inp, lengths)  # the direction's own step order
            g = gates_of(cell, mod, xd, run_fused(mod, xd, lengths), mask)
            rec = {"layer": l, "direction": DIRECTIONS[d], "h_n": g["h"].gather(1, last)[:, 0]}
            if "c" in g:
                rec["c_n"] = g["c"].gather(1, last)[:, 0]
            rec["gates"] = g if d == 0 else {k: reverse_padded(v, lengths) for k, v in g.items()}
            records.append(rec)
            hs.append(rec["gates"]["h"])
        inp = torch.cat(hs, -1)  # [B, T, dirs*H], the next layer's input
    return records


# ---- variants of one review (prefixes, occlusions), batched, reusing what did not change ------------


def _resume(mod: nn.RNNBase, cell: str, x: Tensor, lengths: Tensor, start: Tensor, kept: Tensor,
            prev: list[Tensor]) -> Tensor:
    """Run steps start_b .. L_b - 1 of each row from the state before start_b; steps before it are kept.

    x [n, T, In], lengths/start [n], kept [n, T, H] (used where t < start_b), prev: h (and c) [n, H]
    -> h [n, T, H], zeros at pads. All in the direction's own step order."""
    n, T, _ = x.shape
    if not bool((start > 0).any()):  # nothing to keep: a plain run from the zero state
        return run_fused(mod, x, lengths)
    t = torch.arange(T, device=x.device)[None, :]  # [1, T]
    out = torch.where((t < start[:, None])[..., None], kept, torch.zeros_like(kept))
    run = lengths > start
    if run.any():
        s, todo = start[run], lengths[run] - start[run]
        idx = (s[:, None] + t).clamp(max=T - 1)  # [m, T]: step k of the rerun reads step start + k
        xs = x[run].gather(1, idx[..., None].expand(-1, -1, x.shape[2]))
        hx = tuple(p[run][None].contiguous() for p in prev)
        new = run_fused(mod, xs, todo, hx if cell == "lstm" else hx[0])  # [m, T, H]
        back = (t - s[:, None]).clamp(min=0)  # [m, T]
        placed = new.gather(1, back[..., None].expand(-1, -1, new.shape[2]))
        out[run] = torch.where((t >= s[:, None])[..., None], placed, out[run])
    return out * (t < lengths[:, None])[..., None]


def _state_at(rec: dict, pos: Tensor, use: Tensor) -> list[Tensor]:
    """The layer/direction's original state (h, and c for LSTMs) at token pos [n] where use [n], else zeros."""
    out = []
    for k in ("h", "c"):
        if k in rec["gates"]:
            a = rec["gates"][k][0]  # [T, H]
            a = torch.cat([a, torch.zeros_like(a[:1])])  # row T: the zero state
            out.append(a[torch.where(use, pos, torch.full_like(pos, a.shape[0] - 1))])
    return out


def _variant_logits(model: SentimentRNN, records: list[dict], x: Tensor, lengths: Tensor,
                    fwd_start: Tensor, bwd_end: Tensor) -> Tensor:
    """Logits [n, C] of n variants of one review, given their embeddings x [n, T, E] and lengths [n].

    In layer 0 a variant differs from the review only from token fwd_start on (forward direction)
    and up to token bwd_end (backward direction); the rest is copied from the review's own states
    (``records``), and a rerun starts from the review's state next to it. Upper layers of a
    bidirectional model see changes everywhere and are run whole; a unidirectional one keeps
    reusing everything before fwd_start."""
    cell, dirs, H = cell_of(model.rnn), model.config.directions, model.config.hidden_size
    n, T = x.shape[:2]
    inp = x
    for l, mods in enumerate(direction_modules(model.rnn)):
        if l > 0 and dirs == 2:  # everything changed: a plain run
            fwd_start, bwd_end = torch.zeros_like(lengths), lengths - 1
        hs = []
        rf = records[l * dirs]
        kept = rf["gates"]["h"][0].expand(n, T, H)
        hs.append(_resume(mods[0], cell, inp, lengths, fwd_start, kept, _state_at(rf, fwd_start - 1, fwd_start > 0)))
        if dirs == 2:
            rb = records[l * dirs + 1]
            start = lengths - 1 - bwd_end  # in the backward direction's own order
            kept = rb["gates"]["h"][0].expand(n, T, H)
            if bool((start > 0).any()):  # some steps are kept: in the backward direction's order
                kept = reverse_padded(kept, lengths)
            prev = _state_at(rb, bwd_end + 1, start > 0)
            hb = _resume(mods[1], cell, reverse_padded(inp, lengths), lengths, start, kept, prev)
            hs.append(reverse_padded(hb, lengths))
        inp = torch.cat(hs, -1)  # [n, T, dirs*H]
    return model.head(inp, lengths).logits  # [n, C]


def _chunks(n: int, T: int) -> Iterator[slice]:
    size = max(1, ROWS_PER_CHUNK // max(T, 1))
    for a in range(0, n, size):
        yield slice(a, min(n, a + size))


def prefix_probs(model: SentimentRNN, records: list[dict], x: Tensor) -> np.ndarray:
    """[T] P(positive) had the review ended after token t. x [1, T, E].

    Unidirectional: every state is reused (the state at t *is* the state of prefix t); only pooling
    and the classifier run again. Bidirectional: the prefixes are run, batched, except layer 0's
    forward direction, which is reused too."""
    T = x.shape[1]
    out = []
    for sl in _chunks(T, T):
        lengths = torch.arange(sl.start + 1, sl.stop + 1, device=x.device)  # [n]
        xs = x.expand(len(lengths), T, x.shape[2])
        logits = _variant_logits(model, records, xs, lengths, fwd_start=lengths, bwd_end=lengths - 1)
        out.append(torch.softmax(logits.float(), -1)[:, 1])
    return torch.cat(out).cpu().numpy()


def occlusion_probs(model: SentimentRNN, records: list[dict], x: Tensor) -> np.ndarray:
    """[T] P(positive) with token t's embedding replaced by <unk>'s. x [1, T, E]."""
    T = x.shape[1]
    unk = model.embedding.weight[UNK_ID]  # [E]
    out = []
    for sl in _chunks(T, T):
        pos = torch.arange(sl.start, sl.stop, device=x.device)  # [n]
        xs = x.expand(len(pos), T, x.shape[2]).clone()
        xs[torch.arange(len(pos)), pos] = unk
        lengths = torch.full_like(pos, T)
        logits = _variant_logits(model, records, xs, lengths, fwd_start=pos, bwd_end=pos)
        out.append(torch.softmax(logits.float(), -1)[:, 1])
    return torch.cat(out).cpu().numpy()


def p_positive_from_embeddings(model: SentimentRNN, x: Tensor, lengths: Tensor) -> Tensor:
    """P(positive) [B] from embeddings x [B, T, E]: SentimentRNN.encode after its embedding layer."""
    out = run_rnn(model.rnn, x, lengths)  # [B, T, D]
    return torch.softmax(model.head(out, lengths).logits.float(), -1)[:, 1]


def ig_attributions(model: SentimentRNN, x: Tensor, steps: int = 32) -> tuple[np.ndarray, float]:
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
    cudnn_off = torch.backends.cudnn.flags(enabled=False)  # cuDNN RNN backward needs train mode
    with torch.enable_grad(), cudnn_off:
        for sl in _chunks(steps, T):
            a = alphas[sl, None, None]
            xs = (base + a * (x - base)).requires_grad_(True)  # [k, T, E]
            p = p_positive_from_embeddings(model, xs, torch.full((len(a),), T, device=x.device))
            (g,) = torch.autograd.grad(p.sum(), xs)
            total += (w[sl, None, None] * g).sum(0)
    attr = ((x - base)[0] * total).sum(-1)  # [T]
    with torch.no_grad():
        ends = p_positive_from_embeddings(model, torch.cat([x, base]), torch.full((2,), T, device=x.device))
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
    note: str  # user-facing note ("" if none)
    ig_delta: float | None = None  # completeness gap of the integrated gradients
    occlusion_method: str = "unk"  # each token replaced by <unk> (not dropped)

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
            d[f.name] = v
        return json.dumps(d, ensure_ascii=False)

    @classmethod
    def from_json(cls, s: str) -> "Trace":
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


def trace(ckpt: Checkpoint, text: str, prefix: bool = True, occlusion: bool = True,
          integrated_gradients: bool = False, ig_steps: int = 32) -> Trace:
    """Everything the views draw for one review. InputError for empty text or text with no words;
    a review longer than the model's max length is cut, and Trace.note says so."""
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
        probs = torch.softmax(out.logits.float(), -1)[0]  # [C]
        pp = prefix_probs(model, records, x) if prefix else None
        occ = float(probs[1]) - occlusion_probs(model, records, x) if occlusion else None
        ig = ig_delta = None
        if integrated_gradients:
            ig, ig_delta = ig_attributions(model, x, ig_steps)
    layers = [LayerTrace(r["layer"], r["direction"], {k: _np(v[0]) for k, v in r["gates"].items()}) for r in records]
    return Trace(
        text=text, tokens=enc.tokens, ids=list(enc.ids), unk=[i == UNK_ID for i in enc.ids], length=T,
        language=ckpt.language, cell=c.cell, pooling=c.pooling, hidden_size=c.hidden_size,
        num_layers=c.num_layers, bidirectional=c.bidirectional,
        model_name=Path(ckpt.path).name if ckpt.path else "", layers=layers,
        pooled=_np(out.pool.pooled[0]), pool_weights=_np(out.pool.weights[0]),
        pool_winners=None if out.pool.winners is None else out.pool.winners[0].cpu().numpy(),
        logits=_np(out.logits[0]), probs=_np(probs), label=LABEL_NAMES[int(probs.argmax())],
        prefix_probs=None if pp is None else pp.astype(np.float32),
        occlusion=None if occ is None else occ.astype(np.float32),
        integrated_gradients=None if ig is None else ig.astype(np.float32),
        truncated=enc.truncated, note=enc.note, ig_delta=ig_delta,
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
        raise InputError("None of these reviews has any word the model can read.")
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

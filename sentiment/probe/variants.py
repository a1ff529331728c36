"""Variants of one review, batched: the prediction after each prefix and with each token occluded.

``prefix_probs`` and ``occlusion_probs`` equal running every variant through the model (to float32
rounding), but compute only the steps in which a variant differs from the review:

- a forward direction's state at token t *is* prefix t's state, and an occluded variant j equals the
  review before token j: those states are the review's own (``recompute``'s records);
- layer 0 runs the rest as a *staggered batch*: one step loop over the review's tokens, each row one
  variant. Occlusion: variant j joins the forward direction at token j (its first step, from the
  review's state h_{j-1} with <unk>'s input, taken for all variants at once beforehand) and the
  backward direction likewise from the end; both directions step together (one batched product
  per step: at loop index u the forward direction is at token a + u and the backward one at token
  b - 1 - u, each with min(u, n) rows, the backward rows in reverse order of j). Prefixes: each
  prefix's backward direction starts at its last token from the zero state, so at step s every
  prefix p >= s is at token p - s and the batch shrinks by one a step. The rows of a step read the
  same input term (occlusion) or a contiguous slice of them (prefixes), projected once for the
  whole review, so a step is one [rows, H] x [H, G*H] product per direction and a few elementwise
  ops, in place on a contiguous block of rows: T^2 / 2 row-steps per direction, exactly the ones
  that differ from the review;
- each step's states go to a sink: a one-layer model pooled by last, max, mean or (both directions)
  attention is pooled as the loop runs (``Pooled``, ``Attention``: from the review's own share;
  no state is kept) and the head reads each pooled vector as a one-step sequence; otherwise the
  states are kept (``Packed``: per token, only the rows that differ from the review) and gathered
  a chunk of variants at a time into [k, T, D] for the upper layers and the head;
- upper layers see changes everywhere (bidirectional) or from the variant's token on
  (unidirectional), and are rerun by the fused module, a chunk of variants at a time.

Kept states take about T * n * D floats for n variants, so those are taken in blocks of at most
``VARIANT_FLOATS`` floats, and gathered ``HEAD_ROWS`` rows x tokens at a time. Equations and gate
order as in ``sentiment.probe.reference`` (PyTorch's). Shapes: T tokens, H hidden size, G gates,
D directions stepped together ("members"), n variants of a block (a..b-1), R rows of a step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sentiment.data.text import UNK_ID
from sentiment.modeling.calibration import probabilities
from sentiment.modeling.model import SentimentRNN, cell_of, direction_modules, reverse_padded
from sentiment.modeling.pooling import length_mask

VARIANT_FLOATS = 1 << 26  # kept states of layer 0 of one block of variants (~[n, T, D]): at most this many floats
HEAD_ROWS = 8_192  # kept variants gathered, rerun by upper layers and pooled together: variants x tokens


# ---- layer 0's directions as a step loop over rows ---------------------------------------------------


@dataclass(frozen=True)
class Recurrence:
    """One layer's directions ("members") arranged for stepping rows of all of them at once.

    The input term of a step (``project``) is what the recurrent product W_hh h_{t-1} is added to,
    with both biases: LSTM [i, f, o, g] (gates reordered: the three sigmoid gates side by side) and
    RNN W_i* x + b_i* + b_h*; GRU [W_ir x + b_ir + b_hr, W_iz x + b_iz + b_hz, b_hn] and then
    W_in x + b_in, which joins after the reset gate (n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))).

    Every pre-activation that goes through tanh is stored doubled (the LSTM's g rows, the GRU's n
    rows and b_hn, a tanh RNN's all: a factor 2 is exact in floating point), because ``step`` takes
    tanh(x) as 2 sigmoid(2x) - 1: PyTorch's CPU tanh costs 5-8 times its sigmoid here (``bench/probe.py --part 3``)."""

    cell: str  # "lstm" | "gru" | "rnn"
    W_ih: tuple[Tensor, ...]  # per member [G*H, In] (GRU: r, z, a zero block for b_hn, n)
    b_i: tuple[Tensor | None, ...]  # per member [G*H] (GRU [4H])
    W_hh_T: Tensor  # [D, H, G*H]: W_hh transposed, per member
    relu: bool = False  # a plain RNN with nonlinearity="relu"

    def project(self, x: Tensor, m: int = 0) -> Tensor:
        """x [..., In] -> member m's input terms [..., G*H] (GRU [..., 4H])."""
        return F.linear(x, self.W_ih[m], self.b_i[m])


def recurrence(mods: list[nn.RNNBase]) -> Recurrence:
    """The Recurrence of one-layer, one-direction modules (their own Parameters, rearranged)."""
    cell, H = cell_of(mods[0]), mods[0].hidden_size
    order = torch.cat([torch.arange(2 * H), torch.arange(3 * H, 4 * H), torch.arange(2 * H, 3 * H)])  # i, f, o, g
    W_ih, b_i, W_hh = [], [], []
    for mod in mods:
        w_ih, w_hh = mod.weight_ih_l0, mod.weight_hh_l0
        bi = None if not mod.bias else mod.bias_ih_l0 + mod.bias_hh_l0  # [G*H]
        if cell == "gru":  # r, z: both biases; then b_hn alone (no input); n: b_in alone
            w_ih = torch.cat([w_ih[:2 * H], torch.zeros_like(w_ih[:H]), w_ih[2 * H:]])  # [4H, In]
            if mod.bias:
                bi = torch.cat([bi[:2 * H], mod.bias_hh_l0[2 * H:], mod.bias_ih_l0[2 * H:]])
        if cell == "lstm":
            o = order.to(w_ih.device)
            w_ih, w_hh, bi = w_ih[o], w_hh[o], None if bi is None else bi[o]
        double = _doubled_rows(cell, H, getattr(mod, "nonlinearity", "tanh"), w_ih)  # [G*H] (GRU input [4H])
        w_ih, w_hh = w_ih * double[0][:, None], w_hh * double[1][:, None]
        bi = None if bi is None else bi * double[0]
        W_ih.append(w_ih)
        b_i.append(bi)
        W_hh.append(w_hh.T)
    relu = getattr(mods[0], "nonlinearity", "tanh") == "relu"
    return Recurrence(cell, tuple(W_ih), tuple(b_i), torch.stack(W_hh), relu)


def _doubled_rows(cell: str, H: int, nonlinearity: str, like: Tensor) -> tuple[Tensor, Tensor]:
    """Per row of W_ih (and the input term's bias) and of W_hh: 2 where the pre-activation goes
    through tanh (taken as 2 sigmoid(2x) - 1 by ``step``), else 1 (like's dtype and device)."""
    G = {"lstm": 4, "gru": 3, "rnn": 1}[cell]
    hh = like.new_ones(G * H)
    if cell == "lstm":
        hh[3 * H:] = 2  # g (after the reorder to i, f, o, g)
    elif cell == "gru":
        hh[2 * H:] = 2  # W_hn h + b_hn, inside r_t ⊙ (...)
    elif nonlinearity == "tanh":
        hh[:] = 2
    ih = torch.cat([hh[:2 * H], like.new_full((2 * H,), 2.0)]) if cell == "gru" else hh  # GRU: b_hn, W_in x + b_in
    return ih, hh


def _pick(v: Tensor, members: slice | None) -> Tensor:
    """Some members' part of v [D, ...] (None: all of them, v itself)."""
    return v if members is None else v[members]


def step(r: Recurrence, gi: Tensor, h: Tensor, c: Tensor | None, members: slice | None = None) -> None:
    """One step of R rows of some members (None: all), in place: gi [D', 1 or R, G*H] their input
    terms; h [D', R, H] goes from h_{t-1} to h_t, and c [D', R, H] (LSTM) from c_{t-1} to c_t."""
    H, W = h.shape[-1], _pick(r.W_hh_T, members)  # W [D', H, G*H]
    if r.cell == "lstm":
        pre = torch.baddbmm(gi, h, W)  # [D', R, 4H]: W_i* x_t + b_i* + W_h* h_{t-1} + b_h*, * = i, f, o, and 2x that for g
        i_t, f_t, o_t, s = pre.sigmoid_().split(H, -1)  # i_t, f_t, o_t; s = sigmoid(2 z_g), g_t = 2 s - 1
        c.mul_(f_t).addcmul_(i_t, s, value=2).sub_(i_t)  # c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
        tanh_(torch.mul(c, _TWO, out=h)).mul_(o_t)  # h_t = o_t ⊙ tanh(c_t)
    elif r.cell == "gru":
        pre = torch.baddbmm(gi[..., :3 * H], h, W)  # [D', R, 3H]: W_i* x_t + b_i* + W_h* h_{t-1} + b_h* (* = r, z), 2 (W_hn h_{t-1} + b_hn)
        r_t, z_t, hn = pre.split(H, -1)
        pre[..., :2 * H].sigmoid_()  # r_t, z_t
        n_t = tanh_(torch.addcmul(gi[..., 3 * H:], r_t, hn))  # n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))
        torch.lerp(n_t, h, z_t, out=h)  # h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}
    elif r.relu:
        torch.clamp(torch.baddbmm(gi, h, W), min=0, out=h)  # h_t = relu(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
    else:
        tanh_(torch.baddbmm(gi, h, W), out=h)  # h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), from 2x that


_TWO, _MINUS_ONE = torch.tensor(2.0), torch.tensor(-1.0)  # 0-dim: no scalar wrapped into a tensor at each call


def tanh_(x2: Tensor, out: Tensor | None = None) -> Tensor:
    """tanh(x) from x2 = 2x into out (None: x2 in place), as 2 sigmoid(2x) - 1 (within 2e-7 of tanh,
    against tanh's own 3e-8): PyTorch 2.13's CPU tanh takes 5-8 times as long as its sigmoid on this
    machine's AVX-512 (``bench/probe.py --part 3`` times both), and the step loops are made of such calls."""
    out = x2 if out is None else out
    return torch.add(_MINUS_ONE, torch.sigmoid(x2, out=out), alpha=2, out=out)


def _before(v: Tensor, forward: bool) -> Tensor:
    """v [T, H] (rows = tokens) one step earlier in a direction's order: row t holds v_{t-1}
    (forward) or v_{t+1} (backward); zeros where that is outside the review."""
    return F.pad(v, (0, 0, 1, 0))[:-1] if forward else F.pad(v, (0, 0, 0, 1))[1:]


def _starts(sizes: list[int]) -> list[int]:
    """The first row of each block when blocks of these sizes are packed in order."""
    starts, row = [], 0
    for m in sizes:
        starts.append(row)
        row += m
    return starts


# ---- where a loop's states go: kept (packed) or pooled as they come -------------------------------------


class Packed:
    """Keeps every state a step loop hands over, per member packed block by block (block k: the rows
    handed over at loop index k) into out [D, N, H], a view of a table."""

    def __init__(self, out: Tensor, sizes: list[int]):
        self.out, self.starts = out, _starts(sizes)

    def take(self, k: int, members: slice | None, lo: int, h: Tensor) -> None:
        """h [D', m, H]: the states of rows lo..lo+m-1 of some members (None: all) at loop index k."""
        _pick(self.out, members)[:, self.starts[k]:self.starts[k] + h.shape[1]] = h


class Pooled:
    """Pools the states a step loop hands over, per row, as they come: acc [D, n, H] <- max(acc, h)
    ("max") or acc + h ("mean", a sum until divided), from the share of the review's own tokens."""

    def __init__(self, acc: Tensor, kind: str):
        self.acc, self.kind = acc, kind

    def take(self, k: int, members: slice | None, lo: int, h: Tensor) -> None:
        rows = _pick(self.acc, members)[:, lo:lo + h.shape[1]]
        if self.kind == "max":
            torch.maximum(rows, h, out=rows)
        else:
            rows.add_(h)


class Attention:
    """The head's additive attention pooling, summed per row as the states come.

    A score v · tanh(W_f hf_t + W_b hb_t + b) is at most M = |v|_1, so softmax's weights are
    e_t / sum e_t with e_t = exp(score_t - M): a constant shift instead of the running max, no
    rescaling; e_t stays in float32's normal range while M <= MAX_SHIFT. As in ``step``, tanh(z) is
    2 sigmoid(2z) - 1: W_f, W_b and b are kept doubled (``project`` gives 2z), and the score is
    (2v) · sigmoid(2z) - sum(v). Each member's loop brings
    its direction's new states h_t, the other direction's state at t being one the caller knows
    (the review's own): per member and row, the sum of e_t h_t ("new" [D, n, H]) and every e_t
    (``e`` [D, K, n] by loop index), from which the caller sums the other direction's states."""

    MAX_SHIFT = 40.0

    def __init__(self, attention: nn.Module, members: list[int], n: int, steps: int, like: Tensor):
        W = 2 * attention.proj.weight  # [A, 2H], doubled
        H, D = W.shape[1] // 2, len(members)
        self.W = (W[:, :H], W[:, H:])  # [A, H]: the forward and the backward half
        self.W_new_T = torch.stack([self.W[d].T for d in members])  # [D, H, A]: each member's direction
        self.b, v = 2 * attention.proj.bias, attention.v.weight[0]  # [A] doubled, [A]
        self.v = (2 * v)[None, :, None].expand(D, -1, 1)  # [D, A, 1]
        self.shift = -(v.abs().sum() + v.sum())[None, None, None]  # [1, 1, 1]: -M - sum(v)
        self.new = like.new_zeros(D, n, H)
        self.e = like.new_zeros(D, steps, n)

    def project(self, h: Tensor, d: int) -> Tensor:
        """2 (W_d h + b) [..., A]: direction d's states h [..., H] in the score, with the bias."""
        return F.linear(h, self.W[d], self.b)

    def weights(self, z: Tensor, members: slice | None = None, out: Tensor | None = None) -> Tensor:
        """e = exp(v · tanh(z) - M) [D', R, 1] from the scores' pre-activations 2z [D', R, A] (in place)."""
        return torch.exp(torch.baddbmm(self.shift, z.sigmoid_(), _pick(self.v, members)), out=out)

    def add(self, k: int, members: slice | None, rows: slice, h: Tensor, p_other: Tensor) -> None:
        """Loop index k: the members' new states h [D', R, H] of the rows, with the other direction's
        share of their scores p_other = project(its state there) [D', 1 or R, A]."""
        e = _pick(self.e, members)[:, k, rows, None]  # [D', R, 1], written in place
        self.weights(torch.baddbmm(p_other, h, _pick(self.W_new_T, members)), members, out=e)
        _pick(self.new, members)[:, rows].addcmul_(e, h)


class AttendOccluded:
    """Hands Attention the new states of occluded variants at the tokens past their own (loop index
    u: rows 0..min(u, n)-1 of each member; p_other [U, D, 1, A]: the other direction's share of the
    score there, the review's own). Each variant's own token, where both directions are new, is
    added by the caller."""

    def __init__(self, att: Attention, p_other: Tensor, n: int):
        self.att, self.p_other, self.n = att, p_other, n

    def take(self, u: int, members: slice | None, lo: int, h: Tensor) -> None:
        k = min(u, self.n)
        if k:
            self.att.add(u, members, slice(0, k), h[:, :k], _pick(self.p_other[u], members))


class AttendPrefixes:
    """Hands Attention the backward states of prefixes a..b-1 (at step s, prefix p is at token p - s,
    where its forward state is the review's own, whose share of the score is p_hf [T, A])."""

    def __init__(self, att: Attention, p_hf: Tensor, a: int, b: int):
        self.att, self.p_hf, self.a, self.b = att, p_hf, a, b

    def take(self, s: int, members: slice | None, lo: int, h: Tensor) -> None:
        self.att.add(s, members, slice(lo, self.b - self.a), h, self.p_hf[None, self.a + lo - s:self.b - s])


Sink = Packed | Pooled | AttendOccluded | AttendPrefixes | None


# ---- the staggered batches -------------------------------------------------------------------------------


def occlusion_steps(T: int, a: int, b: int, D: int) -> list[int]:
    """[D] loop indices of each member for occluded variants a..b-1: forward tokens a..T-1,
    backward tokens b-1..0."""
    return [T - a, b][:D]


def packed_sizes(T: int, a: int, b: int, D: int) -> list[int]:
    """Rows each member hands over at each loop index u (the variants that differ from the review
    at its token there): min(u + 1, n), for as many indices as the longest member runs."""
    return [min(u + 1, b - a) for u in range(max(occlusion_steps(T, a, b, D)))]


def first_steps(r: Recurrence, m: int, gi_unk: Tensor, own: dict[str, Tensor], a: int, b: int
                ) -> tuple[Tensor, Tensor | None]:
    """Occluded variants a..b-1 at their own token j, member m (0: forward, 1: backward): one step
    with <unk>'s input gi_unk [G*H] from the review's state before j (own "h", "c" [T, H])
    -> h (and c) [n, H], rows in order of j."""
    h = _before(own["h"], m == 0)[None, a:b].clone()  # [1, n, H]: each variant's state, the review's before its token
    c = _before(own["c"], m == 0)[None, a:b].clone() if "c" in own else None
    step(r, gi_unk[None, None], h, c, slice(m, m + 1))
    return h[0], None if c is None else c[0]


def occluded_states(r: Recurrence, x: Tensor, unk: Tensor, own: list[dict[str, Tensor]], a: int, b: int,
                    sink: Sink) -> Tensor:
    """Layer 0 of the occluded variants a..b-1 (variant j: token j's input is <unk>'s), every member
    (direction) stepping together; member 0 forward, rows = variants a.. in order, member 1
    backward, rows = variants b-1.. in reverse order.

    Hands sink, at each loop index u, every member's rows that differ from the review at its token
    (forward a + u, backward b - 1 - u): rows 0..min(u + 1, n)-1; returns the members' last states
    [D, n, H] (forward at token T - 1, backward at token 0). x [T, In] the review's inputs, unk
    [In] <unk>'s, own per member: the review's own states "h" (and "c") [T, H], rows = tokens.
    Variant j is the review before its token; at its token it steps from the review's state with
    <unk>'s input (all variants' first steps at once); then at each token the variants past theirs
    step with the review's input: a contiguous block of rows, updated in place."""
    D, T, n = len(own), x.shape[0], b - a
    firsts = [first_steps(r, m, r.project(unk, m), own[m], a, b) for m in range(D)]
    h = torch.stack([f[0] if m == 0 else f[0].flip(0) for m, f in enumerate(firsts)])  # [D, n, H]
    c = None if firsts[0][1] is None else torch.stack([f[1] if m == 0 else f[1].flip(0) for m, f in enumerate(firsts)])
    steps = occlusion_steps(T, a, b, D)
    gi = _by_loop_index(torch.stack([r.project(x, m) for m in range(D)]), a, b)[:, :, None]  # [U, D, 1, G*H]
    for u in range(max(steps)):
        members = None if u < min(steps) else slice(0, 1) if u < steps[0] else slice(1, 2)  # None: all
        hm, cm = _pick(h, members), None if c is None else _pick(c, members)
        if u:
            k = min(u, n)  # rows past their variant's token
            step(r, _pick(gi[u], members), hm[:, :k], None if c is None else cm[:, :k], members)
        if sink is not None:
            sink.take(u, members, 0, hm[:, :min(u + 1, n)])
    return h


def _by_loop_index(v: Tensor, a: int, b: int) -> Tensor:
    """v [D, T, *] per member by token -> [U, D, *] by occlusion loop index u (member 0 at token a + u,
    member 1 at token b - 1 - u; clamped where a member has stopped)."""
    D, T = v.shape[:2]
    u = torch.arange(max(occlusion_steps(T, a, b, D)), device=v.device)
    tokens = [(a + u).clamp(max=T - 1), (b - 1 - u).clamp(min=0)][:D]
    return torch.stack([v[m, t] for m, t in enumerate(tokens)], 1)


def occluded_rows(T: int, a: int, b: int, D: int, variants: slice, new: int, own: int) -> Tensor:
    """[k, T, D] the rows of a table where variants j (of the block a..b-1) read each member's state
    at token t: a Packed table [D, N, H] from row ``new`` (N = sum(packed_sizes)), the review's own
    h [D, T, H] from row ``own``."""
    t = torch.arange(T)[None, :]  # [1, T]
    j = torch.arange(variants.start, variants.stop)[:, None]  # [k, 1]
    N = sum(packed_sizes(T, a, b, D))
    starts = torch.tensor(_starts(packed_sizes(T, a, b, D)))
    fwd = torch.where(t >= j, new + starts[(t - a).clamp(min=0)] + j - a, own + t)  # token t >= j: new
    if D == 1:
        return fwd[..., None]
    bwd = torch.where(t <= j, new + N + starts[(b - 1 - t).clamp(min=0)] + b - 1 - j, own + T + t)  # t <= j: new
    return torch.stack([fwd, bwd], -1)


def prefix_sizes(a: int, b: int) -> list[int]:
    """[b] how many of the prefixes a..b-1 are still running at each backward step s (p >= s)."""
    return [b - max(a, s) for s in range(b)]


def prefix_backward_states(r: Recurrence, gi: Tensor, a: int, b: int, sink: Sink) -> Tensor:
    """Layer 0's backward direction (r's only member) of the prefixes a..b-1 (prefix p: tokens 0..p).

    Hands sink, step by step, the states of the prefixes still running (``prefix_sizes``; rows =
    p - a) and returns every prefix's last state [1, n, H] (at token 0). gi [>= b, G*H] the review's
    input terms. Prefix p starts at token p from the zero state; at step s every prefix p >= s is
    at token p - s, so the rows read the contiguous gi[p - s]."""
    n, H = b - a, r.W_hh_T.shape[1]
    h = gi.new_zeros(1, n, H)
    c = gi.new_zeros(1, n, H) if r.cell == "lstm" else None
    for s in range(b):
        lo = max(a, s) - a  # prefixes a+lo..b-1 are still running
        step(r, gi[None, a + lo - s:b - s], h[:, lo:], None if c is None else c[:, lo:])
        if sink is not None:
            sink.take(s, None, lo, h[:, lo:])
    return h


def prefix_rows(a: int, b: int, prefixes: slice, L: int, new: int, pad: int) -> Tensor:
    """[k, L] the rows of a table holding prefix_backward_states' packed states from row ``new``,
    where prefixes p (of the block a..b-1) read their backward state at token t; ``pad`` past p."""
    p = torch.arange(prefixes.start, prefixes.stop)[:, None]  # [k, 1]
    s = p - torch.arange(L)[None, :]  # [k, L]: the step at which prefix p is at token t
    starts = torch.tensor(_starts(prefix_sizes(a, b)))
    row = new + starts[s.clamp(min=0)] + p - torch.clamp(s, min=a)
    return torch.where(s >= 0, row, pad)


# ---- batches of variants -------------------------------------------------------------------------


def _blocks(n: int, size: int) -> Iterator[slice]:
    size = max(1, size)
    for a in range(0, n, size):
        yield slice(a, min(n, a + size))


def _run_from(mod: nn.RNNBase, cell: str, x: Tensor, state: list[Tensor] | None) -> Tensor:
    """A one-layer, one-direction module over x [n, S, In] (no pads) from state (h [n, H], and c
    [n, H] for an LSTM; None: zeros) -> every h_t [n, S, H]."""
    hx = None
    if state is not None:
        hx = tuple(s[None].contiguous() for s in state)
        hx = hx if cell == "lstm" else hx[0]
    return mod(x, hx)[0]


def _state(rec: dict, pos: int, n: int) -> list[Tensor] | None:
    """The review's own state of one layer and direction at token pos, for n rows: h (and c) [n, H];
    None (the zero state) where pos is outside the review."""
    T = rec["gates"]["h"].shape[1]
    if not 0 <= pos < T:
        return None
    return [rec["gates"][k][0, pos].expand(n, -1) for k in ("h", "c") if k in rec["gates"]]


def _own(rec: dict) -> dict[str, Tensor]:
    """The review's own h (and c) [T, H] of one layer and direction, rows = tokens."""
    return {k: rec["gates"][k][0] for k in ("h", "c") if k in rec["gates"]}


def _p_positive(model: SentimentRNN, top: Tensor, lengths: Tensor, temperature: float) -> Tensor:
    """[n] calibrated P(positive) from top-layer outputs [n, S, D] with lengths [n]."""
    return probabilities(model.head(top, lengths).logits, temperature)[:, 1]


def pools_as_it_goes(model: SentimentRNN) -> bool:
    """Whether the variants can be pooled step by step, keeping no states: one layer, pooled by
    last, max or mean (or, bidirectional, by attention) over the directions side by side. The head
    then reads each variant's pooled vector as a one-step sequence (which its pooling returns
    unchanged: a one-step softmax is 1)."""
    c = model.config
    if c.num_layers > 1 or c.merge != "concat" or c.output_activation != "none":
        return False
    if c.pooling == "attention":  # both directions, and scores small enough for a fixed shift
        return c.bidirectional and float(model.pool.attention.v.weight.detach().abs().sum()) <= Attention.MAX_SHIFT
    return c.pooling in ("last", "max", "mean")


def _p_positive_pooled(model: SentimentRNN, pooled: Tensor, temperature: float) -> Tensor:
    """[n] calibrated P(positive) from pooled vectors [n, D]."""
    ones = torch.ones(len(pooled), dtype=torch.long, device=pooled.device)
    return _p_positive(model, pooled[:, None, :], ones, temperature)


def _empty_share(shape: tuple[int, ...], kind: str, like: Tensor) -> Tensor:
    """The pooled share of no token: -inf for max, 0 for a sum."""
    return like.new_full(shape, float("-inf") if kind == "max" else 0.0)


# ---- prefixes ----------------------------------------------------------------------------------------


def prefix_probs(model: SentimentRNN, records: list[dict], x: Tensor, temperature: float = 1.0) -> np.ndarray:
    """[T] P(positive) (calibrated by the temperature) had the review ended after token t. x [1, T, E].

    A unidirectional model's states at t *are* prefix t's, so it only pools again. A bidirectional
    one reuses layer 0's forward states, runs layer 0's backward direction of every prefix as one
    staggered batch, and reruns upper layers a chunk of prefixes at a time."""
    T = x.shape[1]
    c = model.config
    with torch.inference_mode():
        if pools_as_it_goes(model):
            return _p_positive_pooled(model, _pooled_prefixes(model, records, x), temperature).cpu().numpy()
        out = [_prefix_block(model, records, x, blk, temperature)
               for blk in _blocks(T, VARIANT_FLOATS // (T * c.directions * c.hidden_size))]
    return torch.cat(out).cpu().numpy()


def _pooled_prefixes(model: SentimentRNN, records: list[dict], x: Tensor) -> Tensor:
    """[T, D] every prefix's pooled vector (pools_as_it_goes): the forward states pooled over
    tokens 0..p by a running max, sum or the last one; the backward direction's as it runs."""
    kind, T = model.config.pooling, x.shape[1]
    hf = records[0]["gates"]["h"][0]  # [T, H]: layer 0's forward states are the prefixes'
    rb = recurrence(direction_modules(model.rnn)[0][1:]) if model.config.directions == 2 else None
    if kind == "attention":
        att = Attention(model.pool.attention, [1], T, T, hf)
        prefix_backward_states(rb, rb.project(x[0]), 0, T, AttendPrefixes(att, att.project(hf, 0), 0, T))
        p, t = torch.arange(T, device=x.device)[:, None], torch.arange(T, device=x.device)[None, :]
        e = torch.where(t <= p, att.e[0][(p - t).clamp(min=0), p], 0)  # [T, T]: prefix p's e_t (at step p - t)
        return torch.cat([e @ hf, att.new[0]], -1) / e.sum(1, keepdim=True)
    parts = [hf if kind == "last" else hf.cummax(0).values if kind == "max" else hf.cumsum(0)]
    if rb is not None:
        acc = None if kind == "last" else _empty_share((1, T, hf.shape[1]), kind, hf)
        last = prefix_backward_states(rb, rb.project(x[0]), 0, T, None if acc is None else Pooled(acc, kind))
        parts.append((last if acc is None else acc)[0])  # "last": the backward direction ends at token 0
    pooled = torch.cat(parts, -1)  # [T, D]
    if kind == "mean":
        pooled = pooled / torch.arange(1, T + 1, device=x.device, dtype=x.dtype)[:, None]
    return pooled


def _prefix_block(model: SentimentRNN, records: list[dict], x: Tensor, blk: slice, temperature: float) -> Tensor:
    """[n] P(positive) of prefixes blk.start..blk.stop-1 (prefix p: tokens 0..p), keeping layer 0's states."""
    a, S = blk.start, blk.stop  # S: the longest prefix of the block
    bidirectional = model.config.directions == 2
    if bidirectional:  # a table: the backward states packed, layer 0's forward states (the prefixes'), a zero row
        hf = records[0]["gates"]["h"][0, :S]  # [S, H]
        N = sum(prefix_sizes(a, S))
        table = x.new_empty(N + S + 1, hf.shape[1])
        rb = recurrence(direction_modules(model.rnn)[0][1:])
        prefix_backward_states(rb, rb.project(x[0, :S]), a, S, Packed(table[None, :N], prefix_sizes(a, S)))
        table[N:N + S] = hf
        table[-1] = 0
    else:
        top = records[-1]["gates"]["h"][0]  # [T, H]: every layer's states are the prefixes'
    probs = []
    for ch in _blocks(S - a, HEAD_ROWS // S):
        ch = slice(a + ch.start, a + ch.stop)
        k, L = ch.stop - ch.start, ch.stop  # L: the longest prefix of the chunk
        lengths = torch.arange(ch.start + 1, L + 1, device=x.device)  # [k]
        if bidirectional:
            rows = torch.stack([(N + torch.arange(L)).expand(k, L), prefix_rows(a, S, ch, L, 0, N + S)], -1)  # [k, L, 2]
            inp = table.index_select(0, rows.flatten().to(x.device)).view(k, L, -1)  # [k, L, 2H], zeros at pads
            inp = _upper_prefix_layers(model, inp, lengths)
        else:
            inp = top[:L].expand(k, L, -1)
        probs.append(_p_positive(model, inp, lengths, temperature))
    return torch.cat(probs)


def _upper_prefix_layers(model: SentimentRNN, inp: Tensor, lengths: Tensor) -> Tensor:
    """Layers 1.. of a bidirectional model over prefixes: layer 0's outputs [k, L, 2H]
    -> the top layer's [k, L, 2H], zeros at pads."""
    mask = length_mask(lengths, inp.shape[1])[:, :, None].to(inp.dtype)  # [k, L, 1]
    for mods in direction_modules(model.rnn)[1:]:
        hf = mods[0](inp)[0] * mask
        hb = reverse_padded(mods[1](reverse_padded(inp, lengths))[0] * mask, lengths)
        inp = torch.cat([hf, hb], -1)  # [k, L, 2H]
    return inp


# ---- occlusion ---------------------------------------------------------------------------------------


def occlusion_probs(model: SentimentRNN, records: list[dict], x: Tensor, unk_id: int = UNK_ID,
                    temperature: float = 1.0) -> np.ndarray:
    """[T] P(positive) (calibrated by the temperature) with token t's embedding replaced by <unk>'s. x [1, T, E].

    Layer 0 of every variant, both directions together, as one staggered batch from the review's
    own states; upper layers rerun a chunk of variants at a time (a unidirectional model's from the
    review's state before the chunk's first occluded token)."""
    T = x.shape[1]
    dirs, H = model.config.directions, model.config.hidden_size
    unk = model.embedding.weight[unk_id]  # [E]
    out = []
    with torch.inference_mode():
        if pools_as_it_goes(model):
            return _p_positive_pooled(model, _pooled_occlusions(model, records, x, unk), temperature).cpu().numpy()
        for blk in _blocks(T, VARIANT_FLOATS // (T * dirs * H)):
            table, rows = _occluded_layer0(model, records, x, unk, blk)
            for ch in _blocks(blk.stop - blk.start, HEAD_ROWS // T):
                ch = slice(blk.start + ch.start, blk.start + ch.stop)
                inp = table.index_select(0, rows(ch).flatten().to(x.device)).view(ch.stop - ch.start, T, dirs * H)
                top = _upper_occluded_layers(model, records, inp, ch.start)
                out.append(_p_positive(model, top, torch.full((len(top),), T, device=x.device), temperature))
    return torch.cat(out).cpu().numpy()


def _review_share(h: Tensor, kind: str, forward: bool) -> Tensor:
    """[T, H] row j: the review's own states h [T, H] pooled over the tokens where occluded variant j
    is the review (forward t < j, backward t > j): their max (-inf if none) or sum (0 if none)."""
    v = h if forward else h.flip(0)
    acc = v.cummax(0).values if kind == "max" else v.cumsum(0)
    acc = torch.cat([_empty_share((1, h.shape[1]), kind, h), acc[:-1]])  # tokens strictly before
    return acc if forward else acc.flip(0)


def _pooled_occlusions(model: SentimentRNN, records: list[dict], x: Tensor, unk: Tensor) -> Tensor:
    """[T, D] every occluded variant's pooled vector (pools_as_it_goes): the review's own share,
    then the new states pooled as the staggered batch runs."""
    kind, T, dirs = model.config.pooling, x.shape[1], model.config.directions
    r, own = recurrence(direction_modules(model.rnn)[0]), [_own(rec) for rec in records[:dirs]]
    if kind == "attention":
        return _attended_occlusions(model, r, own, x, unk)
    acc = None
    if kind != "last":
        shares = [_review_share(o["h"], kind, m == 0) for m, o in enumerate(own)]  # [T, H] each, rows = j
        acc = torch.stack([v if m == 0 else v.flip(0) for m, v in enumerate(shares)])  # [D, T, H]: member 1 reversed
    last = occluded_states(r, x[0], unk, own, 0, T, None if acc is None else Pooled(acc, kind))
    acc = last if acc is None else acc  # "last": forward at token T - 1, backward at token 0
    pooled = torch.cat([acc[m] if m == 0 else acc[m].flip(0) for m in range(dirs)], -1)  # [T, D]
    return pooled / T if kind == "mean" else pooled


def _attended_occlusions(model: SentimentRNN, r: Recurrence, own: list[dict[str, Tensor]], x: Tensor,
                         unk: Tensor) -> Tensor:
    """[T, 2H] every occluded variant's attention-pooled vector: the loop adds each direction's new
    states at the tokens past the variant's own (the other direction is the review's there), then
    each variant's own token, where both directions took their first step."""
    T = x.shape[1]
    att = Attention(model.pool.attention, [0, 1], T, T, x)
    others = _by_loop_index(torch.stack([own[1]["h"], own[0]["h"]]), 0, T)  # [T, 2, H]: member m's other direction by loop index
    p_others = torch.stack([att.project(others[:, 0], 1), att.project(others[:, 1], 0)], 1)  # [T, 2, A]
    occluded_states(r, x[0], unk, own, 0, T, AttendOccluded(att, p_others[:, :, None], T))
    other = torch.bmm(att.e.transpose(1, 2), others.transpose(0, 1))  # [2, T, H]: sum of e_t times the review's states
    s = att.e.sum(1)[..., None]  # [2, T, 1]
    hf, hb = (first_steps(r, m, r.project(unk, m), own[m], 0, T)[0] for m in range(2))  # [T, H] each
    e = att.weights((att.project(hf, 0) + F.linear(hb, att.W[1]))[None], slice(0, 1))[0]  # [T, 1]: each variant at its own token
    sum_f = att.new[0] + other[1].flip(0) + e * hf  # [T, H], rows = variants (member 1's in reverse order)
    sum_b = other[0] + att.new[1].flip(0) + e * hb
    return torch.cat([sum_f, sum_b], -1) / (s[0] + s[1].flip(0) + e)


def _occluded_layer0(model: SentimentRNN, records: list[dict], x: Tensor, unk: Tensor,
                     blk: slice) -> tuple[Tensor, Callable[[slice], Tensor]]:
    """Layer 0 of the occluded variants of a block, kept: (a table [N', H]: per member the states
    that differ from the review's, packed, then the review's own; a function variants -> [k, T, D]
    their rows in the table)."""
    T, H, D = x.shape[1], model.config.hidden_size, model.config.directions
    a, b = blk.start, blk.stop
    sizes = packed_sizes(T, a, b, D)
    N = sum(sizes)
    table = x.new_empty(D * (N + T), H)
    own = [_own(rec) for rec in records[:D]]
    occluded_states(recurrence(direction_modules(model.rnn)[0]), x[0], unk, own, a, b,
                    Packed(table[:D * N].view(D, N, H), sizes))
    table[D * N:] = torch.cat([o["h"] for o in own])
    return table, partial(occluded_rows, T, a, b, D, new=0, own=D * N)


def _upper_occluded_layers(model: SentimentRNN, records: list[dict], inp: Tensor, a: int) -> Tensor:
    """Layers 1.. over occluded variants a..a+k-1: layer 0's outputs [k, T, D] -> the top layer's.

    A unidirectional layer reuses the review's states before token a; a bidirectional one sees
    changes everywhere and reruns whole."""
    cell, dirs = cell_of(model.rnn), model.config.directions
    k = inp.shape[0]
    for l, mods in enumerate(direction_modules(model.rnn)[1:], 1):
        if dirs == 1:
            rf = records[l]
            new = _run_from(mods[0], cell, inp[:, a:], _state(rf, a - 1, k))  # [k, T - a, H]
            inp = torch.cat([rf["gates"]["h"][0, :a].expand(k, a, -1), new], 1)
        else:
            inp = torch.cat([mods[0](inp)[0], mods[1](inp.flip(1))[0].flip(1)], -1)  # [k, T, 2H]
    return inp

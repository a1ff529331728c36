"""The cell equations, one time step at a time, written as a textbook writes them.

This module owns the *reference*: what an LSTM, GRU or plain RNN computes at step t, in PyTorch's
gate order and with PyTorch's two biases per gate (``b_i*`` with the input product, ``b_h*`` with
the hidden one). Each line computes one equation and says which in its comment. Nothing here is
fast; it is what the fast path (``sentiment.probe.instrument``) is checked against, in the tests, in
``bench/probe.py`` (the "naive" baseline) and on the Learn page (the numbers add up).

Shapes: x [..., In], h / c [..., H]; W_ih [G*H, In], W_hh [G*H, H], b_ih / b_hh [G*H] or None, with
G = 4 (LSTM: i, f, g, o), 3 (GRU: r, z, n) or 1 (RNN). Every step returns every gate and state.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sentiment.modeling.model import cell_of
from sentiment.spec import GATE_NAMES


def _blocks(W_ih: Tensor, W_hh: Tensor, b_ih: Tensor | None, b_hh: Tensor | None, n: int) -> list[tuple]:
    """The n per-gate blocks (W_i*, W_h*, b_i*, b_h*) of PyTorch's stacked weights, in its gate order."""
    wi, wh = W_ih.chunk(n, 0), W_hh.chunk(n, 0)
    bi = b_ih.chunk(n, 0) if b_ih is not None else [None] * n
    bh = b_hh.chunk(n, 0) if b_hh is not None else [None] * n
    return list(zip(wi, wh, bi, bh, strict=True))


def lstm_cell(i: Tensor, f: Tensor, g: Tensor, c_prev: Tensor) -> Tensor:
    """c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t: keep what the forget gate lets through, write the gated candidate."""
    return f * c_prev + i * g  # c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t


def lstm_hidden(o: Tensor, c: Tensor) -> Tensor:
    """h_t = o_t ⊙ tanh(c_t): the output gate reads the squashed cell."""
    return o * torch.tanh(c)  # h_t = o_t ⊙ tanh(c_t)


def gru_hidden(z: Tensor, n: Tensor, h_prev: Tensor) -> Tensor:
    """h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}: PyTorch's GRU keeps the old state with weight z_t."""
    return (1 - z) * n + z * h_prev  # h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}


def lstm_step(x: Tensor, h: Tensor, c: Tensor, W_ih: Tensor, W_hh: Tensor,
              b_ih: Tensor | None = None, b_hh: Tensor | None = None) -> dict[str, Tensor]:
    """One LSTM step: (x_t, h_{t-1}, c_{t-1}) -> {"i", "f", "g", "o", "c", "h"} [..., H]."""
    (Wii, Whi, bii, bhi), (Wif, Whf, bif, bhf), (Wig, Whg, big, bhg), (Wio, Who, bio, bho) = \
        _blocks(W_ih, W_hh, b_ih, b_hh, 4)
    i = torch.sigmoid(F.linear(x, Wii, bii) + F.linear(h, Whi, bhi))  # i_t = σ(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)
    f = torch.sigmoid(F.linear(x, Wif, bif) + F.linear(h, Whf, bhf))  # f_t = σ(W_if x_t + b_if + W_hf h_{t-1} + b_hf)
    g = torch.tanh(F.linear(x, Wig, big) + F.linear(h, Whg, bhg))  # g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)
    o = torch.sigmoid(F.linear(x, Wio, bio) + F.linear(h, Who, bho))  # o_t = σ(W_io x_t + b_io + W_ho h_{t-1} + b_ho)
    c_t = lstm_cell(i, f, g, c)  # c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    h_t = lstm_hidden(o, c_t)  # h_t = o_t ⊙ tanh(c_t)
    return {"i": i, "f": f, "g": g, "o": o, "c": c_t, "h": h_t}


def gru_step(x: Tensor, h: Tensor, W_ih: Tensor, W_hh: Tensor,
             b_ih: Tensor | None = None, b_hh: Tensor | None = None) -> dict[str, Tensor]:
    """One GRU step: (x_t, h_{t-1}) -> {"r", "z", "n", "h"} [..., H]."""
    (Wir, Whr, bir, bhr), (Wiz, Whz, biz, bhz), (Win, Whn, bin_, bhn) = _blocks(W_ih, W_hh, b_ih, b_hh, 3)
    r = torch.sigmoid(F.linear(x, Wir, bir) + F.linear(h, Whr, bhr))  # r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
    z = torch.sigmoid(F.linear(x, Wiz, biz) + F.linear(h, Whz, bhz))  # z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    n = torch.tanh(F.linear(x, Win, bin_) + r * F.linear(h, Whn, bhn))  # n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))
    h_t = gru_hidden(z, n, h)  # h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}
    return {"r": r, "z": z, "n": n, "h": h_t}


def rnn_step(x: Tensor, h: Tensor, W_ih: Tensor, W_hh: Tensor,
             b_ih: Tensor | None = None, b_hh: Tensor | None = None, nonlinearity: str = "tanh") -> dict[str, Tensor]:
    """One plain RNN step: (x_t, h_{t-1}) -> {"h"} [..., H]; no gates."""
    act = torch.tanh if nonlinearity == "tanh" else torch.relu
    h_t = act(F.linear(x, W_ih, b_ih) + F.linear(h, W_hh, b_hh))  # h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
    return {"h": h_t}


def _weights(rnn: nn.RNNBase, layer: int, direction: int) -> tuple:
    """(W_ih, W_hh, b_ih, b_hh) of one layer and direction of a fused module (biases None without bias)."""
    sfx = f"_l{layer}" + ("_reverse" if direction else "")
    return (getattr(rnn, "weight_ih" + sfx), getattr(rnn, "weight_hh" + sfx),
            getattr(rnn, "bias_ih" + sfx, None), getattr(rnn, "bias_hh" + sfx, None))


def step(cell: str, x: Tensor, state: dict[str, Tensor], weights: tuple, nonlinearity: str = "tanh") -> dict[str, Tensor]:
    """One step of ``cell`` from state {"h": h_{t-1}} (and "c": c_{t-1} for an LSTM)."""
    if cell == "lstm":
        return lstm_step(x, state["h"], state["c"], *weights)
    if cell == "gru":
        return gru_step(x, state["h"], *weights)
    return rnn_step(x, state["h"], *weights, nonlinearity=nonlinearity)


def step_by_step(rnn: nn.RNNBase, x: Tensor) -> list[dict[str, Tensor]]:
    """One unpadded sequence x [T, In] through a fused nn.LSTM / nn.GRU / nn.RNN, one step at a time.

    Returns per (layer, direction), ordered layer 0 forward, layer 0 backward, layer 1 forward, ...:
    {gate: [T, H]}, row t = token t in both directions (the backward direction starts at token T-1)."""
    cell, H, T = cell_of(rnn), rnn.hidden_size, x.shape[0]
    nonlinearity = getattr(rnn, "nonlinearity", "tanh")
    out, inp = [], x
    with torch.no_grad():
        for layer in range(rnn.num_layers):
            hs = []
            for d in range(2 if rnn.bidirectional else 1):
                weights = _weights(rnn, layer, d)
                state = {"h": x.new_zeros(H), "c": x.new_zeros(H)}  # h_{-1} = 0, c_{-1} = 0
                rec = {k: x.new_zeros(T, H) for k in GATE_NAMES[cell]}  # [T, H] per gate
                for t in (range(T - 1, -1, -1) if d else range(T)):
                    state = step(cell, inp[t], state, weights, nonlinearity)
                    for k, v in state.items():
                        rec[k][t] = v
                out.append(rec)
                hs.append(rec["h"])
            inp = torch.cat(hs, -1)  # [T, dirs*H], the next layer's input
    return out


def states_from_gates(cell: str, v: dict[str, float]) -> dict[str, float]:
    """The states the cell's update equations give from one step's traced gate values (one unit).

    ``v``: gate names plus "c_prev" / "h_prev" (what ``figures.step_values`` returns).
    LSTM: {"c": f c_{t-1} + i g, "h": o tanh(c_t)} (h from the *traced* c_t, as the next line of
    the equations reads it); GRU: {"h": (1 - z) n + z h_{t-1}}; RNN: {} (its only line needs the
    weights). Computed in float64, so a difference from the traced value is the model's rounding."""
    s = {k: torch.tensor(float(x), dtype=torch.float64) for k, x in v.items()}
    if cell == "lstm":
        return {"c": float(lstm_cell(s["i"], s["f"], s["g"], s["c_prev"])), "h": float(lstm_hidden(s["o"], s["c"]))}
    if cell == "gru":
        return {"h": float(gru_hidden(s["z"], s["n"], s["h_prev"]))}
    return {}

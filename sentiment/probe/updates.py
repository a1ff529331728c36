"""Cell updates, split into what was kept and what was written, per step and unit, from a Trace.

LSTM (c_t = f_t * c_{t-1} + i_t * g_t): kept = f_t * c_{t-1}, written = i_t * g_t, state = c_t.
GRU, PyTorch's convention (h_t = (1 - z_t) * n_t + z_t * h_{t-1}): kept = z_t * h_{t-1},
written = (1 - z_t) * n_t, state = h_t.
In both, kept + written = state. The previous state is the token before in the forward direction
and the token after in the backward one (0 at the edge), as the direction reads. A plain RNN has no
gate that splits its update, so it has no such view.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sentiment.errors import InputError

if TYPE_CHECKING:
    from sentiment.probe.instrument import Trace

STATE_OF = {"lstm": "c", "gru": "h"}  # the state whose update is split


@dataclass
class CellUpdates:
    """One layer and direction's updates: every array [T, H], row t = token t."""

    cell: str  # "lstm" | "gru"
    layer: int
    direction: str
    state_name: str  # "c" (LSTM) | "h" (GRU)
    kept: np.ndarray  # [T, H] f_t * c_{t-1} | z_t * h_{t-1}
    written: np.ndarray  # [T, H] i_t * g_t | (1 - z_t) * n_t
    state: np.ndarray  # [T, H] c_t | h_t, as traced
    previous: np.ndarray  # [T, H] c_{t-1} | h_{t-1} in the direction's reading order

    def kept_share(self) -> np.ndarray:
        """[T, H] |kept| / (|kept| + |written|): 1 = the step only kept, 0 = it only wrote (0.5 where both are 0)."""
        k, w = np.abs(self.kept), np.abs(self.written)
        total = k + w
        return np.where(total > 0, k / np.where(total > 0, total, 1.0), 0.5)


def previous_state(state: np.ndarray, direction: str) -> np.ndarray:
    """state [T, H] -> the state each step started from [T, H]: row t-1 (forward) or t+1 (backward), 0 at the edge."""
    state = np.asarray(state, dtype=np.float64)
    prev = np.zeros_like(state)
    if direction == "forward":
        prev[1:] = state[:-1]
    elif direction == "backward":
        prev[:-1] = state[1:]
    else:
        raise ValueError(f"unknown direction {direction!r} (forward or backward)")
    return prev


def cell_updates(trace: Trace, layer: int = 0, direction: str = "forward") -> CellUpdates:
    """The keep/write split of one layer and direction of a trace (float64 arrays [T, H]).

    InputError for a plain RNN (no gates to split the update); KeyError for a layer or direction the
    model does not have."""
    if trace.cell not in STATE_OF:
        raise InputError("updates.no_gates", cell=trace.cell.upper())
    T = len(trace.tokens)
    g = {name: np.asarray(trace.gate(name, layer, direction), dtype=np.float64)[:T]
         for name in (("f", "i", "g", "c") if trace.cell == "lstm" else ("z", "n", "h"))}
    if trace.cell == "lstm":
        prev = previous_state(g["c"], direction)
        kept, written, state = g["f"] * prev, g["i"] * g["g"], g["c"]
    else:
        prev = previous_state(g["h"], direction)
        kept, written, state = g["z"] * prev, (1.0 - g["z"]) * g["n"], g["h"]
    return CellUpdates(trace.cell, layer, direction, STATE_OF[trace.cell], kept, written, state, prev)


def unit_summary(u: CellUpdates, unit: int) -> dict[str, float | int]:
    """One unit over the review: the mean share of its update that was kept (``kept_share``, 0..1),
    and the step that wrote the most (``top_write``: position of the largest |written|) with that value."""
    if not 0 <= int(unit) < u.state.shape[1]:
        raise ValueError(f"unit {unit} is out of range: this model has units 0 to {u.state.shape[1] - 1}")
    w = u.written[:, int(unit)]  # [T]
    top = int(np.argmax(np.abs(w)))
    return {"kept_share": float(u.kept_share()[:, int(unit)].mean()), "top_write": top, "top_value": float(w[top])}

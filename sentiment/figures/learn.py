"""The Learn page's figures and checks: one step's values, gradient norms through time, the
recombined cell and hidden state, the spread of gradient norms."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import plotly.graph_objects as go

from sentiment.figures.gates import _layer_trace
from sentiment.figures.style import FONT, _token_axis
from sentiment.i18n import t as say  # the figures' words: sentiment/i18n/en.py, zh.py (keys fig.*)
from sentiment.probe.reference import states_from_gates

if TYPE_CHECKING:  # the probe is only needed for its types here
    from sentiment.probe.instrument import Trace


# ---- the Learn page ------------------------------------------------------------------------------


def step_values(trace: Trace, layer: int, direction: str, t: int, unit: int) -> dict[str, float]:
    """The numbers of one step and one unit, for the equations: every gate at token t, and the
    previous state (the token before in the forward direction, after in the backward one; 0 at the edge)."""
    lt = _layer_trace(trace, layer, direction)
    prev = t - 1 if direction == "forward" else t + 1
    inside = 0 <= prev < trace.length
    values = {name: float(arr[t, unit]) for name, arr in lt.gates.items()}
    for name in ("h", "c"):
        if name in lt.gates:
            values[f"{name}_prev"] = float(lt.gates[name][prev, unit]) if inside else 0.0
    return values


def gradient_norms(curves: dict[str, Sequence[float]], tokens: Sequence[str], lang: str = "en", max_ticks: int = 60) -> go.Figure:
    """||dLoss/dx_t|| over the tokens, one line per model (the vanishing-gradient view)."""
    fig = go.Figure()
    for name, ys in curves.items():
        fig.add_scatter(x=list(range(len(ys))), y=list(ys), name=name, mode="lines+markers")
    _token_axis(fig, tokens, max_ticks)
    fig.update_yaxes(title_text="‖∂loss/∂x_t‖", type="log", dtick=_decades_per_tick(curves),
                     exponentformat="power", showexponent="all")
    title = say("fig.grad_title", lang)
    fig.update_layout(title=title, height=360, margin=dict(l=60, r=20, t=50, b=60), font=FONT,
                      legend=dict(orientation="h", y=1.12))
    return fig


def _decades_per_tick(curves: dict[str, Sequence[float]], most: int = 6) -> int:
    """One labelled tick per decade of a log axis, or per 2, 3 ... decades when the values span many
    (plotly's own choice labels the 2s and 5s between the powers of ten, which crowd a short axis)."""
    positive = [float(y) for ys in curves.values() for y in ys if float(y) > 0]
    if not positive:
        return 1
    span = math.log10(max(positive)) - math.log10(min(positive))
    return max(1, math.ceil(span / most))


# ---- the Learn page's checks ------------------------------------------------------------------------
def recombine(cell: str, v: dict[str, float]) -> dict[str, float]:
    """The state(s) the cell's update equation gives from one step's gate values (one unit):
    ``sentiment.probe.reference.states_from_gates`` (the equations, written once).
    ``v`` is what ``figures.step_values`` returns: gate names, plus "c_prev" / "h_prev"."""
    return states_from_gates(cell, v)


def spread(norms) -> float:
    """How many times the largest per-token gradient norm is the smallest (inf if one is 0): one number
    for "how much the gradient fades over the review"."""
    values = [float(x) for x in norms]
    if not values:
        return float("nan")
    lo, hi = min(values), max(values)
    return hi / lo if lo > 0 else float("inf")

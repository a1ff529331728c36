"""The selected token and unit of a traced review: the pickers (a token slider, a unit number) and the
unit's gate values at that token. Explore marks the selection on its heatmaps (``sentiment.figures.marks``);
the Learn page puts its numbers into the equations. The values come from ``figures.step_values``."""

from __future__ import annotations

import streamlit as st

from sentiment import figures

from . import common
from .i18n import lang, t


def token_picker(key: str, trace, label_key: str = "sel.token", help_key: str = "sel.token.help") -> int:
    """A slider over the review's tokens (``{key}_token``; a caption for a one-token review); the position."""
    positions = list(range(int(trace.length)))
    if len(positions) > 1:
        return int(common.pick(t(label_key), positions, f"{key}_token", widget=st.select_slider,
                               format_func=lambda i: f"{i}: {trace.tokens[i]}", help=t(help_key)))
    st.session_state[f"{key}_token"] = 0
    st.caption(f"{t(label_key)}: 0: {trace.tokens[0]}")
    return 0


def unit_picker(key: str, trace, label_key: str = "sel.unit", help_key: str = "sel.unit.help") -> int:
    """A number input for one hidden unit (``{key}_unit``), kept within this model's 0 .. H-1."""
    last = max(0, int(trace.hidden_size) - 1)
    if not isinstance(st.session_state.get(f"{key}_unit"), int) or not 0 <= st.session_state[f"{key}_unit"] <= last:
        st.session_state[f"{key}_unit"] = 0  # a model with fewer units than the last one picked
    return int(st.number_input(t(label_key), 0, last, key=f"{key}_unit", step=1, help=t(help_key, last=last),
                               persist_state="session"))


def gate_values(trace, layer: int, direction: str, token: int, unit: int) -> dict[str, float]:
    """Show the unit's value of every gate (and c, h) at the token, one metric each; returns them."""
    values = figures.step_values(trace, layer, direction, token, unit)
    shown = {g: values[g] for g in trace.layers[0].gates}
    st.caption(t("sel.values", unit=unit, pos=token, token=trace.tokens[token], where=common.layer_label((layer, direction))))
    for col, (g, v) in zip(st.columns(len(shown)), shown.items(), strict=True):
        col.metric(figures.gate_title(g, lang()), f"{v:.3f}")
    return shown

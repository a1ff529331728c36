"""The selected token and unit of a traced review: the pickers (a token slider, a unit number) and the
unit's gate values at that token. Explore marks the selection on its heatmaps (``sentiment.figures.marks``);
the Learn page puts its numbers into the equations. The values come from ``figures.step_values``."""

from __future__ import annotations

import streamlit as st

from sentiment import figures
from . import common
from .i18n import lang, register, t

register({
    "sel.title": {"en": "Selected token and unit", "zh": "选中的词元和单元"},
    "sel.token": {"en": "Token", "zh": "词元"},
    "sel.token.help": {"en": "The step t: the review's tokens in reading order. It is outlined on the heatmaps.",
                       "zh": "时间步 t：按阅读顺序排列的评论词元。它在热力图上以方框标出。"},
    "sel.unit": {"en": "Unit", "zh": "单元"},
    "sel.unit.help": {"en": "One of the hidden units (0 to {last}); its row is outlined on the heatmaps when shown.",
                      "zh": "隐藏单元之一（0 到 {last}）；若该行显示在热力图上，会以方框标出。"},
    "sel.values": {"en": "Unit {unit} at token {pos} “{token}” ({where}):", "zh": "单元 {unit} 在词元 {pos}“{token}”处（{where}）："},
    "sel.drag": {"en": "Drag a small box over a cell of the heatmaps to pick its token and unit; a thin vertical drag "
                       "picks only a token, a thin horizontal one only a unit (zoom is in the chart's toolbar).",
                 "zh": "在热力图的某个格子上拖出一个小框，即可选中它的词元和单元；细长的竖向拖动只选词元，横向只选单元（缩放在图表工具栏中）。"},
    "sel.hidden_row": {"en": "Unit {unit} is not among the units shown on the heatmaps (sorting and top K); its token "
                             "column is still outlined.",
                       "zh": "单元 {unit} 不在热力图显示的单元中（排序和前 K 个）；其词元列仍以方框标出。"},
})


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
    for col, (g, v) in zip(st.columns(len(shown)), shown.items()):
        col.metric(figures.gate_title(g, lang()), f"{v:.3f}")
    return shown

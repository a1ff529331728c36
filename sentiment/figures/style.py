"""The figures' shared style: fonts, colours, gate names and equations, token axes and the base layout. Pure data and small helpers."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from sentiment.i18n import t as say  # the figures' words: sentiment/i18n/en.py, zh.py (keys fig.*)

if TYPE_CHECKING:  # the probe is only needed for its types here
    from sentiment.probe.instrument import Trace

FONT_FAMILY = '"Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", "Source Han Sans SC", sans-serif'
FONT = dict(family=FONT_FAMILY, size=13)

SIGMOID = ("i", "f", "o", "r", "z")  # values in [0, 1]
TANH = ("g", "n", "h")  # values in [-1, 1]
CELL = ("c",)  # unbounded (LSTM cell state)
SORTS = ("none", "activity", "variance", "correlation")
POSITIVE_RGB, NEGATIVE_RGB = (26, 133, 255), (212, 17, 89)  # colour-blind-safe blue / magenta
POSITIVE_COLOR, NEGATIVE_COLOR = "rgb(26,133,255)", "rgb(212,17,89)"
SERIES_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")

GATE_SYMBOLS: dict[str, str] = {g: f"{g}_t" for g in "ifgocrznh"}
# gate -> (symbol, English name, Chinese name); the names live in the string tables (fig.gate.<g>)
GATE_INFO: dict[str, tuple[str, str, str]] = {
    g: (sym, say(f"fig.gate.{g}", "en"), say(f"fig.gate.{g}", "zh")) for g, sym in GATE_SYMBOLS.items()
}

# PyTorch's equations, in the order and form the code runs them (HTML for plotly / markdown).
EQUATIONS: dict[str, list[str]] = {
    "lstm": [
        "i_t = σ(W_ii x_t + b_ii + W_hi h_{t−1} + b_hi)",
        "f_t = σ(W_if x_t + b_if + W_hf h_{t−1} + b_hf)",
        "g_t = tanh(W_ig x_t + b_ig + W_hg h_{t−1} + b_hg)",
        "o_t = σ(W_io x_t + b_io + W_ho h_{t−1} + b_ho)",
        "c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t",
        "h_t = o_t ⊙ tanh(c_t)",
    ],
    "gru": [
        "r_t = σ(W_ir x_t + b_ir + W_hr h_{t−1} + b_hr)",
        "z_t = σ(W_iz x_t + b_iz + W_hz h_{t−1} + b_hz)",
        "n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t−1} + b_hn))",
        "h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}",
    ],
    "rnn": ["h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh)"],
}


MD_SPECIAL = "\\`*_[]()<>#|~$!"  # characters Markdown could read as markup (links, images, emphasis, HTML)


def md_escape(s: str) -> str:
    """Text shown as plain text inside Markdown (st.markdown, message boxes): markup characters escaped."""
    for ch in MD_SPECIAL:
        s = s.replace(ch, "\\" + ch)
    return s


def gate_title(gate: str, lang: str = "en") -> str:
    """'i' -> 'i_t · input gate' (or '输入门')."""
    if gate not in GATE_SYMBOLS:
        return gate
    return f"{GATE_SYMBOLS[gate]} · {say('fig.gate.' + gate, lang)}"


def gate_kind(gate: str) -> str:
    """'sigmoid' | 'tanh' | 'cell'."""
    return "sigmoid" if gate in SIGMOID else "cell" if gate in CELL else "tanh"


def base_layout(title: str, height: int, meta: dict) -> dict:
    """Every chart's title, fonts, height, margins and meta, as layout properties."""
    return dict(title=dict(text=title, font=dict(size=15)), font=FONT, height=height,
                margin=dict(l=60, r=30, t=60, b=40), meta=meta, hoverlabel=dict(font=dict(family=FONT_FAMILY)))


def _base_layout(fig: go.Figure, title: str, height: int, meta: dict) -> go.Figure:
    fig.update_layout(**base_layout(title, height, meta))
    return fig


TOKEN_TICKS = 60  # token labels on a full-width chart: at most one per 17 px of a 1,000 px plot, slanted
TICK_LABEL_CHARS = 14  # a token label is cut to this many characters (with "…")


def token_label(tokens: Sequence[str], p: int, thinned: bool) -> str:
    """A token's tick label: the token (cut to TICK_LABEL_CHARS); on a thinned axis with its position
    ("41:movie"), so that every k-th token never reads as a sentence."""
    tok = tokens[p] if len(tokens[p]) <= TICK_LABEL_CHARS else tokens[p][: TICK_LABEL_CHARS - 1] + "…"
    return html.escape(f"{p}:{tok}" if thinned else tok, quote=False)


def token_ticks(tokens: Sequence[str], max_ticks: int = TOKEN_TICKS, keep: int | None = None) -> tuple[list[int], list[str]]:
    """Tick positions and labels for a token axis: every token up to max_ticks, else every k-th with its
    position; ``keep`` (the selected token) is always among them, the ticks closer than k to it dropped."""
    n = len(tokens)
    step = max(1, int(np.ceil(n / max(1, max_ticks))))
    pos = list(range(0, n, step))
    if keep is not None and 0 <= keep < n and keep not in pos:
        pos = sorted([p for p in pos if abs(p - keep) >= step] + [int(keep)])
    return pos, [token_label(tokens, p, step > 1) for p in pos]


def token_label_px(tokens: Sequence[str], max_ticks: int = TOKEN_TICKS) -> int:
    """Pixels the token labels may take under a token axis: plotly slants or turns them upright when they
    would overlap (``autotickangles``), so room for the longest label standing upright."""
    pos, labels = token_ticks(tokens, max_ticks)
    longest = max((len(html.unescape(s)) for s in labels), default=1)
    return int(np.clip(12 + 7 * longest, 40, 12 + 7 * (TICK_LABEL_CHARS + 5)))


def _hover_tokens(trace: Trace, lang: str) -> list[str]:
    unk = list(trace.unk) if trace.unk is not None else [False] * len(trace.tokens)
    return [html.escape(tok) + (say("fig.unk", lang) if u else "") for tok, u in zip(trace.tokens, unk, strict=True)]


def token_axis(tokens: Sequence[str], max_ticks: int = TOKEN_TICKS) -> dict:
    """A token x axis's properties: thinned labels (``token_ticks``), level while they fit, else slanted or
    upright: never overlapping."""
    pos, text = token_ticks(tokens, max_ticks)
    return dict(tickmode="array", tickvals=pos, ticktext=text, autotickangles=[0, -90], range=[-0.5, len(tokens) - 0.5])


def _token_axis(fig: go.Figure, tokens: Sequence[str], max_ticks: int = TOKEN_TICKS, **where) -> None:
    """``token_axis`` on a built figure's x axes (``where`` selects them as ``update_xaxes`` does)."""
    fig.update_xaxes(**token_axis(tokens, max_ticks), **where)


"""The figures' shared style: fonts, colours, gate names and equations, the figures' words in
English and Chinese, token axes and the base layout. Pure data and small helpers."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Sequence

import numpy as np
import plotly.graph_objects as go

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

# gate -> (symbol, English name, Chinese name)
GATE_INFO: dict[str, tuple[str, str, str]] = {
    "i": ("i_t", "input gate", "输入门"),
    "f": ("f_t", "forget gate", "遗忘门"),
    "g": ("g_t", "candidate cell", "候选记忆"),
    "o": ("o_t", "output gate", "输出门"),
    "c": ("c_t", "cell state", "细胞状态"),
    "h": ("h_t", "hidden state", "隐藏状态"),
    "r": ("r_t", "reset gate", "重置门"),
    "z": ("z_t", "update gate", "更新门"),
    "n": ("n_t", "candidate state", "候选状态"),
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

_TEXT: dict[str, dict[str, str]] = {
    "token": {"en": "token", "zh": "词元"},
    "position": {"en": "position", "zh": "位置"},
    "unit": {"en": "unit", "zh": "单元"},
    "value": {"en": "value", "zh": "数值"},
    "unk": {"en": " (not in the vocabulary)", "zh": "（词表外）"},
    "sigmoid": {"en": "σ gates (0…1)", "zh": "σ 门（0…1）"},
    "tanh": {"en": "tanh (−1…1)", "zh": "tanh（−1…1）"},
    "cell": {"en": "cell state c_t", "zh": "细胞状态 c_t"},
    "forward": {"en": "forward", "zh": "正向"},
    "backward": {"en": "backward", "zh": "反向"},
    "layer": {"en": "layer", "zh": "第"},
    "heat_title": {"en": "{cell} gates · layer {layer} · {direction} · {k} of {h} units ({sort})",
                   "zh": "{cell} 门控 · 第 {layer} 层 · {direction} · {h} 个单元中的 {k} 个（{sort}）"},
    "sort_none": {"en": "in unit order", "zh": "按单元编号"},
    "sort_activity": {"en": "most active first", "zh": "最活跃在前"},
    "sort_variance": {"en": "most varying first", "zh": "变化最大在前"},
    "sort_correlation": {"en": "most correlated with the prediction first", "zh": "与预测最相关在前"},
    "pool_max": {"en": "Max pooling: share of the {d} pooled units each token won",
                 "zh": "最大池化：每个词元赢得的池化单元占比（共 {d} 个）"},
    "pool_last": {"en": "Last pooling: the steps read (forward: the last token; backward: the first)",
                  "zh": "末步池化：被读取的时间步（正向读最后一个词元，反向读第一个）"},
    "pool_mean": {"en": "Mean pooling: every token weighs 1/{t}", "zh": "平均池化：每个词元权重 1/{t}"},
    "pool_attention": {"en": "Attention pooling: the attention weight of each token", "zh": "注意力池化：每个词元的注意力权重"},
    "credit": {"en": "credit", "zh": "贡献"},
    "compare_pool_title": {"en": "Pooling credit per token (directions summed)", "zh": "每个词元的池化贡献（两个方向相加）"},
    "share": {"en": "share of units", "zh": "单元占比"},
    "weight": {"en": "weight", "zh": "权重"},
    "prefix_title": {"en": "P(positive) had the review ended after each token",
                     "zh": "假如评论在该词元处结束，P(正面) 为多少"},
    "p_pos": {"en": "P(positive)", "zh": "P(正面)"},
    "not_computed": {"en": "not computed for this review", "zh": "本条评论未计算"},
    "occlusion": {"en": "Occlusion: change in P(positive) when the token is replaced by <unk>",
                  "zh": "遮挡：把该词元换成 <unk> 后 P(正面) 的变化"},
    "integrated_gradients": {"en": "Integrated gradients: each token's contribution to P(positive)",
                             "zh": "积分梯度：每个词元对 P(正面) 的贡献"},
    "attribution": {"en": "attribution", "zh": "归因"},
    "sat_title": {"en": "Gate saturation · layer {layer} · {direction} (shaded: below {lo} or above {hi})",
                  "zh": "门控饱和度 · 第 {layer} 层 · {direction}（阴影：低于 {lo} 或高于 {hi}）"},
    "sat_title_rnn": {"en": "h_t saturation · layer {layer} · {direction} (shaded: |h| above {hi})",
                      "zh": "h_t 饱和度 · 第 {layer} 层 · {direction}（阴影：|h| 高于 {hi}）"},
    "share_values": {"en": "share of values", "zh": "数值占比"},
    "gate_value": {"en": "gate value", "zh": "门控值"},
    "prediction": {"en": "prediction", "zh": "预测"},
}


MD_SPECIAL = "\\`*_[]()<>#|~$!"  # characters Markdown could read as markup (links, images, emphasis, HTML)


def md_escape(s: str) -> str:
    """Text shown as plain text inside Markdown (st.markdown, message boxes): markup characters escaped."""
    for ch in MD_SPECIAL:
        s = s.replace(ch, "\\" + ch)
    return s


def _t(key: str, lang: str = "en", **kw) -> str:
    entry = _TEXT[key]
    s = entry.get(lang) or entry["en"]
    return s.format(**kw) if kw else s


def gate_title(gate: str, lang: str = "en") -> str:
    """'i' -> 'i_t · input gate' (or '输入门')."""
    sym, en, zh = GATE_INFO.get(gate, (gate, gate, gate))
    return f"{sym} · {zh if lang == 'zh' else en}"


def gate_kind(gate: str) -> str:
    """'sigmoid' | 'tanh' | 'cell'."""
    return "sigmoid" if gate in SIGMOID else "cell" if gate in CELL else "tanh"


def _base_layout(fig: go.Figure, title: str, height: int, meta: dict) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, font=dict(size=15)),
        font=FONT,
        height=height,
        margin=dict(l=60, r=30, t=60, b=40),
        meta=meta,
        hoverlabel=dict(font=dict(family=FONT_FAMILY)),
    )
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


def _hover_tokens(trace: "Trace", lang: str) -> list[str]:
    unk = list(trace.unk) if trace.unk is not None else [False] * len(trace.tokens)
    return [html.escape(tok) + (_t("unk", lang) if u else "") for tok, u in zip(trace.tokens, unk)]


def _token_axis(fig: go.Figure, tokens: Sequence[str], max_ticks: int = TOKEN_TICKS, **where) -> None:
    """A token x axis: thinned labels (``token_ticks``), level while they fit, else slanted or upright: never overlapping."""
    pos, text = token_ticks(tokens, max_ticks)
    fig.update_xaxes(tickmode="array", tickvals=pos, ticktext=text, autotickangles=[0, -90],
                     range=[-0.5, len(tokens) - 0.5], **where)


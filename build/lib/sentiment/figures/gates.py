"""Figures and exports built from a probe ``Trace``: pure functions, Trace -> plotly Figure (or text).

Nothing here imports streamlit or touches a model: every function reads the arrays of a Trace
(``sentiment.probe``) and returns a ``plotly.graph_objects.Figure``, an HTML snippet or CSV text,
so the same views come out of tests, notebooks and the app. Every figure's text speaks English or
Chinese (``lang="en" | "zh"``) and uses a font family that renders Chinese tokens.

Figures carry ``layout.meta`` with what they show (tokens, unit indices, kind), for tests and for
anyone reading a figure's JSON.

Colour scales: sigmoid gates (values in [0, 1]) use a sequential scale fixed to [0, 1]; tanh
quantities (g, n, h in [-1, 1]) a diverging scale fixed to [-1, 1]; the LSTM cell state c a diverging
scale symmetric about 0 up to its largest magnitude in the review. Panels of one kind share one
colour axis, so one colour means one value across them.
"""

from __future__ import annotations

import math

import csv
import html
import io
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np
import plotly.graph_objects as go

if TYPE_CHECKING:  # the probe is only needed for its types here
    from sentiment.probe.counterfactual import TraceDiff
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


def token_ticks(tokens: Sequence[str], max_ticks: int = 80) -> tuple[list[int], list[str]]:
    """Tick positions and labels for a token axis: every token up to max_ticks, else every k-th."""
    n = len(tokens)
    step = max(1, int(np.ceil(n / max_ticks)))
    pos = list(range(0, n, step))
    return pos, [html.escape(tokens[p], quote=False) for p in pos]


def _hover_tokens(trace: "Trace", lang: str) -> list[str]:
    unk = list(trace.unk) if trace.unk is not None else [False] * len(trace.tokens)
    return [html.escape(tok) + (_t("unk", lang) if u else "") for tok, u in zip(trace.tokens, unk)]


def _token_axis(fig: go.Figure, tokens: Sequence[str], max_ticks: int = 80, **where) -> None:
    pos, text = token_ticks(tokens, max_ticks)
    fig.update_xaxes(tickmode="array", tickvals=pos, ticktext=text, tickangle=-60 if len(tokens) > 12 else 0,
                     range=[-0.5, len(tokens) - 0.5], **where)


# ---- units: sorting and filtering ---------------------------------------------------------------


def unit_scores(trace: "Trace", layer: int = 0, direction: str = "forward", sort: str = "activity") -> np.ndarray:
    """A score per hidden unit [H] (higher = shown first), computed on the hidden state h_t.

    activity: mean |h|; variance: variance of h over the tokens; correlation: |Pearson correlation|
    between h over the tokens and the prefix prediction P(positive) (variance when there is none).
    """
    h = np.asarray(trace.gate("h", layer, direction), dtype=np.float64)  # [T, H]
    if sort == "activity":
        return np.abs(h).mean(0)
    if sort == "variance" or (sort == "correlation" and (trace.prefix_probs is None or h.shape[0] < 2)):
        return h.var(0)
    if sort == "correlation":
        p = np.asarray(trace.prefix_probs, dtype=np.float64)[: h.shape[0]]  # [T]
        hc, pc = h - h.mean(0), p - p.mean()
        denom = np.sqrt((hc**2).sum(0) * (pc**2).sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.where(denom > 0, (hc * pc[:, None]).sum(0) / np.where(denom > 0, denom, 1), 0.0)
        return np.abs(r)
    if sort == "none":
        return np.zeros(h.shape[1])
    raise ValueError(f"unknown unit sort {sort!r}; choose one of {', '.join(SORTS)}")


def unit_order(trace: "Trace", layer: int = 0, direction: str = "forward", sort: str = "none", top_k: int | None = None) -> np.ndarray:
    """Indices of the units to show, best first (stable: ties keep unit order), at most top_k."""
    scores = unit_scores(trace, layer, direction, sort)
    order = np.arange(len(scores)) if sort == "none" else np.argsort(-scores, kind="stable")
    if top_k is not None:
        order = order[: max(1, int(top_k))]
    return order


# ---- gate heatmaps ------------------------------------------------------------------------------


def gate_heatmaps(
    trace: "Trace",
    layer: int = 0,
    direction: str = "forward",
    gates: Iterable[str] | None = None,
    sort: str = "none",
    top_k: int | None = None,
    lang: str = "en",
    max_ticks: int = 80,
) -> go.Figure:
    """One heatmap panel per gate of one layer and direction: tokens along x, hidden units along y.

    Units are ordered by ``sort`` (see :func:`unit_scores`) and cut to ``top_k``; every panel shows
    the same units in the same order. Hover: token, position, unit, value.
    """
    lt = _layer_trace(trace, layer, direction)
    names = [g for g in (gates if gates is not None else lt.gates.keys()) if g in lt.gates]
    if not names:
        raise ValueError(f"none of the gates {list(gates or [])} exist for a {trace.cell} layer")
    order = unit_order(trace, layer, direction, sort, top_k)
    T = len(trace.tokens)
    units = [f"u{j}" for j in order]
    hover_tok = np.array(_hover_tokens(trace, lang), dtype=object)
    text = np.broadcast_to(hover_tok[None, :], (len(order), T))  # [K, T]
    hovertemplate = (
        f"{_t('token', lang)}: %{{text}}<br>{_t('position', lang)}: %{{x}}<br>"
        f"{_t('unit', lang)}: %{{y}}<br>{_t('value', lang)}: %{{z:.3f}}<extra>%{{meta}}</extra>"
    )
    c_max = 1.0
    if "c" in names:
        c_max = max(1.0, float(np.abs(lt.gates["c"][:T]).max(initial=0.0)))
    panel_h = int(np.clip(8 * len(order), 90, 240))  # pixels per panel
    n = len(names)
    gap_px = 34  # room for each panel's title
    plot_h = n * panel_h + (n - 1) * gap_px
    gap = gap_px / plot_h
    frac = panel_h / plot_h
    axes = {"sigmoid": "coloraxis", "tanh": "coloraxis2", "cell": "coloraxis3"}
    x = np.arange(T)
    data, layout = [], {"annotations": []}
    for row, g in enumerate(names):
        sfx = str(row + 1) if row else ""
        top = 1.0 - row * (frac + gap)
        z = np.asarray(lt.gates[g], dtype=np.float32)[:T, order].T  # [K, T]
        data.append(dict(type="heatmap", z=z, x=x, y=units, text=text, hovertemplate=hovertemplate,
                         coloraxis=axes[gate_kind(g)], name=g, meta=gate_title(g, lang), xaxis=f"x{sfx}", yaxis=f"y{sfx}"))
        layout[f"yaxis{sfx}"] = dict(domain=[max(0.0, top - frac), top], anchor=f"x{sfx}", autorange="reversed",
                                     showticklabels=len(order) <= 40, tickfont=dict(size=10))
        layout[f"xaxis{sfx}"] = dict(anchor=f"y{sfx}", domain=[0.0, 1.0], showticklabels=row == n - 1,
                                     **({"matches": "x"} if row else {}))
        layout["annotations"].append(dict(text=gate_title(g, lang), x=0.5, y=top, xref="paper", yref="paper",
                                          xanchor="center", yanchor="bottom", showarrow=False, font=dict(size=13)))
    kinds = {gate_kind(g) for g in names}
    bars = [k for k in ("sigmoid", "tanh", "cell") if k in kinds]
    # horizontal colour bars under the token labels, side by side: they fit any width
    cb = lambda k: _h_colorbar(_t(k, lang), bars.index(k))  # noqa: E731
    if "sigmoid" in kinds:
        layout["coloraxis"] = dict(colorscale="Viridis", cmin=0.0, cmax=1.0, colorbar=cb("sigmoid"))
    if "tanh" in kinds:
        layout["coloraxis2"] = dict(colorscale="RdBu", cmin=-1.0, cmax=1.0, cmid=0.0, colorbar=cb("tanh"))
    if "cell" in kinds:
        layout["coloraxis3"] = dict(colorscale="PuOr", cmin=-c_max, cmax=c_max, cmid=0.0, colorbar=cb("cell"))
    fig = go.Figure(data=data, layout=layout)
    _token_axis(fig, trace.tokens, max_ticks)
    dir_name = _t(direction, lang)
    title = _t("heat_title", lang, cell=trace.cell.upper(), layer=layer + 1, direction=dir_name, k=len(order),
               h=int(lt.gates[names[0]].shape[1]), sort=_t(f"sort_{sort}", lang))
    meta = {"kind": "gate_heatmaps", "tokens": list(trace.tokens), "units": [int(j) for j in order],
            "gates": names, "layer": layer, "direction": direction}
    bottom = _token_label_px(T) + 70  # token labels, then the colour bars
    _base_layout(fig, title, 80 + plot_h + bottom, meta)
    fig.update_layout(margin=dict(l=60, r=30, t=80, b=bottom))
    return _place_colorbars(fig, plot_h, _token_label_px(T))


def _layer_trace(trace: "Trace", layer: int, direction: str):
    for lt in trace.layers:
        if lt.layer == layer and lt.direction == direction:
            return lt
    raise ValueError(f"no layer {layer} {direction} in this trace (layers: {trace.num_layers}, bidirectional: {trace.bidirectional})")


def layer_choices(trace: "Trace") -> list[tuple[int, str]]:
    """(layer, direction) pairs present in a trace, in order."""
    return [(lt.layer, lt.direction) for lt in trace.layers]


# ---- edit and diff, cell updates: B - A on aligned tokens; what each step kept and wrote -----------
# (from sentiment.probe.counterfactual.TraceDiff and sentiment.probe.updates; colour: diverging, centred on 0)

_TEXT.update({
    "diff_title": {"en": "Change in the gates (B − A) · layer {layer} · {direction} · {k} of {h} units (most changed first)",
                   "zh": "门控的变化（B − A）· 第 {layer} 层 · {direction} · {h} 个单元中变化最大的 {k} 个"},
    "diff_sigmoid": {"en": "Δ σ gates", "zh": "σ 门的变化"},
    "diff_tanh": {"en": "Δ tanh", "zh": "tanh 量的变化"},
    "diff_cell": {"en": "Δ cell state", "zh": "细胞状态的变化"},
    "change": {"en": "change", "zh": "变化"},
    "only_a": {"en": "only in A (deleted)", "zh": "仅在 A 中（被删除）"},
    "only_b": {"en": "only in B (inserted)", "zh": "仅在 B 中（被插入）"},
    "diff_prefix_title": {"en": "P(positive) after each prefix, A and B on aligned tokens (bars: B − A)",
                          "zh": "逐前缀的 P(正面)：A 与 B 按词元对齐（柱：B − A）"},
    "kept": {"en": "kept", "zh": "保留"},
    "written": {"en": "written", "zh": "写入"},
    "kept_lstm": {"en": "kept f_t ⊙ c_{t−1}", "zh": "保留 f_t ⊙ c_{t−1}"},
    "written_lstm": {"en": "written i_t ⊙ g_t", "zh": "写入 i_t ⊙ g_t"},
    "kept_gru": {"en": "kept z_t ⊙ h_{t−1}", "zh": "保留 z_t ⊙ h_{t−1}"},
    "written_gru": {"en": "written (1 − z_t) ⊙ n_t", "zh": "写入 (1 − z_t) ⊙ n_t"},
    "state_lstm": {"en": "cell state c_t = kept + written", "zh": "细胞状态 c_t = 保留 + 写入"},
    "state_gru": {"en": "hidden state h_t = kept + written", "zh": "隐藏状态 h_t = 保留 + 写入"},
    "updates_title": {"en": "{cell} updates, kept and written · layer {layer} · {direction} · {k} of {h} units (most written first)",
                      "zh": "{cell} 状态更新：保留与写入 · 第 {layer} 层 · {direction} · {h} 个单元中写入最多的 {k} 个"},
    "update_unit_title": {"en": "Unit {unit} · layer {layer} · {direction}: what each step kept and wrote",
                          "zh": "单元 {unit} · 第 {layer} 层 · {direction}：每一步保留与写入了多少"},
})


def _sym_max(arrays: Iterable[np.ndarray], floor: float = 1e-6) -> float:
    """The largest finite |value| over the arrays (at least ``floor``): a symmetric colour range."""
    top = floor
    for a in arrays:
        a = np.asarray(a, dtype=np.float64)
        if np.isfinite(a).any():
            top = max(top, float(np.nanmax(np.abs(a))))
    return top


def _panel_grid(panels: Sequence[tuple[str, str, np.ndarray, str]], units: Sequence[str], text: np.ndarray,
                hovertemplate: str) -> tuple[list[dict], dict, int]:
    """Heatmap panels stacked top to bottom, sharing the x axis: (name, title, z [K, R], coloraxis) each.
    Returns (data, layout, plot height in pixels)."""
    panel_h = int(np.clip(8 * len(units), 90, 240))
    n, gap_px = len(panels), 34
    plot_h = n * panel_h + (n - 1) * gap_px
    gap, frac = gap_px / plot_h, panel_h / plot_h
    data, layout = [], {"annotations": []}
    for row, (name, title, z, axis) in enumerate(panels):
        sfx = str(row + 1) if row else ""
        top = 1.0 - row * (frac + gap)
        data.append(dict(type="heatmap", z=z, x=np.arange(z.shape[1]), y=list(units), text=text, hoverongaps=False,
                         hovertemplate=hovertemplate, coloraxis=axis, name=name, meta=title,
                         xaxis=f"x{sfx}", yaxis=f"y{sfx}"))
        layout[f"yaxis{sfx}"] = dict(domain=[max(0.0, top - frac), top], anchor=f"x{sfx}", autorange="reversed",
                                     showticklabels=len(units) <= 40, tickfont=dict(size=10))
        layout[f"xaxis{sfx}"] = dict(anchor=f"y{sfx}", domain=[0.0, 1.0], showticklabels=row == n - 1,
                                     **({"matches": "x"} if row else {}))
        layout["annotations"].append(dict(text=title, x=0.5, y=top, xref="paper", yref="paper", xanchor="center",
                                          yanchor="bottom", showarrow=False, font=dict(size=13)))
    return data, layout, plot_h


def _h_colorbar(title: str, slot: int) -> dict:
    """A horizontal colour bar in slot 0, 1 or 2 under the plot, its title above it (placed by _place_colorbars)."""
    return dict(orientation="h", title=dict(text=title, side="top", font=dict(size=11)), x=0.02 + 0.34 * slot,
                xanchor="left", len=0.28, thickness=10, tickfont=dict(size=10), nticks=4)  # few ticks: none crowded at half width


def _token_label_px(n_tokens: int) -> int:
    """Pixels the token labels take under a token axis (slanted from 13 tokens on)."""
    return 75 if n_tokens > 12 else 40


def _place_colorbars(fig: go.Figure, plot_h: int, below_px: int) -> go.Figure:
    """Hang every colour axis's bar from just under the token labels (``below_px`` under a plot area
    ``plot_h`` pixels tall), its title on top. Paper coordinates: bars in container coordinates get
    their titles drawn across the bar by the plotly.js in Streamlit."""
    y = -(below_px + 6) / max(1, plot_h)
    for name in ("coloraxis", "coloraxis2", "coloraxis3"):
        axis = getattr(fig.layout, name, None)
        if axis is not None and axis.colorbar is not None and axis.colorbar.orientation == "h":
            axis.colorbar.update(y=y, yref="paper", yanchor="top")
    return fig


def _finish_panels(fig: go.Figure, labels: Sequence[str], title: str, meta: dict, plot_h: int, max_ticks: int) -> go.Figure:
    _token_axis(fig, labels, max_ticks)
    bottom = _token_label_px(len(labels)) + 70  # token labels, then the colour bars
    _base_layout(fig, title, 80 + plot_h + bottom, meta)
    fig.update_layout(margin=dict(l=60, r=30, t=80, b=bottom))
    return _place_colorbars(fig, plot_h, _token_label_px(len(labels)))


def diff_heatmaps(diff: "TraceDiff", layer: int = 0, direction: str = "forward", gates: Iterable[str] | None = None,
                  top_k: int | None = None, lang: str = "en", max_ticks: int = 80) -> go.Figure:
    """B − A of each gate of one layer and direction, one panel per gate, on the aligned tokens.

    x: the aligned rows, labelled with the token ("a→b" where it was replaced, "−a" deleted from A,
    "+b" inserted in B); rows without a partner are empty (NaN) and shaded. Units are ordered by
    their mean |change| over the shown gates, most changed first, cut to ``top_k``. Each kind of
    quantity (σ gates, tanh quantities, the cell state) has its own diverging scale centred on 0,
    symmetric up to its largest change."""
    if (layer, direction) not in diff.gates:
        raise ValueError(f"no layer {layer} {direction} in these traces")
    all_gates = diff.gates[(layer, direction)]  # gate -> [R, H]
    names = [g for g in (gates if gates is not None else all_gates) if g in all_gates]
    if not names:
        raise ValueError(f"none of the gates {list(gates or [])} exist for a {diff.cell} layer")
    al = diff.alignment
    R, H = next(iter(all_gates.values())).shape
    with np.errstate(invalid="ignore"):
        change = np.zeros(H)
        if al.paired.any():
            change = sum(np.nanmean(np.abs(all_gates[g][al.paired]), 0) for g in names)  # [H]
    order = np.argsort(-change, kind="stable")[: max(1, int(top_k)) if top_k else H]
    labels = al.labels()
    units = [f"u{j}" for j in order]
    hov = np.array([f"A: {html.escape(al.tokens_a[i]) if i is not None else '—'} · B: "
                    f"{html.escape(al.tokens_b[j]) if j is not None else '—'}" for i, j in al.rows], dtype=object)
    text = np.broadcast_to(hov[None, :], (len(order), R))
    hovertemplate = (f"%{{text}}<br>{_t('position', lang)}: %{{x}}<br>{_t('unit', lang)}: %{{y}}<br>"
                     f"{_t('change', lang)}: %{{z:+.3f}}<extra>%{{meta}}</extra>")
    axes = {"sigmoid": "coloraxis", "tanh": "coloraxis2", "cell": "coloraxis3"}
    panels = [(g, "Δ " + gate_title(g, lang), all_gates[g][:, order].T, axes[gate_kind(g)]) for g in names]  # z [K, R]
    data, layout, plot_h = _panel_grid(panels, units, text, hovertemplate)
    kinds = [k for k in ("sigmoid", "tanh", "cell") if any(gate_kind(g) == k for g in names)]
    for k in kinds:
        m = _sym_max(all_gates[g][:, order] for g in names if gate_kind(g) == k)
        layout[axes[k]] = dict(
            colorscale="RdBu", cmin=-m, cmax=m, cmid=0.0, colorbar=_h_colorbar(_t(f"diff_{k}", lang), kinds.index(k)))
    layout["shapes"] = [dict(type="rect", xref="x", yref="paper", x0=r - 0.5, x1=r + 0.5, y0=0, y1=1, layer="below",
                             fillcolor="rgba(128,128,128,0.18)", line_width=0)
                        for r in range(R) if not al.paired[r]]
    fig = go.Figure(data=data, layout=layout)
    title = _t("diff_title", lang, layer=layer + 1, direction=_t(direction, lang), k=len(order), h=H)
    meta = {"kind": "diff_heatmaps", "tokens_a": list(al.tokens_a), "tokens_b": list(al.tokens_b),
            "rows": [list(r) for r in al.rows], "ops": list(al.ops), "labels": labels, "units": [int(j) for j in order],
            "gates": names, "layer": layer, "direction": direction, "delta_p": diff.delta_p}
    return _finish_panels(fig, labels, title, meta, plot_h, max_ticks)


def diff_prefix(diff: "TraceDiff", names: Sequence[str] = ("A", "B"), lang: str = "en", max_ticks: int = 80) -> go.Figure:
    """The prefix curves of A and B on the aligned tokens (lines run across the other review's extra
    tokens) and their difference B − A as bars where both have the token."""
    al = diff.alignment
    labels = al.labels()
    x = np.arange(len(al.rows))
    fig = go.Figure()
    fig.add_hline(y=0.5, line_dash="dot", line_color="grey")
    delta = diff.prefix_delta
    if delta is not None:
        # no legend entry: its swatch would take the first bar's colour (blue even when every bar is red);
        # the title says what the bars are
        fig.add_trace(go.Bar(x=x, y=delta, name=f"{html.escape(names[1])} − {html.escape(names[0])}", yaxis="y2", showlegend=False,
                             marker_color=[POSITIVE_COLOR if (v >= 0) else NEGATIVE_COLOR for v in np.nan_to_num(delta)],
                             opacity=0.45, hovertemplate=f"%{{x}}: {_t('change', lang)} %{{y:+.3f}}<extra></extra>"))
    for i, (curve, nm) in enumerate(zip((diff.prefix_a, diff.prefix_b), names)):
        if curve is None:
            continue
        fig.add_trace(go.Scatter(x=x, y=curve, mode="lines+markers", name=html.escape(nm), connectgaps=True,
                                 text=labels, line=dict(color=SERIES_COLORS[i]),
                                 hovertemplate=f"{html.escape(nm)}<br>{_t('token', lang)}: %{{text}}<br>"
                                               f"{_t('p_pos', lang)}: %{{y:.3f}}<extra></extra>"))
    if diff.prefix_a is None and diff.prefix_b is None:
        fig.add_annotation(text=_t("not_computed", lang), showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_layout(yaxis=dict(range=[0, 1], title=_t("p_pos", lang)),
                      yaxis2=dict(range=[-1, 1], overlaying="y", side="right", title=_t("change", lang), showgrid=False),
                      legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))
    _token_axis(fig, labels, max_ticks)
    meta = {"kind": "diff_prefix", "labels": labels, "names": list(names), "delta_p": diff.delta_p}
    return _base_layout(fig, _t("diff_prefix_title", lang), 380, meta)


def update_heatmaps(trace: "Trace", layer: int = 0, direction: str = "forward", top_k: int | None = None,
                    lang: str = "en", max_ticks: int = 80) -> go.Figure:
    """Three panels over the tokens: what each step kept (f_t ⊙ c_{t−1} | z_t ⊙ h_{t−1}), what it
    wrote (i_t ⊙ g_t | (1 − z_t) ⊙ n_t) and the resulting state (their sum), one diverging scale
    centred on 0 for all three. Units: most written first (mean |written|), cut to ``top_k``."""
    from sentiment.probe.updates import cell_updates

    u = cell_updates(trace, layer, direction)
    T, H = u.state.shape
    order = np.argsort(-np.abs(u.written).mean(0), kind="stable")[: max(1, int(top_k)) if top_k else H]
    units = [f"u{j}" for j in order]
    text = np.broadcast_to(np.array(_hover_tokens(trace, lang), dtype=object)[None, :], (len(order), T))
    hovertemplate = (f"{_t('token', lang)}: %{{text}}<br>{_t('position', lang)}: %{{x}}<br>{_t('unit', lang)}: %{{y}}<br>"
                     f"{_t('value', lang)}: %{{z:+.3f}}<extra>%{{meta}}</extra>")
    panels = [("kept", _t(f"kept_{u.cell}", lang), u.kept[:, order].T, "coloraxis"),
              ("written", _t(f"written_{u.cell}", lang), u.written[:, order].T, "coloraxis"),
              (u.state_name, _t(f"state_{u.cell}", lang), u.state[:, order].T, "coloraxis")]
    data, layout, plot_h = _panel_grid(panels, units, text, hovertemplate)
    m = _sym_max(p[2] for p in panels)
    layout["coloraxis"] = dict(colorscale="PuOr", cmin=-m, cmax=m, cmid=0.0, colorbar=_h_colorbar(_t("value", lang), 0))
    fig = go.Figure(data=data, layout=layout)
    title = _t("updates_title", lang, cell=u.cell.upper(), layer=layer + 1, direction=_t(direction, lang), k=len(order), h=H)
    meta = {"kind": "update_heatmaps", "tokens": list(trace.tokens), "units": [int(j) for j in order],
            "panels": [p[0] for p in panels], "layer": layer, "direction": direction, "cell": u.cell}
    return _finish_panels(fig, trace.tokens, title, meta, plot_h, max_ticks)


def update_unit(trace: "Trace", unit: int, layer: int = 0, direction: str = "forward", lang: str = "en",
                max_ticks: int = 80) -> go.Figure:
    """One unit over the tokens: kept and written as stacked bars (signed: bars below 0 stack
    downwards) and the resulting state (their sum) as a line."""
    from sentiment.probe.updates import cell_updates

    u = cell_updates(trace, layer, direction)
    T, H = u.state.shape
    if not 0 <= int(unit) < H:
        raise ValueError(f"unit {unit} is out of range: this model has units 0 to {H - 1}")
    x, hover = np.arange(T), _hover_tokens(trace, lang)
    fig = go.Figure()
    for name, y, color in (("kept", u.kept[:, unit], "rgb(120,120,120)"), ("written", u.written[:, unit], SERIES_COLORS[1])):
        fig.add_trace(go.Bar(x=x, y=y, name=_t(f"{name}_{u.cell}", lang), marker_color=color, text=hover, textposition="none",
                             hovertemplate=f"{_t('token', lang)}: %{{text}}<br>{_t(name, lang)}: %{{y:+.3f}}<extra></extra>"))
    fig.add_trace(go.Scatter(x=x, y=u.state[:, unit], mode="lines+markers", name=_t(f"state_{u.cell}", lang), text=hover,
                             line=dict(color="black"),
                             hovertemplate=f"{_t('token', lang)}: %{{text}}<br>{u.state_name}_t: %{{y:+.3f}}<extra></extra>"))
    fig.add_hline(y=0, line_color="grey", line_width=1)
    fig.update_layout(barmode="relative", yaxis_title=_t("value", lang),
                      legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))
    _token_axis(fig, trace.tokens, max_ticks)
    meta = {"kind": "update_unit", "tokens": list(trace.tokens), "unit": int(unit), "layer": layer,
            "direction": direction, "cell": u.cell}
    title = _t("update_unit_title", lang, unit=int(unit), layer=layer + 1, direction=_t(direction, lang))
    return _base_layout(fig, title, 360 if T <= 12 else 400, meta)


# ---- prediction, pooling, reading -----------------------------------------------------------------


def pooling_credit(trace: "Trace") -> dict[str, np.ndarray]:
    """Per-token credit of the pooling, split by direction where the pooling reads units [T] each.

    max / last (with winners): {"forward": share of all D units won by each token, "backward": ...};
    mean / attention: {"weight": the weights}.
    """
    T = len(trace.tokens)
    winners = trace.pool_winners
    if winners is not None and trace.pooling in ("max", "last"):
        w = np.asarray(winners, dtype=np.int64)
        D = len(w)
        halves = {"forward": w[: D // 2], "backward": w[D // 2 :]} if trace.bidirectional else {"forward": w}
        return {k: np.bincount(v[(v >= 0) & (v < T)], minlength=T)[:T] / D for k, v in halves.items()}
    return {"weight": np.asarray(trace.pool_weights, dtype=np.float64)[:T]}


def pooling_bar(trace: "Trace", lang: str = "en", max_ticks: int = 80) -> go.Figure:
    """Which tokens the pooling kept, as bars over the tokens."""
    T = len(trace.tokens)
    credit = pooling_credit(trace)
    fig = go.Figure()
    hover = _hover_tokens(trace, lang)
    ylab = _t("share", lang) if trace.pooling in ("max", "last") else _t("weight", lang)
    for i, (k, v) in enumerate(credit.items()):
        fig.add_trace(go.Bar(
            x=np.arange(T), y=v, name=_t(k, lang) if k != "weight" else _t("weight", lang), text=hover,
            marker_color=SERIES_COLORS[i], textposition="none",
            hovertemplate=f"{_t('token', lang)}: %{{text}}<br>{_t('position', lang)}: %{{x}}<br>{ylab}: %{{y:.3f}}<extra></extra>",
        ))
    fig.update_layout(barmode="stack", yaxis_title=ylab, showlegend=len(credit) > 1,
                      legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))
    _token_axis(fig, trace.tokens, max_ticks)
    title = _t(f"pool_{trace.pooling}", lang, d=len(trace.pooled), t=T) if f"pool_{trace.pooling}" in _TEXT else trace.pooling
    meta = {"kind": "pooling_bar", "tokens": list(trace.tokens), "pooling": trace.pooling, "series": list(credit)}
    return _base_layout(fig, title, 330 if T <= 12 else 380, meta)


def prefix_curve(trace: "Trace", lang: str = "en", max_ticks: int = 80) -> go.Figure:
    """P(positive) after each prefix of the review as a line over the tokens, with the 0.5 line."""
    T = len(trace.tokens)
    fig = go.Figure()
    fig.add_hline(y=0.5, line_dash="dot", line_color="grey")
    if trace.prefix_probs is not None:
        fig.add_trace(go.Scatter(
            x=np.arange(T), y=np.asarray(trace.prefix_probs, dtype=np.float64)[:T], mode="lines+markers",
            name=trace.model_name or _t("p_pos", lang), text=_hover_tokens(trace, lang), line=dict(color=SERIES_COLORS[0]),
            hovertemplate=f"{_t('token', lang)}: %{{text}}<br>{_t('position', lang)}: %{{x}}<br>{_t('p_pos', lang)}: %{{y:.3f}}<extra></extra>",
        ))
    else:
        fig.add_annotation(text=_t("not_computed", lang), showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_yaxes(range=[0, 1], title=_t("p_pos", lang))
    _token_axis(fig, trace.tokens, max_ticks)
    meta = {"kind": "prefix_curve", "tokens": list(trace.tokens)}
    return _base_layout(fig, _t("prefix_title", lang), 340 if T <= 12 else 390, meta)


def attribution(trace: "Trace", method: str = "occlusion") -> np.ndarray | None:
    """The chosen attribution [T] ('occlusion' | 'integrated_gradients'), or None if not computed."""
    if method not in ("occlusion", "integrated_gradients"):
        raise ValueError(f"unknown attribution {method!r} (occlusion or integrated_gradients)")
    a = getattr(trace, method)
    return None if a is None else np.asarray(a, dtype=np.float64)[: len(trace.tokens)]


def attribution_bar(trace: "Trace", method: str = "occlusion", lang: str = "en", max_ticks: int = 80) -> go.Figure:
    """Bars over the tokens: positive attribution (towards 'positive') blue, negative magenta."""
    T = len(trace.tokens)
    a = attribution(trace, method)
    fig = go.Figure()
    if a is not None:
        fig.add_trace(go.Bar(
            x=np.arange(T), y=a, text=_hover_tokens(trace, lang), textposition="none",
            marker_color=[POSITIVE_COLOR if v >= 0 else NEGATIVE_COLOR for v in a],
            hovertemplate=f"{_t('token', lang)}: %{{text}}<br>{_t('position', lang)}: %{{x}}<br>{_t('attribution', lang)}: %{{y:.4f}}<extra></extra>",
        ))
    else:
        fig.add_annotation(text=_t("not_computed", lang), showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_yaxes(title=_t("attribution", lang), zeroline=True)
    _token_axis(fig, trace.tokens, max_ticks)
    meta = {"kind": "attribution_bar", "tokens": list(trace.tokens), "method": method}
    return _base_layout(fig, _t(method, lang), 330 if T <= 12 else 380, meta)


def attribution_html(tokens: Sequence[str], scores: Sequence[float] | None, unk: Sequence[bool] | None = None, language: str = "en") -> str:
    """The review as HTML spans, each token's background coloured by its score (blue +, magenta -).

    Tokens are HTML-escaped; opacity is |score| / max |score|. Out-of-vocabulary tokens are underlined
    with dots. English tokens are separated by spaces, Chinese ones are not.
    """
    s = np.zeros(len(tokens)) if scores is None else np.nan_to_num(np.asarray(scores, dtype=np.float64)[: len(tokens)])
    top = float(np.abs(s).max(initial=0.0)) or 1.0
    unk = list(unk) if unk is not None else [False] * len(tokens)
    spans = []
    for tok, v, u in zip(tokens, s, unk):
        r, g, b = POSITIVE_RGB if v >= 0 else NEGATIVE_RGB
        alpha = min(1.0, abs(v) / top) * 0.85
        style = f"background: rgba({r},{g},{b},{alpha:.2f}); border-radius: 3px; padding: 1px 2px;"
        if u:
            style += " text-decoration: underline dotted;"
        spans.append(f'<span title="{v:+.4f}" style="{style}">{html.escape(tok)}</span>')
    sep = "" if language == "zh" else " "
    return f'<div style="line-height: 2.0; font-family: {html.escape(FONT_FAMILY, quote=True)};">{sep.join(spans)}</div>'


# ---- saturation ------------------------------------------------------------------------------------


def saturation_shares(trace: "Trace", layer: int = 0, direction: str = "forward", low: float = 0.1, high: float = 0.9) -> dict[str, tuple[float, float]]:
    """gate -> (share of values below ``low``, share above ``high``) over all tokens and units.

    Sigmoid gates of the cell; for a vanilla RNN, h_t with |h| above ``high`` (as (share < -high, share > high)).
    """
    lt = _layer_trace(trace, layer, direction)
    T = len(trace.tokens)
    out = {}
    names = [g for g in lt.gates if g in SIGMOID]
    if names:
        for g in names:
            v = np.asarray(lt.gates[g])[:T]
            out[g] = (float((v < low).mean()), float((v > high).mean()))
    elif "h" in lt.gates:
        v = np.asarray(lt.gates["h"])[:T]
        out["h"] = (float((v < -high).mean()), float((v > high).mean()))
    return out


def saturation_histogram(trace: "Trace", layer: int = 0, direction: str = "forward", bins: int = 20,
                         low: float = 0.1, high: float = 0.9, lang: str = "en") -> go.Figure:
    """Histogram of each sigmoid gate's values (all tokens and units) with the saturated zones shaded.

    A vanilla RNN has no sigmoid gates: its tanh hidden state h_t is shown over [-1, 1] instead.
    """
    lt = _layer_trace(trace, layer, direction)
    T = len(trace.tokens)
    names = [g for g in lt.gates if g in SIGMOID]
    sigmoid = bool(names)
    if not sigmoid:
        names = ["h"] if "h" in lt.gates else []
    lo_edge, hi_edge = (0.0, 1.0) if sigmoid else (-1.0, 1.0)
    edges = np.linspace(lo_edge, hi_edge, bins + 1)
    centers = (edges[:-1] + edges[1:]) / 2
    shares = saturation_shares(trace, layer, direction, low, high)
    fig = go.Figure()
    for i, g in enumerate(names):
        v = np.clip(np.asarray(lt.gates[g])[:T].ravel(), lo_edge, hi_edge)
        counts, _ = np.histogram(v, bins=edges)
        left, right = shares.get(g, (0.0, 0.0))
        fig.add_trace(go.Bar(
            x=centers, y=counts / max(1, v.size), name=f"{gate_title(g, lang)} ({left:.0%} | {right:.0%})",
            marker_color=SERIES_COLORS[i % len(SERIES_COLORS)],
            hovertemplate=f"{g}: %{{x:.2f}}<br>{_t('share_values', lang)}: %{{y:.1%}}<extra></extra>",
        ))
    if sigmoid:
        fig.add_vrect(x0=0.0, x1=low, fillcolor="grey", opacity=0.15, line_width=0)
        fig.add_vrect(x0=high, x1=1.0, fillcolor="grey", opacity=0.15, line_width=0)
        title = _t("sat_title", lang, layer=layer + 1, direction=_t(direction, lang), lo=low, hi=high)
    else:
        fig.add_vrect(x0=-1.0, x1=-high, fillcolor="grey", opacity=0.15, line_width=0)
        fig.add_vrect(x0=high, x1=1.0, fillcolor="grey", opacity=0.15, line_width=0)
        title = _t("sat_title_rnn", lang, layer=layer + 1, direction=_t(direction, lang), hi=high)
    fig.update_layout(barmode="group", bargap=0.15, bargroupgap=0.0, xaxis_title=_t("gate_value", lang), yaxis_title=_t("share_values", lang),
                      yaxis_tickformat=".0%", legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))
    fig.update_xaxes(range=[lo_edge, hi_edge])
    meta = {"kind": "saturation_histogram", "gates": names, "shares": {g: list(v) for g, v in shares.items()},
            "layer": layer, "direction": direction}
    return _base_layout(fig, title, 360, meta)


# ---- comparing models ------------------------------------------------------------------------------


def _compare_axis(fig: go.Figure, traces: Sequence["Trace"], max_ticks: int) -> None:
    longest = max(traces, key=lambda tr: len(tr.tokens))
    _token_axis(fig, longest.tokens, max_ticks)


def compare_prefix(traces: Sequence["Trace"], names: Sequence[str], lang: str = "en", max_ticks: int = 80) -> go.Figure:
    """Prefix curves of several models on the same review, overlaid."""
    fig = go.Figure()
    fig.add_hline(y=0.5, line_dash="dot", line_color="grey")
    for i, (tr, nm) in enumerate(zip(traces, names)):
        if tr.prefix_probs is None:
            continue
        fig.add_trace(go.Scatter(
            x=np.arange(len(tr.tokens)), y=np.asarray(tr.prefix_probs, dtype=np.float64)[: len(tr.tokens)],
            mode="lines+markers", name=nm, text=_hover_tokens(tr, lang), line=dict(color=SERIES_COLORS[i % 4]),
            hovertemplate=f"{html.escape(nm)}<br>{_t('token', lang)}: %{{text}}<br>{_t('position', lang)}: %{{x}}<br>"
                          f"{_t('p_pos', lang)}: %{{y:.3f}}<extra></extra>",
        ))
    fig.update_yaxes(range=[0, 1], title=_t("p_pos", lang))
    fig.update_layout(legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))
    _compare_axis(fig, traces, max_ticks)
    meta = {"kind": "compare_prefix", "names": list(names), "tokens": [list(tr.tokens) for tr in traces]}
    return _base_layout(fig, _t("prefix_title", lang), 380, meta)


def compare_pooling(traces: Sequence["Trace"], names: Sequence[str], lang: str = "en", max_ticks: int = 80) -> go.Figure:
    """Per-token pooling credit (summed over directions) of several models, as grouped bars."""
    fig = go.Figure()
    for i, (tr, nm) in enumerate(zip(traces, names)):
        credit = sum(pooling_credit(tr).values())
        fig.add_trace(go.Bar(
            x=np.arange(len(tr.tokens)), y=credit, name=f"{nm} ({tr.pooling})", text=_hover_tokens(tr, lang),
            textposition="none", marker_color=SERIES_COLORS[i % 4],
            hovertemplate=f"{html.escape(nm)}<br>{_t('token', lang)}: %{{text}}<br>{_t('position', lang)}: %{{x}}<br>"
                          f"{_t('credit', lang)}: %{{y:.3f}}<extra></extra>",
        ))
    fig.update_layout(barmode="group", yaxis_title=_t("credit", lang),
                      legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))
    _compare_axis(fig, traces, max_ticks)
    meta = {"kind": "compare_pooling", "names": list(names), "tokens": [list(tr.tokens) for tr in traces]}
    return _base_layout(fig, _t("compare_pool_title", lang), 380, meta)


# ---- exports -----------------------------------------------------------------------------------


def tokens_csv(trace: "Trace") -> str:
    """One row per token: position, token, unk, pooling credit, prefix P(positive), attributions."""
    T = len(trace.tokens)
    cols = {
        "pool_weight": trace.pool_weights, "prefix_p_positive": trace.prefix_probs,
        "occlusion": trace.occlusion, "integrated_gradients": trace.integrated_gradients,
    }
    cols = {k: np.asarray(v, dtype=np.float64) for k, v in cols.items() if v is not None}
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["position", "token", "id", "unk", *cols])
    for t in range(T):
        w.writerow([t, trace.tokens[t], trace.ids[t], int(bool(trace.unk[t])), *(f"{v[t]:.6g}" for v in cols.values())])
    return buf.getvalue()


def gates_csv(trace: "Trace") -> str:
    """Long format, one row per value: layer, direction, gate, position, token, unit, value."""
    T = len(trace.tokens)
    buf = io.StringIO()
    buf.write("layer,direction,gate,position,token,unit,value\n")
    quoted = []
    for tok in trace.tokens:  # quote each token once
        s = io.StringIO()
        csv.writer(s, lineterminator="").writerow([tok])
        quoted.append(s.getvalue())
    for lt in trace.layers:
        for g, arr in lt.gates.items():
            a = np.asarray(arr, dtype=np.float32)[:T]  # [T, H]
            H = a.shape[1]
            vals = np.char.mod("%.6g", a)
            for t in range(T):
                prefix = f"{lt.layer},{lt.direction},{g},{t},{quoted[t]},"
                buf.write("".join(f"{prefix}{j},{vals[t, j]}\n" for j in range(H)))
    return buf.getvalue()


# ---- the Models page -----------------------------------------------------------------------------


def confusion_heatmap(confusion: Sequence[Sequence[int]], title: str = "", lang: str = "en") -> go.Figure:
    """A 2x2 confusion matrix (rows: true negative/positive; columns: predicted) with counts in the cells."""
    names = ["negative", "positive"] if lang != "zh" else ["负面", "正面"]
    z = [[int(v) for v in row] for row in confusion]
    fig = go.Figure(go.Heatmap(z=z, x=names, y=names, colorscale="Blues", showscale=False, text=z,
                               texttemplate="%{text}", hovertemplate="true %{y}<br>predicted %{x}<br>%{z}<extra></extra>"))
    fig.update_xaxes(title_text="predicted" if lang != "zh" else "预测")
    fig.update_yaxes(title_text="true" if lang != "zh" else "真实", autorange="reversed")
    fig.update_layout(title=title, height=320, margin=dict(l=60, r=20, t=50, b=50), font=dict(family=FONT_FAMILY))
    return fig


def accuracy_grid(rows: Sequence[dict], dataset: str, lang: str = "en") -> go.Figure:
    """Test accuracy per cell (rows) x pooling (columns) for one dataset's models; rows: dicts with
    cell, pooling, test_accuracy (the best model per cell and pooling is shown)."""
    cells = [c for c in ("lstm", "gru", "rnn") if any(r["cell"] == c for r in rows)]
    pools = [p for p in ("last", "max", "mean", "attention") if any(r["pooling"] == p for r in rows)]
    z = [[None] * len(pools) for _ in cells]
    for r in rows:
        if r["cell"] in cells and r["pooling"] in pools and r.get("test_accuracy") is not None:
            i, j = cells.index(r["cell"]), pools.index(r["pooling"])
            z[i][j] = max(z[i][j] or 0.0, float(r["test_accuracy"]) * 100)
    text = [["" if v is None else f"{v:.2f}%" for v in row] for row in z]
    fig = go.Figure(go.Heatmap(z=z, x=pools, y=[c.upper() for c in cells], colorscale="Viridis", text=text,
                               texttemplate="%{text}", colorbar=dict(title="%"),
                               hovertemplate="%{y} · %{x}<br>test accuracy %{z:.2f}%<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    title = f"{dataset}: test accuracy" if lang != "zh" else f"{dataset}：测试准确率"
    fig.update_layout(title=title, height=120 + 70 * len(cells), margin=dict(l=60, r=20, t=50, b=40), font=dict(family=FONT_FAMILY))
    return fig


def run_curves(events: Sequence[dict]) -> go.Figure:
    """A training run's loss and accuracy as it goes: running train loss and accuracy per logged step,
    validation accuracy per epoch (events from sentiment.train's --metrics file)."""
    steps = [e for e in events if e.get("type") == "step"]
    epochs = [e for e in events if e.get("type") == "epoch"]
    fig = go.Figure()
    x = [e["step"] for e in steps]
    fig.add_scatter(x=x, y=[e["loss"] for e in steps], name="train loss", mode="lines+markers", yaxis="y")
    fig.add_scatter(x=x, y=[e["acc"] for e in steps], name="train accuracy", mode="lines+markers", yaxis="y2")
    if epochs:
        last_step = {}
        for e in steps:
            last_step[e["epoch"]] = e["step"]
        fig.add_scatter(x=[last_step.get(e["epoch"], e["epoch"]) for e in epochs], y=[e["val_acc"] for e in epochs],
                        name="validation accuracy", mode="markers", marker=dict(size=10, symbol="diamond"), yaxis="y2")
    fig.update_layout(height=300, margin=dict(l=50, r=50, t=30, b=40), font=FONT, legend=dict(orientation="h", y=1.15),
                      xaxis=dict(title="step"), yaxis=dict(title="loss"),
                      yaxis2=dict(title="accuracy", overlaying="y", side="right", range=[0, 1]))
    return fig


# ---- the Learn page ------------------------------------------------------------------------------


def step_values(trace: "Trace", layer: int, direction: str, t: int, unit: int) -> dict[str, float]:
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


def gradient_norms(curves: dict[str, Sequence[float]], tokens: Sequence[str], lang: str = "en", max_ticks: int = 80) -> go.Figure:
    """||dLoss/dx_t|| over the tokens, one line per model (the vanishing-gradient view)."""
    fig = go.Figure()
    for name, ys in curves.items():
        fig.add_scatter(x=list(range(len(ys))), y=list(ys), name=name, mode="lines+markers")
    _token_axis(fig, tokens, max_ticks)
    fig.update_yaxes(title_text="‖∂loss/∂x_t‖", type="log")
    title = "How much each token still moves the loss" if lang != "zh" else "每个词元对损失的影响还剩多少"
    fig.update_layout(title=title, height=360, margin=dict(l=60, r=20, t=50, b=60), font=FONT,
                      legend=dict(orientation="h", y=1.12))
    return fig


# ---- the Learn page's checks ------------------------------------------------------------------------
def recombine(cell: str, v: dict[str, float]) -> dict[str, float]:
    """The state(s) the cell's update equation gives from one step's gate values (one unit).

    LSTM: {"c": f c_{t-1} + i g, "h": o tanh(c_t)} (h from the traced c_t, as PyTorch does);
    GRU: {"h": (1 - z) n + z h_{t-1}}; RNN: {} (its pre-activation needs the weights).
    ``v`` is what ``figures.step_values`` returns: gate names, plus "c_prev" / "h_prev".
    """
    if cell == "lstm":
        return {"c": v["f"] * v["c_prev"] + v["i"] * v["g"], "h": v["o"] * math.tanh(v["c"])}
    if cell == "gru":
        return {"h": (1.0 - v["z"]) * v["n"] + v["z"] * v["h_prev"]}
    return {}


def spread(norms) -> float:
    """How many times the largest per-token gradient norm is the smallest (inf if one is 0): one number
    for "how much the gradient fades over the review"."""
    values = [float(x) for x in norms]
    if not values:
        return float("nan")
    lo, hi = min(values), max(values)
    return hi / lo if lo > 0 else float("inf")

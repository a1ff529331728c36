"""Gate heatmaps of one review (Explore, Compare, Learn): units sorted and filtered, every gate of a
layer and direction per token; saturation; CSV exports of a Trace."""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from sentiment.figures.diffs import _h_colorbar, place_colorbars
from sentiment.figures.style import (
    SERIES_COLORS,
    SIGMOID,
    SORTS,
    TICK_LABEL_CHARS,
    TOKEN_TICKS,
    _base_layout,
    _hover_tokens,
    base_layout,
    gate_kind,
    gate_title,
    token_axis,
    token_ticks,
)
from sentiment.i18n import t as say  # the figures' words: sentiment/i18n/en.py, zh.py (keys fig.*)

if TYPE_CHECKING:  # the probe is only needed for its types here
    from sentiment.probe.instrument import Trace


# ---- units: sorting and filtering ---------------------------------------------------------------


def unit_scores(trace: Trace, layer: int = 0, direction: str = "forward", sort: str = "activity") -> np.ndarray:
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


def unit_order(trace: Trace, layer: int = 0, direction: str = "forward", sort: str = "none", top_k: int | None = None) -> np.ndarray:
    """Indices of the units to show, best first (stable: ties keep unit order), at most top_k."""
    scores = unit_scores(trace, layer, direction, sort)
    order = np.arange(len(scores)) if sort == "none" else np.argsort(-scores, kind="stable")
    if top_k is not None:
        order = order[: max(1, int(top_k))]
    return order


# ---- gate heatmaps ------------------------------------------------------------------------------

UNIT_LABELS = 32  # up to this many units shown, every unit row is labelled
UNIT_FONT = 12  # px of a unit label (presenter mode enlarges it: sentiment.ui.present.scale_figure)
UNIT_ROW_PX = 16  # plotly labels every category row from 1.2 x UNIT_FONT + 1 px of room
COLUMN_PX = 16  # a long review's token column at least this wide: its label fits upright beside the next
PLOT_PX = 720  # the plot width assumed for a full-width chart (Explore at a 1280 px window, sidebar open)
SLIDER_PX = 44  # the overview strip (plotly range slider) under a long review's bottom panel
TITLE_PX = 34  # room for a panel's title above it
CELL_CLIP = 98  # the cell state's colours stop at this percentile of |c| (its true range on the colour bar)


HOVER_TOKENS = 500  # longer reviews: no per-cell token label in the heatmaps' hover (see gate_heatmaps)


def gate_heatmaps(
    trace: Trace,
    layer: int = 0,
    direction: str = "forward",
    gates: Iterable[str] | None = None,
    sort: str = "none",
    top_k: int | None = None,
    lang: str = "en",
    max_ticks: int = 60,
    width_px: int | None = None,
) -> go.Figure:
    """One heatmap panel per gate of one layer and direction: tokens along x, hidden units along y.

    Units are ordered by ``sort`` (see :func:`unit_scores`) and cut to ``top_k``; every panel shows
    the same units in the same order, and every panel has its token labels. Hover: token, position,
    unit, value; past HOVER_TOKENS tokens the hover leaves out the token (the axis names it): a
    per-cell label array made a 1,500-token review's figure five times slower to build and send.

    A review longer than a plot ``width_px`` wide holds at COLUMN_PX a token (default: PLOT_PX for
    ``max_ticks`` = TOKEN_TICKS labels, narrower in proportion) opens on its first tokens, one label per
    token, with an overview strip (a range slider) under the bottom panel to move along the whole review;
    the panels' token axes move together. The cell state's colours stop at the CELL_CLIP-th percentile of
    its |values| (its colour bar says so, and gives the true range); gates keep their fixed ranges.
    """
    lt = _layer_trace(trace, layer, direction)
    names = [g for g in (gates if gates is not None else lt.gates.keys()) if g in lt.gates]
    if not names:
        raise ValueError(f"none of the gates {list(gates or [])} exist for a {trace.cell} layer")
    order = unit_order(trace, layer, direction, sort, top_k)
    T = len(trace.tokens)
    units = [f"u{j}" for j in order]
    with_tokens = T <= HOVER_TOKENS
    text, hovertemplate = _heat_hover(trace, len(order), with_tokens, lang)
    cell = _cell_scale(np.asarray(lt.gates["c"], dtype=np.float64)[:T][:, order]) if "c" in names else None
    axis, window = _token_window(trace.tokens, max_ticks, width_px)
    labels_px = _labels_px(axis["ticktext"])
    n = len(names)
    every_unit, plot_h, frac, gap = _panel_geometry(len(order), n, TITLE_PX + labels_px)
    slider_px = SLIDER_PX if window < T else 0
    axes = {"sigmoid": "coloraxis", "tanh": "coloraxis2", "cell": "coloraxis3"}
    x = np.arange(T)
    data, layout = [], {"annotations": []}
    for row, g in enumerate(names):
        sfx = str(row + 1) if row else ""
        top = 1.0 - row * (frac + gap)
        z = np.asarray(lt.gates[g], dtype=np.float32)[:T, order].T  # [K, T]
        data.append(dict(type="heatmap", z=z, x=x, y=units, hovertemplate=hovertemplate, **({"text": text} if with_tokens else {}),
                         coloraxis=axes[gate_kind(g)], name=g, meta=gate_title(g, lang), xaxis=f"x{sfx}", yaxis=f"y{sfx}"))
        layout[f"yaxis{sfx}"] = dict(domain=[max(0.0, top - frac), top], anchor=f"x{sfx}", autorange="reversed",
                                     showticklabels=len(order) <= 40, tickfont=dict(size=UNIT_FONT),
                                     **({"dtick": 1} if every_unit else {}))
        layout[f"xaxis{sfx}"] = dict(anchor=f"y{sfx}", domain=[0.0, 1.0], showticklabels=True, **axis,
                                     **({"matches": "x"} if row else {}))
        layout["annotations"].append(dict(text=gate_title(g, lang), x=0.5, y=top, xref="paper", yref="paper",
                                          xanchor="center", yanchor="bottom", showarrow=False, font=dict(size=13)))
    if slider_px:  # the overview strip: the whole review, its window dragged along (all panels follow)
        layout[f"xaxis{n if n > 1 else ''}"]["rangeslider"] = dict(
            visible=True, range=[-0.5, T - 0.5], thickness=slider_px / plot_h, bgcolor="rgba(0,0,0,0)")
    layout.update(_color_axes(names, cell, lang))
    dir_name = say('fig.' + direction, lang)
    title = say("fig.heat_title", lang, cell=trace.cell.upper(), layer=layer + 1, direction=dir_name, k=len(order),
               h=int(lt.gates[names[0]].shape[1]), sort=say(f"fig.sort_{sort}", lang))
    meta = {"kind": "gate_heatmaps", "tokens": list(trace.tokens), "units": [int(j) for j in order],
            "gates": names, "layer": layer, "direction": direction, "window": int(window)}
    if cell is not None:
        meta["cell_range"] = [cell[1], cell[2]]
    below = labels_px + slider_px + (8 if slider_px else 0)  # token labels (and the strip) above the colour bars
    bottom = below + 70 + (14 if cell is not None else 0)  # the cell state's colour bar has a second title line
    layout.update(base_layout(title, 80 + plot_h + bottom, meta), margin=dict(l=60, r=30, t=80, b=bottom))
    layout = place_colorbars(layout, plot_h, below)
    if cell is not None and cell[0] < max(abs(cell[1]), abs(cell[2])):  # clipped: the bar's ends say "or beyond"
        bar = layout["coloraxis3"]["colorbar"]
        bar["ticktext"] = [f"≤{-cell[0]:.2g}".replace("-", "−"), bar["ticktext"][1], f"≥{cell[0]:.2g}"]
    return go.Figure(data=data, layout=layout)


def _token_window(tokens, max_ticks: int, width_px: int | None) -> tuple[dict, int]:
    """(the token axis's properties, how many tokens its first view shows). A review that fits the plot at
    COLUMN_PX a token shows whole with labels thinned as ``style.token_axis`` thins them; a longer one
    opens on its first ``width / COLUMN_PX`` tokens, labelled as densely as fits in that view."""
    T = len(tokens)
    width = int(width_px) if width_px else int(PLOT_PX * max_ticks / TOKEN_TICKS)
    window = max(8, width // COLUMN_PX)
    if window >= T:
        return token_axis(tokens, max_ticks), T
    step = max(1, int(np.ceil(window / max(1, max_ticks))))  # the labels the plot holds in that view
    pos, text = token_ticks(tokens, int(np.ceil(T / step)))
    return dict(tickmode="array", tickvals=pos, ticktext=text, autotickangles=[0, -90], range=[-0.5, window - 0.5]), window


def _labels_px(labels) -> int:
    """Pixels a token axis's labels may take standing upright (as ``style.token_label_px``)."""
    longest = max((len(html.unescape(s)) for s in labels), default=1)
    return int(np.clip(12 + 7 * longest, 40, 12 + 7 * (TICK_LABEL_CHARS + 5)))


def _cell_scale(c: np.ndarray) -> tuple[float, float, float]:
    """(the colour range's half width, the lowest and the highest value) of the cell state shown: the
    range stops at the CELL_CLIP-th percentile of |c|, so that the many small values get colours too."""
    finite = c[np.isfinite(c)]
    if finite.size == 0:
        return 1.0, 0.0, 0.0
    clip = float(np.percentile(np.abs(finite), CELL_CLIP))
    return max(clip, 1e-6), float(finite.min()), float(finite.max())


def _panel_geometry(k: int, n: int, gap_px: int = TITLE_PX) -> tuple[bool, int, float, float]:
    """(every unit row labelled, plot height px, a panel's and a gap's share of it) for n panels of k units,
    ``gap_px`` between panels (a panel's token labels and the next one's title)."""
    every_unit = k <= UNIT_LABELS  # then every row has its label, and its room (UNIT_ROW_PX)
    panel_h = int(UNIT_ROW_PX * k) if every_unit else int(np.clip(8 * k, 90, 240))  # pixels per panel
    panel_h = max(90, panel_h)
    plot_h = n * panel_h + (n - 1) * gap_px
    return every_unit, plot_h, panel_h / plot_h, gap_px / plot_h


def _heat_hover(trace: Trace, k: int, with_tokens: bool, lang: str) -> tuple[np.ndarray | None, str]:
    """The heatmaps' hover text [K, T] (the token of each column; None past HOVER_TOKENS) and template."""
    text = None
    if with_tokens:
        hover_tok = np.array(_hover_tokens(trace, lang), dtype=object)
        text = np.broadcast_to(hover_tok[None, :], (k, len(trace.tokens)))  # [K, T]
    hovertemplate = (
        (f"{say('fig.token', lang)}: %{{text}}<br>" if with_tokens else "") + f"{say('fig.position', lang)}: %{{x}}<br>"
        f"{say('fig.unit', lang)}: %{{y}}<br>{say('fig.value', lang)}: %{{z:.3f}}<extra>%{{meta}}</extra>"
    )
    return text, hovertemplate


def _color_axes(names: list[str], cell: tuple[float, float, float] | None, lang: str) -> dict:
    """One colour axis per kind of gate shown (sigmoid [0, 1], tanh [-1, 1], cell state ± its clip, with
    its true range in the bar's title), each with a horizontal colour bar under the token labels, side by
    side: they fit any width."""
    kinds = {gate_kind(g) for g in names}
    bars = [k for k in ("sigmoid", "tanh", "cell") if k in kinds]
    cb = lambda k: _h_colorbar(say('fig.' + k, lang), bars.index(k))  # noqa: E731
    axes = {}
    if "sigmoid" in kinds:
        axes["coloraxis"] = dict(colorscale="Viridis", cmin=0.0, cmax=1.0, colorbar=cb("sigmoid"))
    if "tanh" in kinds:
        axes["coloraxis2"] = dict(colorscale="RdBu", cmin=-1.0, cmax=1.0, cmid=0.0, colorbar=cb("tanh"))
    if "cell" in kinds:
        clip, lo, hi = cell if cell is not None else (1.0, 0.0, 0.0)
        bar = cb("cell")
        key = "fig.cell_clipped" if clip < max(abs(lo), abs(hi)) else "fig.cell_values"
        bar["title"]["text"] = f"{say('fig.cell', lang)}<br>{say(key, lang, clip=clip, lo=lo, hi=hi)}"
        axes["coloraxis3"] = dict(colorscale="PuOr", cmin=-clip, cmax=clip, cmid=0.0, colorbar=bar)
    return axes


def _layer_trace(trace: Trace, layer: int, direction: str):
    for lt in trace.layers:
        if lt.layer == layer and lt.direction == direction:
            return lt
    raise ValueError(f"no layer {layer} {direction} in this trace (layers: {trace.num_layers}, bidirectional: {trace.bidirectional})")


def layer_choices(trace: Trace) -> list[tuple[int, str]]:
    """(layer, direction) pairs present in a trace, in order."""
    return [(lt.layer, lt.direction) for lt in trace.layers]


# ---- saturation ------------------------------------------------------------------------------------


def saturation_shares(trace: Trace, layer: int = 0, direction: str = "forward", low: float = 0.1, high: float = 0.9) -> dict[str, tuple[float, float]]:
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


def saturation_histogram(trace: Trace, layer: int = 0, direction: str = "forward", bins: int = 20,
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
            hovertemplate=f"{g}: %{{x:.2f}}<br>{say('fig.share_values', lang)}: %{{y:.1%}}<extra></extra>",
        ))
    if sigmoid:
        fig.add_vrect(x0=0.0, x1=low, fillcolor="grey", opacity=0.15, line_width=0)
        fig.add_vrect(x0=high, x1=1.0, fillcolor="grey", opacity=0.15, line_width=0)
        title = say("fig.sat_title", lang, layer=layer + 1, direction=say('fig.' + direction, lang), lo=low, hi=high)
    else:
        fig.add_vrect(x0=-1.0, x1=-high, fillcolor="grey", opacity=0.15, line_width=0)
        fig.add_vrect(x0=high, x1=1.0, fillcolor="grey", opacity=0.15, line_width=0)
        title = say("fig.sat_title_rnn", lang, layer=layer + 1, direction=say('fig.' + direction, lang), hi=high)
    fig.update_layout(barmode="group", bargap=0.15, bargroupgap=0.0, xaxis_title=say("fig.gate_value", lang), yaxis_title=say("fig.share_values", lang),
                      yaxis_tickformat=".0%", legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))
    fig.update_xaxes(range=[lo_edge, hi_edge])
    meta = {"kind": "saturation_histogram", "gates": names, "shares": {g: list(v) for g, v in shares.items()},
            "layer": layer, "direction": direction}
    return _base_layout(fig, title, 360, meta)


# ---- exports -----------------------------------------------------------------------------------


def tokens_csv(trace: Trace) -> str:
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


def gates_csv(trace: Trace) -> str:
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

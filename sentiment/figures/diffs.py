"""Edit and diff, and cell updates: B - A on aligned tokens, and what each LSTM step kept and wrote
(diverging colour centred on 0)."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from sentiment.figures.style import (
    NEGATIVE_COLOR,
    POSITIVE_COLOR,
    SERIES_COLORS,
    _base_layout,
    _hover_tokens,
    _token_axis,
    base_layout,
    gate_kind,
    gate_title,
    token_axis,
    token_label_px,
)
from sentiment.i18n import t as say  # the figures' words: sentiment/i18n/en.py, zh.py (keys fig.*)

if TYPE_CHECKING:  # the probe is only needed for its types here
    from sentiment.probe.counterfactual import TraceDiff
    from sentiment.probe.instrument import Trace


# ---- edit and diff, cell updates: B - A on aligned tokens; what each step kept and wrote -----------
# (from sentiment.probe.counterfactual.TraceDiff and sentiment.probe.updates; colour: diverging, centred on 0)


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
    every_unit = len(units) <= 32  # every row labelled, with room for its label (as figures.gate_heatmaps)
    panel_h = max(90, 13 * len(units)) if every_unit else int(np.clip(8 * len(units), 90, 240))
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
                                     showticklabels=len(units) <= 40, tickfont=dict(size=9),
                                     **({"dtick": 1} if every_unit else {}))
        layout[f"xaxis{sfx}"] = dict(anchor=f"y{sfx}", domain=[0.0, 1.0], showticklabels=row == n - 1,
                                     **({"matches": "x"} if row else {}))
        layout["annotations"].append(dict(text=title, x=0.5, y=top, xref="paper", yref="paper", xanchor="center",
                                          yanchor="bottom", showarrow=False, font=dict(size=13)))
    return data, layout, plot_h


def _h_colorbar(title: str, slot: int) -> dict:
    """A horizontal colour bar in slot 0, 1 or 2 under the plot, its title above it (placed by place_colorbars)."""
    return dict(orientation="h", title=dict(text=title, side="top", font=dict(size=11)), x=0.02 + 0.34 * slot,
                xanchor="left", len=0.28, thickness=10, tickfont=dict(size=10), nticks=4)  # few ticks: none crowded at half width


def _token_label_px(tokens: Sequence[str], max_ticks: int = 60) -> int:
    """Pixels the token labels may take under a token axis (``style.token_label_px``)."""
    return token_label_px(tokens, max_ticks)


def _bar_ticks(lo: float, hi: float) -> dict:
    """A colour bar's ticks at its two ends and its middle, always three labels (never a lone "0")."""
    vals = [lo, (lo + hi) / 2, hi]
    return dict(tickmode="array", tickvals=vals, ticktext=[f"{v:.2g}" if abs(v) >= 1e-9 else "0" for v in vals])


def place_colorbars(layout: dict, plot_h: int, below_px: int) -> dict:
    """Hang every colour axis's horizontal bar from just under the token labels (``below_px`` under a plot
    area ``plot_h`` pixels tall), its title on top, with three ticks. Paper coordinates: bars in container
    coordinates get their titles drawn across the bar by the plotly.js in Streamlit."""
    y = -(below_px + 6) / max(1, plot_h)
    for name in ("coloraxis", "coloraxis2", "coloraxis3"):
        axis = layout.get(name)
        bar = axis.get("colorbar") if axis else None
        if bar is not None and bar.get("orientation") == "h":
            bar.update(y=y, yref="paper", yanchor="top")
            if axis.get("cmin") is not None and axis.get("cmax") is not None:
                bar.update(_bar_ticks(float(axis["cmin"]), float(axis["cmax"])))
    return layout


def finish_panels(data: list[dict], layout: dict, labels: Sequence[str], title: str, meta: dict, plot_h: int,
                  max_ticks: int) -> go.Figure:
    """A panel figure (gates, their differences, cell updates) with its token axis on every panel, title,
    height, margins and colour bars, all in the layout before the figure is built: each update of a built
    plotly figure copies it."""
    axis = token_axis(labels, max_ticks)
    for name, value in layout.items():
        if name.startswith("xaxis"):
            value.update(axis)
    labels_px = _token_label_px(labels, max_ticks)
    bottom = labels_px + 70  # token labels, then the colour bars
    layout.update(base_layout(title, 80 + plot_h + bottom, meta), margin=dict(l=60, r=30, t=80, b=bottom))
    return go.Figure(data=data, layout=place_colorbars(layout, plot_h, labels_px))


def diff_heatmaps(diff: TraceDiff, layer: int = 0, direction: str = "forward", gates: Iterable[str] | None = None,
                  top_k: int | None = None, lang: str = "en", max_ticks: int = 60) -> go.Figure:
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
    hovertemplate = (f"%{{text}}<br>{say('fig.position', lang)}: %{{x}}<br>{say('fig.unit', lang)}: %{{y}}<br>"
                     f"{say('fig.change', lang)}: %{{z:+.3f}}<extra>%{{meta}}</extra>")
    axes = {"sigmoid": "coloraxis", "tanh": "coloraxis2", "cell": "coloraxis3"}
    panels = [(g, "Δ " + gate_title(g, lang), all_gates[g][:, order].T, axes[gate_kind(g)]) for g in names]  # z [K, R]
    data, layout, plot_h = _panel_grid(panels, units, text, hovertemplate)
    kinds = [k for k in ("sigmoid", "tanh", "cell") if any(gate_kind(g) == k for g in names)]
    for k in kinds:
        m = _sym_max(all_gates[g][:, order] for g in names if gate_kind(g) == k)
        layout[axes[k]] = dict(
            colorscale="RdBu", cmin=-m, cmax=m, cmid=0.0, colorbar=_h_colorbar(say(f"fig.diff_{k}", lang), kinds.index(k)))
    layout["shapes"] = [dict(type="rect", xref="x", yref="paper", x0=r - 0.5, x1=r + 0.5, y0=0, y1=1, layer="below",
                             fillcolor="rgba(128,128,128,0.18)", line_width=0)
                        for r in range(R) if not al.paired[r]]
    title = say("fig.diff_title", lang, layer=layer + 1, direction=say('fig.' + direction, lang), k=len(order), h=H)
    meta = {"kind": "diff_heatmaps", "tokens_a": list(al.tokens_a), "tokens_b": list(al.tokens_b),
            "rows": [list(r) for r in al.rows], "ops": list(al.ops), "labels": labels, "units": [int(j) for j in order],
            "gates": names, "layer": layer, "direction": direction, "delta_p": diff.delta_p}
    return finish_panels(data, layout, labels, title, meta, plot_h, max_ticks)


def diff_prefix(diff: TraceDiff, names: Sequence[str] = ("A", "B"), lang: str = "en", max_ticks: int = 60) -> go.Figure:
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
                             opacity=0.45, hovertemplate=f"%{{x}}: {say('fig.change', lang)} %{{y:+.3f}}<extra></extra>"))
    for i, (curve, nm) in enumerate(zip((diff.prefix_a, diff.prefix_b), names, strict=True)):
        if curve is None:
            continue
        fig.add_trace(go.Scatter(x=x, y=curve, mode="lines+markers", name=html.escape(nm), connectgaps=True,
                                 text=labels, line=dict(color=SERIES_COLORS[i]),
                                 hovertemplate=f"{html.escape(nm)}<br>{say('fig.token', lang)}: %{{text}}<br>"
                                               f"{say('fig.p_pos', lang)}: %{{y:.3f}}<extra></extra>"))
    if diff.prefix_a is None and diff.prefix_b is None:
        fig.add_annotation(text=say("fig.not_computed", lang), showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_layout(yaxis=dict(range=[0, 1], title=say("fig.p_pos", lang)),
                      yaxis2=dict(range=[-1, 1], overlaying="y", side="right", title=say("fig.change", lang), showgrid=False),
                      legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))
    _token_axis(fig, labels, max_ticks)
    meta = {"kind": "diff_prefix", "labels": labels, "names": list(names), "delta_p": diff.delta_p}
    return _base_layout(fig, say("fig.diff_prefix_title", lang), 380, meta)


def update_heatmaps(trace: Trace, layer: int = 0, direction: str = "forward", top_k: int | None = None,
                    lang: str = "en", max_ticks: int = 60) -> go.Figure:
    """Three panels over the tokens: what each step kept (f_t ⊙ c_{t−1} | z_t ⊙ h_{t−1}), what it
    wrote (i_t ⊙ g_t | (1 − z_t) ⊙ n_t) and the resulting state (their sum), one diverging scale
    centred on 0 for all three. Units: most written first (mean |written|), cut to ``top_k``."""
    from sentiment.probe.updates import cell_updates

    u = cell_updates(trace, layer, direction)
    T, H = u.state.shape
    order = np.argsort(-np.abs(u.written).mean(0), kind="stable")[: max(1, int(top_k)) if top_k else H]
    units = [f"u{j}" for j in order]
    text = np.broadcast_to(np.array(_hover_tokens(trace, lang), dtype=object)[None, :], (len(order), T))
    hovertemplate = (f"{say('fig.token', lang)}: %{{text}}<br>{say('fig.position', lang)}: %{{x}}<br>{say('fig.unit', lang)}: %{{y}}<br>"
                     f"{say('fig.value', lang)}: %{{z:+.3f}}<extra>%{{meta}}</extra>")
    panels = [("kept", say(f"fig.kept_{u.cell}", lang), u.kept[:, order].T, "coloraxis"),
              ("written", say(f"fig.written_{u.cell}", lang), u.written[:, order].T, "coloraxis"),
              (u.state_name, say(f"fig.state_{u.cell}", lang), u.state[:, order].T, "coloraxis")]
    data, layout, plot_h = _panel_grid(panels, units, text, hovertemplate)
    m = _sym_max(p[2] for p in panels)
    layout["coloraxis"] = dict(colorscale="PuOr", cmin=-m, cmax=m, cmid=0.0, colorbar=_h_colorbar(say("fig.value", lang), 0))
    title = say("fig.updates_title", lang, cell=u.cell.upper(), layer=layer + 1, direction=say('fig.' + direction, lang), k=len(order), h=H)
    meta = {"kind": "update_heatmaps", "tokens": list(trace.tokens), "units": [int(j) for j in order],
            "panels": [p[0] for p in panels], "layer": layer, "direction": direction, "cell": u.cell}
    return finish_panels(data, layout, trace.tokens, title, meta, plot_h, max_ticks)


def update_unit(trace: Trace, unit: int, layer: int = 0, direction: str = "forward", lang: str = "en",
                max_ticks: int = 60) -> go.Figure:
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
        fig.add_trace(go.Bar(x=x, y=y, name=say(f"fig.{name}_{u.cell}", lang), marker_color=color, text=hover, textposition="none",
                             hovertemplate=f"{say('fig.token', lang)}: %{{text}}<br>{say('fig.' + name, lang)}: %{{y:+.3f}}<extra></extra>"))
    fig.add_trace(go.Scatter(x=x, y=u.state[:, unit], mode="lines+markers", name=say(f"fig.state_{u.cell}", lang), text=hover,
                             line=dict(color="black"),
                             hovertemplate=f"{say('fig.token', lang)}: %{{text}}<br>{u.state_name}_t: %{{y:+.3f}}<extra></extra>"))
    fig.add_hline(y=0, line_color="grey", line_width=1)
    fig.update_layout(barmode="relative", yaxis_title=say("fig.value", lang),
                      legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))
    _token_axis(fig, trace.tokens, max_ticks)
    meta = {"kind": "update_unit", "tokens": list(trace.tokens), "unit": int(unit), "layer": layer,
            "direction": direction, "cell": u.cell}
    title = say("fig.update_unit_title", lang, unit=int(unit), layer=layer + 1, direction=say('fig.' + direction, lang))
    return _base_layout(fig, title, 360 if T <= 12 else 400, meta)

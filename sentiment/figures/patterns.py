"""Figures of the Patterns page (units and patterns across a dataset): pure functions, arrays and
``sentiment.probe.patterns`` results in, plotly Figures (or plain rows) out. No streamlit, no model.

- ``review_heatmap``: one review's gate values, tokens along x and units along y, drawn for brushing
  a token range (box select, horizontal), with the chosen range and the selected units marked;
  ``span_from_selection`` reads the token range back from Streamlit's plotly selection event;
- ``match_rows`` / ``match_markdown``: the matched phrases in context, as rows and as markdown;
- ``cocluster_heatmap``: the unit x word response matrix, clusters together, boundaries drawn;
- ``saturation_scatter``: left- vs right-saturated share per unit (Karpathy et al. 2015), one panel
  per layer and direction, one colour per gate.

Every figure carries ``layout.meta`` with what it shows (for tests and readers of its JSON) and
speaks English or Chinese (``lang``).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sentiment.figures.gates import UNIT_LABELS
from sentiment.figures.style import FONT, FONT_FAMILY, GATE_INFO, SERIES_COLORS, gate_kind, gate_title, md_escape, token_ticks
from sentiment.i18n import t as say  # the figures' words: sentiment/i18n/en.py, zh.py (keys fig.*)
from sentiment.probe.patterns import CoClusters, Match


def _colour_axis(gate: str, values: np.ndarray) -> dict:
    """The colour scale of figures.gate_heatmaps for this gate's kind."""
    kind = gate_kind(gate)
    if kind == "sigmoid":
        return dict(colorscale="Viridis", cmin=0.0, cmax=1.0)
    if kind == "tanh":
        return dict(colorscale="RdBu", cmin=-1.0, cmax=1.0, cmid=0.0)
    m = max(1.0, float(np.abs(values).max(initial=0.0)))
    return dict(colorscale="PuOr", cmin=-m, cmax=m, cmid=0.0)


# ---- one review, for selection -------------------------------------------------------------------


def review_heatmap(tokens: Sequence[str], values: np.ndarray, gate: str, span: tuple[int, int] | None = None,
                   units: Sequence[int] | None = None, lang: str = "en", max_ticks: int = 60) -> go.Figure:
    """values [T, H] of one review: units along y (0 at the top), tokens along x. A row of markers
    above the units makes box selection possible (a heatmap alone is not selectable); the drag
    selects horizontally, i.e. a token range. ``span`` (inclusive) is shaded, ``units`` marked left."""
    v = np.asarray(values, dtype=np.float32)
    T, H = v.shape
    x = np.arange(T)
    hover_tok = [html.escape(tok) for tok in tokens]
    text = np.broadcast_to(np.array(hover_tok, dtype=object)[None, :], (H, T))
    data = [
        go.Heatmap(z=v.T, x=x, y=np.arange(H), text=text, coloraxis="coloraxis", name=gate,
                   hovertemplate=(f"{say('fig.token', lang)}: %{{text}}<br>{say('fig.position', lang)}: %{{x}}<br>"
                                  f"{say('fig.unit', lang)}: %{{y}}<br>{say('fig.value', lang)}: %{{z:.3f}}<extra></extra>")),
        go.Scatter(x=x, y=np.full(T, -2.0), mode="markers", name=say("fig.pat.brush", lang), text=hover_tok,
                   marker=dict(size=9, color="rgba(120,120,120,0.55)", symbol="square"),
                   hovertemplate=f"{say('fig.token', lang)}: %{{text}}<br>{say('fig.position', lang)}: %{{x}}<extra></extra>",
                   selected=dict(marker=dict(color="rgb(255,140,0)")), unselected=dict(marker=dict(opacity=0.5))),
    ]
    units = [int(u) for u in (units if units is not None else [])]
    if units:
        data.append(go.Scatter(x=np.full(len(units), -1.0), y=units, mode="markers", name=say("fig.pat.selected", lang),
                               marker=dict(symbol="triangle-right", size=9, color="rgb(255,140,0)"),
                               hovertemplate=f"{say('fig.unit', lang)}: %{{y}}<extra></extra>"))
    fig = go.Figure(data=data)
    shapes = []
    if span is not None:
        a, b = int(span[0]), int(span[1])
        shapes.append(dict(type="rect", xref="x", yref="y", x0=a - 0.5, x1=b + 0.5, y0=-2.7, y1=H - 0.5,
                           line=dict(color="rgb(255,140,0)", width=2), fillcolor="rgba(0,0,0,0)"))
    pos, labels = token_ticks(list(tokens), max_ticks)
    fig.update_layout(
        title=dict(text=say("fig.pat.heat_title", lang, gate=gate_title(gate, lang)), font=dict(size=15)),
        font=FONT, hoverlabel=dict(font=dict(family=FONT_FAMILY)),
        height=int(np.clip(4 * H, 220, 560)) + 150, margin=dict(l=50, r=20, t=60, b=90),
        coloraxis=dict(**_colour_axis(gate, v), colorbar=dict(thickness=10, len=0.8)),
        dragmode="select", selectdirection="h", showlegend=False, shapes=shapes,
        meta={"kind": "review_heatmap", "gate": gate, "tokens": list(tokens), "span": list(span) if span else None,
              "units": units},
    )
    # the token axis as on every heatmap: thinned labels, level while they fit, else slanted or upright
    fig.update_xaxes(tickmode="array", tickvals=pos, ticktext=labels, autotickangles=[0, -60, -90],
                     range=[-1.5, T - 0.5], showgrid=False)
    rows = dict(tickmode="array", tickvals=list(range(H)), ticktext=[f"u{j}" for j in range(H)]) if H <= UNIT_LABELS else {}
    fig.update_yaxes(autorange="reversed", title=say("fig.unit", lang), showgrid=False, zeroline=False, **rows)
    return fig


def span_from_selection(selection: dict | None, length: int) -> tuple[int, int] | None:
    """The token range [a, b] (inclusive) brushed on ``review_heatmap``: from the box's x extent (token t
    covers t - 0.5 .. t + 0.5; the tokens whose centre the box covers, at least the one it is on), else
    from the selected points' x. None when nothing is selected. ``selection`` is the ``selection``
    of Streamlit's plotly event ({"points": [...], "box": [{"x": [x0, x1], ...}], ...})."""
    if not selection or length < 1:
        return None
    xs: list[float] = []
    for box in selection.get("box") or []:
        bx = [float(x) for x in (box.get("x") or []) if isinstance(x, (int, float)) and math.isfinite(x)]
        if len(bx) >= 2:
            lo, hi = min(bx), max(bx)
            a, b = math.ceil(lo), math.floor(hi)
            if a > b:  # inside one token's cell
                a = b = int(round((lo + hi) / 2))
            xs += [a, b]
    if not xs:
        xs = [float(p["x"]) for p in selection.get("points") or [] if isinstance(p.get("x"), (int, float))]
    if not xs:
        return None
    a, b = max(0, int(min(xs))), min(length - 1, int(max(xs)))
    return (a, b) if a <= b else None


# ---- matches ------------------------------------------------------------------------------------


def join_tokens(tokens: Sequence[str], language: str) -> str:
    """Tokens as text: joined by spaces, or directly for Chinese."""
    return ("" if language == "zh" else " ").join(tokens)


def match_rows(matches: Sequence[Match], language: str = "en", lang: str = "en") -> list[dict]:
    """One row per matched phrase: review, label, context before, phrase, context after, tokens, mean value.
    ``language``: the reviews' (how tokens join); ``lang``: the interface's (column names)."""
    return [{
        say("fig.pat.review", lang): m.split_index,
        say("fig.pat.label", lang): say("fig.pat.positive" if m.label == 1 else "fig.pat.negative", lang),
        say("fig.pat.before", lang): ("… " if language != "zh" else "…") + join_tokens(m.left, language) if m.left else "",
        say("fig.pat.phrase", lang): join_tokens(m.phrase, language),
        say("fig.pat.after", lang): join_tokens(m.right, language) + (" …" if language != "zh" else "…") if m.right else "",
        say("fig.pat.length", lang): m.length,
        say("fig.pat.mean", lang): round(m.mean, 3),
    } for m in matches]


def match_markdown(m: Match, language: str = "en") -> str:
    """'… before **phrase** after …' with the phrase in bold, markdown-escaped."""
    sep = "" if language == "zh" else " "
    parts = []
    if m.left:
        parts.append("…" + sep + md_escape(join_tokens(m.left, language)))
    parts.append(f"**{md_escape(join_tokens(m.phrase, language))}**")
    if m.right:
        parts.append(md_escape(join_tokens(m.right, language)) + sep + "…")
    return sep.join(parts)


# ---- units x words --------------------------------------------------------------------------------


def cocluster_heatmap(matrix: np.ndarray, words: Sequence[str], cc: CoClusters, gate: str, lang: str = "en",
                      counts: Sequence[int] | None = None) -> go.Figure:
    """matrix [H, W] (a word profile's delta over the chosen words), rows and columns in the
    co-clustering's orders; lines between clusters. Diverging colours, symmetric about 0."""
    m = np.asarray(matrix, dtype=np.float64)
    uo, wo = np.asarray(cc.unit_order), np.asarray(cc.word_order)
    z = m[np.ix_(uo, wo)]  # [H, W] ordered
    ws = [words[j] for j in wo]
    lim = float(np.abs(z).max(initial=0.0)) or 1.0
    cnt = [int(counts[j]) for j in wo] if counts is not None else None
    custom = np.broadcast_to(np.array(cnt if cnt else [0] * len(wo))[None, :], z.shape)
    hover = (f"{say('fig.unit', lang)}: %{{y}}<br>{say('fig.pat.word', lang)}: %{{x}}<br>{say('fig.pat.delta', lang)}: %{{z:+.3f}}"
             + ("<br>n = %{customdata}" if cnt else "") + "<extra></extra>")
    fig = go.Figure(go.Heatmap(z=z, x=list(range(len(wo))), y=list(range(len(uo))), customdata=custom,
                               colorscale="RdBu", zmin=-lim, zmax=lim, zmid=0.0, hovertemplate=hover,
                               colorbar=dict(title=dict(text=say("fig.pat.delta", lang), side="right"), thickness=10)))
    ul, wl = cc.unit_labels[uo], cc.word_labels[wo]
    shapes = []
    for i in range(1, len(ul)):
        if ul[i] != ul[i - 1]:
            shapes.append(dict(type="line", xref="paper", yref="y", x0=0, x1=1, y0=i - 0.5, y1=i - 0.5,
                               line=dict(color="black", width=1.5)))
    for j in range(1, len(wl)):
        if wl[j] != wl[j - 1]:
            shapes.append(dict(type="line", xref="x", yref="paper", x0=j - 0.5, x1=j - 0.5, y0=0, y1=1,
                               line=dict(color="black", width=1.5)))
    H = len(uo)
    fig.update_layout(
        title=dict(text=say("fig.pat.cc_title", lang, gate=gate_title(gate, lang), k=cc.k), font=dict(size=15)),
        font=FONT, hoverlabel=dict(font=dict(family=FONT_FAMILY)), shapes=shapes,
        height=int(np.clip(5 * H, 320, 760)) + 140, margin=dict(l=60, r=20, t=60, b=110),
        meta={"kind": "cocluster_heatmap", "gate": gate, "units": [int(u) for u in uo], "words": ws,
              "unit_clusters": [int(c) for c in ul], "word_clusters": [int(c) for c in wl], "clusters": [int(c) for c in cc.clusters]},
    )
    fig.update_xaxes(tickmode="array", tickvals=list(range(len(ws))), ticktext=[html.escape(w) for w in ws], tickangle=-60,
                     showgrid=False)
    step = max(1, int(math.ceil(H / 64)))
    fig.update_yaxes(tickmode="array", tickvals=list(range(0, H, step)), ticktext=[f"u{int(uo[i])}" for i in range(0, H, step)],
                     autorange="reversed", showgrid=False, tickfont=dict(size=9))
    return fig


# ---- saturation ---------------------------------------------------------------------------------


def saturation_scatter(sat: dict, lang: str = "en", low: float = 0.1, high: float = 0.9) -> go.Figure:
    """Karpathy-style scatter: per unit, the share of the sample's steps left-saturated (x) against
    right-saturated (y); one panel per layer and direction, one colour per gate (the same in every
    panel). ``sat`` as ``patterns.saturation`` returns it. Points lie under the line x + y = 1."""
    panels: list[tuple[int, str]] = []
    gates: list[str] = []
    for (l, d, g) in sat:
        if (l, d) not in panels:
            panels.append((l, d))
        if g not in gates:
            gates.append(g)
    if not panels:
        raise ValueError("no sigmoid gate to show (a plain RNN has none)")
    cols = min(2, len(panels))
    rows = int(math.ceil(len(panels) / cols))
    titles = [say("fig.pat.layer_dir", lang, layer=l + 1, direction=say('fig.' + d, lang)) for l, d in panels]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.1, vertical_spacing=0.16)
    any_entry = next(iter(sat.values()))
    for p, (l, d) in enumerate(panels):
        r, c = p // cols + 1, p % cols + 1
        fig.add_trace(go.Scatter(x=[0, 1], y=[1, 0], mode="lines", line=dict(color="grey", dash="dot", width=1),
                                 hoverinfo="skip", showlegend=False), row=r, col=c)
        for g in gates:
            e = sat.get((l, d, g))
            if e is None:
                continue
            color = SERIES_COLORS[gates.index(g) % len(SERIES_COLORS)]
            units = np.arange(len(e["left"]))
            fig.add_trace(go.Scatter(
                x=np.asarray(e["left"], dtype=float).tolist(), y=np.asarray(e["right"], dtype=float).tolist(), mode="markers",
                name=gate_title(g, lang), legendgroup=g, showlegend=p == 0, customdata=units.tolist(),
                marker=dict(color=color, size=7, opacity=0.75, line=dict(width=0.5, color="white")),
                hovertemplate=(f"{GATE_INFO.get(g, (g,))[0]} · {say('fig.unit', lang)} %{{customdata}}<br>"
                               f"{say('fig.pat.left', lang)}: %{{x:.3f}}<br>{say('fig.pat.right', lang)}: %{{y:.3f}}<extra></extra>")),
                row=r, col=c)
        fig.update_xaxes(range=[-0.02, 1.02], title_text=say("fig.pat.left", lang), row=r, col=c)
        fig.update_yaxes(range=[-0.02, 1.02], title_text=say("fig.pat.right", lang), row=r, col=c)
    height, top, bottom = 140 + 380 * rows, 90, 110
    fig.update_layout(
        title=dict(text=say("fig.pat.sat_title", lang, n=int(any_entry.get("reviews", 0)), steps=int(any_entry.get("steps", 0)),
                           lo=low, hi=high), font=dict(size=15)),
        font=FONT, hoverlabel=dict(font=dict(family=FONT_FAMILY)), height=height,
        # the legend under the bottom row's axis titles (about 50 px under the axes), not across them
        margin=dict(l=60, r=20, t=top, b=bottom), legend=dict(orientation="h", yanchor="top", y=-62 / (height - top - bottom)),
        meta={"kind": "saturation_scatter", "panels": [[l, d] for l, d in panels], "gates": gates},
    )
    return fig

"""The selected token and unit, marked on a gate-heatmap figure (``figures.gate_heatmaps``).

A pure function over a plotly Figure: one outline around the token's column and one around the unit's
row in every panel (each an orange line over a wider dark one, visible on light and dark cells), and the selection written into ``layout.meta["selection"]`` for tests and for
anyone reading the figure's JSON. No streamlit here.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go

from sentiment.figures.style import token_label

MARK_COLOR = "rgba(255,140,0,0.95)"  # orange: apart from Viridis, RdBu and PuOr
HALO_COLOR = "rgba(20,20,20,0.85)"  # a dark line under the orange one: the outline shows on dark red cells too


def mark_selection(fig: go.Figure, token: int, unit: int) -> go.Figure:
    """Outline token ``token``'s column and unit ``unit``'s row on each heatmap panel (in place; returned).

    The unit's row is drawn only when the unit is among the units shown (``meta["units"]``: the figure
    may show a sorted top K); ``meta["selection"]["row"]`` is its row, or None when it is not shown.
    """
    meta = dict(fig.layout.meta or {})
    units = [int(u) for u in meta.get("units", [])]
    row = units.index(int(unit)) if int(unit) in units else None
    panels = sum(1 for d in fig.data if d.type == "heatmap")
    shapes = []  # set in one update: fig.add_shape revalidates every shape so far on each call (54 ms for 6 panels)
    for p in range(panels):
        sfx = str(p + 1) if p else ""
        for color, width in ((HALO_COLOR, 4), (MARK_COLOR, 2)):
            outline = dict(type="rect", line=dict(color=color, width=width), fillcolor="rgba(0,0,0,0)", layer="above")
            shapes.append(dict(outline, xref=f"x{sfx}", yref=f"y{sfx} domain", x0=token - 0.5, x1=token + 0.5, y0=0, y1=1))
            if row is not None:
                shapes.append(dict(outline, xref=f"x{sfx} domain", yref=f"y{sfx}", x0=0, x1=1, y0=row - 0.5, y1=row + 0.5))
    meta["selection"] = {"token": int(token), "unit": int(unit), "row": row}
    fig.update_layout(meta=meta, shapes=[*fig.layout.shapes, *shapes])
    _window_on(fig, int(token), int(meta.get("window") or 0), len(meta.get("tokens", [])))
    return _label_token(fig, int(token), list(meta.get("tokens", [])))


def _window_on(fig: go.Figure, token: int, window: int, T: int) -> None:
    """A long review's heatmap opens on a window of tokens (gates.gate_heatmaps): move the window so
    that the selected token is in it, centred where the review allows (every panel follows x)."""
    rng = fig.layout.xaxis.range
    if not window or window >= T or rng is None or rng[0] < token < rng[1]:
        return
    start = max(0, min(token - window // 2, T - window))
    fig.update_xaxes(range=[start - 0.5, start + window - 0.5])


def _label_token(fig: go.Figure, token: int, tokens: list[str]) -> go.Figure:
    """The selected token among the token axis's labels (a thinned axis may skip it), the labels closer
    to it than the thinning step dropped so that none overlap."""
    ticks = [int(v) for v in (fig.layout.xaxis.tickvals or ())]
    if not tokens or not ticks or token in ticks or not 0 <= token < len(tokens):
        return fig
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1
    pos = sorted([p for p in ticks if abs(p - token) >= step] + [token])
    fig.update_xaxes(tickvals=pos, ticktext=[token_label(tokens, p, step > 1) for p in pos])
    return fig


def cell_from_selection(selection: dict | None, meta: dict) -> tuple[int | None, int | None]:
    """(token, unit) under a box (its centre) or the first selected point on a ``gate_heatmaps`` figure
    whose ``layout.meta`` is ``meta``; each None when it cannot be read. Streamlit's selection event:
    ``{"box": [{"x": [x0, x1], "y": [y0, y1], ...}], "points": [{"x": .., "y": ..}, ...]}``; x is the
    token position, y the row (a category index, or a unit's label such as "u12"). A box spanning a
    whole axis (plotly's band for a thin drag) gives None along that axis."""
    if not selection:
        return None, None
    tokens, units = list(meta.get("tokens", [])), [int(u) for u in meta.get("units", [])]
    x = y = None
    for box in selection.get("box") or []:
        bx = [float(v) for v in (box.get("x") or []) if isinstance(v, (int, float)) and math.isfinite(v)]
        by = [float(v) for v in (box.get("y") or []) if isinstance(v, (int, float)) and math.isfinite(v)]
        # plotly turns a drag too thin in one direction into a band across the whole other axis:
        # such a band picks nothing along that axis
        if len(bx) >= 2 and not (tokens and max(bx) - min(bx) >= len(tokens) - 0.5):
            x = (min(bx) + max(bx)) / 2
        if len(by) >= 2 and not (units and max(by) - min(by) >= len(units) - 0.5):
            y = (min(by) + max(by)) / 2
        break
    if x is None:
        for pt in selection.get("points") or []:
            x, y = pt.get("x"), pt.get("y")
            break
    token = unit = None
    if isinstance(x, (int, float)) and math.isfinite(x) and tokens:
        token = int(min(max(round(x), 0), len(tokens) - 1))
    if isinstance(y, str) and y.startswith("u") and y[1:].isdigit() and int(y[1:]) in units:
        unit = int(y[1:])
    elif isinstance(y, (int, float)) and math.isfinite(y) and units:
        row = int(round(y))
        unit = units[row] if 0 <= row < len(units) else None
    return token, unit


"""The selected token and unit, marked on a gate-heatmap figure (``figures.gate_heatmaps``).

A pure function over a plotly Figure: one outline around the token's column and one around the unit's
row in every panel (each an orange line over a wider dark one, visible on light and dark cells), and the selection written into ``layout.meta["selection"]`` for tests and for
anyone reading the figure's JSON. No streamlit here.
"""

from __future__ import annotations

import plotly.graph_objects as go

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
    for p in range(panels):
        sfx = str(p + 1) if p else ""
        for color, width in ((HALO_COLOR, 4), (MARK_COLOR, 2)):
            fig.add_shape(type="rect", xref=f"x{sfx}", yref=f"y{sfx} domain", x0=token - 0.5, x1=token + 0.5, y0=0, y1=1,
                          line=dict(color=color, width=width), fillcolor="rgba(0,0,0,0)", layer="above")
            if row is not None:
                fig.add_shape(type="rect", xref=f"x{sfx} domain", yref=f"y{sfx}", x0=0, x1=1, y0=row - 0.5,
                              y1=row + 0.5, line=dict(color=color, width=width), fillcolor="rgba(0,0,0,0)", layer="above")
    meta["selection"] = {"token": int(token), "unit": int(unit), "row": row}
    fig.update_layout(meta=meta)
    return fig

"""Tables that fit the page: ``fit`` draws rows (a list of dicts) as an ``st.dataframe`` whose columns
share a width that the main column of a wide page has, so no column hides past the right edge. Each
column gets room for its longest value; a header longer than that is cut with "…" and shown whole in
the column's tooltip."""

from __future__ import annotations

from typing import Sequence

import streamlit as st

FIT_PX = 820  # the main column of a wide page beside the sidebar on a 1280 px screen, less the borders
CHAR_PX = 7.5  # one character of the table's font
MIN_PX, MAX_PX = 48, 240


def column_widths(rows: Sequence[dict], total: int = FIT_PX) -> dict[str, int]:
    """Pixels per column: its longest value (at least a short header's room), scaled to fit ``total``."""
    if not rows:
        return {}
    cols = list(rows[0])
    want = {}
    for c in cols:
        longest = max((len(_shown(r.get(c))) for r in rows), default=0)
        want[c] = min(MAX_PX, max(MIN_PX, int(CHAR_PX * max(longest, min(len(str(c)), 6)) + 18)))
    scale = min(1.0, total / max(1, sum(want.values())))
    return {c: max(MIN_PX if scale == 1.0 else 40, int(w * scale)) for c, w in want.items()}


def _shown(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def fit(rows: Sequence[dict], total: int = FIT_PX, **kw) -> None:
    """``st.dataframe(rows)`` with columns that fit ``total`` pixels (``column_widths``; the main column of a
    wide page by default), the full header in each tooltip."""
    widths = column_widths(rows, total)
    config = {c: st.column_config.Column(c, width=w, help=c) for c, w in widths.items()}
    st.dataframe(list(rows), hide_index=True, column_config=config, **kw)

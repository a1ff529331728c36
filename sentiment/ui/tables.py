"""Tables that fit the page: ``fit`` draws rows (a list of dicts) as an ``st.dataframe`` whose columns
each get room for their header and their longest value, whole, in either language (a Chinese character
takes about twice a Latin one). Tables meant to sit beside the sidebar on a 1280 px screen keep to
``FIT_PX`` by having few columns and short headers; a header's longer wording goes in its tooltip
(``helps``). A table whose texts need more than its room is shrunk to it (no column past the right edge)."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence

import streamlit as st

FIT_PX = 820  # the main column of a wide page beside the sidebar on a 1280 px screen, less the borders
CHAR_PX = 7.5  # one Latin character of the table's font (14 px Source Sans), with a little to spare
WIDE_PX = 14.5  # one CJK (East Asian wide or full-width) character
PAD_PX = 20  # the cell's padding on both sides, and a margin
MIN_PX, MAX_PX = 48, 320


def text_px(s: str) -> float:
    """The width in pixels of ``s`` in the table's font (an estimate that errs wide)."""
    return sum(WIDE_PX if unicodedata.east_asian_width(ch) in ("W", "F") else CHAR_PX for ch in s)


def column_widths(rows: Sequence[dict], total: int = FIT_PX) -> dict[str, int]:
    """Pixels per column: room for its header and its longest value, whole, the columns scaled together to
    fill ``total``. Where they need more than ``total`` they shrink in proportion (every column stays in view,
    the longest texts are cut): a table meant to show everything keeps to few columns and short headers."""
    if not rows:
        return {}
    cols = list(rows[0])
    want = {}
    for c in cols:
        longest = max((text_px(_shown(r.get(c))) for r in rows), default=0.0)
        want[c] = min(MAX_PX, max(MIN_PX, int(max(longest, text_px(str(c))) + PAD_PX + 0.999)))
    scale = total / sum(want.values())  # > 1: the spare room shared; < 1: every column in view, the widest cut
    return {c: max(MIN_PX if scale >= 1 else 40, int(w * scale)) for c, w in want.items()}


def _shown(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def fit(rows: Sequence[dict], total: int = FIT_PX, helps: Mapping[str, str] | None = None, **kw) -> None:
    """``st.dataframe(rows)`` with every header and value whole (``column_widths``, filling ``total``
    pixels when they need less), each header's tooltip from ``helps`` (the header itself by default)."""
    widths = column_widths(rows, total)
    helps = helps or {}
    config = {c: st.column_config.Column(c, width=w, help=helps.get(c, c)) for c, w in widths.items()}
    st.dataframe(list(rows), hide_index=True, column_config=config, **kw)

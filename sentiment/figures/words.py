"""The bag-of-words reference's view (Compare's model B): each word's contribution to its score."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from sentiment.figures.style import NEGATIVE_COLOR, POSITIVE_COLOR, _base_layout, _hover_tokens, _token_axis
from sentiment.i18n import t as say  # the figures' words: sentiment/i18n/en.py, zh.py (keys fig.*)

if TYPE_CHECKING:
    from sentiment.probe.words import WordReading


def word_contributions(reading: WordReading, lang: str = "en", max_ticks: int = 80) -> go.Figure:
    """Bars over the tokens: how much each pushes the bag of words' score towards positive (blue) or
    negative (magenta). The bars and the bias add up to the score; the order of the words does not
    change a bar (beyond the word pairs the model knows)."""
    axis, token = say("fig.bow.axis", lang), say("fig.token", lang)
    c = np.asarray(reading.contributions, dtype=np.float64)
    fig = go.Figure(go.Bar(
        x=np.arange(len(c)), y=c, text=_hover_tokens(reading, lang), textposition="none",
        marker_color=[POSITIVE_COLOR if v >= 0 else NEGATIVE_COLOR for v in c],
        hovertemplate=f"{token}: %{{text}}<br>{axis}: %{{y:+.3f}}<extra></extra>"))
    fig.update_yaxes(title=axis, zeroline=True)
    _token_axis(fig, reading.tokens, max_ticks)
    meta = {"kind": "word_contributions", "tokens": list(reading.tokens), "score": reading.score, "bias": reading.bias}
    return _base_layout(fig, say("fig.bow.title", lang, z=reading.score, b=reading.bias), 330 if len(c) <= 12 else 380, meta)

"""How the model read a review: pooling credit, the prefix curve (P(positive) after each token),
attributions, and the same for two models side by side (Compare)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from sentiment.figures.style import (
    FONT_FAMILY,
    NEGATIVE_COLOR,
    NEGATIVE_RGB,
    POSITIVE_COLOR,
    POSITIVE_RGB,
    SERIES_COLORS,
    _base_layout,
    _hover_tokens,
    _token_axis,
)
from sentiment.i18n import t as say  # the figures' words: sentiment/i18n/en.py, zh.py (keys fig.*)
from sentiment.spec import WINNER_POOLINGS

if TYPE_CHECKING:  # the probe is only needed for its types here
    from sentiment.probe.instrument import Trace


# ---- prediction, pooling, reading -----------------------------------------------------------------


def pooling_credit(trace: Trace) -> dict[str, np.ndarray]:
    """Per-token credit of the pooling, split by direction where the pooling reads units [T] each.

    max / last (with winners): {"forward": share of all D units won by each token, "backward": ...};
    mean / attention: {"weight": the weights}.
    """
    T = len(trace.tokens)
    winners = trace.pool_winners
    if winners is not None and trace.pooling in WINNER_POOLINGS:
        w = np.asarray(winners, dtype=np.int64)
        D = len(w)
        halves = {"forward": w[: D // 2], "backward": w[D // 2 :]} if trace.bidirectional else {"forward": w}
        return {k: np.bincount(v[(v >= 0) & (v < T)], minlength=T)[:T] / D for k, v in halves.items()}
    return {"weight": np.asarray(trace.pool_weights, dtype=np.float64)[:T]}


def pooling_bar(trace: Trace, lang: str = "en", max_ticks: int = 60) -> go.Figure:
    """Which tokens the pooling kept, as bars over the tokens."""
    T = len(trace.tokens)
    credit = pooling_credit(trace)
    fig = go.Figure()
    hover = _hover_tokens(trace, lang)
    ylab = say("fig.share", lang) if trace.pooling in WINNER_POOLINGS else say("fig.weight", lang)
    for i, (k, v) in enumerate(credit.items()):
        fig.add_trace(go.Bar(
            x=np.arange(T), y=v, name=say('fig.' + k, lang) if k != "weight" else say("fig.weight", lang), text=hover,
            marker_color=SERIES_COLORS[i], textposition="none",
            hovertemplate=f"{say('fig.token', lang)}: %{{text}}<br>{say('fig.position', lang)}: %{{x}}<br>{ylab}: %{{y:.3f}}<extra></extra>",
        ))
    fig.update_layout(barmode="stack", yaxis_title=ylab, showlegend=len(credit) > 1,
                      legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))
    _token_axis(fig, trace.tokens, max_ticks)
    title = say(f"fig.pool_{trace.pooling}", lang, d=len(trace.pooled), t=T)
    meta = {"kind": "pooling_bar", "tokens": list(trace.tokens), "pooling": trace.pooling, "series": list(credit)}
    return _base_layout(fig, title, 330 if T <= 12 else 380, meta)


def prefix_curve(trace: Trace, lang: str = "en", max_ticks: int = 60) -> go.Figure:
    """P(positive) after each prefix of the review as a line over the tokens, with the 0.5 line."""
    T = len(trace.tokens)
    fig = go.Figure()
    fig.add_hline(y=0.5, line_dash="dot", line_color="grey")
    if trace.prefix_probs is not None:
        fig.add_trace(go.Scatter(
            x=np.arange(T), y=np.asarray(trace.prefix_probs, dtype=np.float64)[:T], mode="lines+markers",
            name=trace.model_name or say("fig.p_pos", lang), text=_hover_tokens(trace, lang), line=dict(color=SERIES_COLORS[0]),
            hovertemplate=f"{say('fig.token', lang)}: %{{text}}<br>{say('fig.position', lang)}: %{{x}}<br>{say('fig.p_pos', lang)}: %{{y:.3f}}<extra></extra>",
        ))
    else:
        fig.add_annotation(text=say("fig.not_computed", lang), showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_yaxes(range=[0, 1], title=say("fig.p_pos", lang))
    _token_axis(fig, trace.tokens, max_ticks)
    meta = {"kind": "prefix_curve", "tokens": list(trace.tokens)}
    return _base_layout(fig, say("fig.prefix_title", lang), 340 if T <= 12 else 390, meta)


def attribution(trace: Trace, method: str = "occlusion") -> np.ndarray | None:
    """The chosen attribution [T] ('occlusion' | 'integrated_gradients'), or None if not computed."""
    if method not in ("occlusion", "integrated_gradients"):
        raise ValueError(f"unknown attribution {method!r} (occlusion or integrated_gradients)")
    a = getattr(trace, method)
    return None if a is None else np.asarray(a, dtype=np.float64)[: len(trace.tokens)]


def attribution_bar(trace: Trace, method: str = "occlusion", lang: str = "en", max_ticks: int = 60) -> go.Figure:
    """Bars over the tokens: positive attribution (towards 'positive') blue, negative magenta."""
    T = len(trace.tokens)
    a = attribution(trace, method)
    fig = go.Figure()
    if a is not None:
        fig.add_trace(go.Bar(
            x=np.arange(T), y=a, text=_hover_tokens(trace, lang), textposition="none",
            marker_color=[POSITIVE_COLOR if v >= 0 else NEGATIVE_COLOR for v in a],
            hovertemplate=f"{say('fig.token', lang)}: %{{text}}<br>{say('fig.position', lang)}: %{{x}}<br>{say('fig.attribution', lang)}: %{{y:.4f}}<extra></extra>",
        ))
    else:
        fig.add_annotation(text=say("fig.not_computed", lang), showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_yaxes(title=say("fig.attribution", lang), zeroline=True)
    _token_axis(fig, trace.tokens, max_ticks)
    meta = {"kind": "attribution_bar", "tokens": list(trace.tokens), "method": method}
    return _base_layout(fig, say('fig.' + method, lang), 330 if T <= 12 else 380, meta)


def attribution_html(tokens: Sequence[str], scores: Sequence[float] | None, unk: Sequence[bool] | None = None, language: str = "en") -> str:
    """The review as HTML spans, each token's background coloured by its score (blue +, magenta -).

    Tokens are HTML-escaped; opacity is |score| / max |score|. Out-of-vocabulary tokens are underlined
    with dots. English tokens are separated by spaces, Chinese ones are not.
    """
    s = np.zeros(len(tokens)) if scores is None else np.nan_to_num(np.asarray(scores, dtype=np.float64)[: len(tokens)])
    top = float(np.abs(s).max(initial=0.0)) or 1.0
    unk = list(unk) if unk is not None else [False] * len(tokens)
    spans = []
    for tok, v, u in zip(tokens, s, unk, strict=False):
        r, g, b = POSITIVE_RGB if v >= 0 else NEGATIVE_RGB
        alpha = min(1.0, abs(v) / top) * 0.85
        style = f"background: rgba({r},{g},{b},{alpha:.2f}); border-radius: 3px; padding: 1px 2px;"
        if u:
            style += " text-decoration: underline dotted;"
        spans.append(f'<span title="{v:+.4f}" style="{style}">{html.escape(tok)}</span>')
    sep = "" if language == "zh" else " "
    return f'<div style="line-height: 2.0; font-family: {html.escape(FONT_FAMILY, quote=True)};">{sep.join(spans)}</div>'


# ---- comparing models ------------------------------------------------------------------------------


def _compare_axis(fig: go.Figure, traces: Sequence[Trace], max_ticks: int) -> None:
    longest = max(traces, key=lambda tr: len(tr.tokens))
    _token_axis(fig, longest.tokens, max_ticks)


def compare_prefix(traces: Sequence[Trace], names: Sequence[str], lang: str = "en", max_ticks: int = 60) -> go.Figure:
    """Prefix curves of several models on the same review, overlaid."""
    fig = go.Figure()
    fig.add_hline(y=0.5, line_dash="dot", line_color="grey")
    for i, (tr, nm) in enumerate(zip(traces, names, strict=True)):
        if tr.prefix_probs is None:
            continue
        fig.add_trace(go.Scatter(
            x=np.arange(len(tr.tokens)), y=np.asarray(tr.prefix_probs, dtype=np.float64)[: len(tr.tokens)],
            mode="lines+markers", name=nm, text=_hover_tokens(tr, lang), line=dict(color=SERIES_COLORS[i % 4]),
            hovertemplate=f"{html.escape(nm)}<br>{say('fig.token', lang)}: %{{text}}<br>{say('fig.position', lang)}: %{{x}}<br>"
                          f"{say('fig.p_pos', lang)}: %{{y:.3f}}<extra></extra>",
        ))
    fig.update_yaxes(range=[0, 1], title=say("fig.p_pos", lang))
    fig.update_layout(legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))
    _compare_axis(fig, traces, max_ticks)
    meta = {"kind": "compare_prefix", "names": list(names), "tokens": [list(tr.tokens) for tr in traces]}
    return _base_layout(fig, say("fig.prefix_title", lang), 380, meta)


def compare_pooling(traces: Sequence[Trace], names: Sequence[str], lang: str = "en", max_ticks: int = 60) -> go.Figure:
    """Per-token pooling credit (summed over directions) of several models, as grouped bars."""
    fig = go.Figure()
    for i, (tr, nm) in enumerate(zip(traces, names, strict=True)):
        credit = sum(pooling_credit(tr).values())
        fig.add_trace(go.Bar(
            x=np.arange(len(tr.tokens)), y=credit, name=f"{nm} ({say('pool.' + tr.pooling, lang)})", text=_hover_tokens(tr, lang),
            textposition="none", marker_color=SERIES_COLORS[i % 4],
            hovertemplate=f"{html.escape(nm)}<br>{say('fig.token', lang)}: %{{text}}<br>{say('fig.position', lang)}: %{{x}}<br>"
                          f"{say('fig.credit', lang)}: %{{y:.3f}}<extra></extra>",
        ))
    fig.update_layout(barmode="group", yaxis_title=say("fig.credit", lang),
                      legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))
    _compare_axis(fig, traces, max_ticks)
    meta = {"kind": "compare_pooling", "names": list(names), "tokens": [list(tr.tokens) for tr in traces]}
    return _base_layout(fig, say("fig.compare_pool_title", lang), 380, meta)

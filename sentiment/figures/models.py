"""The Models and Train pages' figures: confusion matrix, the accuracy grid (cell x pooling),
a run's training curves."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import plotly.graph_objects as go

from sentiment.figures.style import FONT, FONT_FAMILY
from sentiment.i18n import t as say  # the figures' words: sentiment/i18n/en.py, zh.py (keys fig.*)
from sentiment.spec import CELLS, POOLINGS

if TYPE_CHECKING:  # the probe is only needed for its types here
    pass


# ---- the Models page -----------------------------------------------------------------------------


def confusion_heatmap(confusion: Sequence[Sequence[int]], title: str = "", lang: str = "en") -> go.Figure:
    """A 2x2 confusion matrix (rows: true negative/positive; columns: predicted) with counts in the cells."""
    names = [say("fig.pat.negative", lang), say("fig.pat.positive", lang)]
    z = [[int(v) for v in row] for row in confusion]
    fig = go.Figure(go.Heatmap(z=z, x=names, y=names, colorscale="Blues", showscale=False, text=z,
                               texttemplate="%{text}", hovertemplate=say("fig.confusion_hover", lang) + "<extra></extra>"))
    fig.update_xaxes(title_text=say("fig.predicted", lang))
    fig.update_yaxes(title_text=say("fig.true", lang), autorange="reversed")
    fig.update_layout(title=title, height=320, margin=dict(l=60, r=20, t=50, b=50), font=dict(family=FONT_FAMILY))
    return fig


def accuracy_grid(rows: Sequence[dict], dataset: str, lang: str = "en") -> go.Figure:
    """Test accuracy per cell (rows) x pooling (columns) for one dataset's models; rows: dicts with
    cell, pooling, test_accuracy (the best model per cell and pooling is shown). A bag-of-words
    reference (cell "bow", no pooling) is its own last row, its one accuracy in every column."""
    cells = [c for c in (*CELLS, "bow") if any(r["cell"] == c for r in rows)]
    pools = [p for p in POOLINGS if any(r["pooling"] == p for r in rows)] or ["none"]
    z = [[None] * len(pools) for _ in cells]
    for r in rows:
        if r["cell"] in cells and (r["pooling"] in pools or r["cell"] == "bow") and r.get("test_accuracy") is not None:
            i = cells.index(r["cell"])
            for j in (range(len(pools)) if r["cell"] == "bow" else [pools.index(r["pooling"])]):
                z[i][j] = max(z[i][j] or 0.0, float(r["test_accuracy"]) * 100)
    text = [["" if v is None else f"{v:.2f}%" for v in row] for row in z]
    names = [say("fig.bow.row", lang) if c == "bow" else c.upper() for c in cells]
    fig = go.Figure(go.Heatmap(z=z, x=[say(f"pool.{p}", lang) for p in pools], y=names, colorscale="Viridis",
                               text=text, texttemplate="%{text}", colorbar=dict(title="%"),
                               hovertemplate=say("fig.grid_hover", lang) + "<extra></extra>"))
    fig.update_xaxes(title_text=say("picker.pooling", lang))
    fig.update_yaxes(title_text=say("picker.cell", lang))
    fig.update_yaxes(autorange="reversed")
    title = say("fig.grid_title", lang, dataset=dataset)
    fig.update_layout(title=title, height=120 + 70 * len(cells), margin=dict(l=60, r=20, t=50, b=40), font=dict(family=FONT_FAMILY))
    return fig


def reliability_diagram(calibration: dict, lang: str = "en") -> go.Figure:
    """Accuracy against confidence per bin, before and after the temperature, from a card's
    "calibration" record (reliability_before / _after rows, ECEs, temperature); marker size ~ reviews."""
    fig = go.Figure()
    fig.add_scatter(x=[0.5, 1], y=[0.5, 1], mode="lines", line=dict(dash="dot", color="grey"), name=say("fig.rel.ideal", lang))
    before = say("fig.rel.before", lang, e=calibration.get("test_ece_before", float("nan")))
    after = say("fig.rel.after", lang, t=calibration.get("temperature", 1.0), e=calibration.get("test_ece_after", float("nan")))
    for key, color, label in (("before", "#ff7f0e", before), ("after", "#1f77b4", after)):
        rows = calibration.get(f"reliability_{key}") or []
        n = max([r["n"] for r in rows] or [1])
        fig.add_scatter(x=[r["confidence"] for r in rows], y=[r["accuracy"] for r in rows], mode="lines+markers",
                        name=label, line=dict(color=color),
                        marker=dict(size=[6 + 14 * (r["n"] / n) ** 0.5 for r in rows], color=color),
                        customdata=[r["n"] for r in rows],
                        hovertemplate="%{x:.3f} → %{y:.3f}<br>n = %{customdata}<extra></extra>")
    fig.update_xaxes(title=say("fig.rel.x", lang), range=[0.48, 1.01])
    fig.update_yaxes(title=say("fig.rel.y", lang), range=[0.3, 1.01])
    fig.update_layout(title=say("fig.rel.title", lang), height=360, margin=dict(l=60, r=20, t=50, b=50), font=dict(family=FONT_FAMILY),
                      legend=dict(orientation="h", y=-0.25), meta={"kind": "reliability"})
    return fig


PAIR_KINDS = ("negation", "double_negation", "contrast", "intensifier")  # training.pairs.KINDS, in its order


def pairs_by_kind(lesson: dict, split: str = "test", lang: str = "en") -> go.Figure:
    """A model's minimal pairs of one split by kind, from its card's "lesson" record
    (``lesson["pairs"][split]["by_kind"][kind]``: accuracy, pair_accuracy, n): two bars per kind, the
    share of sentences right and the share of pairs with both sentences right, and 50% marked (a coin
    gets half the sentences right, a quarter of the pairs)."""
    by = ((lesson.get("pairs") or {}).get(split) or {}).get("by_kind") or {}
    kinds = [k for k in PAIR_KINDS if isinstance(by.get(k), dict)]
    names = [say(f"pairs.kind.{k}", lang) for k in kinds]
    fig = go.Figure()
    for key, color, label in (("accuracy", "#9ecae1", say("fig.pairs.sentences", lang)),
                              ("pair_accuracy", "#1f77b4", say("fig.pairs.both", lang))):
        vals = [by[k].get(key) for k in kinds]
        fig.add_bar(y=names, x=[None if v is None else 100 * v for v in vals], orientation="h", name=label,
                    marker_color=color, customdata=[by[k].get("n") for k in kinds],
                    text=["" if v is None else f"{100 * v:.0f}%" for v in vals], textposition="outside",
                    hovertemplate=say("fig.pairs.hover", lang) + "<extra></extra>")
    fig.add_vline(x=50, line=dict(dash="dot", color="grey"))
    fig.update_xaxes(title=say("fig.pairs.x", lang), range=[0, 112])
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(title=say(f"fig.pairs.title.{split}", lang), barmode="group", height=140 + 55 * max(1, len(kinds)),
                      margin=dict(l=60, r=20, t=50, b=50), font=dict(family=FONT_FAMILY),
                      legend=dict(orientation="h", y=-0.3), meta={"kind": "pairs"})
    return fig


def run_curves(events: Sequence[dict], lang: str = "en") -> go.Figure:
    """A training run's loss and accuracy as it goes: running train loss and accuracy per logged step,
    validation accuracy per epoch, and the held-out training reviews' accuracy where those chose the epoch
    (--stop-holdout) (events from sentiment.train's --metrics file)."""
    steps = [e for e in events if e.get("type") == "step"]
    epochs = [e for e in events if e.get("type") == "epoch"]
    fig = go.Figure()
    x = [e["step"] for e in steps]
    fig.add_scatter(x=x, y=[e["loss"] for e in steps], name=say("fig.train_loss", lang), mode="lines+markers", yaxis="y")
    fig.add_scatter(x=x, y=[e["acc"] for e in steps], name=say("fig.train_acc", lang), mode="lines+markers", yaxis="y2")
    if epochs:
        last_step = {}
        for e in steps:
            last_step[e["epoch"]] = e["step"]
        at = [last_step.get(e["epoch"], e["epoch"]) for e in epochs]
        fig.add_scatter(x=at, y=[e["val_acc"] for e in epochs],
                        name=say("fig.val_acc", lang), mode="markers", marker=dict(size=10, symbol="diamond"), yaxis="y2")
        if any("stop_acc" in e for e in epochs):  # --stop-holdout: the accuracy that chose the epoch
            fig.add_scatter(x=at, y=[e.get("stop_acc") for e in epochs], name=say("fig.stop_acc", lang),
                            mode="markers", marker=dict(size=9, symbol="square-open"), yaxis="y2")
    accs = [e["acc"] for e in steps] + [e.get(k) for e in epochs for k in ("val_acc", "stop_acc")]
    fig.update_layout(height=300, margin=dict(l=50, r=50, t=30, b=40), font=FONT, legend=dict(orientation="h", y=1.15),
                      xaxis=dict(title=say("fig.step", lang)), yaxis=dict(title=say("fig.loss", lang)),
                      yaxis2=dict(title=say("fig.accuracy", lang), overlaying="y", side="right", **accuracy_ticks(accs)))
    return fig


def accuracy_ticks(values: Sequence) -> dict:
    """An accuracy axis (0..1) with round ticks: from the tenth below the lowest value to 1, a tick every 0.1
    (every 0.05 over a span of 0.3 or less), as percentages. Its own ticks (``tickmode="linear"``), never
    ones synced to another axis (those gave 0.992, 0.725, 0.457, 0.19); no grid of its own (the loss axis has one)."""
    finite = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1]
    low = math.floor(min(finite, default=0.0) * 10 + 1e-9) / 10
    low = min(low, 0.9)
    step = 0.05 if 1 - low <= 0.3 + 1e-9 else 0.1
    return dict(range=[low, 1.0], tickmode="linear", tick0=low, dtick=step, tickformat=".0%", showgrid=False)

"""Figures: plotly figures built from Traces and run metrics, split by what they show. Pure functions:
nothing here imports streamlit or touches a model; every function reads arrays (a ``Trace`` from
``sentiment.probe``, run metrics) and returns a ``plotly.graph_objects.Figure``, an HTML snippet or
CSV text, so the same views come out of tests, notebooks and the app. Every figure's text speaks
English or Chinese (``lang="en" | "zh"``) and uses a font family that renders Chinese tokens.
Figures carry ``layout.meta`` with what they show (tokens, unit indices, kind).

    style      fonts, colours, gate names and equations, token axes, the figures' words
    gates      gate heatmaps of a review (units sorted, filtered), saturation, CSV exports
    diffs      edit and diff (B - A), cell updates (kept / written)
    reading    pooling credit, the prefix curve, attributions; two models side by side
    models     confusion matrix, accuracy grid, reliability diagram, training curves (Models and Train pages)
    words      the bag-of-words reference's per-word contributions
    learn      one step's values, gradient norms, the Learn page's checks
    patterns   the Patterns page (units and phrases across a dataset)
    marks      the selected token and unit outlined on a heatmap

Colour scales: sigmoid gates (values in [0, 1]) use a sequential scale fixed to [0, 1]; tanh
quantities (g, n, h in [-1, 1]) a diverging scale fixed to [-1, 1]; the LSTM cell state c a diverging
scale symmetric about 0 up to the 98th percentile of its magnitude in the review (clipped: its colour
bar gives the true range). Panels of one kind share one colour axis, so one colour means one value
across them. Gate heatmaps label the tokens under every panel; a long review opens on a window of
readable columns with an overview strip (range slider) that moves every panel along it.

``from sentiment import figures; figures.gate_heatmaps(trace)``: the pages' figures are re-exported here.
"""

from sentiment.figures.diffs import diff_heatmaps, diff_prefix, update_heatmaps, update_unit  # noqa: F401
from sentiment.figures.gates import (  # noqa: F401
    gate_heatmaps,
    gates_csv,
    layer_choices,
    saturation_histogram,
    saturation_shares,
    tokens_csv,
    unit_order,
    unit_scores,
)
from sentiment.figures.learn import gradient_norms, recombine, spread, step_values  # noqa: F401
from sentiment.figures.models import accuracy_grid, confusion_heatmap, pairs_by_kind, reliability_diagram, run_curves  # noqa: F401
from sentiment.figures.reading import (  # noqa: F401
    attribution,
    attribution_bar,
    attribution_html,
    compare_pooling,
    compare_prefix,
    pooling_bar,
    pooling_credit,
    prefix_curve,
)
from sentiment.figures.style import EQUATIONS, FONT, GATE_INFO, SORTS, gate_kind, gate_title, md_escape, token_ticks  # noqa: F401
from sentiment.figures.words import word_contributions  # noqa: F401
